/* The gateway scenario of sitetoken-bench: forward-auth checks per second
 * through a real sitetoken-gateway, each request with its own DPoP proof,
 * against the floor of the work no gateway can avoid (one access-token
 * verify and one proof verify), measured in the same run. */
#ifndef SITETOKEN_BENCH_GATEWAY_H
#define SITETOKEN_BENCH_GATEWAY_H

#include <stddef.h>

#include "bench_floor.h"
#include "bench_load.h"
#include "httpc.h"
#include "jwk.h"

/* Everything the scenario needs; strings and targets are borrowed. */
struct bench_gw_opts {
    const struct httpc_target *authority; /* setup: exchanges and access tokens */
    const char *mp_key, *bulk_token, *issuer;
    const char *jwks_doc; /* the authority's GET /v1/keys, for the floor's verifiers */
    size_t jwks_len;
    enum jwk_alg alg;   /* device keys */
    const char *gw_url; /* the gateway: http://HOST:PORT */
    long gw_pid;        /* > 0: report its CPU seconds during the run */
    int connections, threads;
    double duration, warmup, timeout, floor_seconds;
    size_t devices;         /* distinct devices (access tokens); 0: 64 */
    size_t requests;        /* requests in all; 0: planned from the floor and duration */
    long long clock_offset; /* seconds added to every proof iat */
    int quiet;              /* no progress lines on stderr */
};

struct bench_gw_result {
    struct bench_load_result res;
    struct bench_floor fl; /* rate: raw verifies; full_rate: through libsitetoken */
    size_t premade;
    double setup_s;
    double client_cpu_s; /* the bench's own CPU seconds while measuring (after the warm-up) */
    double gw_cpu_s;     /* the gateway's; < 0 when unknown */
};

/* Setup (devices, exchanges, access tokens through the authority), the
 * floor, the proofs, then the measured load. 0, or -1 with *errstr. */
int bench_gateway_run(const struct bench_gw_opts *o, struct bench_gw_result *out,
                      const char **errstr);

#endif
