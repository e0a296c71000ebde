/* sitetoken-bench: the load generator. It pre-makes device keys and proofs
 * (not timed), drives sitetokend's HTTP API over N keep-alive connections
 * (bench_load.c), checks every answer (bench_work.c) and reports rate,
 * latency percentiles and errors by code; --floor measures the crypto floor
 * of an exchange on this machine (bench_floor.c) and the ratio to it. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_cpu.h"
#include "bench_floor.h"
#include "bench_gateway.h"
#include "bench_load.h"
#include "bench_report.h"
#include "bench_work.h"
#include "httpc.h"

#define BENCH_MAX_PREMADE 5000000 /* most unique requests made ahead */
#define BENCH_POOL_DEFAULT 1000   /* devices behind renew/access/introspect */
#define BENCH_MIXED "EAIKEAIREAIKEAIR"

enum bench_scenario {
    SCEN_NONE,
    SCEN_EXCHANGE,
    SCEN_RENEW,
    SCEN_ACCESS,
    SCEN_INTROSPECT,
    SCEN_KEYS,
    SCEN_REVOCATIONS,
    SCEN_MIXED,
    SCEN_GATEWAY /* bench_gateway.c: through sitetoken-gateway */
};

static const struct {
    const char *name;
    enum bench_kind kind; /* the single kind, or BENCH_KIND_COUNT for mixed */
} bench_scenarios[] = {
    [SCEN_EXCHANGE] = {"exchange", BENCH_EXCHANGE},
    [SCEN_RENEW] = {"renew", BENCH_RENEW},
    [SCEN_ACCESS] = {"access", BENCH_ACCESS},
    [SCEN_INTROSPECT] = {"introspect", BENCH_INTROSPECT},
    [SCEN_KEYS] = {"keys", BENCH_KEYS},
    [SCEN_REVOCATIONS] = {"revocations", BENCH_REVOCATIONS},
    [SCEN_MIXED] = {"mixed", BENCH_KIND_COUNT},
    [SCEN_GATEWAY] = {"gateway", BENCH_KIND_COUNT},
};

