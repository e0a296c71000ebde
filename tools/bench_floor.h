/* The crypto floor of one exchange, measured in-process: what this machine
 * could do if sitetokend spent its CPUs on nothing but the work no design can
 * avoid, one proof verify and one token sign (the definition). */
#ifndef SITETOKEN_BENCH_FLOOR_H
#define SITETOKEN_BENCH_FLOOR_H

#include "jwk.h"

struct bench_floor {
    int threads;
    double seconds;   /* each of the two measurements */
    double rate;      /* exchanges/s: raw verify + raw sign (EVP only) */
    double full_rate; /* exchanges/s: proof_verify (parse, JWK, checks) + sign + compact */
    double sign_rate, verify_rate; /* each operation alone, all threads, per second */
};

/* Runs on threads threads (< 1: one a CPU) for about 2 * seconds. 0 or -1
 * with *errstr. */
int bench_floor_run(enum jwk_alg alg, int threads, double seconds, const char *issuer,
                    struct bench_floor *out, const char **errstr);

#endif
