/* Latency histogram for the load generator: log-linear buckets (64 a power
 * of two, so at most 1.6% relative error) over nanoseconds, O(1) to record,
 * mergeable, no allocation. */
#ifndef SITETOKEN_BENCH_HIST_H
#define SITETOKEN_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_BUCKETS (128 + (64 - 7) * 64)

struct bench_hist {
    uint64_t count;
    uint64_t min, max; /* exact, ns */
    double sum;        /* ns, for the mean */
    uint64_t bucket[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t ns);
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);
/* The value at quantile q (0..1) in ns: the middle of the bucket holding
 * rank ceil(q * count), clamped to [min, max]; 0 when empty. */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);
double bench_hist_mean(const struct bench_hist *h);

#endif
