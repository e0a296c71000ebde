/* libsitetoken: verify sitetoken client and access tokens inside a gateway.
 *
 * Standalone public header (C99, no OpenSSL or jansson types). Link with
 * -lsitetoken. A verifier holds the issuer, the audience, the clock skew and
 * the site's published keys (GET /v1/keys); fetching the keys is the caller's
 * business, and so is the proof of possession: compare claims.jkt with the
 * thumbprint of the key the client proved it holds.
 *
 *     struct sitetoken_verifier *v =
 *         sitetoken_verifier_new("urn:sitetoken:PS1", "urn:sitetoken:gateway", 300);
 *     const char *err;
 *     if (v == NULL || sitetoken_verifier_load_jwks(v, jwks, jwks_len, &err) != 0)
 *         ...;
 *     struct sitetoken_claims c;
 *     int rc = sitetoken_verify(v, tok, tok_len, SITETOKEN_KIND_ACCESS, time(NULL), &c);
 *     if (rc != SITETOKEN_OK)
 *         log("refused: %s", sitetoken_error_name(rc));
 *
 * Ownership: every object is created by its _new and freed by its _free;
 * strings passed in are copied or only read during the call; results are
 * plain buffers in caller memory. Thread-safety: a verifier is not locked
 * inside: sitetoken_verify, sitetoken_verify_bulk and sitetoken_verify_dpop
 * only read it, so many threads may verify at once, but
 * sitetoken_verifier_load_jwks must not run concurrently with anything else
 * on the same verifier (a reader-writer lock around it does). The same holds
 * for the revocation cache (checks read; loads and adds write). A replay
 * cache is locked inside (only for its lookup, not the signature check):
 * any number of threads may share one in sitetoken_verify_dpop.
 * sitetoken_error_name is safe anywhere. pkg-config: sitetoken. */
#ifndef SITETOKEN_SITETOKEN_H
#define SITETOKEN_SITETOKEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SITETOKEN_API __attribute__((visibility("default")))
#else
#define SITETOKEN_API
#endif

/* Token kinds for sitetoken_verify. Only access tokens are credentials at a
 * gateway; a bulk token may be pre-screened on the enrolment path
 * (sitetoken_verify_bulk), a client token only the authority accepts. */
#define SITETOKEN_KIND_CLIENT 1
#define SITETOKEN_KIND_ACCESS 2
#define SITETOKEN_KIND_BULK 3

/* Results of sitetoken_verify; sitetoken_error_name gives the stable code
 * string of the sitetoken HTTP API ("token_expired"...). */
enum sitetoken_result {
    SITETOKEN_OK = 0,
    SITETOKEN_E_INVALID_REQUEST = 1, /* malformed token or bad arguments */
    SITETOKEN_E_TOKEN_EXPIRED = 2,
    SITETOKEN_E_TOKEN_NOT_YET_VALID = 3,
    SITETOKEN_E_BAD_SIGNATURE = 4,      /* also: alg none, HMAC, alg not the key's */
    SITETOKEN_E_UNKNOWN_KEY = 5,        /* kid not in the loaded keys: reload them */
    SITETOKEN_E_WRONG_TOKEN_TYPE = 6,   /* another kind, issuer or audience */
    SITETOKEN_E_TOKEN_REVOKED = 7,      /* reserved for the revocation cache */
    SITETOKEN_E_UNAVAILABLE = 8,        /* out of memory */
    SITETOKEN_E_PROOF_INVALID = 9,      /* DPoP proof malformed, wrong htm/htu/ath/iat/typ */
    SITETOKEN_E_PROOF_REPLAYED = 10,    /* DPoP proof jti seen before within the skew */
    SITETOKEN_E_BINDING_MISMATCH = 11,  /* DPoP proof by a key other than cnf.jkt */
    SITETOKEN_E_RATE_LIMITED = 12,      /* the replay cache is full of live proofs */
    SITETOKEN_E_BULK_TOKEN_BLOCKED = 13 /* a bulk token with an entry in the feed */
};

/* Filled by a successful sitetoken_verify; plain buffers, nothing to free. */
struct sitetoken_claims {
    char sub[64];  /* device id, "GUID:<uuid>" */
    char jti[65];  /* token id */
    char jkt[44];  /* cnf.jkt: RFC 7638 thumbprint of the device key */
    char site[16]; /* site code */
    char kid[65];  /* signing key id */
    int64_t iat, exp;
    int gen;  /* renewal generation of a client token; -1 for access tokens */
    int kind; /* SITETOKEN_KIND_* */
};

struct sitetoken_verifier;

