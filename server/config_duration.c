/* Durations in the config: "90d 8h 5m 0s" read into milliseconds and written back in the
 * same canonical form (for messages, --help-config and the man page). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"

static const struct {
    const char *name;
    int64_t ms;
} units[] = {{"d", DAY_MS}, {"h", HOUR_MS}, {"m", MIN_MS}, {"s", SEC_MS}, {"ms", 1}};

#define NUNITS (sizeof(units) / sizeof(units[0]))

int
config_parse_duration(const char *s, int64_t *out, const char **errstr)
{
    int64_t total = 0;
    int last = -1;

    if (s == NULL)
        s = "";
    while (*s == ' ')
        s++;
    if (*s == '\0') {
        *errstr = "empty duration";
        return -1;
    }
    while (*s != '\0') {
        int64_t v = 0;
        size_t ulen = 0;
        int u;
        if (*s < '0' || *s > '9') {
            *errstr = "expected a number followed by a unit (d, h, m, s or ms)";
            return -1;
        }
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > (INT64_MAX - (*s - '0')) / 10) {
                *errstr = "duration too large";
                return -1;
            }
            v = v * 10 + (*s - '0');
        }
        while (s[ulen] >= 'a' && s[ulen] <= 'z')
            ulen++;
        if (ulen == 0) {
            *errstr = "missing unit (d, h, m, s or ms)";
            return -1;
        }
        for (u = 0; u < (int)NUNITS; u++)
            if (strlen(units[u].name) == ulen && memcmp(s, units[u].name, ulen) == 0)
                break;
        if (u == (int)NUNITS) {
            *errstr = "unknown unit (use d, h, m, s or ms)";
            return -1;
        }
        if (u == last) {
            *errstr = "a unit appears twice";
            return -1;
        }
        if (u < last) {
            *errstr = "units must go from largest to smallest (d h m s ms)";
            return -1;
        }
        if (v > INT64_MAX / units[u].ms || total > INT64_MAX - v * units[u].ms) {
            *errstr = "duration too large";
            return -1;
        }
        total += v * units[u].ms;
        last = u;
        s += ulen;
        while (*s == ' ')
            s++;
    }
    *out = total;
    return 0;
}

void
config_format_duration(int64_t ms, char *buf, size_t n)
{
    uint64_t left = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
    size_t o = 0;

    if (n == 0)
        return;
    buf[0] = '\0';
    if (ms < 0)
        o += (size_t)snprintf(buf, n, "-");
    if (o >= n)
        return;
    if (left == 0)
        snprintf(buf + o, n - o, "0s");
    for (size_t u = 0; u < NUNITS && left > 0 && o < n; u++) {
        uint64_t q = left / (uint64_t)units[u].ms;
        if (q == 0)
            continue;
        left -= q * (uint64_t)units[u].ms;
        o += (size_t)snprintf(buf + o, n - o, "%s%llu%s", o > (size_t)(ms < 0) ? " " : "",
                              (unsigned long long)q, units[u].name);
    }
}
