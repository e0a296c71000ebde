/* The gateway scenario (see bench_gateway.h). Setup, not timed: device keys,
 * one exchange and one access token per device through the authority, the
 * floor, then one DPoP proof per request (each its own jti, signed ahead on
 * every CPU; the per-device request head with the access token and its ath is
 * made once). The load: one libevent loop, N keep-alive connections, one
 * request in flight on each, GET /auth with X-Forwarded-* as a proxy sends
 * it; an answer counts as ok only when it is 200 with X-Sitetoken-Code: ok,
 * else it is counted under its X-Sitetoken-Code. */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "b64url.h"
#include "bench_cpu.h"
#include "bench_gateway.h"
#include "bench_gwfloor.h"
#include "bench_work.h"
#include "ids.h"
#include "jws.h"
#include "proof.h"
#include "sitetoken.h"

#define GWB_DEVICES_DEFAULT 64
#define GWB_MAX_REQUESTS 5000000
#define GWB_HEAD_MAX 16384
#define GWB_ORIGIN_HOST "site.example"
#define GWB_PATH "/bench/resource"
#define GWB_HTU "http://" GWB_ORIGIN_HOST GWB_PATH

/* One device as the load sees it: its key, the b64url DPoP header (with its
 * jwk), the ath of its access token, and the request head up to "DPoP: ". */
struct gwb_dev {
    struct bench_device *d; /* borrowed from the setup's array */
    char *access;           /* owned: its access token */
    char *dpop_hdr_b64;     /* owned */
    char ath[JWK_THUMBPRINT_LEN + 1];
    char *head; /* owned: "GET /auth HTTP/1.1\r\n...DPoP: " */
    size_t head_len;
};

/* The gateway's address and Host header, from its URL. */
struct gwb_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[300];
};

/* One pre-made request: its device and its own proof. */
struct gwb_item {
    const struct gwb_dev *dev;
    char *proof; /* owned */
    size_t proof_len;
};

static double
gwb_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
gwb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The gateway's URL: plain http, no path. 0/-1 with *errstr. */
static int
gwb_target(const char *url, struct gwb_target *t, const char **errstr)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    struct httpc_url u;
    char port[16];

    if (url == NULL || httpc_url_parse(url, &u, errstr) == -1 || u.tls ||
        strcmp(u.path, "/") != 0) {
        *errstr = "--gateway-url must be http://HOST:PORT";
        return -1;
    }
    snprintf(port, sizeof(port), "%d", u.port);
    if (getaddrinfo(u.host, port, &hints, &res) != 0 || res->ai_addrlen > sizeof(t->addr)) {
        if (res != NULL)
            freeaddrinfo(res);
        *errstr = "--gateway-url: cannot resolve the host";
        return -1;
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(t->host, sizeof(t->host), "%.*s", (int)sizeof(t->host) - 1,
             u.origin + strlen("http://"));
    return 0;
}

/* --- setup through the authority ---------------------------------------- */

/* POST the body of a pre-made request (bench_work's, for the exchange and
 * access proofs) with the MP key; the answer's field, malloc'd, or NULL. */
static char *
gwb_post(const struct bench_gw_opts *o, const char *path, const struct bench_item *it,
         const char *field, const char **errstr)
{
    static __thread char why[160];
    const char *body = it->req != NULL ? strstr(it->req, "\r\n\r\n") : NULL, *e = NULL;
    char auth[200];
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    struct httpc_response resp;
    json_t *doc = NULL;
    char *out = NULL;

    if (body == NULL) {
        *errstr = "no request body";
        return NULL;
    }
    body += 4;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->mp_key);
    if (httpc_request(o->authority, "POST", path, hdrs, body, strlen(body), &resp, &e) == -1) {
        snprintf(why, sizeof(why), "%s: %s", path, e);
        *errstr = why;
        httpc_response_free(&resp);
        return NULL;
    }
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (resp.status / 100 != 2 || json_string_value(json_object_get(doc, field)) == NULL) {
        snprintf(why, sizeof(why), "%s: HTTP %d (%s)", path, resp.status,
                 json_string_value(json_object_get(doc, "code")) != NULL
                     ? json_string_value(json_object_get(doc, "code"))
                     : "no code");
        *errstr = why;
    } else if ((out = strdup(json_string_value(json_object_get(doc, field)))) == NULL) {
        *errstr = "out of memory";
    }
    json_decref(doc);
    httpc_response_free(&resp);
    return out;
}

