/* Proof replay cache: remembers every accepted proof jti for at least the
 * window (2 x clock skew) in bounded memory. Two generations of an
 * open-addressing set of 64-bit keyed hashes; the older one is dropped when
 * the current one has lived a window. Single-threaded: the writer owns it. */
#ifndef SITETOKEN_REPLAY_H
#define SITETOKEN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay;

struct replay *replay_new(size_t capacity, int64_t window_ms);
void replay_free(struct replay *r);
/* 0: first sighting, now remembered; 1: replayed; -1: the cache is full (the
 * caller refuses with rate_limited rather than forget). */
int replay_check(struct replay *r, const char *jti, size_t len, int64_t now_ms);
size_t replay_count(const struct replay *r);

#endif
