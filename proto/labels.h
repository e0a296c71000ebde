/* Device labels (issue 17): at most 16 key=value pairs that travel from a
 * bulk token or an MP to the devices they enrol, into their tokens' `labels`
 * claim and the gateway's X-Sitetoken-Labels header. Keys [a-z0-9_.-]{1,64};
 * values printable ASCII, 1 to 64 bytes, without ',' or '='. The canonical
 * text form is "k1=v1,k2=v2" sorted by key ("" for none). */
#ifndef SITETOKEN_LABELS_H
#define SITETOKEN_LABELS_H

#include <stddef.h>

#include <jansson.h>

#define LABELS_MAX 16
#define LABELS_KEY_MAX 64
#define LABELS_VALUE_MAX 64
/* the canonical form's longest length, NUL included */
#define LABELS_TEXT_MAX (LABELS_MAX * (LABELS_KEY_MAX + 1 + LABELS_VALUE_MAX + 1))

/* 1 when k (of len bytes) is a label key, v a label value. */
int labels_key_ok(const char *k, size_t len);
int labels_value_ok(const char *v, size_t len);
/* obj is a JSON object of labels: 0, or -1 with why filled. */
int labels_check(const json_t *obj, char *why, size_t whylen);
/* The canonical text of a checked object (NULL: none) into out
 * (LABELS_TEXT_MAX bytes). */
void labels_canon(const json_t *obj, char out[LABELS_TEXT_MAX]);
/* Canonical text -> a new object (NULL for bad text or no memory). */
json_t *labels_parse(const char *text);
/* base and over merged, over's value winning for a key both set, into out
 * (canonical). *overridden (may be NULL) gets a new object
 * {key: {"mp": base value, "bulk": over value}} of the keys both set with
 * different values, or NULL when none. -1 when the merge would hold more
 * than LABELS_MAX pairs or the text is bad. */
int labels_merge(const char *base, const char *over, char out[LABELS_TEXT_MAX],
                 json_t **overridden);
/* "k1=v1, k2=v2" (the header form) of canonical text into out. */
void labels_header(const char *canon, char *out, size_t n);

#endif
