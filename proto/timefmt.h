/* RFC 3339 UTC times for the wire ("2026-11-28T15:04:05Z"). */
#ifndef SITETOKEN_TIMEFMT_H
#define SITETOKEN_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_LEN 20 /* without the NUL */

/* Formats seconds since the epoch; out holds TIMEFMT_LEN + 1 bytes. */
void timefmt_rfc3339(int64_t t, char out[TIMEFMT_LEN + 1]);

#endif