/* The DPoP header and the request head of a device with an access token. */
static int
gwb_dev_finish(const struct bench_gw_opts *o, const struct gwb_target *gt, struct gwb_dev *g)
{
    json_t *hdr = json_pack("{s:s, s:s, s:o}", "typ", "dpop+jwt", "alg", jwk_alg_name(o->alg),
                            "jwk", jwk_public_to_json(g->d->key, NULL));
    char *text = hdr != NULL ? json_dumps(hdr, JSON_COMPACT) : NULL;
    int n;

    json_decref(hdr);
    if (text == NULL || (g->dpop_hdr_b64 = b64url_encode(text, strlen(text))) == NULL ||
        proof_ath(g->access, strlen(g->access), g->ath) == -1) {
        free(text);
        return -1;
    }
    free(text);
    n = asprintf(&g->head,
                 "GET /auth HTTP/1.1\r\nHost: %s\r\nX-Forwarded-Method: GET\r\n"
                 "X-Forwarded-Proto: http\r\nX-Forwarded-Host: " GWB_ORIGIN_HOST "\r\n"
                 "X-Forwarded-Uri: " GWB_PATH "\r\nAuthorization: DPoP %s\r\nDPoP: ",
                 gt->host, g->access);
    if (n < 0) {
        g->head = NULL;
        return -1;
    }
    g->head_len = (size_t)n;
    return 0;
}

/* Devices, their exchanges and access tokens. Returns how many devices are
 * usable (*gdevs filled), or -1 with *errstr. */
static long
gwb_enrol(const struct bench_gw_opts *o, const struct gwb_target *gt, struct bench_params *p,
          struct bench_device **devs_out, size_t ndev, struct gwb_dev **gdevs_out,
          const char **errstr)
{
    struct bench_item *ex = NULL, *ac = NULL;
    struct bench_device *devs;
    struct gwb_dev *g = NULL;
    long have = -1;
    size_t i;

    if ((devs = bench_devices_new(p, ndev, errstr)) == NULL)
        return -1;
    *devs_out = devs;
    if ((ex = calloc(ndev, sizeof(*ex))) == NULL || (ac = calloc(ndev, sizeof(*ac))) == NULL ||
        (g = calloc(ndev, sizeof(*g))) == NULL) {
        *errstr = "out of memory";
        goto done;
    }
    if (bench_items_make(p, BENCH_EXCHANGE, devs, ndev, ex, ndev, errstr) == -1)
        goto done;
    for (i = 0; i < ndev; i++)
        if ((devs[i].token = gwb_post(o, "/v1/exchanges", &ex[i], "token", errstr)) == NULL)
            goto done;
    if (bench_items_make(p, BENCH_ACCESS, devs, ndev, ac, ndev, errstr) == -1)
        goto done;
    for (i = 0; i < ndev; i++) {
        g[i].d = &devs[i];
        if ((g[i].access = gwb_post(o, "/v1/access-tokens", &ac[i], "access_token", errstr)) ==
            NULL)
            goto done;
        if (gwb_dev_finish(o, gt, &g[i]) == -1) {
            *errstr = "out of memory";
            goto done;
        }
    }
    have = (long)ndev;
done:
    bench_items_free(ex, ndev);
    bench_items_free(ac, ndev);
    free(ex);
    free(ac);
    *gdevs_out = g;
    return have;
}

static void
gwb_devs_free(struct gwb_dev *g, size_t n)
{
    for (size_t i = 0; g != NULL && i < n; i++) {
        free(g[i].access);
        free(g[i].dpop_hdr_b64);
        free(g[i].head);
    }
    free(g);
}