struct bench {
    /* options */
    const char *urls[BENCH_URLS_MAX], *mp_key, *bulk_token, *issuer, *admin_socket, *gateway_url;
    enum bench_scenario scenario;
    enum jwk_alg alg;
    int connections, json, floor, threads;
    double duration, warmup, rate, timeout, floor_seconds;
    uint64_t requests;
    size_t devices;
    long long clock_offset, renew_shift;
    int nurls;
    long gateway_pid;
    /* derived */
    char host[256], host_header[300], base_url[320];
    int port;
    struct bench_load_opts load;
    struct httpc_target target, admin;
    struct bench_params params;
    struct bench_expect expect;
    struct jwks *jwks;
    char *jwks_doc;
    char mp_key_buf[160], bulk_buf[2048];
    /* results */
    struct bench_floor fl;
    int floor_done;
    struct bench_load_result res;
    double setup_s, client_cpu_s, server_cpu_s;
    struct bench_cpu_run cpu; /* --server-pid and --db-pid, around the run */
    size_t premade;
    int ran;
};

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: sitetoken-bench [options]\n"
        "  --url URL            sitetokend (default http://127.0.0.1:8080); given more than\n"
        "                       once (at most 8), the connections are spread round-robin\n"
        "                       over the URLs (nodes of one site) and the report gives each\n"
        "                       URL's answers beside the whole; keys, JWKS and the Host\n"
        "                       header come from the first\n"
        "  --mp-key KEY         MP API key (default $SITETOKEN_MP_KEY; made with\n"
        "                       --admin-socket when absent)\n"
        "  --scenario S         exchange, renew, access, introspect, keys, revocations, mixed,\n"
        "                       gateway (forward-auth checks through --gateway-url)\n"
        "  --gateway-url URL    gateway: the sitetoken-gateway to drive (http://HOST:PORT)\n"
        "  --gateway-pid PID    gateway: also report its CPU seconds during the run\n"
        "  --connections N      keep-alive connections, one request in flight each (16)\n"
        "  --duration SEC       measured seconds (10 unless --requests is given)\n"
        "  --requests N         requests to send in all (warm-up included)\n"
        "  --rate R             open loop: R requests/s, latency from when each was due\n"
        "  --warmup SEC         seconds whose answers are not counted (0)\n"
        "  --bulk-token T       bulk token to exchange (made with --admin-socket when absent)\n"
        "  --alg ALG            device keys: EdDSA (default), ES256, RS256; also the floor's\n"
        "  --issuer ISS         proof aud and expected iss (default urn:sitetoken:PS1)\n"
        "  --devices N          distinct devices (exchange: one a request; else 1000)\n"
        "  --admin-socket PATH  sitetokend's admin socket, to make an MP key or bulk token and\n"
        "                       to move the debug clock for --renew-shift\n"
        "  --renew-shift SEC    renew: move the server's debug clock this far after the\n"
        "                       setup exchanges (needs debug.clock_override)\n"
        "  --clock-offset SEC   add SEC to every proof's iat (a server on a debug clock)\n"
        "  --timeout SEC        longest a request may take (30)\n"
        "  --threads N          threads making keys and proofs and for --floor (one a CPU)\n"
        "  --server-pid PID     also report sitetokend's CPU seconds during the run, by\n"
        "                       thread role; once per node (at most 8): per node and summed\n"
        "  --db-pid PID         also report the CPU of PID and its children during the run\n"
        "                       (a PostgreSQL postmaster: its backends, WAL writer, ...)\n"
        "  --floor              measure the crypto floor (verify + sign) and the ratio\n"
        "  --floor-seconds SEC  length of each floor measurement (3)\n"
        "  --json               one JSON object with all numbers on stdout\n");
}

/* URL i into b->load.addr[i]; the first also names the Host header and the
 * target of the JWKS and setup requests. 0/-1. */
static int
bench_parse_url(struct bench *b, int i)
{
    struct httpc_url u;
    const char *errstr;

    /* the load generator speaks plain HTTP only */
    if (httpc_url_parse(b->urls[i], &u, &errstr) == -1 || u.tls || strcmp(u.path, "/") != 0 ||
        strlen(u.host) >= sizeof(b->host))
        return -1;
    if (bench_load_resolve(u.host, u.port, &b->load.addr[i], &b->load.addrlen[i], &errstr) == -1) {
        fprintf(stderr, "sitetoken-bench: %s: %s\n", u.host, errstr);
        return -1;
    }
    if (i > 0)
        return 0;
    strcpy(b->host, u.host);
    b->port = u.port;
    snprintf(b->host_header, sizeof(b->host_header), "%.*s", (int)sizeof(b->host_header) - 1,
             u.origin + strlen("http://"));
    snprintf(b->base_url, sizeof(b->base_url), "%s", u.origin);
    b->target.base_url = b->base_url;
    return 0;
}

/* A header-safe credential or token: printable ASCII without quotes. */
static int
bench_safe(const char *s, size_t max)
{
    size_t n = strlen(s);

    return n > 0 && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789-._~+/=:") == n;
}

/* One admin request; the answer's document, or NULL (reported). */
static json_t *
bench_admin(struct bench *b, const char *method, const char *path, json_t *body)
{
    struct httpc_response resp;
    const char *errstr = NULL;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_t *doc = NULL;

    json_decref(body);
    if (httpc_request(&b->admin, method, path, NULL, text, text != NULL ? strlen(text) : 0, &resp,
                      &errstr) == -1) {
        fprintf(stderr, "sitetoken-bench: admin %s: %s\n", path, errstr);
        free(text);
        return NULL;
    }
    free(text);
    if (resp.status / 100 != 2 || (doc = json_loadb(resp.body, resp.body_len, 0, NULL)) == NULL)
        fprintf(stderr, "sitetoken-bench: admin %s: HTTP %d: %s\n", path, resp.status, resp.body);
    httpc_response_free(&resp);
    return doc;
}

