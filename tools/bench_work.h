/* What the load generator sends and what must come back: device keys, the
 * pre-made requests (proofs signed before the clock starts) and the check of
 * every response. No I/O here; bench_load.c sends the bytes. */
#ifndef SITETOKEN_BENCH_WORK_H
#define SITETOKEN_BENCH_WORK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "jwk.h"

enum bench_kind {
    BENCH_EXCHANGE,
    BENCH_RENEW,
    BENCH_ACCESS,
    BENCH_INTROSPECT,
    BENCH_KEYS,
    BENCH_REVOCATIONS,
    BENCH_KIND_COUNT
};

struct bench_device {
    EVP_PKEY *key;                    /* owned */
    char *header_b64;                 /* owned: b64url of the proof header (with jwk) */
    char jkt[JWK_THUMBPRINT_LEN + 1]; /* RFC 7638 thumbprint of key */
    char hardware_id[24], name[24];
    char *token; /* owned: client token once exchanged; NULL before */
};

/* One request, bytes ready to write. */
struct bench_item {
    char *req; /* owned: the whole HTTP/1.1 request */
    size_t len;
    enum bench_kind kind;
    struct bench_device *dev; /* exchange, renew, access: whose token comes back; else NULL */
    unsigned char capture;    /* exchange: keep the returned token in dev->token */
};

/* Everything fixed for a run. Strings are borrowed. */
struct bench_params {
    const char *host_header; /* "127.0.0.1:8080" */
    const char *mp_key;
    const char *bulk_token;
    const char *issuer;
    enum jwk_alg alg;
    long long clock_offset; /* seconds added to proof iat */
    int threads;            /* generation threads */
};

/* Response checks read this: the served key set (for the sampled signature
 * checks), the served JWKS document (GET /v1/keys must answer it), the issuer
 * and how often a token's signature is verified (every Nth; 0 never). */
struct bench_expect {
    const struct jwks *jwks;
    const char *jwks_doc;
    size_t jwks_len;
    const char *issuer;
    unsigned verify_every;
    uint64_t seen;     /* token responses checked so far */
    uint64_t verified; /* of which signature-verified */
};

const char *bench_kind_name(enum bench_kind kind);
/* 0 and *out for "exchange", "renew", ...; -1 for an unknown name. */
int bench_kind_from_name(const char *name, enum bench_kind *out);

/* n new devices (keys, thumbprints, proof headers), made on p->threads
 * threads. NULL with *errstr on failure. Free with bench_devices_free. */
struct bench_device *bench_devices_new(const struct bench_params *p, size_t n, const char **errstr);
void bench_devices_free(struct bench_device *devs, size_t n);

/* Fills items[0..n) with requests of kind: unique proofs (exchange, renew,
 * access) for device devs[i % ndev], bodies with devs[i % ndev]->token
 * (introspect) or a fixed GET (keys, revocations). Devices without a token
 * are skipped for the kinds that need one. Returns the number made, or -1 with
 * *errstr. Runs on p->threads threads. */
long bench_items_make(const struct bench_params *p, enum bench_kind kind, struct bench_device *devs,
                      size_t ndev, struct bench_item *items, size_t n, const char **errstr);
void bench_items_free(struct bench_item *items, size_t n);

/* Checks one complete response to it: status, body and any token in it
 * (typ, iss, cnf.jkt, and the signature of every verify_every-th token).
 * 0 when good. Otherwise -1 and the error's name in code: the problem's
 * "code" when the server refused, else "http_NNN" or "bad_response:WHY". */
int bench_check(struct bench_expect *x, const struct bench_item *it, int status, const char *body,
                size_t len, char *code, size_t codesz);

#endif
