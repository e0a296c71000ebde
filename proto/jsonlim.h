/* JSON from outside, loaded with limits: size and nesting depth are checked on
 * the raw text before jansson allocates anything, duplicate keys are refused. */
#ifndef SITETOKEN_JSONLIM_H
#define SITETOKEN_JSONLIM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Deepest nesting of objects and arrays in buf (outside strings); a scan with
 * no allocation. Malformed text gives some number: the parser refuses it. */
size_t jsonlim_depth(const char *buf, size_t len);
/* Parse len bytes (no NUL needed) into a new object reference (caller
 * json_decref's it). Refuses len > maxlen, depth > maxdepth, duplicate keys,
 * anything but an object at the top. NULL with *errstr on refusal. */
json_t *jsonlim_load_object(const char *buf, size_t len, size_t maxlen, size_t maxdepth,
                            const char **errstr);
/* Integer member as int64 in [min, max]: 0, or -1 when absent, not an
 * integer (reals are refused) or out of range. */
int jsonlim_get_int(const json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out);
/* String member whose byte length is in [minlen, maxlen], with no NUL inside;
 * borrowed from obj, NULL when absent or ill-typed. */
const char *jsonlim_get_string(const json_t *obj, const char *key, size_t minlen, size_t maxlen);

#endif
