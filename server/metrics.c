/* Request counters by (route, status) kept in a fixed array of atomics, and a
 * latency histogram per route; the gauges operators graph (the counts a
 * worker reads from the store, the signing key's times, the writer's queue)
 * and the writer's batch size and commit latency histograms; all rendered as
 * Prometheus text on /metrics. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"

#define METRICS_STATUS_MIN 100
#define METRICS_STATUS_MAX 599
#define METRICS_NSTATUS (METRICS_STATUS_MAX - METRICS_STATUS_MIN + 1)

/* Upper bounds of the latency buckets, in microseconds. */
static const int64_t metrics_buckets_us[] = {500,   1000,   2500,   5000,   10000,   25000,
                                             50000, 100000, 250000, 500000, 1000000, 2500000};
#define METRICS_NBUCKETS (sizeof(metrics_buckets_us) / sizeof(metrics_buckets_us[0]))

struct metrics_route {
    _Atomic uint64_t status[METRICS_NSTATUS];
    _Atomic uint64_t bucket[METRICS_NBUCKETS + 1];
    _Atomic uint64_t sum_us;
};

/* Refusals of the MP API per minute, for the console's chart: a ring of
 * METRICS_MINUTES slots, each tagged with its Unix minute (a slot whose tag
 * is old is reset by the first request of its new minute; a request racing
 * that reset may be lost, which a chart can bear). */
struct metrics_minute {
    _Atomic int64_t minute;
    _Atomic uint64_t refusals;
};

/* A histogram whose bucket bounds are a static table; values are integers
 * (microseconds or ops), rendered divided by scale. */
#define METRICS_HIST_MAX 16
struct metrics_hist {
    const int64_t *bounds;
    size_t nbounds; /* < METRICS_HIST_MAX */
    double scale;
    _Atomic uint64_t bucket[METRICS_HIST_MAX + 1];
    _Atomic uint64_t sum;
};

static const int64_t metrics_batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
static const int64_t metrics_commit_bounds_us[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};

/* The cached counts, one atomic each (metrics_set_counts). */
// clang-format off
#define METRICS_COUNTS(X)                                                                          \
    X(devices) X(tokens_live) X(bulk_active) X(mps) X(feed_serial)                                 \
    X(key_active_since) X(key_next_rotation) X(refreshed_at)
// clang-format on

struct metrics {
    const char *const *names;
    int nroutes;
    time_t started_at;
    struct metrics_route *routes;
    unsigned char *refusal_route; /* 1 for the MP API's token routes */
    struct metrics_minute minutes[METRICS_MINUTES];
    struct metrics_hist batch, commit;
#define METRICS_COUNT_FIELD(f) _Atomic int64_t f;
    METRICS_COUNTS(METRICS_COUNT_FIELD)
#undef METRICS_COUNT_FIELD
    _Atomic int counts_busy;
};

/* The routes whose 4xx/5xx answers are refusals of a device. */
static const char *const metrics_refusal_routes[] = {"registrations", "exchanges", "renewals",
                                                     "access_tokens"};

struct metrics *
metrics_new(const char *const *route_names, int nroutes, time_t started_at)
{
    struct metrics *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->names = route_names;
    m->nroutes = nroutes;
    m->started_at = started_at;
    m->batch.bounds = metrics_batch_bounds;
    m->batch.nbounds = sizeof(metrics_batch_bounds) / sizeof(metrics_batch_bounds[0]);
    m->batch.scale = 1;
    m->commit.bounds = metrics_commit_bounds_us;
    m->commit.nbounds = sizeof(metrics_commit_bounds_us) / sizeof(metrics_commit_bounds_us[0]);
    m->commit.scale = 1e6;
    if ((m->routes = calloc((size_t)nroutes, sizeof(*m->routes))) == NULL ||
        (m->refusal_route = calloc((size_t)nroutes, 1)) == NULL) {
        free(m->routes);
        free(m);
        return NULL;
    }
    for (int i = 0; i < nroutes; i++)
        for (size_t k = 0; k < sizeof(metrics_refusal_routes) / sizeof(metrics_refusal_routes[0]);
             k++)
            if (route_names[i] != NULL && strcmp(route_names[i], metrics_refusal_routes[k]) == 0)
                m->refusal_route[i] = 1;
    return m;
}

void
metrics_free(struct metrics *m)
{
    if (m == NULL)
        return;
    free(m->routes);
    free(m->refusal_route);
    free(m);
}

static void
metrics_count_refusal(struct metrics *m)
{
    int64_t minute = (int64_t)time(NULL) / 60, old;
    struct metrics_minute *slot = &m->minutes[minute % METRICS_MINUTES];

    old = atomic_load_explicit(&slot->minute, memory_order_relaxed);
    if (old != minute && atomic_compare_exchange_strong(&slot->minute, &old, minute))
        atomic_store(&slot->refusals, 0);
    atomic_fetch_add_explicit(&slot->refusals, 1, memory_order_relaxed);
}

