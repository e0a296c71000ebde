/* The load generator's engine: N keep-alive HTTP/1.1 connections on one
 * libevent loop, raw bufferevents and a minimal response parser, each
 * connection with one request in flight. Closed loop (the next request as
 * soon as the answer is in) or open loop (requests due at a fixed rate,
 * latency measured from when each was due, so that a stall is not hidden). */
#ifndef SITETOKEN_BENCH_LOAD_H
#define SITETOKEN_BENCH_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "bench_hist.h"
#include "bench_work.h"

#define BENCH_ERRORS_MAX 32
#define BENCH_URLS_MAX 8 /* servers one run spreads its connections over */

struct bench_errors {
    size_t n;
    struct {
        char code[64];
        uint64_t count;
    } e[BENCH_ERRORS_MAX];
    uint64_t other; /* codes beyond BENCH_ERRORS_MAX distinct ones */
    uint64_t total;
};

struct bench_load_opts {
    /* Connection i goes to addr[i % naddr] (naddr 0 counts as 1). */
    struct sockaddr_storage addr[BENCH_URLS_MAX];
    socklen_t addrlen[BENCH_URLS_MAX];
    int naddr;
    int connections;
    double duration;       /* seconds after the warm-up; 0: until the requests run out */
    double warmup;         /* seconds whose answers are not counted */
    double rate;           /* requests/s, open loop; 0: closed loop */
    double timeout;        /* seconds a request may take */
    uint64_t max_requests; /* 0: no limit */
    /* What to send: seq[i % nseq] when cyclic, else each of seq[0..nseq) once. */
    struct bench_item **seq;
    size_t nseq;
    int cyclic;
    struct bench_expect *expect;
};

/* What one of the servers answered (after the warm-up). */
struct bench_url_result {
    uint64_t requests, ok, errors;
    struct bench_hist hist;
};

struct bench_load_result {
    uint64_t requests; /* answered (or failed) after the warm-up */
    uint64_t ok;
    double elapsed; /* seconds from the end of the warm-up to the last answer */
    struct bench_hist hist;
    struct bench_errors errors;
    uint64_t by_kind[BENCH_KIND_COUNT]; /* requests a kind */
    uint64_t issued;                    /* all sent, warm-up included */
    uint64_t backlog_max;               /* open loop: most requests due but not yet sent */
    int ran_out;                        /* stopped because the pre-made requests ran out */
    uint64_t connect_failures;          /* failed connection attempts */
    int connections_lost;               /* connections given up after failing to connect */
    int naddr;                          /* entries of by_url */
    struct bench_url_result by_url[BENCH_URLS_MAX];
};

/* host:port's first stream address into *ss. 0, or -1 with *errstr. */
int bench_load_resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                       const char **errstr);

/* Count one error under code. */
void bench_errors_add(struct bench_errors *e, const char *code, uint64_t n);

/* Runs the load. 0 when it ran (errors are counted in r), -1 with *errstr
 * when it could not (no connection could be opened). */
int bench_load_run(const struct bench_load_opts *o, struct bench_load_result *r,
                   const char **errstr);

#endif
