/* Maintenance (see maintenance.h): a timer on the loop submits one admin op
 * to the writer, whose apply takes (or renews) the key lifecycle's lease,
 * runs the key lifecycle (admin_keys.c) only while it holds it, and then
 * drops revocation entries past their use (the feed already hides them;
 * serials never go back). The lease is a `meta` row (store_lease_take:
 * holder = this node's id (host and state directory), expiry = now + cluster.key_lease, renewed
 * every tick, a third of it at most): of several nodes on one database one rotates, the others only
 * reload what it commits (feed_sync.c); one that stops leading loses the lease once it expired and
 * another takes it at its next tick. A second timer has a worker read the counts /metrics shows
 * (metrics.refresh), so the loop never reads the store for them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "committer.h"
#include "config.h"
#include "keys.h"
#include "metrics.h"
#include "stats.h"
#include "store.h"
#include "workers.h"

#include "admin.h"
#include "admin_op.h"
#include "log.h"
#include "maintenance.h"
#include "revocations.h"
#include "sitetokend.h"

#define MAINTENANCE_INTERVAL_MS (60 * 1000)
#define MAINTENANCE_LEASE "keys.leader"

/* This node's id as a lease holder: the host name and the state
 * directory, so a node restarted takes its own lease back at once (two
 * nodes never share a state directory). Written once on the loop before
 * the first tick (maintenance_run_sync); read by the writer after. */
static char maintenance_node[320];
/* The writer's: whether the last tick held the lease (logged on change). */
static int maintenance_leading = -1;

static const char *
maintenance_node_id(const struct config *cfg)
{
    char host[64] = "node", *dir;

    if (maintenance_node[0] != '\0')
        return maintenance_node;
    (void)gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    dir = cfg->state_dir != NULL ? realpath(cfg->state_dir, NULL) : NULL;
    snprintf(maintenance_node, sizeof(maintenance_node), "%.60s:%.250s", host,
             dir != NULL              ? dir
             : cfg->state_dir != NULL ? cfg->state_dir
                                      : "");
    free(dir);
    return maintenance_node;
}

/* Writer: 1 this node leads the key lifecycle, 0 another does, -1 error. */
static int
maintenance_lease(struct admin_op *a, struct commit_ctx *ctx, const char **errstr)
{
    const char *db = a->env->cfg->database;
    struct timespec ts;
    int64_t now_ms;
    int rc;

    /* A file has one process (store_lock): it always leads. */
    if (store_is_local_file(db) || strcmp(db, ":memory:") == 0)
        return 1;
    clock_gettime(CLOCK_REALTIME, &ts); /* real time: every node's the same */
    now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    rc = store_lease_take(ctx->store, MAINTENANCE_LEASE, maintenance_node_id(a->env->cfg), now_ms,
                          now_ms + a->env->cfg->cluster_key_lease_ms, errstr);
    if (rc >= 0 && rc != maintenance_leading)
        log_info("event=key_lease node=%s leader=%d", maintenance_node_id(a->env->cfg), rc);
    if (rc >= 0)
        maintenance_leading = rc;
    return rc;
}

struct maintenance {
    struct sitetokend *env;
    struct event *timer;
    struct event *counts_timer;
};

/* One refresh of the cached counts, on a worker; frees itself. env and its
 * metrics outlive the workers (main.c stops them first). */
struct maintenance_counts {
    struct work w; /* first: the pool hands this pointer back */
    struct sitetokend *env;
};

/* The signing key's times from the key table: when the active key started
 * signing, and when the next one takes over (the "next" key's activation, or
 * the active one's plus the rotation period when none is published yet). */
static void
maintenance_key_times(struct store *st, int64_t rotation_period_s, struct metrics_counts *c)
{
    struct store_key *keys = NULL;
    const char *errstr = NULL;
    size_t n = 0;
    int64_t next = 0;

    if (store_keys_list(st, &keys, &n, &errstr) == -1)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].status, "active") == 0)
            c->key_active_since = keys[i].activates_at;
        else if (strcmp(keys[i].status, "next") == 0)
            next = keys[i].activates_at;
    }
    c->key_next_rotation = next != 0                 ? next
                           : c->key_active_since > 0 ? c->key_active_since + rotation_period_s
                                                     : 0;
    store_keys_free(keys, n);
}

/* Reads the counts on st and caches them; -1 (logged) when the store
 * failed. */
static int
maintenance_counts_read(struct sitetokend *env, struct store *st)
{
    struct store_stats_counts sc;
    struct metrics_counts c = {0};
    const char *errstr = NULL;
    int64_t now = clock_now(env);

    if (store_stats_counts(st, now, &sc, &errstr) == -1) {
        log_warn("event=metrics_refresh error=%s", log_quote(errstr, (char[300]){0}, 300));
        return -1;
    }
    c.devices = sc.devices;
    c.tokens_live = sc.client_tokens_live;
    c.bulk_active = sc.bulk_live;
    c.mps = sc.mps;
    c.feed_serial = store_revocation_serial(st);
    maintenance_key_times(st, env->cfg->rotation_period_ms / 1000, &c);
    c.refreshed_at = now;
    metrics_set_counts(env->metrics, &c);
    return 0;
}

