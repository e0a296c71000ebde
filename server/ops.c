/* /healthz answers whenever the loop runs; /readyz proves the store takes a
 * durable write and has room for more (and, once keys exist, that a signing
 * key is active), probing through the writer thread, never on the loop, at
 * one probe at a time however often it is asked; /metrics renders the
 * process statistics, the gauges (the store's counts as a worker last read
 * them, maintenance.c) and the writer's histograms, with no store read. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include <event2/buffer.h>

#include "clock.h"
#include "committer.h"
#include "feed.h"
#include "config.h"
#include "auth.h"
#include "bulkcache.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"

void
ops_healthz(struct http_req *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Below this much free space where the database lives, a write may fail at
 * any moment (a probe write can still fit in pages SQLite already owns). */
#define OPS_MIN_FREE_BYTES (1024 * 1024)

/* Free bytes on the database's file system, -1 when unknown. */
static long long
ops_db_free_bytes(const char *database)
{
    char dir[4096];
    char *slash;
    struct statvfs sv;

    snprintf(dir, sizeof(dir), "%s", database);
    if ((slash = strrchr(dir, '/')) == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (statvfs(dir, &sv) == -1)
        return -1;
    return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

struct ops_waiter {
    struct http_req *req;
    struct ops_waiter *next;
};

/* The store probe: one op through the writer at a time (it joins the group
 * commit of whatever else is queued); the requests that arrive meanwhile
 * wait for its answer. No answer is reused after it was given: a probe
 * costs the loop nothing, and a store that just locked up must show at
 * once. Owned by the loop (the op by the writer while queued). */
struct ops {
    struct commit_op op; /* first: the committer hands this pointer back */
    struct sitetokend *env;
    int in_flight;
    struct ops_waiter *waiters;
    enum errcode code; /* the last answer */
    char detail[192];
};

/* Writer thread: a durable write proves the store takes one; the disk
 * check is here too, off the loop. */
static enum errcode
ops_probe_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct ops *o = (struct ops *)op;
    const char *errstr = NULL;
    long long free_bytes;

    if (store_probe_write(ctx->store, &errstr) == -1) {
        snprintf(op->detail, sizeof(op->detail), "store is not writable: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    /* A file database's disk is ours to watch; a server's is its own. */
    free_bytes =
        store_is_local_file(o->env->cfg->database) ? ops_db_free_bytes(o->env->cfg->database) : -1;
    if (free_bytes != -1 && free_bytes < OPS_MIN_FREE_BYTES) {
        snprintf(op->detail, sizeof(op->detail), "store: disk full (%lld bytes free)", free_bytes);
        return ERRCODE_UNAVAILABLE;
    }
    return ERRCODE_OK;
}

static void
ops_ready_reply(struct ops *o, struct http_req *req)
{
    struct signer_keys *k = signer_keys_get(req->env->signer);
    int active = k != NULL && k->has_active;

    if (k != NULL)
        signer_keys_put(k);
    if (!active) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "no active signing key");
        return;
    }
    if (o->code != ERRCODE_OK) {
        /* Why, naming the database by its kind only: the driver's words
         * (libpq's name the host and port) are no business of an anonymous
         * caller, they go to the log. */
        log_warn(
            "event=readyz code=%s detail=%s", errcode_name(o->code),
            log_quote(o->detail[0] ? o->detail : "store is not writable", (char[256]){0}, 256));
        http_reply_problem(req, ERRCODE_UNAVAILABLE,
                           "%s database unavailable: the store did not take the probe's write"
                           " (the server log says why)",
                           store_backend_name(req->env->cfg->database));
        return;
    }
    http_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:s}", "status", "ready", "store", "ok", "signing_key", "active"));
}

/* Loop thread, after the probe's commit (or its failure). */
static void
ops_probe_done(struct commit_op *op)
{
    struct ops *o = (struct ops *)op;
    struct ops_waiter *w;

    o->in_flight = 0;
    o->code = op->code;
    snprintf(o->detail, sizeof(o->detail), "%s", op->detail);
    while ((w = o->waiters) != NULL) {
        o->waiters = w->next;
        ops_ready_reply(o, w->req);
        free(w);
    }
}

