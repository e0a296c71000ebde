/* Process statistics in Prometheus text format: request counts by route and
 * status, process start time. Counters are atomics so any thread may bump them. */
#ifndef SITETOKEN_METRICS_H
#define SITETOKEN_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evbuffer;
struct metrics;

/* route_names: the route table's names (index = route id), nroutes entries. */
struct metrics *metrics_new(const char *const *route_names, int nroutes, time_t started_at);
void metrics_free(struct metrics *m);
/* Counts one finished request with its status and duration. */
void metrics_request(struct metrics *m, int route, int status, int64_t duration_us);
/* MP API refusals (4xx/5xx of registrations, exchanges, renewals, access
 * tokens) answered in Unix minute `minute`, for the last METRICS_MINUTES
 * minutes of this process's life (0 before, and for older minutes). */
#define METRICS_MINUTES (24 * 60)
uint64_t metrics_refusals_in_minute(struct metrics *m, int64_t minute);
/* Appends the whole exposition to out. */
void metrics_render(struct metrics *m, struct evbuffer *out);
/* The counts that take a store read, refreshed off the loop (maintenance.c
 * reads them on a worker every metrics.refresh) and rendered as gauges. Times
 * are Unix seconds, 0 when there is no such key. */
struct metrics_counts {
    int64_t devices, tokens_live, bulk_active, mps;
    int64_t feed_serial;
    int64_t key_active_since;  /* when the active signing key started signing */
    int64_t key_next_rotation; /* when the next key takes over (or is due to) */
    int64_t refreshed_at;
};
/* Any thread: 1 and the refresh is this caller's to do (then metrics_set_counts
 * or metrics_counts_abandon), 0 when one is already under way. */
int metrics_counts_claim(struct metrics *m);
void metrics_set_counts(struct metrics *m, const struct metrics_counts *c);
void metrics_counts_abandon(struct metrics *m);
/* Writer thread, after each batch (committer_observe_fn): its size and the
 * time from its transaction's start to its commit. */
void metrics_commit(void *m, size_t n, int64_t us);
/* What the loop knows at once when it renders. */
struct metrics_live {
    int64_t now;         /* Unix seconds by the server's clock */
    int64_t queue_depth; /* ops waiting for the writer */
    int64_t subscribers; /* open event streams */
};
/* Appends the gauges (cached counts, key times relative to live->now, the live
 * values) and the writer's histograms. */
void metrics_render_state(struct metrics *m, const struct metrics_live *live, struct evbuffer *out);
/* Appends one counter that another module keeps (HELP, TYPE and value). */
void metrics_render_counter(struct evbuffer *out, const char *name, const char *help,
                            uint64_t value);

#endif
