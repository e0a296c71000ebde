/* The direct-mapped cache table both verified-token caches (bulkcache.c)
 * and the MP-key cache are made of (see slots.h): allocation, the slot of a
 * hash, the one mutex and the counters. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "slots.h"

int
slots_init(struct slots *s, size_t n, size_t size)
{
    size_t p = 1;

    memset(s, 0, sizeof(*s));
    while (p < n && p <= SIZE_MAX / 2)
        p <<= 1;
    if ((s->e = calloc(p, size)) == NULL)
        return -1;
    s->n = p;
    s->size = size;
    pthread_mutex_init(&s->mu, NULL);
    return 0;
}

void
slots_clear(struct slots *s, void (*drop)(void *entry))
{
    if (s->e == NULL)
        return;
    for (size_t i = 0; drop != NULL && i < s->n; i++)
        drop(s->e + i * s->size);
    pthread_mutex_destroy(&s->mu);
    OPENSSL_cleanse(s->e, s->n * s->size);
    free(s->e);
    s->e = NULL;
}

void *
slots_entry(struct slots *s, const uint8_t hash[32])
{
    size_t i;

    memcpy(&i, hash, sizeof(i));
    return s->e + (i & (s->n - 1)) * s->size;
}

void
slots_lock(struct slots *s)
{
    pthread_mutex_lock(&s->mu);
}

void
slots_unlock(struct slots *s)
{
    pthread_mutex_unlock(&s->mu);
}

void
slots_count(struct slots *s, int hit)
{
    if (hit)
        s->hits++;
    else
        s->misses++;
}

void
slots_stats(struct slots *s, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&s->mu);
    *hits = s->hits;
    *misses = s->misses;
    pthread_mutex_unlock(&s->mu);
}
