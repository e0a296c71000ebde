/* The writer thread (see committer.h). Queue discipline: submitters append
 * under the mutex and signal; the writer takes everything queued (up to
 * batch_max), applies it in one transaction, commits, and posts each op back
 * to its event base with event_base_once. While it commits, the next batch
 * gathers: that is the whole of group commit. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "audit.h"
#include "clock.h"
#include "committer.h"
#include "proofs.h"
#include "replay.h"
#include "revocations.h"
#include "store.h"

struct committer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t ckpt_cv;        /* wakes the checkpointer at shutdown */
    struct commit_op *head, *tail; /* guarded by mu */
    size_t queued;                 /* guarded by mu */
    int64_t delay_us;              /* guarded by mu: gather a batch this long */
    int stopping;                  /* guarded by mu */
    struct committer_stats stats;  /* guarded by mu */
    int64_t clock_offset_ms;       /* guarded by mu */
    committer_observe_fn *observe; /* guarded by mu */
    void *observe_arg;             /* guarded by mu */
    int batch_max;
    int64_t proof_keep_s;  /* persisted proof jtis are kept this long after their iat */
    int proof_load_failed; /* committer_start only */
    struct commit_ctx ctx; /* writer thread only */
    pthread_t checkpointer;
    struct store *ckpt_store; /* checkpointer thread only */
    int has_checkpointer;
    /* Test hook (committer_set_test_hook); production leaves it NULL. */
    void (*before_apply)(struct commit_op *op, struct commit_ctx *ctx, void *arg);
    void *before_apply_arg;
    /* the revocation hook, guarded by hook_mu (held while it runs) */
    pthread_mutex_t hook_mu;
    void (*rev_hook)(struct store_rev_changes *changes, int lost, void *arg);
    void *rev_hook_arg;
};

#define COMMITTER_CKPT_INTERVAL_MS 20
/* Persisted proof jtis pruned per batch: more than a batch can add, so the
 * table never grows past the window, and bounded, so a backlog (after a long
 * stop) never stalls one commit. */
#define COMMITTER_PROOF_PRUNE(n) (2 * (int)(n) + 64)
#define COMMITTER_CKPT_IDLE_TRUNCATE 50 /* quiet intervals before a TRUNCATE */

/* For committer_run: a caller blocked on a condition variable. */
struct commit_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
};

static void
committer_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct commit_op *op = arg;

    op->done(op);
}

static void
committer_deliver(struct commit_op *op)
{
    static const struct timeval now = {0, 0};

    if (op->base == NULL) {
        op->done(op); /* committer_run: the waiter is signalled directly */
        return;
    }
    if (event_base_once(op->base, -1, EV_TIMEOUT, committer_done_cb, op, &now) == -1)
        op->done(op); /* base gone (shutdown): still hand the op back */
}

static void
committer_fail_all(struct commit_op *batch, const char *why)
{
    for (struct commit_op *op = batch; op != NULL; op = op->next)
        if (op->code == ERRCODE_OK)
            op->code = commit_op_store_fail(op, why);
}

enum errcode
commit_op_fail(struct commit_op *op, enum errcode code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(op->detail, sizeof(op->detail), fmt, ap);
    va_end(ap);
    return code;
}

enum errcode
commit_op_store_fail(struct commit_op *op, const char *errstr)
{
    return commit_op_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr != NULL ? errstr : "error");
}

enum errcode
commit_op_audit(struct commit_op *op, struct commit_ctx *ctx, const char *actor, const char *action,
                const char *subject, json_t *detail)
{
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *errstr = NULL;
    int rc;

    json_decref(detail);
    rc = store_audit_append(ctx->store, ctx->now_ms / 1000, actor, action, subject,
                            text != NULL ? text : "{}", &errstr);
    free(text);
    return rc == 0 ? ERRCODE_OK : commit_op_store_fail(op, errstr);
}

