/* The clocks of sitetokend, in one place: the monotonic clock that deadlines
 * and budgets run on, and the wall clock that tokens, audit and the store
 * read, moved by the debug offset (debug.clock_override) so that tests reach
 * expiry without waiting. */
#ifndef SITETOKEN_CLOCK_H
#define SITETOKEN_CLOCK_H

#include <stdint.h>

struct sitetokend;

/* Monotonic microseconds: durations, deadlines, rate-limit buckets. */
int64_t clock_mono_us(void);
/* Wall clock in milliseconds plus offset_ms (for a thread that keeps its own
 * copy of the offset, like the writer). */
int64_t clock_wall_ms(int64_t offset_ms);
/* Wall clock with env's debug offset, in milliseconds / seconds. */
int64_t clock_now_ms(const struct sitetokend *env);
int64_t clock_now(const struct sitetokend *env);
/* Moves env's debug offset (and the writer's copy of it). */
void clock_set_offset(struct sitetokend *env, int64_t offset_ms);

#endif
