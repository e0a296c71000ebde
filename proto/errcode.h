/* The closed vocabulary of errors a client can see (DESIGN.md, "Error codes"). */
#ifndef SITETOKEN_ERRCODE_H
#define SITETOKEN_ERRCODE_H

enum errcode {
    ERRCODE_OK = 0,
    ERRCODE_INVALID_REQUEST,
    ERRCODE_UNAUTHENTICATED,
    ERRCODE_FORBIDDEN,
    ERRCODE_NOT_FOUND,
    ERRCODE_METHOD_NOT_ALLOWED,
    ERRCODE_CONFLICT,
    ERRCODE_PAYLOAD_TOO_LARGE,
    ERRCODE_RATE_LIMITED,
    ERRCODE_TOKEN_EXPIRED,
    ERRCODE_TOKEN_NOT_YET_VALID,
    ERRCODE_BAD_SIGNATURE,
    ERRCODE_UNKNOWN_KEY,
    ERRCODE_WRONG_TOKEN_TYPE,
    ERRCODE_TOKEN_REVOKED,
    ERRCODE_BULK_TOKEN_BLOCKED,
    ERRCODE_BULK_TOKEN_EXHAUSTED,
    ERRCODE_DEVICE_BLOCKED,
    ERRCODE_PROOF_INVALID,
    ERRCODE_PROOF_REPLAYED,
    ERRCODE_BINDING_MISMATCH,
    ERRCODE_UNAVAILABLE,
    ERRCODE_COUNT
};

/* The stable `code` string ("invalid_request"); "unavailable" for out-of-range values. */
const char *errcode_name(enum errcode e);
/* The HTTP status that goes with it. */
int errcode_status(enum errcode e);
/* A short human title for the problem document. */
const char *errcode_title(enum errcode e);
/* Reverse lookup by name; ERRCODE_COUNT when unknown. */
enum errcode errcode_from_name(const char *name);
/* The RFC 9457 problem document for e, compact JSON without a newline:
 * {"type": "urn:sitetoken:error:<code>", "title", "status", "detail", "code"}.
 * detail may be NULL or any bytes: what is not valid UTF-8 in it (a
 * multi-byte character cut short, a stray byte) becomes '?', so the document
 * always builds. malloc'd, caller frees; NULL only when out of memory. */
char *errcode_problem_text(enum errcode e, const char *detail);
/* Replace, in place, every byte of s that does not begin a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) with '?'. The length is unchanged. */
void errcode_utf8_sanitize(char *s);

#endif