/* --- proofs --------------------------------------------------------------- */

/* One fresh DPoP proof for GET GWB_HTU by dev. NULL on failure. */
static char *
gwb_proof(const struct gwb_dev *g, enum jwk_alg alg, long long clock_offset, size_t *len)
{
    char jti[IDS_JTI_LEN + 1], claims[256], *claims_b64 = NULL, *input = NULL, *out = NULL;
    uint8_t sig[JWS_SIG_MAX];
    size_t siglen = sizeof(sig);

    ids_jti(jti);
    snprintf(claims, sizeof(claims),
             "{\"jti\":\"%s\",\"htm\":\"GET\",\"htu\":\"" GWB_HTU "\",\"iat\":%lld,\"ath\":\"%s\"}",
             jti, (long long)time(NULL) + clock_offset, g->ath);
    if ((claims_b64 = b64url_encode(claims, strlen(claims))) == NULL ||
        asprintf(&input, "%s.%s", g->dpop_hdr_b64, claims_b64) < 0) {
        input = NULL;
        goto done;
    }
    if (jws_sign_raw(g->d->key, alg, input, strlen(input), sig, &siglen) == 0 &&
        (out = jws_compact(input, sig, siglen)) != NULL)
        *len = strlen(out);
done:
    free(claims_b64);
    free(input);
    return out;
}

struct gwb_proofjob {
    pthread_t tid;
    const struct bench_gw_opts *o;
    const struct gwb_dev *devs;
    size_t ndev;
    struct gwb_item *items;
    size_t from, to;
    int rc;
};

static void *
gwb_proof_main(void *arg)
{
    struct gwb_proofjob *j = arg;

    j->rc = 0;
    for (size_t i = j->from; i < j->to; i++) {
        j->items[i].dev = &j->devs[i % j->ndev];
        if ((j->items[i].proof = gwb_proof(j->items[i].dev, j->o->alg, j->o->clock_offset,
                                           &j->items[i].proof_len)) == NULL) {
            j->rc = -1;
            break;
        }
    }
    return NULL;
}

static int
gwb_proofs_make(const struct bench_gw_opts *o, const struct gwb_dev *devs, size_t ndev,
                struct gwb_item *items, size_t n, int threads)
{
    struct gwb_proofjob j[64];
    int started = 0, rc = 0;

    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    for (int i = 0; i < threads; i++) {
        j[i] = (struct gwb_proofjob){.o = o,
                                     .devs = devs,
                                     .ndev = ndev,
                                     .items = items,
                                     .from = n * (size_t)i / (size_t)threads,
                                     .to = n * (size_t)(i + 1) / (size_t)threads};
        if (i > 0 && pthread_create(&j[i].tid, NULL, gwb_proof_main, &j[i]) != 0)
            break;
        started = i + 1;
    }
    gwb_proof_main(&j[0]);
    for (int i = 1; i < started; i++)
        pthread_join(j[i].tid, NULL);
    for (int i = 0; i < started; i++)
        rc |= j[i].rc;
    return started == threads && rc == 0 ? 0 : -1;
}

/* --- the floor (bench_gwfloor.c) ------------------------------------------ */

static int
gwb_floor(const struct bench_gw_opts *o, const struct gwb_dev *devs, size_t ndev,
          struct bench_floor *fl, const char **errstr)
{
    struct bench_gwfloor_opts fo = {.issuer = o->issuer,
                                    .jwks_doc = o->jwks_doc,
                                    .jwks_len = o->jwks_len,
                                    .htu = GWB_HTU,
                                    .clock_offset = o->clock_offset,
                                    .threads = o->threads,
                                    .seconds = o->floor_seconds};
    size_t n = ndev < 64 ? ndev : 64;
    struct bench_gwfloor_sample *sm = calloc(n, sizeof(*sm));
    int rc = -1;

