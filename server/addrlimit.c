/* Per-source-address budgets (see addrlimit.h).
 *
 * One open-addressed table of slots, keyed by (kind, address), probed over a
 * window of ADDRLIMIT_WINDOW slots from a keyed hash (the key is random per
 * process, so an attacker cannot aim addresses at one window). A newcomer
 * takes a free slot in its window, else evicts the slot whose loss costs
 * least: a rate bucket that has refilled most (a full one loses nothing);
 * a count slot that holds anything is never evicted, so when a window is
 * all live counts the newcomer is refused. Everything runs on the loop. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "addrlimit.h"

#define ADDRLIMIT_WINDOW 8
#define ADDRLIMIT_MIN_CAPACITY 64

struct addrlimit_slot {
    struct addrlimit_addr addr;
    uint8_t used, kind;
    double tokens;   /* rate kinds: units left at last_us */
    int64_t last_us; /* rate kinds: when tokens was computed */
    int64_t count;   /* count kinds: units held */
};

struct addrlimit_cfg {
    double per_us, burst; /* rate kinds; per_us 0 = unlimited */
    int64_t max;          /* count kinds; 0 = unlimited */
};

struct addrlimit {
    struct addrlimit_slot *slots;
    uint32_t mask;
    uint64_t seed[2];
    struct addrlimit_cfg cfg[ADDRLIMIT_KINDS];
};

int
addrlimit_addr_from(const struct sockaddr *sa, struct addrlimit_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa == NULL)
        return -1;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

        out->b[10] = 0xff;
        out->b[11] = 0xff;
        memcpy(out->b + 12, &sin->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

        memcpy(out->b, &sin6->sin6_addr, 16);
        /* An IPv4-mapped address is that IPv4 host, not a /64. */
        if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
            memset(out->b + 8, 0, 8);
        return 0;
    }
    return -1;
}

static uint64_t
addrlimit_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint32_t
addrlimit_hash(const struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a)
{
    uint64_t hi, lo;

    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
    return (uint32_t)addrlimit_mix(addrlimit_mix(hi ^ al->seed[0]) ^ lo ^ al->seed[1] ^
                                   (uint64_t)kind * 0x9e3779b97f4a7c15ULL);
}

struct addrlimit *
addrlimit_new(int capacity)
{
    struct addrlimit *al = calloc(1, sizeof(*al));
    uint32_t n = ADDRLIMIT_MIN_CAPACITY;

    if (al == NULL)
        return NULL;
    while ((int64_t)n < capacity && n < (1u << 24))
        n <<= 1;
    if ((al->slots = calloc(n, sizeof(*al->slots))) == NULL) {
        free(al);
        return NULL;
    }
    al->mask = n - 1;
    if (RAND_bytes((unsigned char *)al->seed, sizeof(al->seed)) != 1) {
        al->seed[0] = (uint64_t)(uintptr_t)al;
        al->seed[1] = (uint64_t)(uintptr_t)al->slots;
    }
    return al;
}

void
addrlimit_free(struct addrlimit *al)
{
    if (al == NULL)
        return;
    free(al->slots);
    free(al);
}

void
addrlimit_set_rate(struct addrlimit *al, enum addrlimit_kind kind, double per_minute, double burst)
{
    al->cfg[kind].per_us = per_minute > 0 ? per_minute / 60e6 : 0;
    al->cfg[kind].burst = burst > 0 ? burst : per_minute;
}

void
addrlimit_set_count(struct addrlimit *al, enum addrlimit_kind kind, int64_t max)
{
    al->cfg[kind].max = max > 0 ? max : 0;
}

/* Tokens of a rate slot at now (refilled, capped at burst). */
static double
addrlimit_level(const struct addrlimit *al, const struct addrlimit_slot *s, int64_t now_us)
{
    const struct addrlimit_cfg *c = &al->cfg[s->kind];
    double t = s->tokens;

    if (now_us > s->last_us)
        t += (double)(now_us - s->last_us) * c->per_us;
    return t > c->burst ? c->burst : t;
}

