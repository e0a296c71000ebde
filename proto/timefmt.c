/* RFC 3339 formatting of the times every document carries. */
#include <stdio.h>
#include <time.h>

#include "timefmt.h"

void
timefmt_rfc3339(int64_t t, char out[TIMEFMT_LEN + 1])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, TIMEFMT_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != TIMEFMT_LEN)
        snprintf(out, TIMEFMT_LEN + 1, "1970-01-01T00:00:00Z");
}