/* issuer and audience are copied; skew_seconds is clamped to [0, 86400].
 * NULL on bad arguments or out of memory. */
SITETOKEN_API struct sitetoken_verifier *
sitetoken_verifier_new(const char *issuer, const char *audience, int64_t skew_seconds);
SITETOKEN_API void sitetoken_verifier_free(struct sitetoken_verifier *v);
/* Replace the verifier's keys with those of a JWKS document (at most 256 KiB,
 * 64 keys). On failure the old keys stay and *errstr (when errstr is not NULL)
 * says why. 0/-1. */
SITETOKEN_API int sitetoken_verifier_load_jwks(struct sitetoken_verifier *v, const char *doc,
                                               size_t len, const char **errstr);
/* Number of keys currently loaded. */
SITETOKEN_API size_t sitetoken_verifier_key_count(const struct sitetoken_verifier *v);
/* Verify a token of the given kind at time now (seconds since the epoch).
 * SITETOKEN_OK and out filled, or a positive SITETOKEN_E_* (out zeroed). */
SITETOKEN_API int sitetoken_verify(struct sitetoken_verifier *v, const char *token, size_t len,
                                   int kind, int64_t now, struct sitetoken_claims *out);
/* A bulk registration token, pre-screened offline for the enrolment path:
 * typ sitetoken-bulk+jwt, signature, iss, aud the issuer (or, for tokens made
 * before the audience rule, the verifier's audience), window. out->jti is
 * the bulk token's id; check the feed with sitetoken_revocations_check_bulk.
 * Never treat the result as a credential. Same threading as sitetoken_verify. */
SITETOKEN_API int sitetoken_verify_bulk(struct sitetoken_verifier *v, const char *token, size_t len,
                                        int64_t now, struct sitetoken_claims *out);

/* DPoP (RFC 9449) on every request. A replay cache holds the jti of every
 * proof accepted within the skew window, at most max_entries of them; when
 * it is full of live entries, new proofs are refused with
 * SITETOKEN_E_RATE_LIMITED (an entry is never forgotten early, so a replay
 * can never slip through). Replay detection is per cache: per process for a
 * gateway. A cache is thread-safe: share one among every thread of a
 * process (a replay then meets one winner whichever thread it reaches). */
struct sitetoken_replay;

/* NULL on max_entries 0 or above 2^26, or out of memory. Memory: about 48
 * bytes per entry. */
SITETOKEN_API struct sitetoken_replay *sitetoken_replay_new(size_t max_entries);
SITETOKEN_API void sitetoken_replay_free(struct sitetoken_replay *r);
/* Live entries (a scan; for metrics). */
SITETOKEN_API size_t sitetoken_replay_count(const struct sitetoken_replay *r, int64_t now);

/* Check a DPoP proof (the DPoP header) for a request with method and the
 * absolute URL url (normalised here, query and fragment ignored) against the
 * access token it came with (the Authorization: DPoP value, verified first
 * with sitetoken_verify into token_claims): typ dpop+jwt, alg from the jwk
 * (EdDSA or Ed25519, ES256, RS256), signature, htm, htu, iat within v's
 * skew, ath, jwk thumbprint = cnf.jkt, then the jti in replay (may be NULL
 * to skip replay detection: the caller's risk). SITETOKEN_OK or
 * SITETOKEN_E_PROOF_INVALID, _PROOF_REPLAYED, _BINDING_MISMATCH,
 * _RATE_LIMITED, _INVALID_REQUEST (bad arguments, a URL that cannot be
 * normalised). v is only read; replay is written. */
SITETOKEN_API int sitetoken_verify_dpop(const struct sitetoken_verifier *v,
                                        struct sitetoken_replay *replay, const char *proof,
                                        size_t proof_len, const char *method, const char *url,
                                        const char *access_token, size_t token_len,
                                        const struct sitetoken_claims *token_claims, int64_t now);
/* Normalise an absolute http(s) URL as sitetoken_verify_dpop does (RFC 3986
 * §6.2.2-6.2.3, no query or fragment) into out; 0 or -1. */
SITETOKEN_API int sitetoken_normalise_url(const char *url, size_t len, char *out, size_t outsz);

/* "ok", "invalid_request", "token_expired", ...; "unavailable" when unknown. */
SITETOKEN_API const char *sitetoken_error_name(int code);

