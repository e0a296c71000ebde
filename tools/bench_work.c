/* The load generator's requests and response checks (see bench_work.h).
 * Device keys and proofs are made here, on all CPUs, before a run is timed;
 * each proof has its own jti, so every pre-made request is good exactly once. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "b64url.h"
#include "bench_work.h"
#include "ids.h"
#include "jws.h"
#include "proof.h"

static const struct {
    const char *name;
    const char *method, *path;
    const char *act; /* proof act; NULL when the request has no proof */
    int status;      /* expected */
} bench_kinds[BENCH_KIND_COUNT] = {
    [BENCH_EXCHANGE] = {"exchange", "POST", "/v1/exchanges", "exchange", 201},
    [BENCH_RENEW] = {"renew", "POST", "/v1/renewals", "renew", 200},
    [BENCH_ACCESS] = {"access", "POST", "/v1/access-tokens", "access", 200},
    [BENCH_INTROSPECT] = {"introspect", "POST", "/v1/introspect", NULL, 200},
    [BENCH_KEYS] = {"keys", "GET", "/v1/keys", NULL, 200},
    [BENCH_REVOCATIONS] = {"revocations", "GET", "/v1/revocations?since=0", NULL, 200},
};

const char *
bench_kind_name(enum bench_kind kind)
{
    return (unsigned)kind < BENCH_KIND_COUNT ? bench_kinds[kind].name : NULL;
}

int
bench_kind_from_name(const char *name, enum bench_kind *out)
{
    int i;

    for (i = 0; i < BENCH_KIND_COUNT; i++) {
        if (strcmp(name, bench_kinds[i].name) == 0) {
            *out = (enum bench_kind)i;
            return 0;
        }
    }
    return -1;
}

/* --- running a job on all threads ------------------------------------- */

typedef int (*bench_job_fn)(void *arg, size_t from, size_t to, const char **errstr);

struct bench_slice {
    pthread_t tid;
    bench_job_fn fn;
    void *arg;
    size_t from, to;
    int rc;
    const char *errstr;
};

static void *
bench_slice_main(void *arg)
{
    struct bench_slice *s = arg;

    s->rc = s->fn(s->arg, s->from, s->to, &s->errstr);
    return NULL;
}

/* Splits [0, n) into one contiguous slice a thread. 0, or -1 with the first
 * failing slice's *errstr. */
static int
bench_parallel(int threads, size_t n, bench_job_fn fn, void *arg, const char **errstr)
{
    struct bench_slice s[64];
    int i, started = 0, rc = 0;

    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    if ((size_t)threads > n)
        threads = n > 0 ? (int)n : 1;
    for (i = 0; i < threads; i++) {
        s[i] = (struct bench_slice){.fn = fn,
                                    .arg = arg,
                                    .from = n * (size_t)i / (size_t)threads,
                                    .to = n * (size_t)(i + 1) / (size_t)threads};
        if (i > 0 && pthread_create(&s[i].tid, NULL, bench_slice_main, &s[i]) != 0) {
            s[i].rc = -1;
            s[i].errstr = "pthread_create failed";
            break;
        }
        started = i + 1;
    }
    bench_slice_main(&s[0]);
    for (i = 1; i < started; i++)
        pthread_join(s[i].tid, NULL);
    for (i = 0; i < threads && rc == 0; i++) {
        if (s[i].rc != 0) {
            *errstr = s[i].errstr != NULL ? s[i].errstr : "generation failed";
            rc = -1;
        }
        if (i >= started)
            break;
    }
    return rc;
}

/* --- devices ------------------------------------------------------------ */

struct bench_devjob {
    const struct bench_params *p;
    struct bench_device *devs;
};

