/* The gateway scenario's floor (see bench_gwfloor.h). Each thread owns a
 * sample (an access token and a proof), its parsed forms and a verifier of its
 * own; the threads share nothing but the start line. Rates are per CPU-second
 * of each thread, summed: the machine's CPUs doing nothing else, so a busy
 * neighbour (these machines are shared) cannot lower the floor and flatter
 * the ratio. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench_gwfloor.h"
#include "jws.h"
#include "sitetoken.h"

static double
gwb_thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
gwb_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum gwb_floor_mode { GWB_FLOOR_RAW, GWB_FLOOR_FULL, GWB_FLOOR_TOKEN, GWB_FLOOR_PROOF };

/* A thread of the floor: one device's access token and one of its proofs,
 * parsed once (raw: the two signature checks alone) and a verifier of its
 * own (full: what the gateway asks of libsitetoken per request, without the
 * replay cache: the same proof is checked again and again). */
struct gwb_floor_thread {
    pthread_t tid;
    enum gwb_floor_mode mode;
    double seconds, rate;
    struct jws token, proof;
    EVP_PKEY *server_pub, *device_pub; /* borrowed: the JWKS's, owned by keys */
    struct jwks *keys;                 /* owned */
    struct sitetoken_verifier *v;      /* owned */
    const struct bench_gwfloor_sample *sample;
    const char *htu;
    long long clock_offset;
    int failed;
};

static int
gwb_floor_once(struct gwb_floor_thread *t)
{
    struct sitetoken_claims c;
    int64_t now;

    switch (t->mode) {
    case GWB_FLOOR_RAW:
        return jws_verify(&t->token, t->server_pub) == ERRCODE_OK &&
                       jws_verify(&t->proof, t->device_pub) == ERRCODE_OK
                   ? 0
                   : -1;
    case GWB_FLOOR_TOKEN:
        return jws_verify(&t->token, t->server_pub) == ERRCODE_OK ? 0 : -1;
    case GWB_FLOOR_PROOF:
        return jws_verify(&t->proof, t->device_pub) == ERRCODE_OK ? 0 : -1;
    case GWB_FLOOR_FULL:
        now = (int64_t)time(NULL) + t->clock_offset;
        if (sitetoken_verify(t->v, t->sample->access, strlen(t->sample->access),
                             SITETOKEN_KIND_ACCESS, now, &c) != SITETOKEN_OK)
            return -1;
        return sitetoken_verify_dpop(t->v, NULL, t->sample->proof, t->sample->proof_len, "GET",
                                     t->htu, t->sample->access, strlen(t->sample->access), &c,
                                     now) == SITETOKEN_OK
                   ? 0
                   : -1;
    }
    return -1;
}

static void *
gwb_floor_main(void *arg)
{
    struct gwb_floor_thread *t = arg;
    double start = gwb_now_s(), now = start, cpu0 = gwb_thread_cpu_s(), cpu;
    unsigned long n = 0;

    t->rate = 0;
    while (now - start < t->seconds) {
        for (int i = 0; i < 16; i++, n++)
            if (gwb_floor_once(t) == -1) {
                t->failed = 1;
                return NULL;
            }
        now = gwb_now_s();
    }
    /* Per CPU-second of this thread: what a CPU does when it does nothing
     * else, whatever else runs on the machine (wall time if the clock
     * says too little to divide by). */
    cpu = gwb_thread_cpu_s() - cpu0;
    t->rate = (double)n / (cpu > 0.01 ? cpu : now - start);
    return NULL;
}

static double
gwb_floor_phase(struct gwb_floor_thread *t, int threads, enum gwb_floor_mode mode, double seconds)
{
    double sum = 0;
    int started;

    for (int i = 0; i < threads; i++) {
        t[i].mode = mode;
        t[i].seconds = seconds;
        t[i].failed = 0;
    }
    for (started = 1; started < threads; started++)
        if (pthread_create(&t[started].tid, NULL, gwb_floor_main, &t[started]) != 0)
            break;
    gwb_floor_main(&t[0]);
    for (int i = 1; i < started; i++)
        pthread_join(t[i].tid, NULL);
    for (int i = 0; i < started; i++) {
        if (t[i].failed)
            return -1;
        sum += t[i].rate;
    }
    return sum;
}

static int
gwb_floor_setup(const struct bench_gwfloor_opts *o, struct gwb_floor_thread *t,
                const struct bench_gwfloor_sample *sm)
{
    const char *errstr = NULL;
    EVP_PKEY *dev_pub;
    json_t *jwk;

    t->sample = sm;
    t->htu = o->htu;
    t->clock_offset = o->clock_offset;
    if (jws_parse(sm->access, strlen(sm->access), &t->token, &errstr) != ERRCODE_OK ||
        jws_parse(sm->proof, sm->proof_len, &t->proof, &errstr) != ERRCODE_OK ||
        (t->keys = jwks_parse(o->jwks_doc, o->jwks_len, &errstr)) == NULL || t->token.kid == NULL ||
        (t->server_pub = jwks_find(t->keys, t->token.kid, NULL)) == NULL)
        return -1;
    /* The device key as a verifier has it: from its public JWK. */
    jwk = json_object_get(t->proof.header, "jwk");
    if ((dev_pub = jwk_public_from_json(jwk, &errstr)) == NULL)
        return -1;
    t->device_pub = dev_pub;
    if ((t->v = sitetoken_verifier_new(o->issuer, "urn:sitetoken:gateway", 60)) == NULL ||
        sitetoken_verifier_load_jwks(t->v, o->jwks_doc, o->jwks_len, &errstr) == -1)
        return -1;
    return 0;
}

int
bench_gwfloor_run(const struct bench_gwfloor_opts *o, const struct bench_gwfloor_sample *sm,
                  size_t n, struct bench_floor *fl, const char **errstr)
{
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN), rc = -1;
    struct gwb_floor_thread *t;

    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    if ((t = calloc((size_t)threads, sizeof(*t))) == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    memset(fl, 0, sizeof(*fl));
    fl->threads = threads;
    fl->seconds = o->seconds;
    for (int i = 0; i < threads; i++)
        if (n == 0 || gwb_floor_setup(o, &t[i], &sm[(size_t)i % n]) == -1) {
            *errstr = "floor setup: cannot parse a sample token, proof or key set";
            goto done;
        }
    if ((fl->rate = gwb_floor_phase(t, threads, GWB_FLOOR_RAW, o->seconds)) < 0 ||
        (fl->full_rate = gwb_floor_phase(t, threads, GWB_FLOOR_FULL, o->seconds)) < 0 ||
        (fl->sign_rate = gwb_floor_phase(t, threads, GWB_FLOOR_TOKEN, o->seconds / 4)) < 0 ||
        (fl->verify_rate = gwb_floor_phase(t, threads, GWB_FLOOR_PROOF, o->seconds / 4)) < 0) {
        *errstr = "a floor verification failed (is the sample token for this gateway?)";
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < threads; i++) {
        jws_clear(&t[i].token);
        jws_clear(&t[i].proof);
        EVP_PKEY_free(t[i].device_pub);
        jwks_free(t[i].keys);
        sitetoken_verifier_free(t[i].v);
    }
    free(t);
    return rc;
}
