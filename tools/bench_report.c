/* The load generator's report (see bench_report.h): latencies in ms rounded
 * to the microsecond, rates to a tenth. --json prints one compact object. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_report.h"

static double
bench_ms(uint64_t ns)
{
    return round((double)ns / 1e3) / 1e3;
}

static double
bench_ok_rate(const struct bench_summary *s)
{
    return s->res->elapsed > 0 ? (double)s->res->ok / s->res->elapsed : 0;
}

/* CPU µs per request sent and kernel share, as reported. */
static json_t *
bench_report_us(double cpu, double sys, double n)
{
    double share = cpu > 0 ? sys / cpu : 0.0; /* sys in ticks, cpu in ns: may pass 1 */

    return json_pack("{s:f, s:f}", "us", round(cpu / n * 1e7) / 10, "sys_share",
                     round((share > 1   ? 1
                            : share < 0 ? 0
                                        : share) *
                           100) /
                         100);
}

/* One "server_threads" object: CPU µs per request sent (warm-up included, as
 * the snapshots are) by thread role of the servers [from, to), summed. */
static json_t *
bench_report_roles(const struct bench_summary *s, int from, int to)
{
    json_t *t;
    double n = (double)s->res->issued;
    int i, valid = 0;

    for (i = from; i < to; i++)
        valid += s->threads0[i].valid && s->threads1[i].valid;
    if (valid == 0 || n <= 0 || (t = json_object()) == NULL)
        return NULL;
    for (int r = 0; r < BENCH_CPU_ROLES; r++) {
        double cpu = 0, sys = 0;

        for (i = from; i < to; i++) {
            if (!s->threads0[i].valid || !s->threads1[i].valid)
                continue;
            cpu += s->threads1[i].s[r] - s->threads0[i].s[r];
            sys += s->threads1[i].sys[r] - s->threads0[i].sys[r];
        }
        json_object_set_new(t, bench_cpu_role_name((enum bench_cpu_role)r),
                            bench_report_us(cpu, sys, n));
    }
    json_object_set_new(t, "client_us", json_real(round(s->client_cpu_s / n * 1e7) / 10));
    if (s->db_cpu_s >= 0)
        json_object_set_new(t, "database", bench_report_us(s->db_cpu_s, s->db_sys_s, n));
    return t;
}

/* "server_threads" (all servers summed), "nodes" (each, when several),
 * "database_cpu_s" (--db-pid). */
static void
bench_report_threads(json_t *doc, const struct bench_summary *s)
{
    json_t *t, *nodes;
    int i;

    if (s->threads0 == NULL || s->threads1 == NULL)
        return;
    if ((t = bench_report_roles(s, 0, s->nservers)) != NULL)
        json_object_set_new(doc, "server_threads", t);
    if (s->nservers > 1 && (nodes = json_array()) != NULL) {
        for (i = 0; i < s->nservers; i++) {
            t = bench_report_roles(s, i, i + 1);
            if (t != NULL)
                json_object_del(t, "database"); /* the database is the site's, not a node's */
            json_array_append_new(nodes,
                                  json_pack("{s:I, s:o}", "pid", (json_int_t)s->server_pids[i],
                                            "server_threads", t != NULL ? t : json_null()));
        }
        json_object_set_new(doc, "nodes", nodes);
    }
    json_object_set_new(doc, "database_cpu_s",
                        s->db_cpu_s >= 0 ? json_real(round(s->db_cpu_s * 100) / 100) : json_null());
}

/* "urls": what each server answered after the warm-up. */
static void
bench_report_urls(json_t *doc, const struct bench_summary *s)
{
    const struct bench_load_result *r = s->res;
    json_t *urls = json_array();
    int i;

    for (i = 0; i < s->nurls && i < r->naddr; i++) {
        const struct bench_url_result *u = &r->by_url[i];

        json_array_append_new(
            urls, json_pack("{s:s, s:I, s:I, s:I, s:f, s:{s:f, s:f}}", "url", s->urls[i],
                            "requests", (json_int_t)u->requests, "ok", (json_int_t)u->ok,
                            "errors_total", (json_int_t)u->errors, "ok_rate",
                            r->elapsed > 0 ? round((double)u->ok / r->elapsed * 10) / 10 : 0.0,
                            "latency_ms", "p50", bench_ms(bench_hist_quantile(&u->hist, 0.5)),
                            "p99", bench_ms(bench_hist_quantile(&u->hist, 0.99))));
    }
    json_object_set_new(doc, "urls", urls);
}

