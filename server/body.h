/* Request bodies checked against a table of fields: unknown members, missing
 * or mistyped fields and oversized values are refused with a message that
 * names the field. */
#ifndef SITETOKEN_BODY_H
#define SITETOKEN_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum body_type {
    BODY_TEXT,  /* UTF-8 text, 1..max bytes, no control characters */
    BODY_TOKEN, /* a compact JWS: base64url characters and dots, 1..max bytes */
    BODY_INT,   /* integer in [min, max] */
    BODY_BOOL,
    BODY_PEM,    /* PEM text, 1..max bytes: line breaks allowed, no NUL */
    BODY_LABELS, /* an object of device labels (proto/labels.h) */
    BODY_CIDRS,  /* an array of 1..CIDR_MAX CIDR ranges (proto/cidr.h) */
    BODY_TEXTS,  /* an array of min..imax TEXT values, each 1..max bytes */
};

struct body_field {
    const char *name;
    enum body_type type;
    int required;
    size_t max;        /* TEXT/TOKEN: longest in bytes */
    int64_t min, imax; /* INT bounds */
};

/* What a route takes as its body (routes.c names one per route): the fields,
 * and whether the body may be left out (then it counts as {}). */
struct body_shape {
    const struct body_field *fields;
    size_t n;
    int optional;
};

/* The body of every route that takes one, by route. */
extern const struct body_shape body_register, body_exchange, body_renew, body_access,
    body_introspect, body_bulk_create, body_mp_add, body_keys_rotate, body_debug_clock, body_block,
    body_unblock, body_revoke, body_purge, body_bulk_allow;

/* Longest accepted lengths, for handlers that copy fields into fixed rows. */
#define BODY_TOKEN_MAX 8192
#define BODY_TEXT_MAX 256
#define BODY_REASON_MAX 128
#define BODY_PEM_MAX 16384
#define BODY_PURGE_LIMIT_MAX 10000
/* hardware ids one request adds to a bulk token's allow-list (a page: the
 * list itself may hold BULK_ALLOW_MAX, store/bulk.h) */
#define BODY_ALLOW_PAGE_MAX 1000
/* lifetime_minutes is bounded here by the largest any config allows; the
 * handler holds it to limits.bulk_max_lifetime. */
#define BODY_LIFETIME_MINUTES_MAX 1000000000LL

/* 0 when doc fits the fields; -1 with why filled ("name: too long (max 256
 * bytes)"). A JSON null counts as absent. */
int body_check(const json_t *doc, const struct body_field *fields, size_t n, char *why,
               size_t whylen);
/* The field's string, NULL when absent. */
const char *body_str(const json_t *doc, const char *name);
/* The field's integer, def when absent. */
int64_t body_int(const json_t *doc, const char *name, int64_t def);

#endif
