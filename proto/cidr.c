/* CIDR ranges: parse (host bits must be zero), format, and containment,
 * IPv4-mapped IPv6 addresses compared as IPv4. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const uint8_t cidr_v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
cidr_addr(const char *s, struct cidr *out)
{
    uint8_t a6[16];

    memset(out, 0, sizeof(*out));
    if (s == NULL || strlen(s) >= CIDR_TEXT_MAX)
        return -1;
    if (inet_pton(AF_INET, s, out->addr) == 1) {
        out->family = 4;
        out->bits = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, s, a6) != 1)
        return -1;
    if (memcmp(a6, cidr_v4mapped, sizeof(cidr_v4mapped)) == 0) {
        out->family = 4;
        out->bits = 32;
        memcpy(out->addr, a6 + 12, 4);
        return 0;
    }
    out->family = 6;
    out->bits = 128;
    memcpy(out->addr, a6, 16);
    return 0;
}

int
cidr_parse(const char *s, struct cidr *out)
{
    char buf[CIDR_TEXT_MAX], *slash, *end;
    long bits;
    int max;

    if (s == NULL || strlen(s) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", s);
    slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    if (strchr(buf, ':') != NULL) { /* no IPv4-mapped folding for a range */
        memset(out, 0, sizeof(*out));
        if (inet_pton(AF_INET6, buf, out->addr) != 1)
            return -1;
        out->family = 6;
    } else {
        memset(out, 0, sizeof(*out));
        if (inet_pton(AF_INET, buf, out->addr) != 1)
            return -1;
        out->family = 4;
    }
    max = out->family == 4 ? 32 : 128;
    out->bits = max;
    if (slash != NULL) {
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits < 0 || bits > max || (slash[1] == '0' && slash[2] != '\0'))
            return -1;
        out->bits = (int)bits;
    }
    for (int i = out->bits; i < max; i++)
        if (out->addr[i / 8] & (0x80 >> (i % 8)))
            return -1; /* host bits set */
    return 0;
}

int
cidr_contains(const struct cidr *c, const struct cidr *a)
{
    int full = c->bits / 8, rest = c->bits % 8;

    if (c->family != a->family)
        return 0;
    if (memcmp(c->addr, a->addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((c->addr[full] ^ a->addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

int
cidr_list_match(const char *list, const char *addr)
{
    struct cidr a, c;
    char item[CIDR_TEXT_MAX];

    if (cidr_addr(addr, &a) == -1)
        return -1;
    for (const char *p = list != NULL ? list : ""; *p != '\0';) {
        size_t n = strcspn(p, ",");

        if (n >= sizeof(item))
            return -1;
        memcpy(item, p, n);
        item[n] = '\0';
        if (cidr_parse(item, &c) == -1)
            return -1;
        if (cidr_contains(&c, &a))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void
cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX])
{
    char a[INET6_ADDRSTRLEN];

    if (inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a)) == NULL)
        a[0] = '\0';
    snprintf(out, CIDR_TEXT_MAX, "%s/%d", a, c->bits);
}
