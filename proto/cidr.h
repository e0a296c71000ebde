/* Address ranges (issue 17: bulk tokens bound to where): IPv4 and IPv6
 * prefixes in CIDR notation, and whether an address falls in one. No I/O:
 * inet_pton only. */
#ifndef SITETOKEN_CIDR_H
#define SITETOKEN_CIDR_H

#include <stddef.h>
#include <stdint.h>

#define CIDR_MAX 16      /* ranges on one bulk token */
#define CIDR_TEXT_MAX 50 /* "ffff:...:ffff/128" fits */
/* a comma-joined list of CIDR_MAX ranges, NUL included */
#define CIDR_LIST_MAX (CIDR_MAX * (CIDR_TEXT_MAX + 1))

struct cidr {
    int family; /* 4 or 6 */
    uint8_t addr[16];
    int bits;
};

/* "10.1.0.0/16", "2001:db8::/32" (a bare address is /32 or /128). Host bits
 * past the prefix must be zero, so a range has one spelling. 0 or -1. */
int cidr_parse(const char *s, struct cidr *out);
/* An address, IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as IPv4).
 * 0 or -1. */
int cidr_addr(const char *s, struct cidr *out);
/* 1 when addr (from cidr_addr) is inside c. */
int cidr_contains(const struct cidr *c, const struct cidr *addr);
/* 1 when addr (text) is inside one of the comma-joined ranges of list, 0
 * when in none, -1 when addr is not an address or list is unreadable. */
int cidr_list_match(const char *list, const char *addr);
/* The canonical text of c ("10.1.0.0/16") into out (CIDR_TEXT_MAX). */
void cidr_format(const struct cidr *c, char out[CIDR_TEXT_MAX]);

#endif
