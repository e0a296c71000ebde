/* sitetoken-gateway: the forward-auth service of the gateway kit. A reverse
 * proxy (nginx auth_request, Caddy forward_auth, Traefik forwardAuth, Envoy
 * ext_authz) asks GET|ANY /auth for every device request; the gateway checks
 * the access token and its DPoP proof offline with libsitetoken and answers
 * 200 with the X-Sitetoken-* identity headers, or a refusal with
 * X-Sitetoken-Code and a problem document. /auth/enrol pre-screens bulk
 * tokens for the enrolment path. Keys and revocations are kept fresh by
 * the follower thread (gw_fetch.c); the loop (this file and gw_auth.c) only
 * reads them. See docs/gateway.md. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <unistd.h>
#include <jansson.h>

#include "gw.h"
#include "gw_auth.h"
#include "gw_fetch.h"
#include "gw_man.h"
#include "notify.h"

static int gw_log_level = 2; /* set once at start: 0 error .. 3 debug */

int64_t
gw_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
gw_now(const struct gw *g)
{
    return (int64_t)time(NULL) + atomic_load(&((struct gw *)g)->clock_offset);
}

int
gw_fresh(struct gw *g)
{
    int64_t c = atomic_load(&g->confirmed_ms);

    /* JWS mode: the verified document held must not have expired either. */
    return c != 0 && atomic_load(&g->keys_loaded) &&
           gw_mono_ms() - c <= g->cfg.max_staleness * 1000 &&
           (!g->jws_mode || gw_now(g) < atomic_load(&g->jws_exp));
}

void
gw_log(const char *level, const char *fmt, ...)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    va_list ap;
    int l = 0;

    for (int i = 0; i < 4; i++)
        if (strcmp(level, levels[i]) == 0)
            l = i;
    if (l > gw_log_level)
        return;
    flockfile(stderr); /* one whole line, whichever thread logs */
    fprintf(stderr, "level=%s ", level);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void
gw_notify(const char *state)
{
    const char *errstr = NULL;
    int rc = state != NULL ? notify_send(state, &errstr) : notify_reloading(&errstr);

    if (rc == -1)
        gw_log("warn", "event=notify state=%s error=\"%s\"", state != NULL ? state : "RELOADING=1",
               errstr);
}

/* One event loop answering the proxy (listen.threads of them): its own
 * base, evhttp and listening socket on the shared port (SO_REUSEPORT: the
 * kernel spreads connections across the loops). Loop 0 runs on the main
 * thread and also handles the signals. Everything a loop touches in struct
 * gw is shared as gw.h says. */
#define GW_LOOPS_MAX 64

struct gw_loop {
    struct gw *g;
    struct event_base *base;
    struct evhttp *http;
    pthread_t tid;
    int started;
};

static void
gw_reply_json(struct evhttp_request *req, int status, const char *ctype, json_t *doc)
{
    struct evbuffer *b = evbuffer_new();
    char *text = json_dumps(doc, JSON_COMPACT);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    if (b != NULL && text != NULL)
        evbuffer_add(b, text, strlen(text));
    evhttp_send_reply(req, status, NULL, b);
    free(text);
    if (b != NULL)
        evbuffer_free(b);
}

/* Every /auth answer: the identity headers always present, the code, and a
 * problem document for refusals. */
static void
gw_answer_send(struct gw_loop *l, struct evhttp_request *req, const struct gw_answer *a)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    int status = errcode_status(a->code);
    json_t *doc;
    char buf[256];

    atomic_fetch_add_explicit(&l->g->answers[a->code], 1, memory_order_relaxed);
    evhttp_add_header(h, "X-Sitetoken-Code", a->code == ERRCODE_OK ? "ok" : errcode_name(a->code));
    evhttp_add_header(h, "X-Sitetoken-Device-Id", a->device_id);
    evhttp_add_header(h, "X-Sitetoken-Token-Id", a->token_id);
    evhttp_add_header(h, "X-Sitetoken-Site", a->site);
    evhttp_add_header(h, "X-Sitetoken-Labels", a->labels);
    if (a->www_error != NULL) {
        if (*a->www_error != '\0')
            snprintf(buf, sizeof(buf), "DPoP algs=\"EdDSA Ed25519 ES256 RS256\", error=\"%s\"",
                     a->www_error);
        else
            snprintf(buf, sizeof(buf), "DPoP algs=\"EdDSA Ed25519 ES256 RS256\"");
        evhttp_add_header(h, "WWW-Authenticate", buf);
    }
    if (a->retry_after > 0) {
        snprintf(buf, sizeof(buf), "%d", a->retry_after);
        evhttp_add_header(h, "Retry-After", buf);
    }
    if (a->code == ERRCODE_OK) {
        doc = json_pack("{s:s, s:s, s:s, s:s}", "code", "ok", "device_id", a->device_id, "token_id",
                        a->token_id, "site", a->site);
        gw_reply_json(req, 200, "application/json", doc);
    } else {
        snprintf(buf, sizeof(buf), "urn:sitetoken:error:%s", errcode_name(a->code));
        doc = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", buf, "title", errcode_title(a->code),
                        "status", status, "detail",
                        a->detail != NULL ? a->detail : errcode_title(a->code), "code",
                        errcode_name(a->code));
        gw_reply_json(req, status, "application/problem+json", doc);
    }
    json_decref(doc);
}

