/* Device labels: checks, the canonical "k=v,k=v" form sorted by key, the
 * merge of an MP's labels with a bulk token's (the bulk token wins), and the
 * header form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

int
labels_key_ok(const char *k, size_t len)
{
    if (len == 0 || len > LABELS_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = k[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int
labels_value_ok(const char *v, size_t len)
{
    if (len == 0 || len > LABELS_VALUE_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

int
labels_check(const json_t *obj, char *why, size_t whylen)
{
    const char *k;
    json_t *v;

    if (!json_is_object(obj)) {
        snprintf(why, whylen, "labels: must be an object of key: value strings");
        return -1;
    }
    if (json_object_size(obj) > LABELS_MAX) {
        snprintf(why, whylen, "labels: at most %d pairs", LABELS_MAX);
        return -1;
    }
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!labels_key_ok(k, strlen(k))) {
            snprintf(why, whylen, "labels: a key must be 1 to %d of [a-z0-9_.-]", LABELS_KEY_MAX);
            return -1;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
            !labels_value_ok(json_string_value(v), json_string_length(v))) {
            snprintf(why, whylen,
                     "labels: %.64s: a value must be 1 to %d bytes of printable ASCII without "
                     "',' or '='",
                     k, LABELS_VALUE_MAX);
            return -1;
        }
    }
    return 0;
}

static int
labels_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
labels_canon(const json_t *obj, char out[LABELS_TEXT_MAX])
{
    const char *keys[LABELS_MAX], *k;
    size_t n = 0, used = 0;
    json_t *v;

    out[0] = '\0';
    if (obj == NULL)
        return;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (n < LABELS_MAX)
            keys[n++] = k;
    }
    qsort(keys, n, sizeof(keys[0]), labels_cmp);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, LABELS_TEXT_MAX - used, "%s%s=%s", i ? "," : "", keys[i],
                         json_string_value(json_object_get(obj, keys[i])));

        if (w < 0 || (size_t)w >= LABELS_TEXT_MAX - used)
            break;
        used += (size_t)w;
    }
}

json_t *
labels_parse(const char *text)
{
    json_t *obj = json_object();
    char buf[LABELS_TEXT_MAX], *save = NULL;

    if (obj == NULL || text == NULL)
        return obj;
    if (strlen(text) >= sizeof(buf))
        goto fail;
    snprintf(buf, sizeof(buf), "%s", text);
    for (char *p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');

        if (eq == NULL || !labels_key_ok(p, (size_t)(eq - p)) ||
            !labels_value_ok(eq + 1, strlen(eq + 1)) || json_object_size(obj) >= LABELS_MAX)
            goto fail;
        *eq = '\0';
        json_object_set_new(obj, p, json_string(eq + 1));
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

int
labels_merge(const char *base, const char *over, char out[LABELS_TEXT_MAX], json_t **overridden)
{
    json_t *b = labels_parse(base), *o = labels_parse(over), *diff = NULL;
    const char *k;
    json_t *v;
    int rc = -1;

    if (overridden != NULL)
        *overridden = NULL;
    if (b == NULL || o == NULL)
        goto done;
    json_object_foreach(o, k, v)
    {
        json_t *was = json_object_get(b, k);

        if (was != NULL && !json_equal(was, v)) {
            if (diff == NULL)
                diff = json_object();
            json_object_set_new(diff, k, json_pack("{s:O, s:O}", "mp", was, "bulk", v));
        }
        json_object_set(b, k, v);
    }
    if (json_object_size(b) > LABELS_MAX)
        goto done;
    labels_canon(b, out);
    if (overridden != NULL) {
        *overridden = diff;
        diff = NULL;
    }
    rc = 0;
done:
    json_decref(diff);
    json_decref(b);
    json_decref(o);
    return rc;
}

void
labels_header(const char *canon, char *out, size_t n)
{
    size_t o = 0;

    if (n == 0)
        return;
    for (const char *p = canon != NULL ? canon : ""; *p != '\0' && o + 2 < n; p++) {
        out[o++] = *p;
        if (*p == ',')
            out[o++] = ' ';
    }
    out[o] = '\0';
}
