/* The one table of client-visible errors: code, HTTP status and title. Every
 * layer reports an enum errcode; only this file knows the strings. */
#include <string.h>

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