static void
gw_problem(struct gw_loop *l, struct evhttp_request *req, enum errcode code, const char *detail)
{
    struct gw_answer a = {.code = code, .detail = detail};

    gw_answer_send(l, req, &a);
}

static int
gw_path_is(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void
gw_text(struct evhttp_request *req, int status, const char *ctype, const char *text)
{
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evbuffer_add(b, text, strlen(text));
    evhttp_send_reply(req, status, NULL, b);
    evbuffer_free(b);
}

static void
gw_metrics(struct gw_loop *l, struct evhttp_request *req)
{
    struct gw *g = l->g;
    struct evbuffer *b = evbuffer_new();
    int64_t c = atomic_load(&g->confirmed_ms);

    evbuffer_add_printf(b, "# TYPE sitetoken_gateway_answers_total counter\n");
    for (int i = 0; i < ERRCODE_COUNT; i++)
        if (atomic_load(&g->answers[i]) > 0 || i == ERRCODE_OK)
            evbuffer_add_printf(b, "sitetoken_gateway_answers_total{code=\"%s\"} %lld\n",
                                i == ERRCODE_OK ? "ok" : errcode_name((enum errcode)i),
                                (long long)atomic_load(&g->answers[i]));
    evbuffer_add_printf(
        b,
        "# TYPE sitetoken_gateway_fetches_total counter\n"
        "sitetoken_gateway_fetches_total{what=\"keys\"} %lld\n"
        "sitetoken_gateway_fetches_total{what=\"revocations\"} %lld\n"
        "sitetoken_gateway_stream_connects_total %lld\n"
        "sitetoken_gateway_events_total %lld\n"
        "sitetoken_gateway_fresh %d\n"
        "sitetoken_gateway_confirmed_age_seconds %.3f\n",
        (long long)atomic_load(&g->n_keys_fetches), (long long)atomic_load(&g->n_revs_fetches),
        (long long)atomic_load(&g->n_stream_connects), (long long)atomic_load(&g->n_events),
        gw_fresh(g), c ? (gw_mono_ms() - c) / 1000.0 : -1.0);
    pthread_rwlock_rdlock(&g->lock);
    evbuffer_add_printf(b,
                        "sitetoken_gateway_keys %zu\nsitetoken_gateway_revocations %zu\n"
                        "sitetoken_gateway_revocation_serial %lld\n",
                        sitetoken_verifier_key_count(g->v), sitetoken_revocations_count(g->revs),
                        (long long)sitetoken_revocations_serial(g->revs));
    pthread_rwlock_unlock(&g->lock);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, NULL, b);
    evbuffer_free(b);
}

/* Test-only: POST /debug/clock {"offset_seconds": N}. */
static void
gw_debug_clock(struct gw_loop *l, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    json_t *doc = NULL, *off;
    char buf[1024];

    if (n >= sizeof(buf) || evbuffer_copyout(in, buf, n) != (ev_ssize_t)n ||
        (doc = json_loadb(buf, n, 0, NULL)) == NULL ||
        !json_is_integer(off = json_object_get(doc, "offset_seconds"))) {
        json_decref(doc);
        gw_problem(l, req, ERRCODE_INVALID_REQUEST, "offset_seconds (an integer) is needed");
        return;
    }
    atomic_store(&l->g->clock_offset, (int64_t)json_integer_value(off));
    gw_log("warn", "event=debug_clock offset_seconds=%lld", (long long)json_integer_value(off));
    json_decref(doc);
    doc = json_pack("{s:I}", "offset_seconds", (json_int_t)atomic_load(&l->g->clock_offset));
    gw_reply_json(req, 200, "application/json", doc);
    json_decref(doc);
}