static struct ops *
ops_get(struct sitetokend *env)
{
    if (env->ops == NULL && (env->ops = calloc(1, sizeof(*env->ops))) != NULL)
        env->ops->env = env;
    return env->ops;
}

void
ops_free(struct ops *o)
{
    free(o); /* no waiters: the loop has answered every request */
}

void
ops_readyz(struct http_req *req)
{
    struct ops *o = ops_get(req->env);
    struct ops_waiter *w;

    if (o == NULL || (w = calloc(1, sizeof(*w))) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    w->req = req;
    w->next = o->waiters;
    o->waiters = w;
    if (o->in_flight)
        return;
    o->in_flight = 1;
    memset(&o->op, 0, sizeof(o->op));
    o->op.apply = ops_probe_apply;
    o->op.done = ops_probe_done;
    o->op.base = req->env->base;
    committer_submit(req->env->committer, &o->op);
}

/* Each cache's hits and misses; -1 when the process has no such cache. */
static int
ops_bulkcache_stats(const struct sitetokend *env, uint64_t *hits, uint64_t *misses)
{
    if (env->bulkcache == NULL)
        return -1;
    bulkcache_stats(env->bulkcache, hits, misses);
    return 0;
}

static int
ops_clientcache_stats(const struct sitetokend *env, uint64_t *hits, uint64_t *misses)
{
    if (env->clientcache == NULL)
        return -1;
    bulkcache_stats(env->clientcache, hits, misses);
    return 0;
}

static int
ops_mpcache_stats(const struct sitetokend *env, uint64_t *hits, uint64_t *misses)
{
    if (env->authcache == NULL)
        return -1;
    authcache_stats(env->authcache, hits, misses);
    return 0;
}

/* The caches /metrics counts: sitetoken_<name>_hits_total and _misses_total. */
static const struct {
    const char *name;
    const char *hits_help, *misses_help;
    int (*stats)(const struct sitetokend *env, uint64_t *hits, uint64_t *misses);
} ops_caches[] = {
    {.name = "bulkcache",
     .hits_help = "Bulk-token verifications answered from the cache.",
     .misses_help = "Bulk-token verifications that checked the signature.",
     .stats = ops_bulkcache_stats},
    {.name = "clientcache",
     .hits_help = "Client-token verifications answered from the cache.",
     .misses_help = "Client-token verifications that checked the signature.",
     .stats = ops_clientcache_stats},
    {.name = "mpcache",
     .hits_help = "MP API keys found in the cache.",
     .misses_help = "MP API keys looked up in the store.",
     .stats = ops_mpcache_stats},
};

void
ops_metrics(struct http_req *req)
{
    struct evbuffer *buf = evbuffer_new();

    if (buf == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    metrics_render(req->env->metrics, buf);
    {
        struct committer_stats cs;
        struct metrics_live live = {.now = clock_now(req->env)};

        committer_get_stats(req->env->committer, &cs);
        live.queue_depth = (int64_t)cs.queued;
        live.subscribers = req->env->feed != NULL ? feed_subscribers(req->env->feed) : 0;
        metrics_render_state(req->env->metrics, &live, buf);
    }
    for (size_t i = 0; i < sizeof(ops_caches) / sizeof(ops_caches[0]); i++) {
        char name[64];
        uint64_t hits = 0, misses = 0;

        if (ops_caches[i].stats(req->env, &hits, &misses) == -1)
            continue;
        snprintf(name, sizeof(name), "sitetoken_%s_hits_total", ops_caches[i].name);
        metrics_render_counter(buf, name, ops_caches[i].hits_help, hits);
        snprintf(name, sizeof(name), "sitetoken_%s_misses_total", ops_caches[i].name);
        metrics_render_counter(buf, name, ops_caches[i].misses_help, misses);
    }
    http_reply_buffer(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf);
    evbuffer_free(buf);
}
