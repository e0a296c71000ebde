/* Budgets per source address, kept on the event loop: token buckets (public
 * reads a second, failed MP authentications a minute) and counts (event
 * streams open). Addresses are compared as bytes, IPv4 as itself and IPv6
 * grouped per /64 (one host's share of a network); the table is fixed at
 * creation, so memory is bounded whatever addresses arrive. */
#ifndef SITETOKEN_ADDRLIMIT_H
#define SITETOKEN_ADDRLIMIT_H

#include <stdint.h>

struct sockaddr;
struct addrlimit;

enum addrlimit_kind {
    ADDRLIMIT_PUBLIC,      /* rate: public reads */
    ADDRLIMIT_FAILED_AUTH, /* rate: refusals of MP authentication */
    ADDRLIMIT_STREAMS,     /* count: event streams open */
    ADDRLIMIT_KINDS
};

/* An address as the table keys it: IPv4 as ::ffff:a.b.c.d, IPv6 with its low
 * 64 bits cleared. */
struct addrlimit_addr {
    uint8_t b[16];
};

/* sa (AF_INET or AF_INET6) to its key; -1 for any other family (a Unix
 * socket: not limited). */
int addrlimit_addr_from(const struct sockaddr *sa, struct addrlimit_addr *out);

/* capacity slots (rounded up to a power of two, at least 64). Every kind
 * starts unlimited. NULL on ENOMEM. */
struct addrlimit *addrlimit_new(int capacity);
void addrlimit_free(struct addrlimit *al);
/* A rate kind: per_minute units refill a minute, at most burst held
 * (per_minute 0 = unlimited; burst 0 = per_minute). */
void addrlimit_set_rate(struct addrlimit *al, enum addrlimit_kind kind, double per_minute,
                        double burst);
/* A count kind: at most max held at once per address (0 = unlimited). */
void addrlimit_set_count(struct addrlimit *al, enum addrlimit_kind kind, int64_t max);

/* Rate kinds. take: spend one unit if there is one (0), else -1 with
 * *retry_after the whole seconds until there is. check: the same without
 * spending. charge: spend one unit whatever is left (the bucket may go
 * empty, never below). */
int addrlimit_take(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
                   int64_t now_us, int *retry_after);
int addrlimit_check(struct addrlimit *al, enum addrlimit_kind kind, const struct addrlimit_addr *a,
                    int64_t now_us, int *retry_after);
void addrlimit_charge(struct addrlimit *al, enum addrlimit_kind kind,
                      const struct addrlimit_addr *a, int64_t now_us);

/* Count kinds. acquire: one more held (0), or -1 when the address is at its
 * cap or the table has no room for it (every slot it may use holds a live
 * count). release undoes one acquire. */
int addrlimit_acquire(struct addrlimit *al, enum addrlimit_kind kind,
                      const struct addrlimit_addr *a);
void addrlimit_release(struct addrlimit *al, enum addrlimit_kind kind,
                       const struct addrlimit_addr *a);
int64_t addrlimit_held(struct addrlimit *al, enum addrlimit_kind kind,
                       const struct addrlimit_addr *a);

#endif
