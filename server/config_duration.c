/* Durations in the config: "90d 8h 5m 0s" read into milliseconds and written back in the
 * same canonical form (for messages, --help-config and the man page). The parser is
 * proto/duration.c, shared with sitetokenctl's --lifetime; these names are the loader's. */
#include <stdint.h>
#include <stdio.h>

#include "config_int.h"
#include "duration.h"

int
config_parse_duration(const char *s, int64_t *out, const char **errstr)
{
    return duration_parse(s, out, errstr);
}

void
config_format_duration(int64_t ms, char *buf, size_t n)
{
    duration_format(ms, buf, n);
}
