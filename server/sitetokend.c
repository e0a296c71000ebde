/* Helpers on the process-wide context: the clock every request reads, with
 * the debug offset that tests use to reach expiry without waiting. */
#include <time.h>

#include "sitetokend.h"

int64_t
sitetokend_now_ms(const struct sitetokend *env)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + env->clock_offset_ms;
}

int64_t
sitetokend_now(const struct sitetokend *env)
{
    return sitetokend_now_ms(env) / 1000;
}