/* Copies doc[key] into buf (when a string that fits). 0/-1. */
static int
bench_take(json_t *doc, const char *key, char *buf, size_t size)
{
    const char *v = json_string_value(json_object_get(doc, key));
    int rc = v != NULL && strlen(v) < size ? 0 : -1;

    if (rc == 0)
        strcpy(buf, v);
    json_decref(doc);
    return rc;
}

static int
bench_set_clock(struct bench *b, long long offset)
{
    json_t *doc = bench_admin(b, "POST", "/v1/admin/debug/clock",
                              json_pack("{s:I}", "offset_seconds", (json_int_t)offset));

    json_decref(doc);
    return doc != NULL ? 0 : -1;
}

/* The MP key, the bulk token and the served JWKS. 0/-1 (reported). */
static int
bench_prepare(struct bench *b, int need_bulk)
{
    struct httpc_response resp;
    const char *errstr = NULL;
    char name[64];

    if (b->mp_key == NULL && b->admin_socket != NULL) {
        snprintf(name, sizeof(name), "bench-%ld", (long)getpid());
        if (bench_take(bench_admin(b, "POST", "/v1/admin/mps", json_pack("{s:s}", "name", name)),
                       "api_key", b->mp_key_buf, sizeof(b->mp_key_buf)) == -1)
            return -1;
        b->mp_key = b->mp_key_buf;
    }
    if (need_bulk && b->bulk_token == NULL && b->admin_socket != NULL) {
        if (bench_take(bench_admin(b, "POST", "/v1/admin/bulk-tokens", json_object()), "token",
                       b->bulk_buf, sizeof(b->bulk_buf)) == -1)
            return -1;
        b->bulk_token = b->bulk_buf;
    }
    if (b->mp_key == NULL || !bench_safe(b->mp_key, 128)) {
        fprintf(stderr, "sitetoken-bench: an MP API key is needed (--mp-key, $SITETOKEN_MP_KEY "
                        "or --admin-socket)\n");
        return -1;
    }
    if (need_bulk && (b->bulk_token == NULL || !bench_safe(b->bulk_token, 8192))) {
        fprintf(stderr, "sitetoken-bench: a bulk token is needed (--bulk-token or "
                        "--admin-socket)\n");
        return -1;
    }
    if (httpc_request(&b->target, "GET", "/v1/keys", NULL, NULL, 0, &resp, &errstr) == -1) {
        fprintf(stderr, "sitetoken-bench: GET /v1/keys: %s\n", errstr);
        return -1;
    }
    if (resp.status != 200 || (b->jwks = jwks_parse(resp.body, resp.body_len, &errstr)) == NULL) {
        fprintf(stderr, "sitetoken-bench: GET /v1/keys: HTTP %d, %s\n", resp.status,
                errstr != NULL ? errstr : "no key set");
        httpc_response_free(&resp);
        return -1;
    }
    b->jwks_doc = resp.body; /* the reference GET /v1/keys answers must match */
    b->expect = (struct bench_expect){.jwks = b->jwks,
                                      .jwks_doc = resp.body,
                                      .jwks_len = resp.body_len,
                                      .issuer = b->issuer,
                                      .verify_every = 16};
    b->load.expect = &b->expect;
    b->params = (struct bench_params){.host_header = b->host_header,
                                      .mp_key = b->mp_key,
                                      .bulk_token = b->bulk_token,
                                      .issuer = b->issuer,
                                      .alg = b->alg,
                                      .clock_offset = b->clock_offset,
                                      .threads = b->threads};
    return 0;
}

