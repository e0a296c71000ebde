/* The revocation document gateways read (GET /v1/revocations):
 * {serial, entries: [{serial, kind, id, revoked_at, expires_at, reason}]},
 * as JSON, as a compact JWS (typ sitetoken-revocations+jwt) signed by the
 * site, or one entry at a time (the data of an SSE revocation event). */
#ifndef SITETOKEN_REVDOC_H
#define SITETOKEN_REVDOC_H

#include <stddef.h>
#include <stdint.h>

#include "errcode.h"
#include "jwk.h"

#define REVDOC_MAX_DOC (64u * 1024 * 1024) /* longest document accepted */
#define REVDOC_MAX_ENTRIES 1000000
#define REVDOC_ID_MAX 64
#define REVDOC_TYP "sitetoken-revocations+jwt"

/* REVDOC_UNKNOWN: an entry of a kind this version does not know, parsed so
 * the document stays valid and ignored by verifiers (DESIGN.md). */
enum revdoc_kind { REVDOC_TOKEN, REVDOC_DEVICE, REVDOC_BULK, REVDOC_UNKNOWN };

/* A signed document is good for this long when the authority's config does
 * not say (feed.max_age, DESIGN.md: default 10 minutes). */
#define REVDOC_MAX_AGE_DEFAULT 600

struct revdoc_entry {
    int64_t serial;
    enum revdoc_kind kind;
    char id[REVDOC_ID_MAX + 1];
    int64_t revoked_at, expires_at; /* seconds since the epoch */
};

struct revdoc {
    int64_t serial;
    struct revdoc_entry *entries; /* owned; n of them */
    size_t n;
    char iss[256];    /* the JWS form's issuer, "" for plain JSON */
    char aud[256];    /* the JWS form's audience (the gateway audience), "" for plain JSON */
    int64_t iat, exp; /* the JWS form's times, 0 for plain JSON */
};

#include <jansson.h>
/* The claims a signed document carries beside serial and entries: iss, aud
 * (the gateway audience), iat = now and exp = now + max_age (seconds). Sets
 * them on doc (a JSON object); 0/-1. */
int revdoc_set_claims(json_t *doc, const char *iss, const char *aud, int64_t now, int64_t max_age);

/* One entry as the authority writes it (in the document and as the data of
 * an SSE revocation event): {serial, kind, id, revoked_at, expires_at,
 * reason} with the times in RFC 3339 UTC; reason NULL = "". What
 * revdoc_parse_entry reads back. A new reference, NULL on bad input. */
json_t *revdoc_entry_json(int64_t serial, const char *kind, const char *id, int64_t revoked_at,
                          int64_t expires_at, const char *reason);

/* Parses a JSON document of at most REVDOC_MAX_DOC bytes. Every entry must be
 * well formed (kind one of three, id 1..64 bytes, serial >= 1 and at most
 * the document's, times RFC 3339 UTC, reason a string of at most 128 bytes);
 * unknown members are ignored (the format may grow). out is always
 * initialised: call revdoc_clear whatever the result. ERRCODE_OK or
 * ERRCODE_INVALID_REQUEST with *errstr. */
enum errcode revdoc_parse(const char *text, size_t len, struct revdoc *out, const char **errstr);
/* The same from a compact JWS: header typ must be REVDOC_TYP, alg one of
 * ours and the key's, kid in keys (else ERRCODE_UNKNOWN_KEY), signature
 * valid (else ERRCODE_BAD_SIGNATURE); the payload is parsed as above and its
 * iss (required), aud (a string, required) and iat/exp (integers, exp after
 * iat, required) copied to out (the caller compares them with what it
 * expects and with its clock). */
enum errcode revdoc_parse_jws(const char *compact, size_t len, const struct jwks *keys,
                              struct revdoc *out, const char **errstr);
/* One entry (the data line of an SSE revocation event). */
enum errcode revdoc_parse_entry(const char *text, size_t len, struct revdoc_entry *out,
                                const char **errstr);
void revdoc_clear(struct revdoc *doc);

/* "2026-11-28T15:04:05Z" -> seconds since the epoch; 0 or -1. */
int revdoc_time(const char *s, int64_t *out);

#endif
