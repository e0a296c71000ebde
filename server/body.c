/* Field-table checks of JSON request bodies (see body.h). jansson has already
 * refused invalid UTF-8 and duplicate keys; here come shape and bounds. */
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "cidr.h"
#include "labels.h"

#define BODY_SHAPE(f, opt)                                                                         \
    {                                                                                              \
        .fields = (f), .n = sizeof(f) / sizeof((f)[0]), .optional = (opt)                          \
    }

/* The tables. A newcomer adding a field to a request adds it here. */

static const struct body_field body_fields_register[] = {
    {.name = "hardware_id", .type = BODY_TEXT, .required = 1, .max = BODY_TEXT_MAX},
    {.name = "name", .type = BODY_TEXT, .required = 1, .max = BODY_TEXT_MAX},
    {.name = "proof", .type = BODY_TOKEN, .required = 1, .max = BODY_TOKEN_MAX},
};
static const struct body_field body_fields_exchange[] = {
    {.name = "bulk_token", .type = BODY_TOKEN, .required = 1, .max = BODY_TOKEN_MAX},
    {.name = "hardware_id", .type = BODY_TEXT, .required = 1, .max = BODY_TEXT_MAX},
    {.name = "name", .type = BODY_TEXT, .required = 1, .max = BODY_TEXT_MAX},
    {.name = "proof", .type = BODY_TOKEN, .required = 1, .max = BODY_TOKEN_MAX},
    /* the device's address as its MP saw it: required by a CIDR-bound token */
    {.name = "client_address", .type = BODY_TEXT, .max = CIDR_TEXT_MAX - 1},
};
static const struct body_field body_fields_token_proof[] = {
    {.name = "token", .type = BODY_TOKEN, .required = 1, .max = BODY_TOKEN_MAX},
    {.name = "proof", .type = BODY_TOKEN, .required = 1, .max = BODY_TOKEN_MAX},
};
static const struct body_field body_fields_introspect[] = {
    {.name = "token", .type = BODY_TOKEN, .required = 1, .max = BODY_TOKEN_MAX},
};
static const struct body_field body_fields_bulk_create[] = {
    {.name = "lifetime_minutes", .type = BODY_INT, .min = 1, .imax = BODY_LIFETIME_MINUTES_MAX},
    {.name = "max_uses", .type = BODY_INT, .min = 1, .imax = 1000000000},
    {.name = "note", .type = BODY_TEXT, .max = 256},
    {.name = "labels", .type = BODY_LABELS},
    {.name = "cidrs", .type = BODY_CIDRS},
    {.name = "rate_per_second", .type = BODY_INT, .min = 1, .imax = 1000000},
    /* the allow-list's first page; [] makes an allow-listed token to fill
     * through POST /v1/admin/bulk-tokens/{id}/allow */
    {.name = "allow",
     .type = BODY_TEXTS,
     .max = BODY_TEXT_MAX,
     .min = 0,
     .imax = BODY_ALLOW_PAGE_MAX},
};
static const struct body_field body_fields_bulk_allow[] = {
    {.name = "hardware_ids",
     .type = BODY_TEXTS,
     .required = 1,
     .max = BODY_TEXT_MAX,
     .min = 1,
     .imax = BODY_ALLOW_PAGE_MAX},
};
static const struct body_field body_fields_mp_add[] = {
    {.name = "name", .type = BODY_TEXT, .required = 1, .max = 128},
    /* a PEM client certificate; only its SHA-256 fingerprint is kept */
    {.name = "certificate", .type = BODY_PEM, .max = BODY_PEM_MAX},
    {.name = "labels", .type = BODY_LABELS},
};
static const struct body_field body_fields_keys_rotate[] = {
    {.name = "now", .type = BODY_BOOL},
};
static const struct body_field body_fields_debug_clock[] = {
    {.name = "offset_seconds",
     .type = BODY_INT,
     .required = 1,
     .min = -3153600000LL,
     .imax = 3153600000LL},
};
/* device purge and bulk prune */
static const struct body_field body_fields_purge[] = {
    {.name = "older_than_seconds",
     .type = BODY_INT,
     .required = 1,
     .min = 0,
     .imax = 100LL * 366 * 86400},
    {.name = "dry_run", .type = BODY_BOOL},
    {.name = "limit", .type = BODY_INT, .min = 1, .imax = BODY_PURGE_LIMIT_MAX},
};
static const struct body_field body_fields_reason[] = {
    {.name = "reason", .type = BODY_TEXT, .max = BODY_REASON_MAX},
};

const struct body_shape body_register = BODY_SHAPE(body_fields_register, 0);
const struct body_shape body_exchange = BODY_SHAPE(body_fields_exchange, 0);
const struct body_shape body_renew = BODY_SHAPE(body_fields_token_proof, 0);
const struct body_shape body_access = BODY_SHAPE(body_fields_token_proof, 0);
const struct body_shape body_introspect = BODY_SHAPE(body_fields_introspect, 0);
const struct body_shape body_bulk_create = BODY_SHAPE(body_fields_bulk_create, 1);
const struct body_shape body_mp_add = BODY_SHAPE(body_fields_mp_add, 0);
const struct body_shape body_keys_rotate = BODY_SHAPE(body_fields_keys_rotate, 1);
const struct body_shape body_debug_clock = BODY_SHAPE(body_fields_debug_clock, 0);
const struct body_shape body_block = BODY_SHAPE(body_fields_reason, 1);
const struct body_shape body_revoke = BODY_SHAPE(body_fields_reason, 1);
const struct body_shape body_purge = BODY_SHAPE(body_fields_purge, 0);
const struct body_shape body_bulk_allow = BODY_SHAPE(body_fields_bulk_allow, 0);
/* unblock takes no fields: an empty body or {} */
const struct body_shape body_unblock = {.fields = NULL, .n = 0, .optional = 1};

