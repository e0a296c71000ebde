/* Rate limits for MP requests: a token bucket per authenticated MP identity
 * (limits.mp_rate requests a second) and failed-exchange budgets per MP
 * identity and per bulk token (limits.failed_exchanges_per_minute). The
 * identity is what authenticated the MP (auth.h: its id, or its client
 * certificate), so no spelling of a header gets a budget of its own.
 * Buckets live in a fixed table, so memory is bounded whatever the input.
 * Thread-safe: workers admit (after authentication), the loop charges
 * failures; one mutex, held only for a bucket update. */
#ifndef SITETOKEN_RATELIMIT_H
#define SITETOKEN_RATELIMIT_H

#include <stdint.h>

#include "errcode.h"

struct ratelimit;

/* What a request was admitted under, kept with it until its answer. */
struct ratelimit_ticket {
    uint8_t mp[32];   /* SHA-256 of the MP's identity */
    uint8_t bulk[32]; /* SHA-256 of the bulk token, when has_bulk */
    int has_bulk;
    int retry_after; /* when refused: whole seconds until it would be admitted */
};

/* capacity buckets in each of two tables (requests, failures); mp_rate
 * requests/s per MP (0 = unlimited), failed_per_minute failed exchanges
 * (0 = unlimited). NULL on ENOMEM. */
struct ratelimit *ratelimit_new(int capacity, int64_t mp_rate, int64_t failed_per_minute);
void ratelimit_free(struct ratelimit *rl);

/* Any thread, once the MP is authenticated. Fills t from the MP's identity
 * (auth_mp.identity, never NULL) and the bulk token (NULL unless an
 * exchange), then takes one request from the MP's bucket and checks the
 * failed-exchange budgets: ERRCODE_OK, or ERRCODE_RATE_LIMITED with *why and
 * t->retry_after. */
enum errcode ratelimit_admit(struct ratelimit *rl, struct ratelimit_ticket *t, const char *identity,
                             const char *bulk_token, int64_t now_us, const char **why);
/* Any thread, when an exchange admitted under t is answered with code:
 * a refusal (other than unauthenticated, unavailable or rate_limited) spends
 * one failure from the MP's and the bulk token's budgets. */
void ratelimit_exchange_done(struct ratelimit *rl, const struct ratelimit_ticket *t,
                             enum errcode code, int64_t now_us);

#endif