uint64_t
metrics_refusals_in_minute(struct metrics *m, int64_t minute)
{
    struct metrics_minute *slot;

    if (m == NULL || minute < 0)
        return 0;
    slot = &m->minutes[minute % METRICS_MINUTES];
    if (atomic_load(&slot->minute) != minute)
        return 0;
    return atomic_load(&slot->refusals);
}

void
metrics_request(struct metrics *m, int route, int status, int64_t duration_us)
{
    struct metrics_route *r;
    size_t b = 0;

    if (m == NULL || route < 0 || route >= m->nroutes)
        return;
    r = &m->routes[route];
    if (status >= METRICS_STATUS_MIN && status <= METRICS_STATUS_MAX)
        atomic_fetch_add_explicit(&r->status[status - METRICS_STATUS_MIN], 1, memory_order_relaxed);
    if (status >= 400 && m->refusal_route[route])
        metrics_count_refusal(m);
    while (b < METRICS_NBUCKETS && duration_us > metrics_buckets_us[b])
        b++;
    atomic_fetch_add_explicit(&r->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->sum_us, (uint64_t)(duration_us < 0 ? 0 : duration_us),
                              memory_order_relaxed);
}

void
metrics_render(struct metrics *m, struct evbuffer *out)
{
    evbuffer_add_printf(out,
                        "# HELP sitetoken_build_info Version of this sitetokend.\n"
                        "# TYPE sitetoken_build_info gauge\n"
                        "sitetoken_build_info{version=\"%s\"} 1\n"
                        "# HELP process_start_time_seconds Start time of the process since "
                        "the Unix epoch in seconds.\n"
                        "# TYPE process_start_time_seconds gauge\n"
                        "process_start_time_seconds %lld\n",
                        SITETOKEN_VERSION, (long long)m->started_at);
    evbuffer_add_printf(out, "# HELP sitetoken_http_requests_total HTTP requests answered, by "
                             "route and status.\n"
                             "# TYPE sitetoken_http_requests_total counter\n");
    for (int i = 0; i < m->nroutes; i++)
        for (int s = 0; s < METRICS_NSTATUS; s++) {
            uint64_t n = atomic_load_explicit(&m->routes[i].status[s], memory_order_relaxed);
            if (n > 0)
                evbuffer_add_printf(out,
                                    "sitetoken_http_requests_total{route=\"%s\",status=\"%d\"} "
                                    "%llu\n",
                                    m->names[i], s + METRICS_STATUS_MIN, (unsigned long long)n);
        }
    evbuffer_add_printf(out, "# HELP sitetoken_http_request_duration_seconds Time from request "
                             "to response, by route.\n"
                             "# TYPE sitetoken_http_request_duration_seconds histogram\n");
    for (int i = 0; i < m->nroutes; i++) {
        struct metrics_route *r = &m->routes[i];
        uint64_t cum = 0;

        for (size_t b = 0; b <= METRICS_NBUCKETS; b++)
            cum += atomic_load_explicit(&r->bucket[b], memory_order_relaxed);
        if (cum == 0)
            continue;
        cum = 0;
        for (size_t b = 0; b < METRICS_NBUCKETS; b++) {
            cum += atomic_load_explicit(&r->bucket[b], memory_order_relaxed);
            evbuffer_add_printf(out,
                                "sitetoken_http_request_duration_seconds_bucket{route=\"%s\","
                                "le=\"%g\"} %llu\n",
                                m->names[i], (double)metrics_buckets_us[b] / 1e6,
                                (unsigned long long)cum);
        }
        cum += atomic_load_explicit(&r->bucket[METRICS_NBUCKETS], memory_order_relaxed);
        evbuffer_add_printf(out,
                            "sitetoken_http_request_duration_seconds_bucket{route=\"%s\","
                            "le=\"+Inf\"} %llu\n"
                            "sitetoken_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                            "sitetoken_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                            m->names[i], (unsigned long long)cum, m->names[i],
                            (double)atomic_load(&r->sum_us) / 1e6, m->names[i],
                            (unsigned long long)cum);
    }
}

void
metrics_render_counter(struct evbuffer *out, const char *name, const char *help, uint64_t value)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                        (unsigned long long)value);
}

static void
metrics_hist_add(struct metrics_hist *h, int64_t v)
{
    size_t b = 0;

    if (v < 0)
        v = 0;
    while (b < h->nbounds && v > h->bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, (uint64_t)v, memory_order_relaxed);
}

