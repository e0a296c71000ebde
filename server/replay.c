/* The proof replay cache (see replay.h).
 *
 * Design: two generations of an open-addressing set of 64-bit keys; the
 * older one is dropped when the current one has lived a window, so a jti is
 * remembered for at least one window and at most two. Keys are the first 8
 * bytes of SHA-256(salt || jti) with a per-process random salt, so an
 * attacker cannot aim collisions; 0 marks an empty slot.
 *
 * Fairness: there is no global capacity to fill. Each generation's table
 * grows (load <= 1/2) as jtis arrive, and each MP may add at most per_mp
 * jtis to the current generation; its next proof is refused with
 * REPLAY_OVER_QUOTA (the caller answers rate_limited) until the generation
 * turns. One MP's flood therefore costs only that MP: every other MP keeps
 * its whole quota. Memory is bounded by per_mp x 2 generations x the MPs
 * that relay proofs, and MPs exist only when an administrator adds them. The
 * lookup comes before the quota, so a replay is refused as a replay whoever
 * relays it. A generation that is dropped gives its memory back.
 *
 * The writer persists every jti it accepts (store/proofs.c) in the same
 * transaction as the token, and loads the recent ones at start-up with
 * replay_add, so the cache also holds across restarts. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "replay.h"

#define REPLAY_JTI_MAX 256
#define REPLAY_MIN_SLOTS 1024
#define REPLAY_MP_ID_MAX 40
#define REPLAY_MIN_MPS 16

struct replay_gen {
    uint64_t *slots;
    size_t nslots; /* power of two */
    size_t used;
};

/* What one MP added to each generation. */
struct replay_mp {
    char id[REPLAY_MP_ID_MAX + 1]; /* "" in a free slot of mps (a used one has in_use) */
    int in_use;
    size_t used[2];
};

struct replay {
    struct replay_gen gen[2]; /* gen[cur] is written, the other only read */
    int cur;
    size_t per_mp;
    int64_t window_ms;
    int64_t started_ms; /* when gen[cur] began */
    struct replay_mp *mps;
    size_t nmps, mps_used; /* nmps a power of two */
    uint8_t salt[16];
};

static int
replay_gen_init(struct replay_gen *g)
{
    uint64_t *s = calloc(REPLAY_MIN_SLOTS, sizeof(uint64_t));

    if (s == NULL)
        return -1;
    free(g->slots);
    g->slots = s;
    g->nslots = REPLAY_MIN_SLOTS;
    g->used = 0;
    return 0;
}

struct replay *
replay_new(size_t per_mp, int64_t window_ms)
{
    struct replay *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->per_mp = per_mp > 0 ? per_mp : 1;
    r->window_ms = window_ms > 0 ? window_ms : 1;
    r->started_ms = -1;
    r->nmps = REPLAY_MIN_MPS;
    if (RAND_bytes(r->salt, sizeof(r->salt)) != 1 || replay_gen_init(&r->gen[0]) == -1 ||
        replay_gen_init(&r->gen[1]) == -1 || (r->mps = calloc(r->nmps, sizeof(*r->mps))) == NULL) {
        replay_free(r);
        return NULL;
    }
    return r;
}

void
replay_free(struct replay *r)
{
    if (r == NULL)
        return;
    free(r->gen[0].slots);
    free(r->gen[1].slots);
    free(r->mps);
    free(r);
}

static uint64_t
replay_key(const struct replay *r, const char *jti, size_t len)
{
    uint8_t md[SHA256_DIGEST_LENGTH], buf[16 + REPLAY_JTI_MAX];
    uint64_t k;

    if (len > REPLAY_JTI_MAX)
        len = REPLAY_JTI_MAX; /* callers bound jti far below this */
    memcpy(buf, r->salt, sizeof(r->salt));
    memcpy(buf + sizeof(r->salt), jti, len);
    SHA256(buf, sizeof(r->salt) + len, md);
    memcpy(&k, md, sizeof(k));
    return k != 0 ? k : 1;
}

/* Slot holding k, or the empty slot where it would go. */
static size_t
replay_probe(const struct replay_gen *g, uint64_t k)
{
    size_t mask = g->nslots - 1, i = (size_t)k & mask;

    while (g->slots[i] != 0 && g->slots[i] != k)
        i = (i + 1) & mask;
    return i;
}

/* Doubles g's table when one more key would pass half full. 0 or -1. */
static int
replay_gen_reserve(struct replay_gen *g)
{
    struct replay_gen bigger = {.nslots = g->nslots * 2, .used = g->used};

    if ((g->used + 1) * 2 <= g->nslots)
        return 0;
    if (bigger.nslots < g->nslots ||
        (bigger.slots = calloc(bigger.nslots, sizeof(uint64_t))) == NULL)
        return -1;
    for (size_t i = 0; i < g->nslots; i++)
        if (g->slots[i] != 0)
            bigger.slots[replay_probe(&bigger, g->slots[i])] = g->slots[i];
    free(g->slots);
    *g = bigger;
    return 0;
}