/* How many requests to make ahead for a run with unique proofs. */
static size_t
bench_plan(struct bench *b)
{
    const char *errstr = NULL;
    double per_s;
    size_t n;

    if (b->requests != 0)
        return b->requests;
    if (b->rate > 0) {
        per_s = b->rate;
    } else {
        /* The server cannot beat the crypto floor: a generous upper bound. */
        if (!b->floor_done) {
            struct bench_floor quick;

            if (bench_floor_run(b->alg, b->threads, 0.5, b->issuer, &quick, &errstr) == -1)
                per_s = 20000;
            else
                per_s = quick.rate;
        } else {
            per_s = b->fl.rate;
        }
        per_s *= 1.2;
    }
    n = (size_t)(per_s * (b->duration + b->warmup)) + (size_t)b->connections * 4;
    return n > BENCH_MAX_PREMADE ? BENCH_MAX_PREMADE : n;
}

/* Setup for renew, access, introspect and mixed: exchange ndev devices and
 * keep their client tokens. Not timed. 0/-1 (reported). */
static int
bench_enrol(struct bench *b, struct bench_device *devs, size_t ndev)
{
    struct bench_item *items = calloc(ndev, sizeof(*items));
    struct bench_item **seq = calloc(ndev, sizeof(*seq));
    struct bench_load_opts o = b->load;
    struct bench_load_result *r = malloc(sizeof(*r));
    const char *errstr = NULL;
    size_t i, have = 0;
    int rc = -1;

    if (items == NULL || seq == NULL || r == NULL) {
        fprintf(stderr, "sitetoken-bench: out of memory\n");
        goto done;
    }
    if (bench_items_make(&b->params, BENCH_EXCHANGE, devs, ndev, items, ndev, &errstr) == -1) {
        fprintf(stderr, "sitetoken-bench: %s\n", errstr);
        goto done;
    }
    for (i = 0; i < ndev; i++) {
        items[i].capture = 1;
        seq[i] = &items[i];
    }
    o.seq = seq;
    o.nseq = ndev;
    o.cyclic = 0;
    o.duration = o.warmup = o.rate = 0;
    o.max_requests = 0;
    if (bench_load_run(&o, r, &errstr) == -1) {
        fprintf(stderr, "sitetoken-bench: setup: %s\n", errstr);
        goto done;
    }
    for (i = 0; i < ndev; i++)
        have += devs[i].token != NULL;
    if (r->errors.total != 0) {
        fprintf(stderr, "sitetoken-bench: setup: %llu of %zu exchanges failed:",
                (unsigned long long)r->errors.total, ndev);
        for (i = 0; i < r->errors.n; i++)
            fprintf(stderr, " %s=%llu", r->errors.e[i].code,
                    (unsigned long long)r->errors.e[i].count);
        fprintf(stderr, "\n");
    }
    if (have == 0)
        goto done;
    rc = 0;
done:
    bench_items_free(items, ndev);
    free(items);
    free(seq);
    free(r);
    return rc;
}

/* The kind of a letter of BENCH_MIXED. */
static enum bench_kind
bench_mixed_kind(char c)
{
    switch (c) {
    case 'E':
        return BENCH_EXCHANGE;
    case 'A':
        return BENCH_ACCESS;
    case 'I':
        return BENCH_INTROSPECT;
    case 'K':
        return BENCH_KEYS;
    default:
        return BENCH_REVOCATIONS;
    }
}

