/* The worker pool: threads that do the CPU work of a request (proof and token
 * verification, signing) and its store reads (MP authentication, device
 * lookups, every admin list and the audit verification), so the event loop
 * only does HTTP. Each worker has its own connection, opened like every
 * other (read-write: SQLite has no cheaper read-only WAL reader) and used
 * only to read; every write goes to the committer. Work arrives through one
 * queue; a worker hands its result back to the loop with event_base_once or
 * passes it on to the committer. */
#ifndef SITETOKEN_WORKERS_H
#define SITETOKEN_WORKERS_H

struct store;
struct workers;

struct worker_ctx {
    struct store *store; /* this worker's own connection; it only reads through it */
    int id;
    struct workers *pool;
};

struct work {
    void (*run)(struct work *w, struct worker_ctx *ctx); /* on a worker thread */
    struct work *next;                                   /* queue link */
};

/* n threads (0: one per CPU), each opening path. */
struct workers *workers_start(int n, const char *path, int busy_timeout_ms, const char **errstr);
void workers_submit(struct workers *p, struct work *w);
/* Finishes the queued work, then joins the threads. */
void workers_stop(struct workers *p);

#endif
