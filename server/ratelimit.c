/* Token buckets in open-addressed tables of fixed size. A key is a SHA-256
 * (of a credential or a bulk token) plus the kind of bucket; a lookup probes a
 * short window and, when the key is new and the window full, takes over the
 * slot used least recently. Evicting a bucket can only make a limit more
 * lenient for that key, never refuse anyone else. Request buckets and
 * failure budgets live in separate tables, and a failure budget is made only
 * when an authenticated exchange fails. Only authenticated MPs reach these
 * tables at all (made-up keys are refused before admission), so a flood of
 * them churns nothing. rl->mu guards both tables; it is held only for one
 * admission or one charge, never across I/O, and never with another lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "ratelimit.h"

#define RATELIMIT_PROBE 16

enum ratelimit_kind { RL_MP_REQUESTS = 1, RL_MP_FAILED, RL_BULK_FAILED };

struct rl_bucket {
    uint8_t key[32];
    uint8_t kind; /* 0: free slot */
    double tokens;
    int64_t last_us;
};

struct rl_table {
    struct rl_bucket *slots;
    uint32_t mask;
};

struct ratelimit {
    pthread_mutex_t mu;
    struct rl_table requests;         /* RL_MP_REQUESTS */
    struct rl_table failed;           /* RL_MP_FAILED, RL_BULK_FAILED */
    double mp_rate, mp_burst;         /* tokens a second, bucket size */
    double failed_rate, failed_burst; /* per second, per minute's worth */
};

/* Whole seconds until b holds one token again (at least 1). */
static int
rl_wait_s(const struct rl_bucket *b, double rate)
{
    double s = rate > 0 ? (1.0 - b->tokens) / rate : 60.0;
    int n;

    if (s > 3600)
        s = 3600;
    n = (int)s;
    if (s - n > 1e-6) /* up, but not for a rounding error's worth */
        n++;
    return n < 1 ? 1 : n;
}

static int
rl_table_init(struct rl_table *t, int capacity)
{
    uint32_t n = 64;

    while (n < (uint32_t)capacity && n < (1u << 24))
        n <<= 1;
    if ((t->slots = calloc(n, sizeof(*t->slots))) == NULL)
        return -1;
    t->mask = n - 1;
    return 0;
}

struct ratelimit *
ratelimit_new(int capacity, int64_t mp_rate, int64_t failed_per_minute)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));

    if (rl == NULL)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    if (rl_table_init(&rl->requests, capacity) == -1 ||
        rl_table_init(&rl->failed, capacity) == -1) {
        ratelimit_free(rl);
        return NULL;
    }
    rl->mp_rate = (double)mp_rate;
    rl->mp_burst = mp_rate > 0 ? (double)mp_rate : 0;
    rl->failed_rate = (double)failed_per_minute / 60.0;
    rl->failed_burst = (double)failed_per_minute;
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    free(rl->requests.slots);
    free(rl->failed.slots);
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* The bucket for (kind, key) in t, refilled to now. A new key gets a full
 * bucket when create is set; otherwise NULL (a full bucket, in effect). */
static struct rl_bucket *
rl_bucket(struct rl_table *t, enum ratelimit_kind kind, const uint8_t key[32], double rate,
          double burst, int64_t now_us, int create)
{
    uint32_t h, victim;
    struct rl_bucket *b;

    memcpy(&h, key, sizeof(h));
    h = (h ^ (uint32_t)kind * 0x9e3779b9u) & t->mask;
    victim = h;
    for (uint32_t i = 0; i < RATELIMIT_PROBE; i++) {
        b = &t->slots[(h + i) & t->mask];
        if (b->kind == kind && memcmp(b->key, key, 32) == 0) {
            b->tokens += (double)(now_us - b->last_us) / 1e6 * rate;
            if (b->tokens > burst)
                b->tokens = burst;
            b->last_us = now_us;
            return b;
        }
        if (b->kind == 0) {
            victim = (h + i) & t->mask;
            break;
        }
        if (b->last_us < t->slots[victim].last_us)
            victim = (h + i) & t->mask;
    }
    if (!create)
        return NULL;
    b = &t->slots[victim];
    memcpy(b->key, key, 32);
    b->kind = (uint8_t)kind;
    b->tokens = burst;
    b->last_us = now_us;
    return b;
}

/* The admission itself; rl->mu held. */
static enum errcode
rl_admit_locked(struct ratelimit *rl, struct ratelimit_ticket *t, int64_t now_us, const char **why)
{
    struct rl_bucket *b;

    if (rl->mp_rate > 0) {
        b = rl_bucket(&rl->requests, RL_MP_REQUESTS, t->mp, rl->mp_rate, rl->mp_burst, now_us, 1);
        if (b->tokens < 1) {
            t->retry_after = rl_wait_s(b, rl->mp_rate);
            *why = "too many requests from this MP";
            return ERRCODE_RATE_LIMITED;
        }
        b->tokens -= 1;
    }
    if (rl->failed_burst > 0 && t->has_bulk) {
        b = rl_bucket(&rl->failed, RL_MP_FAILED, t->mp, rl->failed_rate, rl->failed_burst, now_us,
                      0);
        if (b != NULL && b->tokens < 1) {
            t->retry_after = rl_wait_s(b, rl->failed_rate);
            *why = "too many failed exchanges from this MP";
            return ERRCODE_RATE_LIMITED;
        }
        b = rl_bucket(&rl->failed, RL_BULK_FAILED, t->bulk, rl->failed_rate, rl->failed_burst,
                      now_us, 0);
        if (b != NULL && b->tokens < 1) {
            t->retry_after = rl_wait_s(b, rl->failed_rate);
            *why = "too many failed exchanges with this bulk token";
            return ERRCODE_RATE_LIMITED;
        }
    }
    return ERRCODE_OK;
}

enum errcode
ratelimit_admit(struct ratelimit *rl, struct ratelimit_ticket *t, const char *identity,
                const char *bulk_token, int64_t now_us, const char **why)
{
    enum errcode code;

    memset(t, 0, sizeof(*t));
    SHA256((const unsigned char *)identity, strlen(identity), t->mp);
    if (bulk_token != NULL) {
        SHA256((const unsigned char *)bulk_token, strlen(bulk_token), t->bulk);
        t->has_bulk = 1;
    }
    pthread_mutex_lock(&rl->mu);
    code = rl_admit_locked(rl, t, now_us, why);
    pthread_mutex_unlock(&rl->mu);
    return code;
}

void
ratelimit_exchange_done(struct ratelimit *rl, const struct ratelimit_ticket *t, enum errcode code,
                        int64_t now_us)
{
    struct rl_bucket *b;

    /* No MP credential, no MP to charge (and the bulk token was not even
     * looked at); the server's own trouble is no one's failure. */
    if (rl->failed_burst <= 0 || !t->has_bulk || code == ERRCODE_OK ||
        code == ERRCODE_UNAUTHENTICATED || code == ERRCODE_UNAVAILABLE ||
        code == ERRCODE_RATE_LIMITED)
        return;
    pthread_mutex_lock(&rl->mu);
    b = rl_bucket(&rl->failed, RL_MP_FAILED, t->mp, rl->failed_rate, rl->failed_burst, now_us, 1);
    b->tokens = b->tokens >= 1 ? b->tokens - 1 : 0;
    b = rl_bucket(&rl->failed, RL_BULK_FAILED, t->bulk, rl->failed_rate, rl->failed_burst, now_us,
                  1);
    b->tokens = b->tokens >= 1 ? b->tokens - 1 : 0;
    pthread_mutex_unlock(&rl->mu);
}