/* Applies one batch in one transaction. */
static void
committer_apply_batch(struct committer *c, struct commit_op *batch, size_t n)
{
    struct commit_ctx *ctx = &c->ctx;
    const char *errstr = NULL;
    int64_t started_us = clock_mono_us();
    committer_observe_fn *observe;
    void *observe_arg;
    int began = 1;

    pthread_mutex_lock(&c->mu);
    ctx->now_ms = clock_wall_ms(c->clock_offset_ms);
    pthread_mutex_unlock(&c->mu);

    /* The audit chain's lock first (almost every op appends a record):
     * nodes on one database then take their locks in one order. */
    if (store_tx_begin(ctx->store, &errstr) == -1) {
        began = 0;
    } else if (store_audit_lock(ctx->store, &errstr) == -1) {
        store_tx_rollback(ctx->store);
        began = 0;
    }
    if (!began) {
        for (struct commit_op *op = batch; op != NULL; op = op->next)
            op->code = ERRCODE_OK;
        committer_fail_all(batch, errstr);
        goto out;
    }
    for (struct commit_op *op = batch; op != NULL; op = op->next) {
        op->code = ERRCODE_OK;
        op->detail[0] = '\0';
        if (c->before_apply != NULL) /* test hook: a change lands just before op */
            c->before_apply(op, ctx, c->before_apply_arg);
        if (store_savepoint(ctx->store, &errstr) == -1) {
            op->code = commit_op_store_fail(op, errstr);
            continue;
        }
        op->code = op->apply(op, ctx);
        if (op->code == ERRCODE_OK) {
            if (store_savepoint_release(ctx->store, &errstr) == -1) {
                store_savepoint_rollback(ctx->store);
                op->code = commit_op_store_fail(op, errstr);
            }
        } else {
            store_savepoint_rollback(ctx->store);
            if (op->refused != NULL && op->code != ERRCODE_UNAVAILABLE &&
                store_savepoint(ctx->store, &errstr) == 0) {
                op->refused(op, ctx);
                if (store_savepoint_release(ctx->store, &errstr) == -1)
                    store_savepoint_rollback(ctx->store);
            }
        }
    }
    /* Proof jtis whose iat is past the window can never be accepted again. */
    if (store_savepoint(ctx->store, &errstr) == 0) {
        if (store_proof_prune(ctx->store, ctx->now_ms / 1000 - c->proof_keep_s,
                              COMMITTER_PROOF_PRUNE(n), &errstr) == -1)
            store_savepoint_rollback(ctx->store); /* the next batch tries again */
        else if (store_savepoint_release(ctx->store, &errstr) == -1)
            store_savepoint_rollback(ctx->store);
    }
    if (store_tx_commit(ctx->store, &errstr) == -1) {
        store_tx_rollback(ctx->store);
        committer_fail_all(batch, errstr);
        pthread_mutex_lock(&c->mu);
        c->stats.failed_commits++;
        pthread_mutex_unlock(&c->mu);
    } else {
        /* The feed learns what this commit revoked from the writer, before
         * the ops are handed back: nothing reads it back on the loop. */
        int lost = 0;
        struct store_rev_changes *changes = store_journal_take(ctx->store, &lost);

        pthread_mutex_lock(&c->hook_mu);
        if ((changes != NULL || lost) && c->rev_hook != NULL) {
            c->rev_hook(changes, lost, c->rev_hook_arg);
            changes = NULL;
        }
        pthread_mutex_unlock(&c->hook_mu);
        store_rev_changes_free(changes);
    }
out:
    pthread_mutex_lock(&c->mu);
    c->stats.batches++;
    c->stats.ops += n;
    if (n > c->stats.max_batch)
        c->stats.max_batch = n;
    observe = c->observe;
    observe_arg = c->observe_arg;
    pthread_mutex_unlock(&c->mu);
    if (observe != NULL)
        observe(observe_arg, n, clock_mono_us() - started_us);
    for (struct commit_op *op = batch, *next; op != NULL; op = next) {
        next = op->next;
        op->next = NULL;
        committer_deliver(op);
    }
}