/* Makes the requests, runs the setup and then the measured load. 0/-1. */
static int
bench_scenario(struct bench *b)
{
    enum bench_kind kind = bench_scenarios[b->scenario].kind;
    int mixed = kind == BENCH_KIND_COUNT, unique = 0, enrol = 0;
    struct bench_device *devs = NULL, *fresh = NULL;
    struct bench_item *items[BENCH_KIND_COUNT] = {0};
    size_t nitems[BENCH_KIND_COUNT] = {0}, pos[BENCH_KIND_COUNT] = {0};
    struct bench_item **seq = NULL;
    size_t n = 0, ndev = 0, nfresh = 0, i, k, nseq = 0;
    const char *errstr = NULL;
    double t0 = 0, cpu0;
    int rc = -1;
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    unique = mixed || kind == BENCH_EXCHANGE || kind == BENCH_RENEW || kind == BENCH_ACCESS;
    enrol = mixed || kind == BENCH_RENEW || kind == BENCH_ACCESS || kind == BENCH_INTROSPECT;
    if (bench_prepare(b, mixed || enrol || kind == BENCH_EXCHANGE) == -1)
        return -1;
    if (unique)
        n = bench_plan(b);
    /* How many of each kind: one kind, or the mixed pattern over n. */
    if (!mixed) {
        nitems[kind] = unique ? n : (kind == BENCH_INTROSPECT ? 0 : 1);
    } else {
        for (i = 0; i < strlen(BENCH_MIXED); i++) {
            k = bench_mixed_kind(BENCH_MIXED[i]);
            nitems[k] += (n + strlen(BENCH_MIXED) - 1 - i) / strlen(BENCH_MIXED);
        }
        nitems[BENCH_INTROSPECT] = nitems[BENCH_KEYS] = nitems[BENCH_REVOCATIONS] = 0;
    }
    /* Devices: enrolled ones (tokens) and fresh ones to exchange. */
    if (enrol) {
        ndev = b->devices != 0 ? b->devices : BENCH_POOL_DEFAULT;
        if (unique && !mixed && ndev > n)
            ndev = n;
        if ((devs = bench_devices_new(&b->params, ndev, &errstr)) == NULL)
            goto fail;
        if (b->json == 0)
            fprintf(stderr, "setup: exchanging %zu devices\n", ndev);
        if (bench_enrol(b, devs, ndev) == -1)
            goto fail;
    }
    if (mixed || kind == BENCH_EXCHANGE) {
        nfresh = b->devices != 0 && !mixed ? b->devices
                 : b->alg == JWK_ALG_RS256 ? 256
                                           : nitems[BENCH_EXCHANGE];
        if (nfresh > nitems[BENCH_EXCHANGE])
            nfresh = nitems[BENCH_EXCHANGE];
        if (nfresh > 0 && (fresh = bench_devices_new(&b->params, nfresh, &errstr)) == NULL)
            goto fail;
    }
    if (kind == BENCH_RENEW && b->renew_shift != 0) {
        if (bench_set_clock(b, b->clock_offset + b->renew_shift) == -1)
            goto fail;
        b->params.clock_offset = b->clock_offset + b->renew_shift;
    }
    if (mixed || kind == BENCH_INTROSPECT)
        nitems[BENCH_INTROSPECT] = ndev;
    if (mixed || kind == BENCH_KEYS)
        nitems[BENCH_KEYS] = 1;
    if (mixed || kind == BENCH_REVOCATIONS)
        nitems[BENCH_REVOCATIONS] = 1;
    if (b->json == 0 && unique)
        fprintf(stderr, "setup: making %zu requests with fresh proofs\n", n);
    for (k = 0; k < BENCH_KIND_COUNT; k++) {
        if (nitems[k] == 0)
            continue;
        if ((items[k] = calloc(nitems[k], sizeof(*items[k]))) == NULL ||
            bench_items_make(&b->params, (enum bench_kind)k, k == BENCH_EXCHANGE ? fresh : devs,
                             k == BENCH_EXCHANGE ? nfresh : ndev, items[k], nitems[k],
                             &errstr) == -1)
            goto fail;
    }
    /* The sequence: each kind in turn (mixed), or the one kind. */
    nseq = mixed ? n : (unique ? n : nitems[kind]);
    if ((seq = calloc(nseq, sizeof(*seq))) == NULL)
        goto fail;
    for (i = 0; i < nseq; i++) {
        k = kind;
        if (mixed)
            k = bench_mixed_kind(BENCH_MIXED[i % strlen(BENCH_MIXED)]);
        seq[i] = &items[k][pos[k]++ % nitems[k]];
    }
    b->premade = unique ? n : 0;
    b->load.seq = seq;
    b->load.nseq = nseq;
    b->load.cyclic = !unique;
    b->load.max_requests = b->requests;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    b->setup_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0;
    if (b->json == 0)
        fprintf(stderr, "setup: %.1f s; running\n", b->setup_s);
    b->expect.seen = b->expect.verified = 0; /* count the measured run only */
    cpu0 = bench_cpu_self();
    bench_cpu_run_begin(&b->cpu);
    if (bench_load_run(&b->load, &b->res, &errstr) == -1)
        goto fail;
    b->client_cpu_s = bench_cpu_self() - cpu0;
    bench_cpu_run_end(&b->cpu);
    b->server_cpu_s = b->cpu.servers_s;
    b->ran = 1;
    if (kind == BENCH_RENEW && b->renew_shift != 0)
        bench_set_clock(b, b->clock_offset);
    rc = 0;
fail:
    if (rc == -1 && errstr != NULL)
        fprintf(stderr, "sitetoken-bench: %s\n", errstr);
    for (k = 0; k < BENCH_KIND_COUNT; k++) {
        bench_items_free(items[k], nitems[k]);
        free(items[k]);
    }
    free(seq);
    bench_devices_free(devs, ndev);
    bench_devices_free(fresh, nfresh);
    return rc;
}