static void
gw_request_cb(struct evhttp_request *req, void *arg)
{
    struct gw_loop *l = arg;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
    struct gw_answer a;

    if (path == NULL)
        path = "";
    if (gw_path_is(path, "/auth/enrol")) {
        gw_auth_enrol(l->g, req, &a);
        gw_answer_send(l, req, &a);
    } else if (gw_path_is(path, "/auth")) {
        gw_auth_check(l->g, req, &a);
        gw_answer_send(l, req, &a);
    } else if (strncmp(path, "/problem/", 9) == 0) {
        /* For proxies that keep only the status and headers of the auth
         * answer (nginx auth_request): the problem document of a code. */
        enum errcode code = errcode_from_name(path + 9);
        struct gw_answer pa = {.code = code, .detail = "refused by the gateway"};

        if (code == ERRCODE_COUNT || code == ERRCODE_OK)
            pa.code = ERRCODE_NOT_FOUND, pa.detail = "no such code";
        pa.www_error = code == ERRCODE_PROOF_INVALID || code == ERRCODE_PROOF_REPLAYED ||
                               code == ERRCODE_BINDING_MISMATCH
                           ? "invalid_dpop_proof"
                       : errcode_status(pa.code) == 401 ? "invalid_token"
                                                        : NULL;
        if (code == ERRCODE_RATE_LIMITED || code == ERRCODE_UNAVAILABLE)
            pa.retry_after = 1;
        gw_answer_send(l, req, &pa);
    } else if (strcmp(path, "/healthz") == 0) {
        gw_text(req, 200, "text/plain", "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        if (gw_fresh(l->g))
            gw_text(req, 200, "text/plain", "ready\n");
        else
            gw_problem(l, req, ERRCODE_UNAVAILABLE,
                       "revocations not confirmed within max_staleness");
    } else if (strcmp(path, "/metrics") == 0) {
        gw_metrics(l, req);
    } else if (strcmp(path, "/debug/clock") == 0 && l->g->cfg.clock_override &&
               evhttp_request_get_command(req) == EVHTTP_REQ_POST) {
        gw_debug_clock(l, req);
    } else {
        gw_problem(l, req, ERRCODE_NOT_FOUND, "no such route");
    }
}

static void
gw_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    gw_notify("STOPPING=1");
    event_base_loopexit(arg, NULL);
}

/* SIGHUP: refetch the keys and reload the revocations in full now; the
 * follower says READY=1 again once both fetches are over. The config file is
 * read only at start. */
static void
gw_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    gw_log("info", "event=reload msg=\"refetching keys and revocations\"");
    gw_notify(NULL);
    gw_fetch_reload(arg);
}

/* Loop l's evhttp on a new socket bound to addr (SO_REUSEPORT). 0/-1. */
static int
gw_loop_open(struct gw_loop *l, const struct sockaddr *addr, socklen_t addrlen,
             struct evhttp_bound_socket **bound)
{
    struct evconnlistener *lis;

    if ((l->base = event_base_new()) == NULL || (l->http = evhttp_new(l->base)) == NULL)
        return -1;
    evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_headers_size(l->http, 32768);
    evhttp_set_max_body_size(l->http, 16384);
    evhttp_set_timeout(l->http, 30);
    evhttp_set_gencb(l->http, gw_request_cb, l);
    lis = evconnlistener_new_bind(l->base, NULL, NULL,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
                                      LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT,
                                  128, addr, (int)addrlen);
    if (lis == NULL)
        return -1;
    if ((*bound = evhttp_bind_listener(l->http, lis)) == NULL) {
        evconnlistener_free(lis);
        return -1;
    }
    return 0;
}

static void *
gw_loop_main(void *arg)
{
    struct gw_loop *l = arg;

    event_base_dispatch(l->base);
    return NULL;
}