static void *
committer_main(void *arg)
{
    struct committer *c = arg;

    pthread_setname_np(pthread_self(), "st-writer");
    for (;;) {
        struct commit_op *batch, *last;
        size_t n = 1;

        pthread_mutex_lock(&c->mu);
        while (c->head == NULL && !c->stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->head == NULL) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        if (c->delay_us > 0 && c->queued < (size_t)c->batch_max && !c->stopping) {
            struct timespec until;

            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)(c->delay_us * 1000);
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            while (c->queued < (size_t)c->batch_max && !c->stopping &&
                   pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
                ;
        }
        batch = last = c->head;
        while (last->next != NULL && n < (size_t)c->batch_max) {
            last = last->next;
            n++;
        }
        c->head = last->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->queued -= n;
        last->next = NULL;
        pthread_mutex_unlock(&c->mu);
        committer_apply_batch(c, batch, n);
    }
    return NULL;
}

/* The checkpointer: copies committed WAL frames into the database file on its
 * own connection, so the writer's critical path only appends to the WAL.
 * PASSIVE never waits for the writer; after a quiet spell, TRUNCATE keeps the
 * WAL file from staying large. */
static void *
committer_checkpoint_main(void *arg)
{
    struct committer *c = arg;
    int quiet = 0;

    pthread_setname_np(pthread_self(), "st-checkpoint");
    for (;;) {
        struct timespec until;
        const char *errstr = NULL;
        int frames = 0, stop;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += COMMITTER_CKPT_INTERVAL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&c->mu);
        if (!c->stopping)
            pthread_cond_timedwait(&c->ckpt_cv, &c->mu, &until);
        stop = c->stopping;
        quiet = c->queued == 0 ? quiet + 1 : 0;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        store_checkpoint(c->ckpt_store, quiet == COMMITTER_CKPT_IDLE_TRUNCATE, &frames, &errstr);
    }
    return NULL;
}

static int
committer_load_proof_cb(int64_t iat, const char *jti, const char *mp_id, void *arg)
{
    struct committer *c = arg;

    if (replay_add(c->ctx.replay, mp_id, jti, strlen(jti), c->ctx.now_ms) == -1)
        c->proof_load_failed = 1;
    return c->proof_load_failed;
}

struct committer *
committer_start(const char *path, int busy_timeout_ms, int batch_max, int64_t replay_per_mp,
                int64_t replay_window_ms, int64_t clock_offset_ms, const char **errstr)
{
    struct committer *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        *errstr = "out of memory";
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_cond_init(&c->ckpt_cv, NULL);
    pthread_mutex_init(&c->hook_mu, NULL);
    c->batch_max = batch_max > 0 ? batch_max : 1;
    c->clock_offset_ms = clock_offset_ms;
    if ((c->ctx.store = store_open(path, busy_timeout_ms, errstr)) == NULL)
        goto fail;
    store_journal(c->ctx.store, 1); /* for the revocation hook */
    if ((c->ctx.replay = replay_new((size_t)replay_per_mp, replay_window_ms)) == NULL) {
        *errstr = "out of memory (replay cache)";
        goto fail;
    }
    /* The proofs accepted before a restart stay refused after it: the
     * persisted jtis still inside the window go back into the cache. */
    c->proof_keep_s = replay_window_ms / 1000 + 1;
    c->ctx.now_ms = clock_wall_ms(clock_offset_ms);
    if (store_proof_list(c->ctx.store, c->ctx.now_ms / 1000 - c->proof_keep_s,
                         committer_load_proof_cb, c, errstr) == -1)
        goto fail;
    if (c->proof_load_failed) {
        *errstr = "out of memory (loading the replay cache)";
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, committer_main, c) != 0) {
        *errstr = "cannot start the writer thread";
        goto fail;
    }
    /* Only a store with a WAL has a checkpointer. Best effort: without its
     * own connection the writer checkpoints itself. */
    if (store_has_checkpoint(c->ctx.store) &&
        (c->ckpt_store = store_open(path, busy_timeout_ms, errstr)) != NULL &&
        store_set_autocheckpoint(c->ctx.store, 0) == 0 &&
        pthread_create(&c->checkpointer, NULL, committer_checkpoint_main, c) == 0)
        c->has_checkpointer = 1;
    else if (store_has_checkpoint(c->ctx.store))
        store_set_autocheckpoint(c->ctx.store, 1000);
    return c;
fail:
    store_close(c->ctx.store);
    replay_free(c->ctx.replay);
    free(c);
    return NULL;
}