/* The gateway scenario (bench_gateway.c): its floor is always measured. */
static int
bench_gateway(struct bench *b)
{
    struct bench_gw_opts o = {.authority = &b->target,
                              .issuer = b->issuer,
                              .alg = b->alg,
                              .gw_url = b->gateway_url,
                              .gw_pid = b->gateway_pid,
                              .connections = b->connections,
                              .threads = b->threads,
                              .duration = b->duration,
                              .warmup = b->warmup,
                              .timeout = b->timeout,
                              .floor_seconds = b->floor_seconds,
                              .devices = b->devices,
                              .requests = b->requests,
                              .clock_offset = b->clock_offset,
                              .quiet = b->json};
    struct bench_gw_result *r = calloc(1, sizeof(*r));
    const char *errstr = NULL;
    int rc = -1;

    if (r == NULL || bench_prepare(b, 1) == -1)
        goto done;
    o.mp_key = b->mp_key;
    o.bulk_token = b->bulk_token;
    o.jwks_doc = b->expect.jwks_doc;
    o.jwks_len = b->expect.jwks_len;
    if (bench_gateway_run(&o, r, &errstr) == -1) {
        fprintf(stderr, "sitetoken-bench: gateway: %s\n", errstr);
        goto done;
    }
    b->res = r->res;
    b->fl = r->fl;
    b->floor_done = 1;
    b->premade = r->premade;
    b->setup_s = r->setup_s;
    b->client_cpu_s = r->client_cpu_s;
    b->server_cpu_s = r->gw_cpu_s;
    b->ran = 1;
    rc = 0;
done:
    free(r);
    return rc;
}

