/* Field-table checks of JSON request bodies (see body.h). jansson has already
 * refused invalid UTF-8 and duplicate keys; here come shape and bounds. */
#include <stdio.h>
#include <string.h>

#include "body.h"

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