/* The slot of (kind, a), made when absent (rate: full; count: 0). NULL when
 * it is absent and there is no room (only ever for count kinds). */
static struct addrlimit_slot *
addrlimit_slot(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
               int64_t now_us, int create)
{
    uint32_t h = addrlimit_hash(al, kind, a);
    struct addrlimit_slot *s, *victim = NULL;
    double best = -1;
    int count_kind = kind == ADDRLIMIT_STREAMS;

    for (int i = 0; i < ADDRLIMIT_WINDOW; i++) {
        s = &al->slots[(h + (uint32_t)i) & al->mask];
        if (s->used && s->kind == kind && memcmp(&s->addr, a, sizeof(*a)) == 0)
            return s;
    }
    if (!create)
        return NULL;
    for (int i = 0; i < ADDRLIMIT_WINDOW; i++) {
        double loss;

        s = &al->slots[(h + (uint32_t)i) & al->mask];
        if (!s->used) {
            victim = s;
            break;
        }
        if (s->kind == ADDRLIMIT_STREAMS) {
            if (s->count > 0)
                continue;
            loss = 1e300; /* an empty count: free to take */
        } else {
            loss = addrlimit_level(al, s, now_us) / al->cfg[s->kind].burst;
        }
        if (loss > best) {
            best = loss;
            victim = s;
        }
    }
    if (victim == NULL)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    victim->used = 1;
    victim->kind = (uint8_t)kind;
    victim->addr = *a;
    if (!count_kind) {
        victim->tokens = al->cfg[kind].burst;
        victim->last_us = now_us;
    }
    return victim;
}

static int
addrlimit_retry(const struct addrlimit *al, enum addrlimit_kind kind, double level)
{
    double secs = (1.0 - level) / al->cfg[kind].per_us / 1e6;
    int r = secs < 1e6 ? (int)secs : 1000000;

    if ((double)r < secs)
        r++; /* rounded up */
    return r < 1 ? 1 : r;
}

static int
addrlimit_rate(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
               int64_t now_us, int *retry_after, int spend)
{
    struct addrlimit_slot *s;
    double level;

    *retry_after = 0;
    if (al->cfg[kind].per_us == 0)
        return 0;
    if ((s = addrlimit_slot(al, kind, a, now_us, spend)) == NULL)
        return 0; /* check of an address never seen: full budget */
    level = addrlimit_level(al, s, now_us);
    s->tokens = level;
    s->last_us = now_us;
    if (level < 1.0) {
        *retry_after = addrlimit_retry(al, kind, level);
        return -1;
    }
    if (spend)
        s->tokens = level - 1.0;
    return 0;
}

int
addrlimit_take(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
               int64_t now_us, int *retry_after)
{
    return addrlimit_rate(al, kind, a, now_us, retry_after, 1);
}

int
addrlimit_check(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
                int64_t now_us, int *retry_after)
{
    return addrlimit_rate(al, kind, a, now_us, retry_after, 0);
}

void
addrlimit_charge(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
                 int64_t now_us)
{
    struct addrlimit_slot *s;
    double level;

    if (al->cfg[kind].per_us == 0 || (s = addrlimit_slot(al, kind, a, now_us, 1)) == NULL)
        return;
    level = addrlimit_level(al, s, now_us) - 1.0;
    s->tokens = level < 0 ? 0 : level;
    s->last_us = now_us;
}

int
addrlimit_acquire(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a)
{
    struct addrlimit_slot *s = addrlimit_slot(al, kind, a, 0, 1);

    if (s == NULL)
        return -1;
    if (al->cfg[kind].max != 0 && s->count >= al->cfg[kind].max)
        return -1;
    s->count++;
    return 0;
}

void
addrlimit_release(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a)
{
    struct addrlimit_slot *s = addrlimit_slot(al, kind, a, 0, 0);

    if (s != NULL && s->count > 0 && --s->count == 0)
        s->used = 0;
}

int64_t
addrlimit_held(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a)
{
    struct addrlimit_slot *s = addrlimit_slot(al, kind, a, 0, 0);

    return s != NULL ? s->count : 0;
}
