/* The clocks (see clock.h). The debug offset lives in env as an atomic; the
 * writer keeps its own copy under its lock, moved here too. */
#include <time.h>

#include "clock.h"
#include "committer.h"
#include "sitetokend.h"

int64_t
clock_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_wall_ms(int64_t offset_ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
}

int64_t
clock_now_ms(const struct sitetokend *env)
{
    return clock_wall_ms(env->clock_offset_ms);
}

int64_t
clock_now(const struct sitetokend *env)
{
    return clock_now_ms(env) / 1000;
}

void
clock_set_offset(struct sitetokend *env, int64_t offset_ms)
{
    env->clock_offset_ms = offset_ms;
    if (env->committer != NULL)
        committer_set_clock_offset(env->committer, offset_ms);
}
