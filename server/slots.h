/* A direct-mapped cache table: a power-of-two number of fixed-size entries
 * picked by the first bytes of a SHA-256, one mutex held only to copy an
 * entry in or out, and the hit and miss counters under that mutex. What an
 * entry holds, and when it is current, is the user's (bulkcache.c; auth.c's
 * MP-key cache has the same shape). A collision evicts. Any thread. */
#ifndef SITETOKEN_SLOTS_H
#define SITETOKEN_SLOTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in its user's struct; the fields are slots.c's. */
struct slots {
    pthread_mutex_t mu;
    unsigned char *e;      /* n entries of size bytes, zeroed at first; guarded by mu */
    size_t n, size;        /* n a power of two */
    uint64_t hits, misses; /* guarded by mu */
};

/* n entries (rounded up to a power of two, at least 1) of size bytes, all
 * zero: 0, or -1 when out of memory (nothing to clear then). */
int slots_init(struct slots *s, size_t n, size_t size);
/* Calls drop (NULL: none) on every entry, to free what it owns, then wipes
 * the entries (they may hold credentials' hashes) and frees them. */
void slots_clear(struct slots *s, void (*drop)(void *entry));
/* The entry a hash maps to (its contents are guarded by the mutex). */
void *slots_entry(struct slots *s, const uint8_t hash[32]);
/* The mutex: held only to copy an entry or a counter, never across I/O or
 * crypto, never with another lock. */
void slots_lock(struct slots *s);
void slots_unlock(struct slots *s);
/* Under the lock: one lookup answered from the table (hit) or not. */
void slots_count(struct slots *s, int hit);
/* Hits and misses so far. */
void slots_stats(struct slots *s, uint64_t *hits, uint64_t *misses);

#endif