static uint32_t
replay_mp_hash(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a: MP ids come from the store, not from clients */

    for (; *id != '\0'; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

/* The slot of mp in mps, or the free slot where it would go. */
static size_t
replay_mp_probe(const struct replay_mp *mps, size_t n, const char *id)
{
    size_t mask = n - 1, i = replay_mp_hash(id) & mask;

    while (mps[i].in_use && strcmp(mps[i].id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Copies an MP id, cut at REPLAY_MP_ID_MAX (ids come from the store and are
 * never that long). */
static void
replay_mp_id(char out[REPLAY_MP_ID_MAX + 1], const char *mp)
{
    size_t n = mp != NULL ? strnlen(mp, REPLAY_MP_ID_MAX) : 0;

    if (n > 0)
        memcpy(out, mp, n);
    out[n] = '\0';
}

/* mp's entry, made when new; NULL on ENOMEM. */
static struct replay_mp *
replay_mp_get(struct replay *r, const char *mp)
{
    char id[REPLAY_MP_ID_MAX + 1];
    size_t i;

    replay_mp_id(id, mp);
    i = replay_mp_probe(r->mps, r->nmps, id);
    if (r->mps[i].in_use)
        return &r->mps[i];
    if ((r->mps_used + 1) * 2 > r->nmps) {
        size_t n = r->nmps * 2;
        struct replay_mp *m = calloc(n, sizeof(*m));

        if (m == NULL)
            return NULL;
        for (size_t j = 0; j < r->nmps; j++)
            if (r->mps[j].in_use)
                m[replay_mp_probe(m, n, r->mps[j].id)] = r->mps[j];
        free(r->mps);
        r->mps = m;
        r->nmps = n;
        i = replay_mp_probe(r->mps, r->nmps, id);
    }
    memcpy(r->mps[i].id, id, sizeof(id));
    r->mps[i].in_use = 1;
    r->mps_used++;
    return &r->mps[i];
}

/* Drops the older generation once the current one has lived a window; its
 * table shrinks back to the minimum and every MP's count for it is 0. */
static void
replay_rotate(struct replay *r, int64_t now_ms)
{
    if (r->started_ms < 0) {
        r->started_ms = now_ms;
        return;
    }
    while (now_ms - r->started_ms >= r->window_ms) {
        int old = 1 - r->cur;

        if (replay_gen_init(&r->gen[old]) == -1) {
            /* keep the big table, emptied */
            memset(r->gen[old].slots, 0, r->gen[old].nslots * sizeof(uint64_t));
            r->gen[old].used = 0;
        }
        for (size_t i = 0; i < r->nmps; i++)
            r->mps[i].used[old] = 0;
        r->cur = old;
        r->started_ms += r->window_ms;
        if (now_ms - r->started_ms >= 2 * r->window_ms)
            r->started_ms = now_ms - r->window_ms; /* long idle: both are stale */
    }
}

/* Looks k up in both generations: 1 when present. */
static int
replay_seen(const struct replay *r, uint64_t k)
{
    const struct replay_gen *cur = &r->gen[r->cur], *prev = &r->gen[1 - r->cur];

    return prev->slots[replay_probe(prev, k)] == k || cur->slots[replay_probe(cur, k)] == k;
}

static enum replay_result
replay_insert(struct replay *r, const char *mp, uint64_t k, int quota)
{
    struct replay_gen *cur = &r->gen[r->cur];
    struct replay_mp *m = replay_mp_get(r, mp);

    if (m == NULL)
        return REPLAY_NOMEM;
    if (quota && m->used[r->cur] >= r->per_mp)
        return REPLAY_OVER_QUOTA;
    if (replay_gen_reserve(cur) == -1)
        return REPLAY_NOMEM;
    cur->slots[replay_probe(cur, k)] = k;
    cur->used++;
    m->used[r->cur]++;
    return REPLAY_FRESH;
}

enum replay_result
replay_check(struct replay *r, const char *mp, const char *jti, size_t len, int64_t now_ms)
{
    uint64_t k = replay_key(r, jti, len);

    replay_rotate(r, now_ms);
    if (replay_seen(r, k))
        return REPLAY_SEEN;
    return replay_insert(r, mp, k, 1);
}

int
replay_add(struct replay *r, const char *mp, const char *jti, size_t len, int64_t now_ms)
{
    uint64_t k = replay_key(r, jti, len);

    replay_rotate(r, now_ms);
    if (replay_seen(r, k))
        return 0;
    return replay_insert(r, mp, k, 0) == REPLAY_FRESH ? 0 : -1;
}

size_t
replay_count(const struct replay *r)
{
    return r->gen[0].used + r->gen[1].used;
}

size_t
replay_mp_count(const struct replay *r, const char *mp)
{
    char id[REPLAY_MP_ID_MAX + 1];
    size_t i;

    replay_mp_id(id, mp);
    i = replay_mp_probe(r->mps, r->nmps, id);
    return r->mps[i].in_use ? r->mps[i].used[r->cur] : 0;
}

int
replay_retry_after(const struct replay *r, int64_t now_ms)
{
    int64_t left = r->started_ms < 0 ? r->window_ms : r->started_ms + r->window_ms - now_ms;
    int64_t s = (left + 999) / 1000;

    return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}