static int
bench_device_make(const struct bench_params *p, struct bench_device *d, const char **errstr)
{
    json_t *header;
    char *text, rnd[IDS_JTI_LEN + 1];

    if ((d->key = jwk_generate(p->alg, errstr)) == NULL)
        return -1;
    if (jwk_thumbprint(d->key, d->jkt) == -1) {
        *errstr = "thumbprint failed";
        return -1;
    }
    header = json_pack("{s:s, s:s, s:o}", "typ", PROOF_TYP, "alg", jwk_alg_name(p->alg), "jwk",
                       jwk_public_to_json(d->key, NULL));
    text = header != NULL ? json_dumps(header, JSON_COMPACT) : NULL;
    json_decref(header);
    if (text == NULL || (d->header_b64 = b64url_encode(text, strlen(text))) == NULL) {
        free(text);
        *errstr = "out of memory";
        return -1;
    }
    free(text);
    /* From the random part of a jti (its first 8 characters are the time):
     * real names and hardware ids arrive in no order, and so must these,
     * or the name and hardware-id indexes grow at their right edge only. */
    ids_jti(rnd);
    snprintf(d->hardware_id, sizeof(d->hardware_id), "hw-%.14s", rnd + 8);
    ids_jti(rnd);
    snprintf(d->name, sizeof(d->name), "bench-%.10s", rnd + 8);
    return 0;
}

static int
bench_devices_job(void *arg, size_t from, size_t to, const char **errstr)
{
    struct bench_devjob *j = arg;
    size_t i;

    for (i = from; i < to; i++)
        if (bench_device_make(j->p, &j->devs[i], errstr) == -1)
            return -1;
    return 0;
}

struct bench_device *
bench_devices_new(const struct bench_params *p, size_t n, const char **errstr)
{
    struct bench_devjob j = {.p = p};

    if (n == 0 || (j.devs = calloc(n, sizeof(*j.devs))) == NULL) {
        *errstr = "out of memory";
        return NULL;
    }
    if (bench_parallel(p->threads, n, bench_devices_job, &j, errstr) == -1) {
        bench_devices_free(j.devs, n);
        return NULL;
    }
    return j.devs;
}

void
bench_devices_free(struct bench_device *devs, size_t n)
{
    size_t i;

    if (devs == NULL)
        return;
    for (i = 0; i < n; i++) {
        EVP_PKEY_free(devs[i].key);
        free(devs[i].header_b64);
        free(devs[i].token);
    }
    free(devs);
}

/* --- requests ----------------------------------------------------------- */