static void
metrics_hist_render(struct evbuffer *out, const struct metrics_hist *h, const char *name,
                    const char *help)
{
    uint64_t cum = 0;

    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t b = 0; b < h->nbounds; b++) {
        cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
        evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
                            (double)h->bounds[b] / h->scale, (unsigned long long)cum);
    }
    cum += atomic_load_explicit(&h->bucket[h->nbounds], memory_order_relaxed);
    evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                        (unsigned long long)cum, name, (double)atomic_load(&h->sum) / h->scale,
                        name, (unsigned long long)cum);
}

void
metrics_commit(void *arg, size_t n, int64_t us)
{
    struct metrics *m = arg;

    metrics_hist_add(&m->batch, (int64_t)n);
    metrics_hist_add(&m->commit, us);
}

int
metrics_counts_claim(struct metrics *m)
{
    return atomic_exchange(&m->counts_busy, 1) == 0;
}

void
metrics_counts_abandon(struct metrics *m)
{
    atomic_store(&m->counts_busy, 0);
}

void
metrics_set_counts(struct metrics *m, const struct metrics_counts *c)
{
#define METRICS_COUNT_STORE(f) atomic_store(&m->f, c->f);
    METRICS_COUNTS(METRICS_COUNT_STORE)
#undef METRICS_COUNT_STORE
    atomic_store(&m->counts_busy, 0);
}

/* The gauges, one row each: name, help, and where the value comes from. */
enum metrics_src { SRC_COUNT, SRC_SINCE, SRC_UNTIL, SRC_LIVE };
struct metrics_gauge {
    const char *name, *help;
    enum metrics_src src;
    size_t off; /* SRC_COUNT, SRC_SINCE, SRC_UNTIL: in struct metrics; SRC_LIVE: in metrics_live */
};
#define GAUGE_COUNT(f) .src = SRC_COUNT, .off = offsetof(struct metrics, f)
#define GAUGE_LIVE(f) .src = SRC_LIVE, .off = offsetof(struct metrics_live, f)

static const struct metrics_gauge metrics_gauges[] = {
    {"sitetoken_devices", "Registered devices, blocked ones included (cached).",
     GAUGE_COUNT(devices)},
    {"sitetoken_client_tokens_live", "Unrevoked client tokens not yet expired (cached).",
     GAUGE_COUNT(tokens_live)},
    {"sitetoken_bulk_tokens_active", "Bulk tokens neither blocked nor expired (cached).",
     GAUGE_COUNT(bulk_active)},
    {"sitetoken_mps", "Registered management points (cached).", GAUGE_COUNT(mps)},
    {"sitetoken_feed_serial", "Serial of the newest revocation feed entry (cached).",
     GAUGE_COUNT(feed_serial)},
    {"sitetoken_signing_key_age_seconds", "Time since the active signing key started signing.",
     .src = SRC_SINCE, .off = offsetof(struct metrics, key_active_since)},
    {"sitetoken_signing_key_next_rotation_seconds",
     "Time until the next signing key takes over (negative: overdue).", .src = SRC_UNTIL,
     .off = offsetof(struct metrics, key_next_rotation)},
    {"sitetoken_counts_refreshed_timestamp_seconds",
     "When the cached gauges were last read from the store.", GAUGE_COUNT(refreshed_at)},
    {"sitetoken_stream_subscribers", "Open event streams (GET /v1/events).",
     GAUGE_LIVE(subscribers)},
    {"sitetoken_writer_queue_depth", "Writes waiting for the writer thread.",
     GAUGE_LIVE(queue_depth)},
};

void
metrics_render_state(struct metrics *m, const struct metrics_live *live, struct evbuffer *out)
{
    for (size_t i = 0; i < sizeof(metrics_gauges) / sizeof(metrics_gauges[0]); i++) {
        const struct metrics_gauge *g = &metrics_gauges[i];
        int64_t v;

        if (g->src == SRC_LIVE) {
            v = *(const int64_t *)(const void *)((const char *)live + g->off);
        } else {
            v = atomic_load((_Atomic int64_t *)(void *)((char *)m + g->off));
            if (g->src != SRC_COUNT && v == 0)
                continue; /* no active key (yet): no value rather than a wrong one */
            if (g->src == SRC_SINCE)
                v = live->now - v;
            else if (g->src == SRC_UNTIL)
                v = v - live->now;
        }
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", g->name, g->help,
                            g->name, g->name, (long long)v);
    }
    metrics_hist_render(out, &m->batch, "sitetoken_writer_batch_size",
                        "Writes committed together in one transaction.");
    metrics_hist_render(out, &m->commit, "sitetoken_writer_commit_duration_seconds",
                        "Time from a batch's transaction start to its durable commit.");
}
