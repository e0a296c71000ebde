/* Group commit: the one writer thread. Whatever changes the store (the loop
 * for admin changes and /readyz, a worker for MP issuance, maintenance)
 * submits an op; the writer runs every queued op inside one transaction (each
 * in its own savepoint), commits once with synchronous=FULL, and only then
 * hands each op back to the event loop named by op->base. No token leaves
 * before its record is durable; concurrency comes from batching, not weaker
 * durability. A second thread, the checkpointer, copies the WAL into the
 * database file on its own connection so the writer never waits for that. */
#ifndef SITETOKEN_COMMITTER_H
#define SITETOKEN_COMMITTER_H

#include <stdint.h>

#include <jansson.h>

#include "errcode.h"

struct event_base;
struct store;
struct replay;
struct committer;

/* What apply() sees: the writer's own connection and state. */
struct commit_ctx {
    struct store *store;
    struct replay *replay; /* proof jti cache, owned by the writer thread */
    int64_t now_ms;        /* clock at the start of the batch */
};

/* One unit of work. The submitter owns it until committer_submit, the writer
 * while it is queued and applied, base's thread from done() on (docs/threads.md). */
struct commit_op {
    /* Runs on the writer thread inside the batch transaction. Returns
     * ERRCODE_OK to keep its writes, anything else to roll them back (and set
     * detail). */
    enum errcode (*apply)(struct commit_op *op, struct commit_ctx *ctx);
    /* Optional: runs on the writer thread, in the same transaction, after a
     * refusal was rolled back: to record the refusal (audit) durably. */
    void (*refused)(struct commit_op *op, struct commit_ctx *ctx);
    /* Runs on base's thread after the commit (or the failure). */
    void (*done)(struct commit_op *op);
    struct event_base *base;
    enum errcode code; /* ERRCODE_OK when applied and durable */
    char detail[192];
    struct commit_op *next;
};

/* The one way an op fails (on the writer, or on a worker before it): fills
 * op->detail and returns code, so an apply ends `return commit_op_fail(...)`. */
enum errcode commit_op_fail(struct commit_op *op, enum errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A store call failed: unavailable, detail "store: <errstr>". */
enum errcode commit_op_store_fail(struct commit_op *op, const char *errstr);
/* Writer thread: appends the audit record of an op at the batch's time;
 * detail (stolen, NULL for "{}") is written with sorted keys. ERRCODE_OK, or
 * the store's failure through commit_op_store_fail. */
enum errcode commit_op_audit(struct commit_op *op, struct commit_ctx *ctx, const char *actor,
                             const char *action, const char *subject, json_t *detail);

struct committer_stats {
    uint64_t batches, ops, failed_commits;
    uint64_t max_batch;
    uint64_t queued; /* ops waiting for the writer at this moment */
};

/* Called on the writer thread after every batch: n ops, us from the start of
 * its transaction to its commit (or failure). It must not block. */
typedef void committer_observe_fn(void *arg, size_t n, int64_t us);

/* Opens its own connection to path, loads the persisted proof jtis still
 * inside the replay window into a replay cache (replay_per_mp jtis per MP a
 * window, replay.h), and starts the writer thread and (best effort, with a
 * connection of its own) the checkpoint thread. Every batch also prunes a
 * bounded number of persisted jtis that have left the window. */
struct committer *committer_start(const char *path, int busy_timeout_ms, int batch_max,
                                  int64_t replay_per_mp, int64_t replay_window_ms,
                                  int64_t clock_offset_ms, const char **errstr);
void committer_submit(struct committer *c, struct commit_op *op);
/* Called on the writer thread after every commit that added or removed
 * revocation entries, with what that commit made durable (changes, owned by
 * the hook from then on: store_rev_changes_free; NULL with lost = 1 when the
 * journal ran out of memory and the receiver must read the store), before
 * any op of the batch is handed back: a hook that posts to the loop with
 * event_base_once (no delay: the active queue is FIFO) is run there before
 * the ops' done(). hook NULL: none. Any thread; after it returns, the old
 * hook is never called again. */
struct store_rev_changes;
void committer_set_revocation_hook(struct committer *c,
                                   void (*hook)(struct store_rev_changes *changes, int lost,
                                                void *arg),
                                   void *arg);
/* Runs op synchronously on the caller's thread through the writer (waits for
 * its batch); for start-up and tools, never from an event loop. */
enum errcode committer_run(struct committer *c, struct commit_op *op);
/* Applies the remaining queue, then stops the thread and closes its store. */
void committer_stop(struct committer *c);
void committer_get_stats(struct committer *c, struct committer_stats *out);
/* fn(arg, ...) after each batch from now on (/metrics); NULL stops it. */
void committer_set_observer(struct committer *c, committer_observe_fn *fn, void *arg);
/* How long the writer waits, after the first op of a batch arrives, for more
 * to join it (store.commit_delay; 0 = commit what is queued at once). */
void committer_set_delay(struct committer *c, int64_t delay_us);
/* Moves the writer's clock (debug clock override). */
void committer_set_clock_offset(struct committer *c, int64_t offset_ms);

/* Tests only (production never calls it): before_apply runs on the writer
 * in the batch's transaction just before each op's savepoint, as if another
 * op had been applied first: a race made deterministic (test_mpapi_race).
 * Set it before submitting the ops it concerns. */
void committer_set_test_hook(struct committer *c,
                             void (*before_apply)(struct commit_op *op, struct commit_ctx *ctx,
                                                  void *arg),
                             void *arg);

#endif