    if (sm == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        sm[i].access = devs[i].access;
        if ((sm[i].proof = gwb_proof(&devs[i], o->alg, o->clock_offset, &sm[i].proof_len)) ==
            NULL) {
            *errstr = "signing a proof failed";
            goto done;
        }
    }
    rc = bench_gwfloor_run(&fo, sm, n, fl, errstr);
done:
    for (size_t i = 0; i < n; i++)
        free(sm[i].proof);
    free(sm);
    return rc;
}

/* --- the load ------------------------------------------------------------- */

struct gwb_run;

struct gwb_conn {
    struct gwb_run *run;
    struct bufferevent *bev;
    const struct gwb_item *item; /* in flight, or NULL */
    uint64_t t_start;
};

struct gwb_run {
    const struct bench_gw_opts *o;
    const struct gwb_target *gt;
    struct bench_load_result *r;
    struct event_base *base;
    struct event *deadline_ev, *measure_ev;
    struct gwb_conn *conns;
    const struct gwb_item *items;
    size_t nitems, next;
    int alive, stopping;
    uint64_t inflight, t_measure, t_last;
    double cpu0, gcpu0; /* the bench's and the gateway's CPU seconds when measuring began */
};

static void gwb_conn_next(struct gwb_conn *c);

static void
gwb_run_stop(struct gwb_run *run)
{
    run->stopping = 1;
    if (run->inflight == 0)
        event_base_loopbreak(run->base);
}

static void
gwb_account(struct gwb_conn *c, int answered, const char *code)
{
    struct gwb_run *run = c->run;
    uint64_t now = gwb_now_ns();

    if (now >= run->t_measure && run->t_measure != 0) {
        run->r->requests++;
        if (code == NULL)
            run->r->ok++;
        else
            bench_errors_add(&run->r->errors, code, 1);
        if (answered)
            bench_hist_record(&run->r->hist, now - c->t_start);
        run->t_last = now;
    }
    c->item = NULL;
    run->inflight--;
}

static void
gwb_conn_lost(struct gwb_conn *c, const char *code)
{
    struct gwb_run *run = c->run;

    if (c->item != NULL)
        gwb_account(c, 0, code);
    bufferevent_free(c->bev);
    c->bev = NULL;
    run->r->connections_lost++;
    if (--run->alive == 0 || (run->stopping && run->inflight == 0))
        event_base_loopbreak(run->base);
}

/* The value of header name in the head block (NUL-terminated), copied. */
static int
gwb_header(const char *head, const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name);

    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *v = p + 2;

        if (strncasecmp(v, name, n) == 0 && v[n] == ':') {
            size_t len;

            v += n + 1;
            v += strspn(v, " ");
            len = strcspn(v, "\r\n");
            if (len >= outsz)
                len = outsz - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
    }
    return -1;
}

static void
gwb_read_cb(struct bufferevent *bev, void *arg)
{
    struct gwb_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        char head[GWB_HEAD_MAX + 1], val[64], code[80];
        size_t hlen, blen = 0;
        int status = 0;

        if (end.pos < 0) {
            if (evbuffer_get_length(in) > GWB_HEAD_MAX)
                gwb_conn_lost(c, "transport:head_too_long");
            return;
        }
        hlen = (size_t)end.pos + 4;
        if (hlen > GWB_HEAD_MAX) {
            gwb_conn_lost(c, "transport:head_too_long");
            return;
        }
        evbuffer_copyout(in, head, hlen);
        head[hlen] = '\0';
        if (gwb_header(head, "Content-Length", val, sizeof(val)) == 0)
            blen = strtoul(val, NULL, 10);
        if (evbuffer_get_length(in) < hlen + blen)
            return;
        evbuffer_drain(in, hlen + blen);
        if (c->item == NULL) {
            gwb_conn_lost(c, "transport:unexpected_data");
            return;
        }
        sscanf(head, "HTTP/1.%*c %d", &status);
        if (gwb_header(head, "X-Sitetoken-Code", val, sizeof(val)) == -1)
            snprintf(val, sizeof(val), "http_%d", status);
        if (status == 200 && strcmp(val, "ok") == 0) {
            gwb_account(c, 1, NULL);
        } else {
            snprintf(code, sizeof(code), "%s", val);
            gwb_account(c, 1, code);
        }
        gwb_conn_next(c);
        if (c->bev == NULL || c->item == NULL)
            return;
    }
}

