/* sitetoken-gateway's shared state: the one process-wide context that the
 * loop (gw_auth, sitetoken-gateway.c) and the follower thread (gw_fetch)
 * share. Ownership and locks are written in gw_fetch.c's opening comment. */
#ifndef SITETOKEN_GW_H
#define SITETOKEN_GW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "errcode.h"
#include "gw_config.h"
#include "sitetoken.h"

struct gw_fetch;

#define GW_BUDGET_SLOTS 4096

/* One source address's enrolment refusals in a one-minute window. */
struct gw_budget_slot {
    char addr[64];
    int64_t window; /* minute number */
    int64_t refusals;
};

struct gw {
    struct gw_config cfg;
    /* Guarded by lock: the loop reads (verify, check), the follower writes
     * (loads). v is NULL until the issuer is known. */
    pthread_rwlock_t lock;
    struct sitetoken_verifier *v;
    struct sitetoken_revocations *revs;
    char issuer[256];
    /* Every loop thread: the replay cache locks itself (libsitetoken). */
    struct sitetoken_replay *replay;
    _Atomic int64_t last_kid_refetch_ms; /* monotonic, -1: never */
    /* Enrolment refusal budget: a fixed table of windows by address hash
     * (gw_auth.c); an address that collides takes the slot over. Under
     * budget_mu, held only to read or bump one slot. */
    pthread_mutex_t budget_mu;
    struct gw_budget_slot budget[GW_BUDGET_SLOTS];
    _Atomic int64_t answers[ERRCODE_COUNT]; /* /auth answers by code, for /metrics */
    int jws_mode;                           /* authority.feed_format: jws (set once at start) */
    /* Atomics, any thread. */
    _Atomic int64_t confirmed_ms; /* monotonic time of the last confirmation; 0: never */
    _Atomic int64_t jws_exp;      /* JWS mode: exp of the verified state held (wall, s) */
    _Atomic int keys_loaded, revs_loaded;
    _Atomic int64_t clock_offset; /* debug clock, seconds */
    _Atomic int64_t n_keys_fetches, n_revs_fetches, n_stream_connects, n_events;
    _Atomic int stale_logged;
    struct gw_fetch *fetch;
};

int64_t gw_mono_ms(void);
/* Wall clock with the debug offset, seconds since the epoch. */
int64_t gw_now(const struct gw *g);
/* 1 while the revocation state has been confirmed within max_staleness. */
int gw_fresh(struct gw *g);

void gw_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Tells systemd (Type=notify) a state ("READY=1", "STOPPING=1"; NULL:
 * RELOADING=1 with MONOTONIC_USEC); a failure is logged, never fatal. Any
 * thread. */
void gw_notify(const char *state);

#endif
