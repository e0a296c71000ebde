/* The floor of a gateway check, measured in-process on every CPU: one
 * access-token signature verify plus one DPoP-proof signature verify (rate),
 * and the same request through libsitetoken (full_rate: parsing, the key from
 * the proof's jwk, thumbprint, claims; no replay cache), each verify alone
 * (sign_rate holds the token verify, verify_rate the proof verify). Each
 * rate is the sum over the threads of operations per CPU-second of the
 * thread: CPU time, not wall time, so contention does not lower it. */
#ifndef SITETOKEN_BENCH_GWFLOOR_H
#define SITETOKEN_BENCH_GWFLOOR_H

#include <stddef.h>

#include "bench_floor.h"

/* One device's access token and one proof by it for GET htu; borrowed. */
struct bench_gwfloor_sample {
    const char *access;
    char *proof;
    size_t proof_len;
};

struct bench_gwfloor_opts {
    const char *issuer;
    const char *jwks_doc; /* the authority's key set */
    size_t jwks_len;
    const char *htu;        /* the URL the samples' proofs are for */
    long long clock_offset; /* seconds added to now */
    int threads;            /* < 1: one a CPU */
    double seconds;         /* each of the two main measurements */
};

/* Thread i uses sample i % n. 0, or -1 with *errstr. */
int bench_gwfloor_run(const struct bench_gwfloor_opts *o, const struct bench_gwfloor_sample *sm,
                      size_t n, struct bench_floor *fl, const char **errstr);

#endif