static void
maintenance_counts_run(struct work *w, struct worker_ctx *ctx)
{
    struct maintenance_counts *mc = (struct maintenance_counts *)w;

    if (maintenance_counts_read(mc->env, ctx->store) == -1)
        metrics_counts_abandon(mc->env->metrics);
    free(mc);
}

/* Loop: one refresh at a time; a slow one makes the next tick skip. */
static void
maintenance_counts_refresh(struct sitetokend *env)
{
    struct maintenance_counts *mc;

    if (env->workers == NULL || !metrics_counts_claim(env->metrics))
        return;
    if ((mc = calloc(1, sizeof(*mc))) == NULL) {
        metrics_counts_abandon(env->metrics);
        return;
    }
    mc->w.run = maintenance_counts_run;
    mc->env = env;
    workers_submit(env->workers, &mc->w);
}

static void
maintenance_counts_cb(evutil_socket_t fd, short what, void *arg)
{
    struct maintenance *m = arg;

    maintenance_counts_refresh(m->env);
}

static enum errcode
maintenance_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    const char *errstr = NULL;
    enum errcode code;
    int lead = maintenance_lease((struct admin_op *)op, ctx, &errstr);

    if (lead == -1)
        return commit_op_store_fail(op, errstr);
    if (lead == 1 && (code = admin_keys_apply(op, ctx)) != ERRCODE_OK)
        return code;
    if (store_revocation_prune(ctx->store, ctx->now_ms / 1000, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    return ERRCODE_OK;
}

int
maintenance_run_sync(struct sitetokend *env, const char **errstr)
{
    struct admin_op *a = admin_op_new_system(env);
    enum errcode code;
    int rc = -1;

    if (a == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    (void)maintenance_node_id(env->cfg);
    a->mode = SIGNER_TICK;
    a->op.apply = maintenance_apply;
    a->op.done = NULL;
    code = committer_run(env->committer, &a->op);
    if (code != ERRCODE_OK) {
        *errstr = "the key lifecycle step failed";
        goto done;
    }
    if (a->changed[0] != '\0')
        log_info("event=keys changed=%s", log_quote(a->changed, (char[600]){0}, 600));
    rc = signer_reload(env->signer, env->store, errstr);
done:
    admin_op_free(a);
    return rc;
}

void
maintenance_tick(struct sitetokend *env)
{
    struct admin_op *a = admin_op_new_system(env);

    if (a == NULL)
        return;
    a->mode = SIGNER_TICK;
    a->after_work = admin_keys_reload;
    a->after = admin_keys_after;
    admin_op_write(a, maintenance_apply);
}

static void
maintenance_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct maintenance *m = arg;

    maintenance_tick(m->env);
}

struct maintenance *
maintenance_start(struct sitetokend *env)
{
    struct maintenance *m = calloc(1, sizeof(*m));
    int64_t every_ms = env->cfg->cluster_key_lease_ms / 3;
    struct timeval every;
    int64_t refresh_ms = env->cfg->metrics_refresh_ms > 0 ? env->cfg->metrics_refresh_ms : 10000;
    struct timeval counts_every = {.tv_sec = refresh_ms / 1000,
                                   .tv_usec = (refresh_ms % 1000) * 1000};

    if (m == NULL)
        return NULL;
    m->env = env;
    if (every_ms <= 0 || every_ms > MAINTENANCE_INTERVAL_MS)
        every_ms = MAINTENANCE_INTERVAL_MS; /* renewed before it expires */
    every.tv_sec = every_ms / 1000;
    every.tv_usec = (every_ms % 1000) * 1000;
    if ((m->timer = event_new(env->base, -1, EV_PERSIST, maintenance_timer_cb, m)) == NULL ||
        event_add(m->timer, &every) == -1 ||
        (m->counts_timer = event_new(env->base, -1, EV_PERSIST, maintenance_counts_cb, m)) ==
            NULL ||
        event_add(m->counts_timer, &counts_every) == -1) {
        maintenance_free(m);
        return NULL;
    }
    committer_set_observer(env->committer, metrics_commit, env->metrics);
    /* The gauges hold values from the first scrape on: the first read is
     * made here, at start, on the loop's store (before readiness; a worker's
     * would race the first scrape, on PostgreSQL a round trip or more). */
    if (metrics_counts_claim(env->metrics) && maintenance_counts_read(env, env->store) == -1)
        metrics_counts_abandon(env->metrics);
    return m;
}

void
maintenance_free(struct maintenance *m)
{
    if (m == NULL)
        return;
    if (m->timer != NULL)
        event_free(m->timer);
    if (m->counts_timer != NULL)
        event_free(m->counts_timer);
    free(m);
}
