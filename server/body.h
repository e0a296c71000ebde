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
};

struct body_field {
    const char *name;
    enum body_type type;
    int required;
    size_t max;        /* TEXT/TOKEN: longest in bytes */
    int64_t min, imax; /* INT bounds */
};

/* 0 when doc fits the fields; -1 with why filled ("name: too long (max 256
 * bytes)"). A JSON null counts as absent. */
int body_check(const json_t *doc, const struct body_field *fields, size_t n, char *why,
               size_t whylen);
/* The field's string, NULL when absent. */
const char *body_str(const json_t *doc, const char *name);
/* The field's integer, def when absent. */
int64_t body_int(const json_t *doc, const char *name, int64_t def);

#endif