static void
gwb_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct gwb_conn *c = arg;

    if (what & BEV_EVENT_CONNECTED)
        return;
    gwb_conn_lost(c, what & BEV_EVENT_TIMEOUT ? "transport:timeout" : "transport:closed");
}

/* Sends the next pre-made request on c, or stops the run when none is left. */
static void
gwb_conn_next(struct gwb_conn *c)
{
    struct gwb_run *run = c->run;
    struct evbuffer *out;
    const struct gwb_item *it;

    if (run->stopping || run->next >= run->nitems) {
        if (!run->stopping && run->next >= run->nitems)
            run->r->ran_out = 1;
        gwb_run_stop(run);
        return;
    }
    it = &run->items[run->next++];
    run->r->issued++;
    c->item = it;
    c->t_start = gwb_now_ns();
    run->inflight++;
    out = bufferevent_get_output(c->bev);
    if (evbuffer_add(out, it->dev->head, it->dev->head_len) == -1 ||
        evbuffer_add(out, it->proof, it->proof_len) == -1 || evbuffer_add(out, "\r\n\r\n", 4) == -1)
        gwb_conn_lost(c, "transport:write");
}

static void
gwb_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    gwb_run_stop(arg);
}

static void
gwb_measure_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gwb_run *run = arg;

    run->t_measure = gwb_now_ns();
    run->cpu0 = bench_cpu_self();
    run->gcpu0 = bench_cpu_of(run->o->gw_pid);
}

static int
gwb_load(const struct bench_gw_opts *o, const struct gwb_target *gt, const struct gwb_item *items,
         size_t n, struct bench_load_result *r, double *cpu, double *gcpu, const char **errstr)
{
    struct gwb_run run = {.o = o, .gt = gt, .r = r, .items = items, .nitems = n};
    struct timeval tv_to = {.tv_sec = (time_t)o->timeout,
                            .tv_usec =
                                (suseconds_t)((o->timeout - (double)(time_t)o->timeout) * 1e6)};
    struct timeval tv;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    bench_hist_init(&r->hist);
    if ((run.base = event_base_new()) == NULL ||
        (run.conns = calloc((size_t)o->connections, sizeof(*run.conns))) == NULL) {
        *errstr = "out of memory";
        goto done;
    }
    for (int i = 0; i < o->connections; i++) {
        struct gwb_conn *c = &run.conns[i];

        c->run = &run;
        c->bev = bufferevent_socket_new(run.base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL || bufferevent_socket_connect(c->bev, (struct sockaddr *)&gt->addr,
                                                         (int)gt->addrlen) == -1) {
            if (c->bev != NULL)
                bufferevent_free(c->bev);
            c->bev = NULL;
            r->connect_failures++;
            continue;
        }
        bufferevent_setcb(c->bev, gwb_read_cb, NULL, gwb_event_cb, c);
        bufferevent_set_timeouts(c->bev, &tv_to, &tv_to);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        run.alive++;
    }
    if (run.alive == 0) {
        *errstr = "cannot connect to the gateway";
        goto done;
    }
    run.deadline_ev = evtimer_new(run.base, gwb_deadline_cb, &run);
    run.measure_ev = evtimer_new(run.base, gwb_measure_cb, &run);
    if (o->warmup > 0) {
        tv = (struct timeval){.tv_sec = (time_t)o->warmup,
                              .tv_usec =
                                  (suseconds_t)((o->warmup - (double)(time_t)o->warmup) * 1e6)};
        evtimer_add(run.measure_ev, &tv);
    } else {
        gwb_measure_cb(-1, 0, &run);
    }
    if (o->duration > 0) {
        double d = o->duration + o->warmup;

        tv = (struct timeval){.tv_sec = (time_t)d,
                              .tv_usec = (suseconds_t)((d - (double)(time_t)d) * 1e6)};
        evtimer_add(run.deadline_ev, &tv);
    }
    for (int i = 0; i < o->connections; i++)
        if (run.conns[i].bev != NULL)
            gwb_conn_next(&run.conns[i]);
    event_base_dispatch(run.base);
    *cpu = run.t_measure != 0 ? bench_cpu_self() - run.cpu0 : 0;
    *gcpu = run.t_measure != 0 && run.gcpu0 >= 0 ? bench_cpu_of(o->gw_pid) - run.gcpu0 : -1;
    r->elapsed = run.t_last > run.t_measure && run.t_measure != 0
                     ? (double)(run.t_last - run.t_measure) / 1e9
                     : 0;
    rc = 0;
done:
    for (int i = 0; run.conns != NULL && i < o->connections; i++)
        if (run.conns[i].bev != NULL)
            bufferevent_free(run.conns[i].bev);
    free(run.conns);
    if (run.deadline_ev != NULL)
        event_free(run.deadline_ev);
    if (run.measure_ev != NULL)
        event_free(run.measure_ev);
    if (run.base != NULL)
        event_base_free(run.base);
    return rc;
}

