/* Log-linear latency histogram (see bench_hist.h). Values below 128 ns have
 * a bucket each; above, each power of two is split into 64 equal buckets. */
#include <string.h>

#include "bench_hist.h"

static unsigned
bench_hist_index(uint64_t v)
{
    unsigned e, shift;

    if (v < 128)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v); /* >= 7 */
    shift = e - BENCH_HIST_SUB_BITS;
    return 128u + (e - 7u) * 64u + (unsigned)((v >> shift) - 64u);
}

/* Lowest value and width of bucket i. */
static void
bench_hist_bounds(unsigned i, uint64_t *lo, uint64_t *width)
{
    unsigned e, shift;

    if (i < 128) {
        *lo = i;
        *width = 1;
        return;
    }
    e = (i - 128u) / 64u + 7u;
    shift = e - BENCH_HIST_SUB_BITS;
    *lo = (uint64_t)(64u + (i - 128u) % 64u) << shift;
    *width = (uint64_t)1 << shift;
}

void
bench_hist_init(struct bench_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void
bench_hist_record(struct bench_hist *h, uint64_t ns)
{
    h->bucket[bench_hist_index(ns)]++;
    h->count++;
    h->sum += (double)ns;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

void
bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
    size_t i;

    for (i = 0; i < BENCH_HIST_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
    uint64_t rank, seen = 0, lo, width, v;
    unsigned i;

    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    rank = (uint64_t)(q * (double)h->count);
    if ((double)rank < q * (double)h->count)
        rank++;
    for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            break;
    }
    if (i == BENCH_HIST_BUCKETS)
        return h->max;
    bench_hist_bounds(i, &lo, &width);
    v = lo + width / 2;
    if (v < h->min)
        v = h->min;
    if (v > h->max)
        v = h->max;
    return v;
}

double
bench_hist_mean(const struct bench_hist *h)
{
    return h->count != 0 ? h->sum / (double)h->count : 0;
}