/* malloc'd printf; NULL on failure. */
static char *bench_sprintf(size_t *len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *
bench_sprintf(size_t *len, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (len != NULL)
        *len = (size_t)n;
    return s;
}

/* The device's proof for act (with ath of token when not NULL). */
static char *
bench_proof(const struct bench_params *p, const char *aud_json, struct bench_device *d,
            const char *act, const char *token)
{
    char jti[IDS_JTI_LEN + 1], ath[JWK_THUMBPRINT_LEN + 1], athm[64] = "";
    char *claims = NULL, *claims_b64 = NULL, *input = NULL, *proof = NULL;
    uint8_t sig[JWS_SIG_MAX];
    size_t siglen = sizeof(sig);

    ids_jti(jti);
    if (token != NULL) {
        if (proof_ath(token, strlen(token), ath) == -1)
            return NULL;
        snprintf(athm, sizeof(athm), ",\"ath\":\"%s\"", ath);
    }
    claims = bench_sprintf(NULL, "{\"aud\":%s,\"iat\":%lld,\"jti\":\"%s\",\"act\":\"%s\"%s}",
                           aud_json, (long long)time(NULL) + p->clock_offset, jti, act, athm);
    if (claims == NULL || (claims_b64 = b64url_encode(claims, strlen(claims))) == NULL)
        goto done;
    if ((input = bench_sprintf(NULL, "%s.%s", d->header_b64, claims_b64)) == NULL)
        goto done;
    if (jws_sign_raw(d->key, p->alg, input, strlen(input), sig, &siglen) == 0)
        proof = jws_compact(input, sig, siglen);
done:
    free(claims);
    free(claims_b64);
    free(input);
    return proof;
}

struct bench_itemjob {
    const struct bench_params *p;
    enum bench_kind kind;
    char *aud_json;
    struct bench_device **devs; /* the devices to use, in order; cycled */
    size_t ndev;
    struct bench_item *items;
};

static int
bench_item_make(struct bench_itemjob *j, size_t i, const char **errstr)
{
    const struct bench_params *p = j->p;
    struct bench_item *it = &j->items[i];
    struct bench_device *d = j->ndev > 0 ? j->devs[i % j->ndev] : NULL;
    const char *act = bench_kinds[j->kind].act;
    char *body = NULL, *proof = NULL;
    size_t blen = 0;
    int rc = -1;

    it->kind = j->kind;
    if (act != NULL && (proof = bench_proof(p, j->aud_json, d, act, d->token)) == NULL) {
        *errstr = "signing a proof failed";
        return -1;
    }
    switch (j->kind) {
    case BENCH_EXCHANGE:
        it->dev = d;
        body = bench_sprintf(
            &blen,
            "{\"bulk_token\":\"%s\",\"hardware_id\":\"%s\",\"name\":\"%s\",\"proof\":\"%s\"}",
            p->bulk_token, d->hardware_id, d->name, proof);
        break;
    case BENCH_RENEW:
    case BENCH_ACCESS:
        it->dev = d;
        body = bench_sprintf(&blen, "{\"token\":\"%s\",\"proof\":\"%s\"}", d->token, proof);
        break;
    case BENCH_INTROSPECT:
        body = bench_sprintf(&blen, "{\"token\":\"%s\"}", d->token);
        break;
    default:
        break;
    }
    if (body != NULL)
        it->req = bench_sprintf(&it->len,
                                "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                                "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                                bench_kinds[j->kind].method, bench_kinds[j->kind].path,
                                p->host_header, p->mp_key, blen, body);
    else if (strcmp(bench_kinds[j->kind].method, "GET") == 0)
        it->req =
            bench_sprintf(&it->len, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                          bench_kinds[j->kind].method, bench_kinds[j->kind].path, p->host_header);
    if (it->req == NULL)
        *errstr = "out of memory";
    else
        rc = 0;
    free(body);
    free(proof);
    return rc;
}

static int
bench_items_job(void *arg, size_t from, size_t to, const char **errstr)
{
    size_t i;

    for (i = from; i < to; i++)
        if (bench_item_make(arg, i, errstr) == -1)
            return -1;
    return 0;
}

long
bench_items_make(const struct bench_params *p, enum bench_kind kind, struct bench_device *devs,
                 size_t ndev, struct bench_item *items, size_t n, const char **errstr)
{
    struct bench_itemjob j = {.p = p, .kind = kind, .items = items};
    int need_token = kind == BENCH_RENEW || kind == BENCH_ACCESS || kind == BENCH_INTROSPECT;
    int need_dev = need_token || kind == BENCH_EXCHANGE;
    json_t *aud = json_string(p->issuer);
    size_t i;
    long rc = -1;

    memset(items, 0, n * sizeof(*items));
    j.aud_json = aud != NULL ? json_dumps(aud, JSON_ENCODE_ANY) : NULL;
    json_decref(aud);
    if (j.aud_json == NULL || (need_dev && (j.devs = calloc(ndev + 1, sizeof(*j.devs))) == NULL)) {
        *errstr = "out of memory";
        goto done;
    }
    for (i = 0; need_dev && i < ndev; i++)
        if (!need_token || devs[i].token != NULL)
            j.devs[j.ndev++] = &devs[i];
    if (need_dev && j.ndev == 0) {
        *errstr = "no device has a client token (did the setup exchanges fail?)";
        goto done;
    }
    if (bench_parallel(p->threads, n, bench_items_job, &j, errstr) == -1) {
        bench_items_free(items, n);
        goto done;
    }
    rc = (long)n;
done:
    free(j.aud_json);
    free(j.devs);
    return rc;
}

void
bench_items_free(struct bench_item *items, size_t n)
{
    size_t i;

    for (i = 0; items != NULL && i < n; i++) {
        free(items[i].req);
        items[i].req = NULL;
    }
}

/* --- response checks ---------------------------------------------------- */

static int
bench_fail(char *code, size_t codesz, const char *why)
{
    snprintf(code, codesz, "bad_response:%s", why);
    return -1;
}

/* A token in a response: parses, has typ, our issuer, the device's cnf.jkt,
 * and (every verify_every-th) a good signature by a served key. */
static int
bench_check_token(struct bench_expect *x, const struct bench_item *it, const char *token,
                  const char *typ, char *code, size_t codesz)
{
    struct jws jws;
    const char *errstr = NULL, *iss, *jkt;
    EVP_PKEY *pub;
    int rc = -1;

    if (jws_parse(token, strlen(token), &jws, &errstr) != ERRCODE_OK) {
        bench_fail(code, codesz, "token_unparsable");
        goto done;
    }
    if (jws.typ == NULL || strcmp(jws.typ, typ) != 0) {
        bench_fail(code, codesz, "token_typ");
        goto done;
    }
    iss = json_string_value(json_object_get(jws.payload, "iss"));
    jkt = json_string_value(json_object_get(json_object_get(jws.payload, "cnf"), "jkt"));
    if (iss == NULL || strcmp(iss, x->issuer) != 0) {
        bench_fail(code, codesz, "token_iss");
        goto done;
    }
    if (it->dev != NULL && (jkt == NULL || strcmp(jkt, it->dev->jkt) != 0)) {
        bench_fail(code, codesz, "token_jkt");
        goto done;
    }
    if (x->verify_every != 0 && x->seen++ % x->verify_every == 0) {
        if (jws.kid == NULL || (pub = jwks_find(x->jwks, jws.kid, NULL)) == NULL) {
            bench_fail(code, codesz, "token_unknown_kid");
            goto done;
        }
        if (jws_verify(&jws, pub) != ERRCODE_OK) {
            bench_fail(code, codesz, "token_signature");
            goto done;
        }
        x->verified++;
    }
    rc = 0;
done:
    jws_clear(&jws);
    return rc;
}

/* The problem document's code (only [a-z0-9_], at most 40 characters). */
static void
bench_problem_code(const char *body, size_t len, int status, char *code, size_t codesz)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *c = json_string_value(json_object_get(doc, "code"));
    size_t i, n = c != NULL ? strlen(c) : 0;

    if (n == 0 || n > 40 || n >= codesz) {
        snprintf(code, codesz, "http_%d", status);
    } else {
        for (i = 0; i < n; i++)
            code[i] = (c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') ? c[i] : '_';
        code[n] = '\0';
    }
    json_decref(doc);
}

int
bench_check(struct bench_expect *x, const struct bench_item *it, int status, const char *body,
            size_t len, char *code, size_t codesz)
{
    json_t *doc = NULL;
    const char *tok;
    int rc = -1;

    if (status != bench_kinds[it->kind].status) {
        bench_problem_code(body, len, status, code, codesz);
        return -1;
    }
    if (it->kind == BENCH_KEYS && len == x->jwks_len && memcmp(body, x->jwks_doc, len) == 0)
        return 0;
    if ((doc = json_loadb(body, len, 0, NULL)) == NULL || !json_is_object(doc))
        return bench_fail(code, codesz, "not_json");
    switch (it->kind) {
    case BENCH_EXCHANGE:
    case BENCH_RENEW:
        tok = json_string_value(json_object_get(doc, "token"));
        if (tok == NULL || json_string_value(json_object_get(doc, "device_id")) == NULL) {
            bench_fail(code, codesz, "no_token");
            break;
        }
        if (bench_check_token(x, it, tok, "sitetoken-client+jwt", code, codesz) == -1)
            break;
        if (it->capture && it->dev != NULL && it->dev->token == NULL &&
            (it->dev->token = strdup(tok)) == NULL) {
            bench_fail(code, codesz, "out_of_memory");
            break;
        }
        rc = 0;
        break;
    case BENCH_ACCESS:
        tok = json_string_value(json_object_get(doc, "access_token"));
        if (tok == NULL)
            bench_fail(code, codesz, "no_token");
        else
            rc = bench_check_token(x, it, tok, "sitetoken-access+jwt", code, codesz);
        break;
    case BENCH_INTROSPECT:
        if (json_object_get(doc, "active") != json_true())
            bench_fail(code, codesz, "not_active");
        else
            rc = 0;
        break;
    case BENCH_KEYS: /* not byte-equal to the document at start: a rotation? */
        if (json_array_size(json_object_get(doc, "keys")) == 0)
            bench_fail(code, codesz, "no_keys");
        else
            rc = 0;
        break;
    case BENCH_REVOCATIONS:
        if (!json_is_integer(json_object_get(doc, "serial")) ||
            !json_is_array(json_object_get(doc, "entries")))
            bench_fail(code, codesz, "not_a_feed");
        else
            rc = 0;
        break;
    default:
        bench_fail(code, codesz, "kind");
        break;
    }
    json_decref(doc);
    return rc;
}