/* listen.address:port as a socket address (the first getaddrinfo answer). */
static int
gw_listen_addr(const struct gw_config *c, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    char port[16];

    snprintf(port, sizeof(port), "%lld", (long long)c->listen_port);
    if (getaddrinfo(c->listen_address, port, &hints, &res) != 0 || res == NULL ||
        res->ai_addrlen > sizeof(*ss)) {
        if (res != NULL)
            freeaddrinfo(res);
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void
gw_usage(FILE *out)
{
    fprintf(out, "usage: sitetoken-gateway [-n] [-c FILE] | --help-config | --man | --version\n");
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {{"help-config", no_argument, NULL, 'H'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"man", no_argument, NULL, 'M'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    static struct gw g; /* the process-wide context */
    static struct gw_loop loops[GW_LOOPS_MAX];
    struct evhttp_bound_socket *bound;
    struct event *sigs[3] = {NULL, NULL, NULL};
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    const char *file = NULL, *errstr = NULL;
    char addr[128];
    int ch, check_only = 0, rc = 1, nloops;
    ev_uint16_t port = 0;

    while ((ch = getopt_long(argc, argv, "c:nh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            file = optarg;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'H':
            gw_config_describe(stdout);
            return 0;
        case 'M':
            gw_man_write(stdout);
            return 0;
        case 'h':
            gw_usage(stdout);
            return 0;
        case 'V':
            printf("sitetoken-gateway %s\n", SITETOKEN_VERSION);
            return 0;
        default:
            gw_usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        gw_usage(stderr);
        return 2;
    }
    if (gw_config_load(&g.cfg, file, stderr) == -1) {
        gw_config_free(&g.cfg);
        return 1;
    }
    if (check_only) {
        gw_config_free(&g.cfg);
        printf("%s: ok\n", file != NULL ? file : "(defaults)");
        return 0;
    }
    for (int i = 0; i < 4; i++)
        if (strcmp(g.cfg.log_level, (const char *[]){"error", "warn", "info", "debug"}[i]) == 0)
            gw_log_level = i;
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    pthread_rwlock_init(&g.lock, NULL);
    pthread_mutex_init(&g.budget_mu, NULL);
    g.last_kid_refetch_ms = -1;
    nloops =
        g.cfg.listen_threads > 0 ? (int)g.cfg.listen_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nloops < 1)
        nloops = 1;
    if (nloops > GW_LOOPS_MAX)
        nloops = GW_LOOPS_MAX;
    g.jws_mode = strcmp(g.cfg.feed_format, "jws") == 0;
    if ((g.revs = sitetoken_revocations_new()) == NULL ||
        (g.replay = sitetoken_replay_new((size_t)g.cfg.replay_max)) == NULL) {
        gw_log("error", "event=start_failed msg=\"out of memory\"");
        goto done;
    }
    sitetoken_revocations_set_skew(g.revs, g.cfg.clock_skew);
    if (g.cfg.clock_override)
        gw_log("warn", "event=debug_clock_enabled msg=\"POST /debug/clock is open: tests only\"");
    /* Loop 0 binds first (listen.port 0 picks the port); the others bind
     * the port it got. */
    for (int i = 0; i < nloops; i++) {
        loops[i].g = &g;
        if ((i == 0 && gw_listen_addr(&g.cfg, &ss, &sl) == -1) ||
            gw_loop_open(&loops[i], (struct sockaddr *)&ss, sl, &bound) == -1) {
            gw_log("error", "event=start_failed msg=\"cannot listen on %s:%lld\"",
                   g.cfg.listen_address, (long long)g.cfg.listen_port);
            goto done;
        }
        if (i == 0) {
            sl = sizeof(ss);
            if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == -1)
                goto done;
            port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    if (gw_fetch_start(&g, &errstr) == -1) {
        gw_log("error", "event=start_failed msg=\"%s\"", errstr);
        goto done;
    }
    sigs[0] = evsignal_new(loops[0].base, SIGTERM, gw_signal_cb, loops[0].base);
    sigs[1] = evsignal_new(loops[0].base, SIGINT, gw_signal_cb, loops[0].base);
    sigs[2] = evsignal_new(loops[0].base, SIGHUP, gw_hup_cb, &g);
    for (int i = 0; i < 3; i++)
        event_add(sigs[i], NULL);
    snprintf(addr, sizeof(addr), "%s:%u", g.cfg.listen_address, (unsigned)port);
    for (int i = 1; i < nloops; i++) {
        if (pthread_create(&loops[i].tid, NULL, gw_loop_main, &loops[i]) != 0) {
            gw_log("error", "event=start_failed msg=\"cannot start loop thread %d\"", i);
            goto done;
        }
        loops[i].started = 1;
    }
    gw_log("info", "event=listening loops=%d", nloops);
    fprintf(stderr, "ready: listening on http://%s\n", addr);
    event_base_dispatch(loops[0].base);
    gw_log("info", "event=stopping");
    rc = 0;
done:
    /* The other loops stop after their requests in hand (loopexit is
     * thread-safe under evthread_use_pthreads). */
    for (int i = 1; i < nloops; i++)
        if (loops[i].started) {
            event_base_loopexit(loops[i].base, NULL);
            pthread_join(loops[i].tid, NULL);
        }
    gw_fetch_stop(&g);
    for (int i = 0; i < 3; i++)
        if (sigs[i] != NULL)
            event_free(sigs[i]);
    for (int i = 0; i < GW_LOOPS_MAX; i++) {
        if (loops[i].http != NULL)
            evhttp_free(loops[i].http);
        if (loops[i].base != NULL)
            event_base_free(loops[i].base);
    }
    sitetoken_verifier_free(g.v);
    sitetoken_revocations_free(g.revs);
    sitetoken_replay_free(g.replay);
    pthread_rwlock_destroy(&g.lock);
    pthread_mutex_destroy(&g.budget_mu);
    gw_config_free(&g.cfg);
    return rc;
}
