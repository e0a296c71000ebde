/* The crypto floor (see bench_floor.h). Each thread owns a signing key (the
 * "server") and a device key, a realistic proof and a realistic token signing
 * input; the threads share nothing but the start line. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "b64url.h"
#include "bench_floor.h"
#include "ids.h"
#include "jws.h"
#include "jwt.h"
#include "proof.h"

enum bench_floor_mode { FLOOR_RAW, FLOOR_FULL, FLOOR_SIGN, FLOOR_VERIFY };

struct bench_floor_thread {
    pthread_t tid;
    enum jwk_alg alg;
    const char *issuer;
    double seconds;
    enum bench_floor_mode mode;
    EVP_PKEY *server, *device, *device_pub;
    char *proof;       /* compact proof by device */
    char *proof_input; /* its signing input */
    uint8_t proof_sig[JWS_SIG_MAX];
    size_t proof_siglen;
    char *token_input; /* what a client token's signature covers */
    double rate;       /* result */
    const char *errstr;
};

static double
bench_floor_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keys, a proof and a token body like the ones an exchange meets. */
static int
bench_floor_setup(struct bench_floor_thread *t)
{
    char jti[IDS_JTI_LEN + 1], sub[IDS_DEVICE_ID_LEN + 1], jkt[JWK_THUMBPRINT_LEN + 1];
    json_t *ph = NULL, *pc = NULL, *th = NULL, *tc = NULL, *jwk = NULL;
    const char *dot;
    int rc = -1;

    if ((t->server = jwk_generate(t->alg, &t->errstr)) == NULL ||
        (t->device = jwk_generate(t->alg, &t->errstr)) == NULL)
        return -1;
    jwk = jwk_public_to_json(t->device, NULL);
    if (jwk == NULL || (t->device_pub = jwk_public_from_json(jwk, &t->errstr)) == NULL ||
        jwk_thumbprint(t->device, jkt) == -1)
        goto done;
    ids_jti(jti);
    ph = json_pack("{s:s, s:s, s:O}", "typ", PROOF_TYP, "alg", jwk_alg_name(t->alg), "jwk", jwk);
    pc = json_pack("{s:s, s:I, s:s, s:s}", "aud", t->issuer, "iat", (json_int_t)time(NULL), "jti",
                   jti, "act", "exchange");
    ids_device_id(sub);
    th = jwt_header(JWT_KIND_CLIENT, t->alg, "k-0123456789abcdef");
    tc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:{s:s}, s:s, s:s, s:s, s:I}", "iss",
                   t->issuer, "aud", "urn:sitetoken:gateway", "iat", (json_int_t)time(NULL), "nbf",
                   (json_int_t)time(NULL), "exp", (json_int_t)time(NULL) + 7776000, "jti", jti,
                   "sub", sub, "cnf", "jkt", jkt, "site", "PS1", "reg", "bulk", "bulk",
                   "00000000-0000-4000-8000-000000000000", "gen", (json_int_t)0);
    if (ph == NULL || pc == NULL || th == NULL || tc == NULL ||
        (t->proof = jws_sign(t->device, t->alg, ph, pc)) == NULL ||
        (t->token_input = jws_signing_input(th, tc)) == NULL) {
        t->errstr = "cannot make a sample proof and token";
        goto done;
    }
    /* Split the proof into what is signed and the signature. */
    dot = strrchr(t->proof, '.');
    t->proof_input = strndup(t->proof, (size_t)(dot - t->proof));
    if (t->proof_input == NULL || b64url_decode_buf(dot + 1, strlen(dot + 1), t->proof_sig,
                                                    sizeof(t->proof_sig), &t->proof_siglen) == -1) {
        t->errstr = "cannot split the sample proof";
        goto done;
    }
    rc = 0;
done:
    json_decref(jwk);
    json_decref(ph);
    json_decref(pc);
    json_decref(th);
    json_decref(tc);
    return rc;
}