static int
body_text_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            return 0;
        /* C1 controls U+0080..U+009F are encoded as C2 80..C2 9F */
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0)
            return 0;
    }
    return 1;
}

static int
body_token_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int
body_check(const json_t *doc, const struct body_field *fields, size_t n, char *why, size_t whylen)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)doc, key, v)
    {
        size_t i;

        for (i = 0; i < n && strcmp(fields[i].name, key) != 0; i++)
            ;
        if (i == n) {
            /* At most 64 bytes of the key, never cutting a UTF-8 character
             * in half: the reason goes into a JSON document. */
            size_t kl = strlen(key);

            if (kl > 64) {
                kl = 64;
                while (kl > 0 && ((unsigned char)key[kl] & 0xc0) == 0x80)
                    kl--;
            }
            snprintf(why, whylen, "%.*s: unknown field", (int)kl, key);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct body_field *f = &fields[i];

        v = json_object_get(doc, f->name);
        if (v == NULL || json_is_null(v)) {
            if (f->required) {
                snprintf(why, whylen, "%s: required", f->name);
                return -1;
            }
            continue;
        }
        switch (f->type) {
        case BODY_TEXT:
        case BODY_TOKEN: {
            size_t len;

            if (!json_is_string(v)) {
                snprintf(why, whylen, "%s: must be a string", f->name);
                return -1;
            }
            len = json_string_length(v);
            if (len == 0 || len > f->max) {
                snprintf(why, whylen, "%s: must be 1 to %zu bytes", f->name, f->max);
                return -1;
            }
            if (strlen(json_string_value(v)) != len ||
                (f->type == BODY_TEXT && !body_text_ok(json_string_value(v), len))) {
                snprintf(why, whylen, "%s: control characters are not allowed", f->name);
                return -1;
            }
            if (f->type == BODY_TOKEN && !body_token_ok(json_string_value(v), len)) {
                snprintf(why, whylen, "%s: not a compact JWS", f->name);
                return -1;
            }
            break;
        }
        case BODY_INT:
            if (!json_is_integer(v) || json_integer_value(v) < f->min ||
                json_integer_value(v) > f->imax) {
                snprintf(why, whylen, "%s: must be an integer from %lld to %lld", f->name,
                         (long long)f->min, (long long)f->imax);
                return -1;
            }
            break;
        case BODY_PEM:
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                json_string_length(v) > f->max ||
                strlen(json_string_value(v)) != json_string_length(v)) {
                snprintf(why, whylen, "%s: a PEM string of 1 to %zu bytes", f->name, f->max);
                return -1;
            }
            break;
        case BODY_LABELS:
            if (labels_check(v, why, whylen) == -1)
                return -1;
            break;
        case BODY_CIDRS: {
            struct cidr c;
            size_t k;
            json_t *e;

            if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CIDR_MAX) {
                snprintf(why, whylen, "%s: an array of 1 to %d CIDR ranges", f->name, CIDR_MAX);
                return -1;
            }
            json_array_foreach(v, k, e)
            {
                if (!json_is_string(e) || cidr_parse(json_string_value(e), &c) == -1) {
                    snprintf(why, whylen,
                             "%s: item %zu: a CIDR range (10.1.0.0/16, 2001:db8::/32), host bits "
                             "zero",
                             f->name, k);
                    return -1;
                }
            }
            break;
        }
        case BODY_TEXTS: {
            size_t k;
            json_t *e;

            if (!json_is_array(v) || json_array_size(v) < (size_t)f->min ||
                json_array_size(v) > (size_t)f->imax) {
                snprintf(why, whylen, "%s: an array of %lld to %lld strings", f->name,
                         (long long)f->min, (long long)f->imax);
                return -1;
            }
            json_array_foreach(v, k, e)
            {
                if (!json_is_string(e) || json_string_length(e) == 0 ||
                    json_string_length(e) > f->max ||
                    !body_text_ok(json_string_value(e), json_string_length(e))) {
                    snprintf(why, whylen, "%s: item %zu: text of 1 to %zu bytes", f->name, k,
                             f->max);
                    return -1;
                }
            }
            break;
        }
        case BODY_BOOL:
            if (!json_is_boolean(v)) {
                snprintf(why, whylen, "%s: must be true or false", f->name);
                return -1;
            }
            break;
        }
    }
    return 0;
}

const char *
body_str(const json_t *doc, const char *name)
{
    return json_string_value(json_object_get(doc, name));
}

int64_t
body_int(const json_t *doc, const char *name, int64_t def)
{
    json_t *v = json_object_get(doc, name);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}
