/* DPoP proofs (RFC 9449) as a gateway checks them on every request: the
 * proof JWS, the htu normalisation of RFC 9449 §4.3 / RFC 3986 §6.2.2-6.2.3,
 * and a bounded replay cache of proof jtis. No I/O. */
#ifndef SITETOKEN_DPOP_H
#define SITETOKEN_DPOP_H

#include <stddef.h>
#include <stdint.h>

#include "errcode.h"
#include "jwk.h"

#define DPOP_TYP "dpop+jwt"
#define DPOP_URL_MAX 4096 /* longest htu or request URL accepted */
#define DPOP_JTI_MAX 128  /* longest proof jti */
#define DPOP_METHOD_MAX 32

/* Normalise an absolute http(s) URL for comparison: scheme and host lower
 * case, the default port (80, 443) and an empty port removed, percent-
 * encodings upper case and unreserved characters decoded, dot segments
 * removed, an empty path made "/", query and fragment dropped. Userinfo,
 * other schemes, control characters, bad percent-encodings and URLs longer
 * than DPOP_URL_MAX are refused. 0 (out NUL-terminated) or -1. */
int dpop_normalise_url(const char *in, size_t len, char *out, size_t outsz);

/* 1 when typ names want as RFC 7515 §4.1.9 says (case-insensitive, with or
 * without "application/"), else 0. typ may be NULL. */
int dpop_typ_is(const char *typ, const char *want);

struct dpop_expect {
    const char *method; /* the request's method, compared exactly */
    const char *url;    /* the request's URL, already normalised */
    const char *ath;    /* base64url SHA-256 of the access token */
    const char *jkt;    /* the access token's cnf.jkt */
    int64_t now;
    int64_t skew; /* seconds, clamped to [0, JWT_SKEW_MAX] */
};

struct dpop_result {
    char jti[DPOP_JTI_MAX + 1];
    int64_t iat;
};

/* Check a proof: typ dpop+jwt, alg one of ours (or "Ed25519" for an
 * Ed25519 key) and the jwk's, jwk public, signature, htm, htu (normalised
 * before comparison), iat within skew of now, jti, ath (constant time), and
 * the jwk's RFC 7638 thumbprint equal to exp->jkt. ERRCODE_OK,
 * ERRCODE_BINDING_MISMATCH (a valid proof by another key) or
 * ERRCODE_PROOF_INVALID, with *errstr. Replay is the caller's (dpop_replay). */
enum errcode dpop_verify(const char *proof, size_t len, const struct dpop_expect *exp,
                         struct dpop_result *out, const char **errstr);

/* A bounded set of recently seen proofs, keyed by SHA-256(jkt, jti), each
 * held until its iat + skew has passed. When every slot holds a live entry
 * the cache refuses new proofs (ERRCODE_RATE_LIMITED) rather than forgetting
 * one early. Not locked: one thread at a time. */
struct dpop_replay;

struct dpop_replay *dpop_replay_new(size_t max_entries);
void dpop_replay_free(struct dpop_replay *r);
/* ERRCODE_OK (recorded), ERRCODE_PROOF_REPLAYED (seen and still live) or
 * ERRCODE_RATE_LIMITED (full). keep_until: seconds since the epoch. */
enum errcode dpop_replay_check(struct dpop_replay *r, const char *jkt, const char *jti,
                               int64_t keep_until, int64_t now);
size_t dpop_replay_count(const struct dpop_replay *r, int64_t now);

#endif
