/* The one process-wide context of sitetokend (STYLE rule 3). Everything that
 * lives as long as the process hangs off it; nothing else is a mutable global. */
#ifndef SITETOKEN_SITETOKEND_H
#define SITETOKEN_SITETOKEND_H

#include <stdint.h>
#include <time.h>

struct config;
struct event_base;
struct store;
struct metrics;
struct http;
struct signer;
struct committer;
struct workers;
struct bulkcache;
struct authcache;
struct bulkrate;
struct feed;
struct ratelimit;
struct publish;
struct ops;

struct sitetokend {
    struct config *cfg;
    struct event_base *base;
    struct store *store;         /* the loop's own connection, read-write like every one; the
                                  * loop only reads through it (the feed at start and after
                                  * a commit, the keys after a change) */
    struct committer *committer; /* the writer thread: every write goes there */
    struct signer *signer;
    struct workers *workers; /* CPU work and reads off the event loop */
    struct bulkcache *bulkcache;
    struct bulkcache *clientcache; /* verified client tokens (renew, access) */
    struct authcache *authcache;   /* MP API keys by hash (auth.c) */
    struct bulkrate *bulkrate;     /* bulk tokens' per-second exchange caps (thread-safe) */
    struct metrics *metrics;
    struct http *http;
    struct feed *feed;           /* revocation feed and event stream subscribers (main loop) */
    struct ratelimit *ratelimit; /* MP budgets (thread-safe; owned by http) */
    struct publish *publish;     /* metadata documents (main loop; made on first use) */
    struct ops *ops;             /* the /readyz probe (main loop; ops.c) */
    uint8_t seal_key[32];        /* wiped at exit; only the signer uses it */
    time_t started_at;
    _Atomic int64_t clock_offset_ms; /* debug clock override (tests), 0 otherwise: clock.h */
    int shutting_down;
};

#endif