/* --- the scenario --------------------------------------------------------- */

int
bench_gateway_run(const struct bench_gw_opts *o, struct bench_gw_result *out, const char **errstr)
{
    size_t ndev = o->devices != 0 ? o->devices : GWB_DEVICES_DEFAULT, n = 0;
    struct bench_params p = {.host_header = "authority",
                             .mp_key = o->mp_key,
                             .bulk_token = o->bulk_token,
                             .issuer = o->issuer,
                             .alg = o->alg,
                             .clock_offset = o->clock_offset,
                             .threads = o->threads};
    struct bench_device *devs = NULL;
    struct gwb_dev *g = NULL;
    struct gwb_item *items = NULL;
    struct gwb_target gt;
    double t0 = gwb_now_s();
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (gwb_target(o->gw_url, &gt, errstr) == -1)
        return -1;
    if (!o->quiet)
        fprintf(stderr, "setup: %zu devices, an exchange and an access token each\n", ndev);
    if (gwb_enrol(o, &gt, &p, &devs, ndev, &g, errstr) == -1)
        goto done;
    if (!o->quiet)
        fprintf(stderr, "setup: floor (token verify + proof verify), %.1f s a phase\n",
                o->floor_seconds);
    if (gwb_floor(o, g, ndev, &out->fl, errstr) == -1)
        goto done;
    n = o->requests;
    if (n == 0)
        n = (size_t)(out->fl.rate * 2 * (o->duration + o->warmup)) + (size_t)o->connections * 4;
    if (n > GWB_MAX_REQUESTS)
        n = GWB_MAX_REQUESTS;
    if (!o->quiet)
        fprintf(stderr, "setup: signing %zu proofs\n", n);
    if ((items = calloc(n, sizeof(*items))) == NULL) {
        *errstr = "out of memory";
        goto done;
    }
    if (gwb_proofs_make(o, g, ndev, items, n, o->threads) == -1) {
        *errstr = "signing a proof failed";
        goto done;
    }
    out->premade = n;
    out->setup_s = gwb_now_s() - t0;
    if (!o->quiet)
        fprintf(stderr, "setup: %.1f s; running\n", out->setup_s);
    if (gwb_load(o, &gt, items, n, &out->res, &out->client_cpu_s, &out->gw_cpu_s, errstr) == -1)
        goto done;
    rc = 0;
done:
    for (size_t i = 0; items != NULL && i < n; i++)
        free(items[i].proof);
    free(items);
    gwb_devs_free(g, ndev);
    bench_devices_free(devs, ndev);
    return rc;
}