void
committer_set_revocation_hook(struct committer *c,
                              void (*hook)(struct store_rev_changes *changes, int lost, void *arg),
                              void *arg)
{
    pthread_mutex_lock(&c->hook_mu);
    c->rev_hook = hook;
    c->rev_hook_arg = arg;
    pthread_mutex_unlock(&c->hook_mu);
}

void
committer_submit(struct committer *c, struct commit_op *op)
{
    op->next = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->tail != NULL)
        c->tail->next = op;
    else
        c->head = op;
    c->tail = op;
    c->queued++;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

struct commit_sync {
    struct commit_op op; /* first: done() casts back */
    struct commit_op *inner;
    struct commit_waiter w;
};

static enum errcode
committer_sync_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct commit_sync *s = (struct commit_sync *)op;
    enum errcode code = s->inner->apply(s->inner, ctx);

    memcpy(op->detail, s->inner->detail, sizeof(op->detail));
    return code;
}

static void
committer_sync_refused(struct commit_op *op, struct commit_ctx *ctx)
{
    struct commit_sync *s = (struct commit_sync *)op;

    s->inner->code = op->code;
    if (s->inner->refused != NULL)
        s->inner->refused(s->inner, ctx);
}

static void
committer_sync_done(struct commit_op *op)
{
    struct commit_sync *s = (struct commit_sync *)op;

    pthread_mutex_lock(&s->w.mu);
    s->w.finished = 1;
    pthread_cond_signal(&s->w.cv);
    pthread_mutex_unlock(&s->w.mu);
}

enum errcode
committer_run(struct committer *c, struct commit_op *op)
{
    struct commit_sync s = {.op = {.apply = committer_sync_apply,
                                   .refused = committer_sync_refused,
                                   .done = committer_sync_done},
                            .inner = op};

    pthread_mutex_init(&s.w.mu, NULL);
    pthread_cond_init(&s.w.cv, NULL);
    committer_submit(c, &s.op);
    pthread_mutex_lock(&s.w.mu);
    while (!s.w.finished)
        pthread_cond_wait(&s.w.cv, &s.w.mu);
    pthread_mutex_unlock(&s.w.mu);
    pthread_mutex_destroy(&s.w.mu);
    pthread_cond_destroy(&s.w.cv);
    op->code = s.op.code;
    memcpy(op->detail, s.op.detail, sizeof(op->detail));
    return op->code;
}

void
committer_stop(struct committer *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_signal(&c->cv);
    pthread_cond_signal(&c->ckpt_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    if (c->has_checkpointer)
        pthread_join(c->checkpointer, NULL);
    store_close(c->ckpt_store);
    store_close(c->ctx.store);
    replay_free(c->ctx.replay);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->hook_mu);
    pthread_cond_destroy(&c->cv);
    pthread_cond_destroy(&c->ckpt_cv);
    free(c);
}

void
committer_get_stats(struct committer *c, struct committer_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    out->queued = c->queued;
    pthread_mutex_unlock(&c->mu);
}

void
committer_set_observer(struct committer *c, committer_observe_fn *fn, void *arg)
{
    pthread_mutex_lock(&c->mu);
    c->observe = fn;
    c->observe_arg = arg;
    pthread_mutex_unlock(&c->mu);
}

void
committer_set_delay(struct committer *c, int64_t delay_us)
{
    pthread_mutex_lock(&c->mu);
    c->delay_us = delay_us;
    pthread_mutex_unlock(&c->mu);
}

void
committer_set_clock_offset(struct committer *c, int64_t offset_ms)
{
    pthread_mutex_lock(&c->mu);
    c->clock_offset_ms = offset_ms;
    pthread_mutex_unlock(&c->mu);
}

/* Test hook ----------------------------------------------------------------- */

void
committer_set_test_hook(struct committer *c,
                        void (*before_apply)(struct commit_op *op, struct commit_ctx *ctx,
                                             void *arg),
                        void *arg)
{
    pthread_mutex_lock(&c->mu);
    c->before_apply = before_apply;
    c->before_apply_arg = arg;
    pthread_mutex_unlock(&c->mu);
}
