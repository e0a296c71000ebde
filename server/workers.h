/* The worker pool: threads that do the CPU work of a request (proof and token
 * verification, signing) and its store reads, each on its own read-only
 * connection, so the event loop only does HTTP. Work arrives through one
 * queue; a worker hands its result back to the loop with event_base_once or
 * passes it on to the committer. */
#ifndef SITETOKEN_WORKERS_H
#define SITETOKEN_WORKERS_H

struct store;
struct workers;

struct worker_ctx {
    struct store *store; /* this worker's own connection: reads only */
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
int workers_count(const struct workers *p);

#endif
