/* Bounded JSON loading shared by the token, key, proof and revocation
 * parsers and the request gate's bodies (server/http.c): jsonlim_load_object
 * bounds length and depth before jansson allocates anything. */
#include <stdint.h>
#include <string.h>

#include "jsonlim.h"

size_t
jsonlim_depth(const char *buf, size_t len)
{
    size_t i, depth = 0, max = 0;
    int in_string = 0, escaped = 0;

    for (i = 0; i < len; i++) {
        char c = buf[i];

        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

json_t *
jsonlim_load_object(const char *buf, size_t len, size_t maxlen, size_t maxdepth,
                    const char **errstr)
{
    json_error_t jerr;
    json_t *obj = NULL;

    if (len > maxlen) {
        *errstr = "JSON document too large";
        goto fail;
    }
    if (jsonlim_depth(buf, len) > maxdepth) {
        *errstr = "JSON nested too deeply";
        goto fail;
    }
    if ((obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        *errstr =
            strstr(jerr.text, "duplicate") != NULL ? "duplicate JSON object key" : "malformed JSON";
        goto fail;
    }
    if (!json_is_object(obj)) {
        *errstr = "JSON document is not an object";
        goto fail;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

int
jsonlim_get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    json_int_t i;

    if (!json_is_integer(v))
        return -1;
    i = json_integer_value(v);
    if (i < min || i > max)
        return -1;
    *out = (int64_t)i;
    return 0;
}

const char *
jsonlim_get_string(const json_t *obj, const char *key, size_t minlen, size_t maxlen)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;
    size_t n;

    if (!json_is_string(v))
        return NULL;
    s = json_string_value(v);
    n = json_string_length(v);
    if (n < minlen || n > maxlen || strlen(s) != n)
        return NULL;
    return s;
}
