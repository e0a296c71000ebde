/* The proof replay cache (see replay.h). Keys are the first 8 bytes of
 * SHA-256(salt || jti) with a per-process random salt, so an attacker cannot
 * aim collisions; 0 marks an empty slot. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "replay.h"

#define REPLAY_JTI_MAX 256

struct replay_gen {
    uint64_t *slots;
    size_t used;
};

struct replay {
    struct replay_gen gen[2]; /* gen[cur] is written, the other only read */
    int cur;
    size_t nslots;   /* power of two, 2 x capacity */
    size_t capacity; /* entries per generation */
    int64_t window_ms;
    int64_t started_ms; /* when gen[cur] began */
    uint8_t salt[16];
};

struct replay *
replay_new(size_t capacity, int64_t window_ms)
{
    struct replay *r = calloc(1, sizeof(*r));
    size_t n = 16;

    if (r == NULL)
        return NULL;
    while (n < capacity * 2)
        n <<= 1;
    r->nslots = n;
    r->capacity = capacity;
    r->window_ms = window_ms > 0 ? window_ms : 1;
    r->started_ms = -1;
    if (RAND_bytes(r->salt, sizeof(r->salt)) != 1 ||
        (r->gen[0].slots = calloc(n, sizeof(uint64_t))) == NULL ||
        (r->gen[1].slots = calloc(n, sizeof(uint64_t))) == NULL) {
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
replay_probe(const struct replay *r, const struct replay_gen *g, uint64_t k)
{
    size_t mask = r->nslots - 1, i = (size_t)k & mask;

    while (g->slots[i] != 0 && g->slots[i] != k)
        i = (i + 1) & mask;
    return i;
}

static void
replay_rotate(struct replay *r, int64_t now_ms)
{
    if (r->started_ms < 0) {
        r->started_ms = now_ms;
        return;
    }
    while (now_ms - r->started_ms >= r->window_ms) {
        int old = 1 - r->cur;

        memset(r->gen[old].slots, 0, r->nslots * sizeof(uint64_t));
        r->gen[old].used = 0;
        r->cur = old;
        r->started_ms += r->window_ms;
        if (now_ms - r->started_ms >= 2 * r->window_ms)
            r->started_ms = now_ms - r->window_ms; /* long idle: both are stale */
    }
}

int
replay_check(struct replay *r, const char *jti, size_t len, int64_t now_ms)
{
    uint64_t k = replay_key(r, jti, len);
    struct replay_gen *cur, *prev;
    size_t i;

    replay_rotate(r, now_ms);
    cur = &r->gen[r->cur];
    prev = &r->gen[1 - r->cur];
    if (prev->slots[replay_probe(r, prev, k)] == k)
        return 1;
    i = replay_probe(r, cur, k);
    if (cur->slots[i] == k)
        return 1;
    if (cur->used >= r->capacity)
        return -1;
    cur->slots[i] = k;
    cur->used++;
    return 0;
}

size_t
replay_count(const struct replay *r)
{
    return r->gen[0].used + r->gen[1].used;
}