/* What the report shows, from b. */
static void
bench_summarize(const struct bench *b, struct bench_summary *s)
{
    *s = (struct bench_summary){
        .scenario = b->ran ? bench_scenarios[b->scenario].name : NULL,
        .alg = jwk_alg_name(b->alg),
        .connections = b->connections,
        .target_rate = b->rate,
        .res = &b->res,
        .verified = b->expect.verified,
        .premade = b->premade,
        .ran_out = b->res.ran_out && b->requests == 0,
        .setup_s = b->setup_s,
        .client_cpu_s = b->client_cpu_s,
        .server_cpu_s = b->server_cpu_s,
        .threads0 = b->cpu.before,
        .threads1 = b->cpu.after,
        .server_pids = b->cpu.pids,
        .nservers = b->cpu.nservers,
        .urls = b->urls,
        .nurls = b->nurls,
        .db_cpu_s = b->cpu.db_pid > 0 && b->ran ? b->cpu.db_s : -1,
        .db_sys_s = b->cpu.db_sys_s,
        .fl = b->floor_done ? &b->fl : NULL,
    };
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"mp-key", required_argument, NULL, 'm'},
        {"scenario", required_argument, NULL, 's'},
        {"connections", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"requests", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"warmup", required_argument, NULL, 'w'},
        {"bulk-token", required_argument, NULL, 'b'},
        {"alg", required_argument, NULL, 'a'},
        {"issuer", required_argument, NULL, 'i'},
        {"devices", required_argument, NULL, 'D'},
        {"admin-socket", required_argument, NULL, 'A'},
        {"renew-shift", required_argument, NULL, 'R'},
        {"clock-offset", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'T'},
        {"server-pid", required_argument, NULL, 'P'},
        {"db-pid", required_argument, NULL, 'B'},
        {"gateway-url", required_argument, NULL, 'g'},
        {"gateway-pid", required_argument, NULL, 'G'},
        {"floor", no_argument, NULL, 'f'},
        {"floor-seconds", required_argument, NULL, 'F'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench *b = calloc(1, sizeof(*b));
    struct bench_summary summary;
    const char *errstr = NULL;
    int ch, rc = 1, duration_set = 0;
    size_t i;
    char *end;

    if (b == NULL)
        return 1;
    *b = (struct bench){.mp_key = getenv("SITETOKEN_MP_KEY"),
                        .issuer = "urn:sitetoken:PS1",
                        .alg = JWK_ALG_EDDSA,
                        .connections = 16,
                        .duration = 10,
                        .timeout = 30,
                        .floor_seconds = 3};
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        errno = 0;
        end = NULL;
        switch (ch) {
        case 'u':
            if (b->nurls == BENCH_URLS_MAX)
                goto usage;
            b->urls[b->nurls++] = optarg;
            break;
        case 'm':
            b->mp_key = optarg;
            break;
        case 's':
            for (i = SCEN_EXCHANGE; i <= SCEN_GATEWAY; i++)
                if (strcmp(optarg, bench_scenarios[i].name) == 0)
                    b->scenario = (enum bench_scenario)i;
            if (b->scenario == SCEN_NONE)
                goto usage;
            break;
        case 'c':
            b->connections = (int)strtol(optarg, &end, 10);
            if (b->connections < 1 || b->connections > 100000)
                goto usage;
            break;
        case 'd':
            b->duration = strtod(optarg, &end);
            duration_set = 1;
            if (!(b->duration > 0))
                goto usage;
            break;
        case 'n':
            b->requests = strtoull(optarg, &end, 10);
            if (b->requests == 0 || b->requests > BENCH_MAX_PREMADE)
                goto usage;
            break;
        case 'r':
            b->rate = strtod(optarg, &end);
            if (!(b->rate > 0))
                goto usage;
            break;
        case 'w':
            b->warmup = strtod(optarg, &end);
            if (!(b->warmup >= 0))
                goto usage;
            break;
        case 'b':
            b->bulk_token = optarg;
            break;
        case 'a':
            if (jwk_alg_from_name(optarg, &b->alg) == -1)
                goto usage;
            break;
        case 'i':
            b->issuer = optarg;
            break;
        case 'D':
            b->devices = strtoul(optarg, &end, 10);
            if (b->devices == 0 || b->devices > BENCH_MAX_PREMADE)
                goto usage;
            break;
        case 'A':
            b->admin_socket = optarg;
            break;
        case 'R':
            b->renew_shift = strtoll(optarg, &end, 10);
            break;
        case 'o':
            b->clock_offset = strtoll(optarg, &end, 10);
            break;
        case 't':
            b->timeout = strtod(optarg, &end);
            if (!(b->timeout > 0))
                goto usage;
            break;
        case 'T':
            b->threads = (int)strtol(optarg, &end, 10);
            if (b->threads < 1 || b->threads > 64)
                goto usage;
            break;
        case 'P':
            if (b->cpu.nservers == BENCH_CPU_SERVERS)
                goto usage;
            b->cpu.pids[b->cpu.nservers++] = strtol(optarg, &end, 10);
            break;
        case 'B':
            b->cpu.db_pid = strtol(optarg, &end, 10);
            break;
        case 'g':
            b->gateway_url = optarg;
            break;
        case 'G':
            b->gateway_pid = strtol(optarg, &end, 10);
            break;
        case 'f':
            b->floor = 1;
            break;
        case 'F':
            b->floor_seconds = strtod(optarg, &end);
            if (!(b->floor_seconds > 0))
                goto usage;
            break;
        case 'j':
            b->json = 1;
            break;
        case 'h':
            usage(stdout);
            free(b);
            return 0;
        default:
            goto usage;
        }
        if (errno != 0 || (end != NULL && *end != '\0'))
            goto usage;
    }
    if (optind != argc || (b->scenario == SCEN_NONE && !b->floor))
        goto usage;
    if (b->requests != 0 && !duration_set)
        b->duration = 0;
    if (b->threads == 0)
        b->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (b->renew_shift != 0 && b->admin_socket == NULL) {
        fprintf(stderr, "sitetoken-bench: --renew-shift needs --admin-socket\n");
        goto done;
    }
    if (b->nurls == 0)
        b->urls[b->nurls++] = "http://127.0.0.1:8080";
    for (i = 0; b->scenario != SCEN_NONE && i < (size_t)b->nurls; i++) {
        if (bench_parse_url(b, (int)i) == -1) {
            fprintf(stderr, "sitetoken-bench: --url must be http://HOST:PORT: %s\n", b->urls[i]);
            goto done;
        }
    }
    if (b->scenario == SCEN_GATEWAY && (b->nurls > 1 || b->cpu.nservers > 1)) {
        fprintf(stderr, "sitetoken-bench: --scenario gateway takes one --url\n");
        goto done;
    }
    if (b->connections < b->nurls) {
        fprintf(stderr, "sitetoken-bench: fewer --connections than --url\n");
        goto done;
    }
    b->load.naddr = b->nurls;
    b->admin.unix_path = b->admin_socket;
    b->admin.timeout_ms = b->target.timeout_ms = (long)(b->timeout * 1000);
    b->load.connections = b->connections;
    b->load.duration = b->duration;
    b->load.warmup = b->warmup;
    b->load.rate = b->rate;
    b->load.timeout = b->timeout;
    json_object_seed(0);
    /* The floor first, on a quiet machine (the server idles). */
    if (b->floor && b->scenario != SCEN_GATEWAY) {
        if (bench_floor_run(b->alg, b->threads, b->floor_seconds, b->issuer, &b->fl, &errstr) ==
            -1) {
            fprintf(stderr, "sitetoken-bench: floor: %s\n", errstr);
            goto done;
        }
        b->floor_done = 1;
    }
    if (b->scenario == SCEN_GATEWAY && (b->gateway_url == NULL || b->rate > 0)) {
        fprintf(stderr, "sitetoken-bench: --scenario gateway needs --gateway-url (closed loop "
                        "only)\n");
        goto done;
    }
    if (b->scenario == SCEN_GATEWAY ? bench_gateway(b) == -1
        : b->scenario != SCEN_NONE  ? bench_scenario(b) == -1
                                    : 0)
        goto done;
    bench_summarize(b, &summary);
    if (b->json)
        bench_report_json(&summary);
    else
        bench_report_text(&summary);
    rc = 0;
done:
    jwks_free(b->jwks);
    free(b->jwks_doc);
    free(b);
    return rc;
usage:
    usage(stderr);
    free(b);
    return 2;
}