/* The revocation cache: what GET /v1/revocations and the event stream
 * (GET /v1/events) say is revoked, so a gateway refuses a revoked token
 * without asking the authority. Keep it fresh with both: load the whole feed
 * at start and now and then (an ETag makes that cheap; it is also how an
 * unblock, which removes an entry, reaches the gateway), and add each
 * `revocation` event as it arrives. Threading as for the verifier: checks
 * only read, loads and adds must not run concurrently with anything else.
 *
 *     struct sitetoken_revocations *r = sitetoken_revocations_new();
 *     sitetoken_revocations_load(r, body, len, 1, &err);   // ?since=0
 *     ...
 *     if (sitetoken_verify(v, tok, len, kind, now, &c) == SITETOKEN_OK &&
 *         sitetoken_revocations_check(r, &c, now) == SITETOKEN_OK)
 *         allow();
 */
struct sitetoken_revocations;

SITETOKEN_API struct sitetoken_revocations *sitetoken_revocations_new(void);
SITETOKEN_API void sitetoken_revocations_free(struct sitetoken_revocations *r);
/* Entries are held until their expires_at + skew (tokens are accepted until
 * exp + skew), also across a full load whose document no longer lists them
 * because the authority considers them expired. The default skew is 86400
 * s (the largest a verifier takes); set the verifier's skew to hold less. */
SITETOKEN_API void sitetoken_revocations_set_skew(struct sitetoken_revocations *r,
                                                  int64_t skew_seconds);
/* Applies a revocation document (JSON) at time now. full != 0 (a since=0
 * document) replaces the cache, except for entries it no longer lists that
 * have reached expires_at but not expires_at + skew; otherwise its entries
 * are added. A full document whose serial is below the last full one's is
 * refused (a replayed old feed). The document is checked whole before
 * anything changes. 0, or -1 with *errstr. */
SITETOKEN_API int sitetoken_revocations_load_at(struct sitetoken_revocations *r, const char *doc,
                                                size_t len, int full, int64_t now,
                                                const char **errstr);
/* sitetoken_revocations_load_at with now = time(NULL). */
SITETOKEN_API int sitetoken_revocations_load(struct sitetoken_revocations *r, const char *doc,
                                             size_t len, int full, const char **errstr);
/* The same for ?format=jws: the signature is checked with v's keys, typ
 * must be sitetoken-revocations+jwt, iss the verifier's issuer, aud its
 * audience, exp after now; a document older (iat, or serial) than the last
 * signed one loaded is refused. */
SITETOKEN_API int sitetoken_revocations_load_jws_at(struct sitetoken_revocations *r,
                                                    const struct sitetoken_verifier *v,
                                                    const char *jws, size_t len, int full,
                                                    int64_t now, const char **errstr);
/* sitetoken_revocations_load_jws_at with now = time(NULL). */
SITETOKEN_API int sitetoken_revocations_load_jws(struct sitetoken_revocations *r,
                                                 const struct sitetoken_verifier *v,
                                                 const char *jws, size_t len, int full,
                                                 const char **errstr);
/* The latest exp of a signed document loaded (seconds since the epoch), 0
 * when none: a gateway fed only signed documents holds confirmed state until
 * then at most. */
SITETOKEN_API int64_t sitetoken_revocations_jws_exp(const struct sitetoken_revocations *r);
/* Adds one entry: the data of a `revocation` event. An entry of a kind this
 * library does not know is ignored (0). 0 or -1. */
SITETOKEN_API int sitetoken_revocations_add_event(struct sitetoken_revocations *r, const char *data,
                                                  size_t len, const char **errstr);
/* Highest serial seen (resume the feed with ?since= or Last-Event-ID). */
SITETOKEN_API int64_t sitetoken_revocations_serial(const struct sitetoken_revocations *r);
/* Entries held (expired ones included until the next full load). */
SITETOKEN_API size_t sitetoken_revocations_count(const struct sitetoken_revocations *r);
/* SITETOKEN_E_TOKEN_REVOKED when the token (claims->jti) or its device
 * (claims->sub) has an entry not expired at now, else SITETOKEN_OK. A bulk
 * entry never refuses a client token: devices that exchanged a bulk token
 * before it was blocked keep working. */
SITETOKEN_API int sitetoken_revocations_check(const struct sitetoken_revocations *r,
                                              const struct sitetoken_claims *claims, int64_t now);
/* SITETOKEN_E_BULK_TOKEN_BLOCKED when the bulk token (claims->jti, from
 * sitetoken_verify_bulk) has a bulk entry not expired at now. */
SITETOKEN_API int sitetoken_revocations_check_bulk(const struct sitetoken_revocations *r,
                                                   const struct sitetoken_claims *claims,
                                                   int64_t now);

#ifdef __cplusplus
}
#endif

#endif
