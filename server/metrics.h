/* Process statistics in Prometheus text format: request counts by route and
 * status, process start time. Counters are atomics so any thread may bump them. */
#ifndef SITETOKEN_METRICS_H
#define SITETOKEN_METRICS_H

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
/* Appends one counter that another module keeps (HELP, TYPE and value). */
void metrics_render_counter(struct evbuffer *out, const char *name, const char *help,
                            uint64_t value);

#endif
