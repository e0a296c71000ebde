/* Durations (see duration.h): parsed into milliseconds and formatted back in
 * the canonical form, for the config loader and the admin tool alike. */
#include "duration.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int64_t ms;
} duration_units[] = {
    {"d", 86400000LL}, {"h", 3600000LL}, {"m", 60000LL}, {"s", 1000LL}, {"ms", 1},
};

#define NUNITS (sizeof(duration_units) / sizeof(duration_units[0]))

int
duration_parse(const char *s, int64_t *out, const char **errstr)
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
            if (strlen(duration_units[u].name) == ulen &&
                memcmp(s, duration_units[u].name, ulen) == 0)
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
        if (v > INT64_MAX / duration_units[u].ms || total > INT64_MAX - v * duration_units[u].ms) {
            *errstr = "duration too large";
            return -1;
        }
        total += v * duration_units[u].ms;
        last = u;
        s += ulen;
        while (*s == ' ')
            s++;
    }
    *out = total;
    return 0;
}

void
duration_format(int64_t ms, char *buf, size_t n)
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
        uint64_t q = left / (uint64_t)duration_units[u].ms;

        if (q == 0)
            continue;
        left -= q * (uint64_t)duration_units[u].ms;
        o += (size_t)snprintf(buf + o, n - o, "%s%llu%s", o > (size_t)(ms < 0) ? " " : "",
                              (unsigned long long)q, duration_units[u].name);
    }
}