void
bench_report_json(const struct bench_summary *s)
{
    const struct bench_load_result *r = s->res;
    json_t *doc = json_object(), *lat, *errs = json_object(), *floor_doc;
    double ratio = s->fl != NULL && s->fl->rate > 0 && s->scenario != NULL
                       ? bench_ok_rate(s) / s->fl->rate
                       : -1;
    size_t i;
    char *text;

    json_object_set_new(doc, "scenario",
                        s->scenario != NULL ? json_string(s->scenario) : json_null());
    json_object_set_new(doc, "alg", json_string(s->alg));
    json_object_set_new(doc, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    if (s->scenario != NULL) {
        lat = json_pack(
            "{s:f, s:f, s:f, s:f, s:f, s:f}", "p50", bench_ms(bench_hist_quantile(&r->hist, 0.5)),
            "p90", bench_ms(bench_hist_quantile(&r->hist, 0.9)), "p99",
            bench_ms(bench_hist_quantile(&r->hist, 0.99)), "p999",
            bench_ms(bench_hist_quantile(&r->hist, 0.999)), "max", bench_ms(r->hist.max), "mean",
            bench_ms((uint64_t)bench_hist_mean(&r->hist)));
        for (i = 0; i < r->errors.n; i++)
            json_object_set_new(errs, r->errors.e[i].code,
                                json_integer((json_int_t)r->errors.e[i].count));
        if (r->errors.other != 0)
            json_object_set_new(errs, "other", json_integer((json_int_t)r->errors.other));
        json_object_set_new(doc, "connections", json_integer(s->connections));
        json_object_set_new(doc, "mode", json_string(s->target_rate > 0 ? "open" : "closed"));
        json_object_set_new(doc, "target_rate",
                            s->target_rate > 0 ? json_real(s->target_rate) : json_null());
        json_object_set_new(doc, "duration_s", json_real(round(r->elapsed * 1000) / 1000));
        json_object_set_new(doc, "requests", json_integer((json_int_t)r->requests));
        json_object_set_new(doc, "ok", json_integer((json_int_t)r->ok));
        json_object_set_new(
            doc, "rate",
            json_real(r->elapsed > 0 ? round((double)r->requests / r->elapsed * 10) / 10 : 0));
        json_object_set_new(doc, "ok_rate", json_real(round(bench_ok_rate(s) * 10) / 10));
        json_object_set_new(doc, "latency_ms", lat);
        json_object_set_new(doc, "errors", errs);
        errs = NULL;
        json_object_set_new(doc, "errors_total", json_integer((json_int_t)r->errors.total));
        json_object_set_new(doc, "tokens_verified", json_integer((json_int_t)s->verified));
        json_object_set_new(doc, "premade", json_integer((json_int_t)s->premade));
        json_object_set_new(doc, "ran_out", json_boolean(s->ran_out));
        json_object_set_new(doc, "backlog_max", json_integer((json_int_t)r->backlog_max));
        json_object_set_new(doc, "connect_failures", json_integer((json_int_t)r->connect_failures));
        json_object_set_new(doc, "setup_s", json_real(round(s->setup_s * 100) / 100));
        json_object_set_new(doc, "client_cpu_s", json_real(round(s->client_cpu_s * 100) / 100));
        json_object_set_new(doc, "server_cpu_s",
                            s->server_cpu_s >= 0 ? json_real(round(s->server_cpu_s * 100) / 100)
                                                 : json_null());
        bench_report_threads(doc, s);
        bench_report_urls(doc, s);
    }
    json_decref(errs);
    if (s->fl != NULL) {
        floor_doc = json_pack("{s:i, s:f, s:f, s:f, s:f}", "threads", s->fl->threads, "rate",
                              round(s->fl->rate), "full_rate", round(s->fl->full_rate), "sign_rate",
                              round(s->fl->sign_rate), "verify_rate", round(s->fl->verify_rate));
        json_object_set_new(doc, "floor", floor_doc);
    }
    json_object_set_new(doc, "floor_rate",
                        s->fl != NULL ? json_real(round(s->fl->rate)) : json_null());
    json_object_set_new(doc, "ratio",
                        ratio >= 0 ? json_real(round(ratio * 1000) / 1000) : json_null());
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    printf("%s\n", text);
    free(text);
    json_decref(doc);
}

void
bench_report_text(const struct bench_summary *s)
{
    const struct bench_load_result *r = s->res;
    size_t i;

    if (s->scenario != NULL) {
        printf("scenario %s, %s devices, %d connections, %s loop", s->scenario, s->alg,
               s->connections, s->target_rate > 0 ? "open" : "closed");
        if (s->target_rate > 0)
            printf(" at %.0f/s (most due but unsent: %llu)", s->target_rate,
                   (unsigned long long)r->backlog_max);
        printf("\nrequests %llu in %.2f s: %.1f/s; ok %llu: %.1f/s\n",
               (unsigned long long)r->requests, r->elapsed,
               r->elapsed > 0 ? (double)r->requests / r->elapsed : 0, (unsigned long long)r->ok,
               bench_ok_rate(s));
        printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
               bench_ms(bench_hist_quantile(&r->hist, 0.5)),
               bench_ms(bench_hist_quantile(&r->hist, 0.9)),
               bench_ms(bench_hist_quantile(&r->hist, 0.99)),
               bench_ms(bench_hist_quantile(&r->hist, 0.999)), bench_ms(r->hist.max),
               bench_ms((uint64_t)bench_hist_mean(&r->hist)));
        printf("errors: %llu", (unsigned long long)r->errors.total);
        for (i = 0; i < r->errors.n; i++)
            printf("%s%s %llu", i == 0 ? " (" : ", ", r->errors.e[i].code,
                   (unsigned long long)r->errors.e[i].count);
        printf("%s\n", r->errors.n > 0 ? ")" : "");
        printf("token signatures verified: %llu; client CPU %.2f s",
               (unsigned long long)s->verified, s->client_cpu_s);
        if (s->server_cpu_s >= 0)
            printf("; server CPU %.2f s", s->server_cpu_s);
        printf("\n");
        for (i = 0; s->nurls > 1 && i < (size_t)s->nurls && i < (size_t)r->naddr; i++) {
            const struct bench_url_result *u = &r->by_url[i];

            printf("  %s: requests %llu, ok %llu: %.1f/s, errors %llu; p50 %.3f ms, p99 %.3f ms\n",
                   s->urls[i], (unsigned long long)u->requests, (unsigned long long)u->ok,
                   r->elapsed > 0 ? (double)u->ok / r->elapsed : 0, (unsigned long long)u->errors,
                   bench_ms(bench_hist_quantile(&u->hist, 0.5)),
                   bench_ms(bench_hist_quantile(&u->hist, 0.99)));
        }
        if (s->db_cpu_s >= 0)
            printf("database CPU %.2f s (kernel %.2f s)\n", s->db_cpu_s, s->db_sys_s);
        if (r->connections_lost != 0 || r->connect_failures != 0)
            printf("connections lost: %d (failed connects: %llu)\n", r->connections_lost,
                   (unsigned long long)r->connect_failures);
        if (s->ran_out)
            printf("note: the %zu pre-made requests ran out before --duration; pass --requests\n",
                   s->premade);
    }
    if (s->fl != NULL) {
        printf("floor (%s, %d threads): %.0f exchanges/s (verify %.0f/s, sign %.0f/s); through "
               "proto parsing %.0f/s\n",
               s->alg, s->fl->threads, s->fl->rate, s->fl->verify_rate, s->fl->sign_rate,
               s->fl->full_rate);
        if (s->scenario != NULL && s->fl->rate > 0)
            printf("ratio ok rate / floor: %.3f\n", bench_ok_rate(s) / s->fl->rate);
    }
}