/* One unit of work of the thread's mode. 0/-1. */
static int
bench_floor_once(struct bench_floor_thread *t)
{
    uint8_t sig[JWS_SIG_MAX];
    size_t siglen = sizeof(sig);
    struct proof_expect exp = {.aud = t->issuer, .act = "exchange", .skew = 300};
    struct proof_result pr;
    const char *errstr = NULL;
    enum errcode code;
    char *compact;

    switch (t->mode) {
    case FLOOR_VERIFY:
        return jws_verify_raw(t->device_pub, t->alg, t->proof_input, strlen(t->proof_input),
                              t->proof_sig, t->proof_siglen);
    case FLOOR_SIGN:
        return jws_sign_raw(t->server, t->alg, t->token_input, strlen(t->token_input), sig,
                            &siglen);
    case FLOOR_RAW:
        if (jws_verify_raw(t->device_pub, t->alg, t->proof_input, strlen(t->proof_input),
                           t->proof_sig, t->proof_siglen) == -1)
            return -1;
        return jws_sign_raw(t->server, t->alg, t->token_input, strlen(t->token_input), sig,
                            &siglen);
    case FLOOR_FULL:
        exp.now = (int64_t)time(NULL);
        code = proof_verify(t->proof, strlen(t->proof), &exp, &pr, &errstr);
        proof_result_clear(&pr);
        if (code != ERRCODE_OK ||
            jws_sign_raw(t->server, t->alg, t->token_input, strlen(t->token_input), sig, &siglen) ==
                -1 ||
            (compact = jws_compact(t->token_input, sig, siglen)) == NULL)
            return -1;
        free(compact);
        return 0;
    }
    return -1;
}

static void *
bench_floor_main(void *arg)
{
    struct bench_floor_thread *t = arg;
    double start = bench_floor_now(), now = start;
    unsigned long n = 0;
    int i;

    t->rate = 0;
    while (now - start < t->seconds) {
        for (i = 0; i < 16; i++, n++) {
            if (bench_floor_once(t) == -1) {
                t->errstr = "a floor operation failed";
                return NULL;
            }
        }
        now = bench_floor_now();
    }
    t->rate = (double)n / (now - start);
    return NULL;
}

/* All threads in mode; the sum of their rates, or -1. */
static double
bench_floor_phase(struct bench_floor_thread *t, int threads, enum bench_floor_mode mode,
                  double seconds, const char **errstr)
{
    double sum = 0;
    int i, started;

    for (i = 0; i < threads; i++) {
        t[i].mode = mode;
        t[i].seconds = seconds;
        t[i].errstr = NULL;
    }
    for (started = 1; started < threads; started++)
        if (pthread_create(&t[started].tid, NULL, bench_floor_main, &t[started]) != 0)
            break;
    bench_floor_main(&t[0]);
    for (i = 1; i < started; i++)
        pthread_join(t[i].tid, NULL);
    for (i = 0; i < started; i++) {
        if (t[i].errstr != NULL) {
            *errstr = t[i].errstr;
            return -1;
        }
        sum += t[i].rate;
    }
    return sum;
}

int
bench_floor_run(enum jwk_alg alg, int threads, double seconds, const char *issuer,
                struct bench_floor *out, const char **errstr)
{
    struct bench_floor_thread *t;
    int i, rc = -1;

    if (threads < 1)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > 256)
        threads = 256;
    if ((t = calloc((size_t)threads, sizeof(*t))) == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    memset(out, 0, sizeof(*out));
    out->threads = threads;
    out->seconds = seconds;
    for (i = 0; i < threads; i++) {
        t[i].alg = alg;
        t[i].issuer = issuer;
        if (bench_floor_setup(&t[i]) == -1) {
            *errstr = t[i].errstr != NULL ? t[i].errstr : "floor setup failed";
            goto done;
        }
    }
    if ((out->rate = bench_floor_phase(t, threads, FLOOR_RAW, seconds, errstr)) < 0 ||
        (out->full_rate = bench_floor_phase(t, threads, FLOOR_FULL, seconds, errstr)) < 0 ||
        (out->sign_rate = bench_floor_phase(t, threads, FLOOR_SIGN, seconds / 4, errstr)) < 0 ||
        (out->verify_rate = bench_floor_phase(t, threads, FLOOR_VERIFY, seconds / 4, errstr)) < 0)
        goto done;
    rc = 0;
done:
    for (i = 0; i < threads; i++) {
        EVP_PKEY_free(t[i].server);
        EVP_PKEY_free(t[i].device);
        EVP_PKEY_free(t[i].device_pub);
        free(t[i].proof);
        free(t[i].proof_input);
        free(t[i].token_input);
    }
    free(t);
    return rc;
}
