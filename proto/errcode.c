/* The one table of client-visible errors: code, HTTP status and title. Every
 * layer reports an enum errcode; only this file knows the strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errcode.h"

static const struct {
    const char *name;
    int status;
    const char *title;
} errcode_table[ERRCODE_COUNT] = {
    [ERRCODE_OK] = {"ok", 200, "OK"},
    [ERRCODE_INVALID_REQUEST] = {"invalid_request", 400, "Invalid request"},
    [ERRCODE_UNAUTHENTICATED] = {"unauthenticated", 401, "Authentication required"},
    [ERRCODE_FORBIDDEN] = {"forbidden", 403, "Forbidden"},
    [ERRCODE_NOT_FOUND] = {"not_found", 404, "Not found"},
    [ERRCODE_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "Method not allowed"},
    [ERRCODE_CONFLICT] = {"conflict", 409, "Conflict"},
    [ERRCODE_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413, "Payload too large"},
    [ERRCODE_RATE_LIMITED] = {"rate_limited", 429, "Too many requests"},
    [ERRCODE_TOKEN_EXPIRED] = {"token_expired", 401, "Token expired"},
    [ERRCODE_TOKEN_NOT_YET_VALID] = {"token_not_yet_valid", 401, "Token not yet valid"},
    [ERRCODE_BAD_SIGNATURE] = {"bad_signature", 401, "Bad signature"},
    [ERRCODE_UNKNOWN_KEY] = {"unknown_key", 401, "Unknown signing key"},
    [ERRCODE_WRONG_TOKEN_TYPE] = {"wrong_token_type", 401, "Wrong token type"},
    [ERRCODE_TOKEN_REVOKED] = {"token_revoked", 401, "Token revoked"},
    [ERRCODE_BULK_TOKEN_BLOCKED] = {"bulk_token_blocked", 403, "Bulk token blocked"},
    [ERRCODE_BULK_TOKEN_EXHAUSTED] = {"bulk_token_exhausted", 403, "Bulk token exhausted"},
    [ERRCODE_DEVICE_BLOCKED] = {"device_blocked", 403, "Device blocked"},
    [ERRCODE_PROOF_INVALID] = {"proof_invalid", 401, "Invalid proof of possession"},
    [ERRCODE_PROOF_REPLAYED] = {"proof_replayed", 401, "Proof replayed"},
    [ERRCODE_BINDING_MISMATCH] = {"binding_mismatch", 401, "Key binding mismatch"},
    [ERRCODE_UNAVAILABLE] = {"unavailable", 503, "Service unavailable"},
};

static enum errcode
errcode_clamp(enum errcode e)
{
    return (unsigned)e < ERRCODE_COUNT ? e : ERRCODE_UNAVAILABLE;
}

const char *
errcode_name(enum errcode e)
{
    return errcode_table[errcode_clamp(e)].name;
}

int
errcode_status(enum errcode e)
{
    return errcode_table[errcode_clamp(e)].status;
}

const char *
errcode_title(enum errcode e)
{
    return errcode_table[errcode_clamp(e)].title;
}

enum errcode
errcode_from_name(const char *name)
{
    for (int i = 0; i < ERRCODE_COUNT; i++)
        if (name != NULL && strcmp(errcode_table[i].name, name) == 0)
            return (enum errcode)i;
    return ERRCODE_COUNT;
}

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0. */
static size_t
errcode_utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n, i;
    unsigned long cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void
errcode_utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n;

    if (s == NULL)
        return;
    while (*p != '\0') {
        if ((n = errcode_utf8_len(p)) == 0) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

char *
errcode_problem_text(enum errcode e, const char *detail)
{
    char type[96], *clean, *text = NULL;
    json_t *doc;

    if ((clean = strdup(detail != NULL ? detail : "")) == NULL)
        return NULL;
    errcode_utf8_sanitize(clean);
    snprintf(type, sizeof(type), "urn:sitetoken:error:%s", errcode_name(e));
    doc = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", errcode_title(e), "status",
                    errcode_status(e), "detail", clean, "code", errcode_name(e));
    if (doc != NULL)
        text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    free(clean);
    return text;
}
