/* DPoP proofs (RFC 9449) for gateways: the URL normalisation both sides of a
 * comparison go through, the proof check, and the bounded replay cache. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dpop.h"
#include "ids.h"
#include "jsonlim.h"
#include "jws.h"
#include "jwt.h"

static int
dpop_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int
dpop_unreserved(int c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 §5.2.4 on a NUL-terminated path, in place. */
static void
dpop_remove_dots(char *p)
{
    char *in = p, *out = p;

    while (*in != '\0') {
        if (strncmp(in, "../", 3) == 0)
            in += 3;
        else if (strncmp(in, "./", 2) == 0)
            in += 2;
        else if (strncmp(in, "/./", 3) == 0)
            in += 2;
        else if (strcmp(in, "/.") == 0)
            in += 1, *in = '/';
        else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            if (in[3] == '\0')
                in += 2, *in = '/';
            else
                in += 3;
            while (out > p && *--out != '/')
                ;
        } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0)
            in += strlen(in);
        else {
            do
                *out++ = *in++;
            while (*in != '\0' && *in != '/');
        }
    }
    *out = '\0';
}

int
dpop_normalise_url(const char *in, size_t len, char *out, size_t outsz)
{
    static const struct {
        const char *scheme;
        long port;
    } schemes[] = {{"http", 80}, {"https", 443}};
    char scheme[8], host[256], path[DPOP_URL_MAX + 1];
    const char *p = in, *end = in + len, *auth, *hend, *pstart;
    size_t n = 0, si;
    long port = -1;

    if (in == NULL || len == 0 || len > DPOP_URL_MAX || memchr(in, '\0', len) != NULL)
        return -1;
    for (const char *c = in; c < end; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return -1;
    while (p < end && *p != ':' && n < sizeof(scheme) - 1)
        scheme[n++] = (char)tolower((unsigned char)*p++);
    scheme[n] = '\0';
    if (end - p < 3 || strncmp(p, "://", 3) != 0)
        return -1;
    for (si = 0; si < sizeof(schemes) / sizeof(schemes[0]); si++)
        if (strcmp(scheme, schemes[si].scheme) == 0)
            break;
    if (si == sizeof(schemes) / sizeof(schemes[0]))
        return -1;
    auth = p + 3;
    for (pstart = auth; pstart < end && *pstart != '/' && *pstart != '?' && *pstart != '#';
         pstart++)
        if (*pstart == '@' || *pstart == '%')
            return -1; /* no userinfo, no encoded hosts */
    if (auth < pstart && *auth == '[') {
        if ((hend = memchr(auth, ']', (size_t)(pstart - auth))) == NULL)
            return -1;
        hend++;
    } else {
        for (hend = auth; hend < pstart && *hend != ':'; hend++)
            ;
    }
    if (hend == auth || (size_t)(hend - auth) >= sizeof(host))
        return -1;
    for (n = 0; auth + n < hend; n++)
        host[n] = (char)tolower((unsigned char)auth[n]);
    host[n] = '\0';
    if (hend < pstart) {
        if (*hend != ':')
            return -1;
        if (hend + 1 < pstart) {
            port = 0;
            for (const char *c = hend + 1; c < pstart; c++) {
                if (!isdigit((unsigned char)*c) || (port = port * 10 + (*c - '0')) > 65535)
                    return -1;
            }
            if (port == schemes[si].port)
                port = -1;
        }
    }
    /* The path: percent-encodings normalised, bytes above 0x7f encoded. */
    n = 0;
    for (p = pstart; p < end && *p != '?' && *p != '#'; p++) {
        unsigned char c = (unsigned char)*p;
        int hi, lo;

        if (n + 3 >= sizeof(path))
            return -1;
        if (c == '%') {
            if (end - p < 3 || (hi = dpop_hexval(p[1])) < 0 || (lo = dpop_hexval(p[2])) < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            p += 2;
            if (dpop_unreserved(c)) {
                path[n++] = (char)c;
                continue;
            }
        } else if (c < 0x80) {
            path[n++] = (char)c;
            continue;
        }
        n += (size_t)snprintf(path + n, 4, "%%%02X", c);
    }
    path[n] = '\0';
    if (n == 0)
        path[0] = '/', path[1] = '\0';
    dpop_remove_dots(path);
    if (path[0] == '\0')
        path[0] = '/', path[1] = '\0';
    n = port >= 0 ? (size_t)snprintf(out, outsz, "%s://%s:%ld%s", scheme, host, port, path)
                  : (size_t)snprintf(out, outsz, "%s://%s%s", scheme, host, path);
    return n < outsz ? 0 : -1;
}

int
dpop_typ_is(const char *typ, const char *want)
{
    if (typ == NULL || want == NULL)
        return 0;
    if (strncasecmp(typ, "application/", 12) == 0)
        typ += 12;
    return strcasecmp(typ, want) == 0;
}

/* The header alg names we take for a key: its own, and Ed25519 (RFC 9864)
 * for an Ed25519 key. */
static int
dpop_alg_fits(const char *alg, enum jwk_alg keyalg)
{
    if (alg == NULL)
        return 0;
    if (strcmp(alg, jwk_alg_name(keyalg)) == 0)
        return 1;
    return keyalg == JWK_ALG_EDDSA && strcmp(alg, "Ed25519") == 0;
}

static int
dpop_claim_eq(const json_t *claims, const char *name, const char *want, size_t maxlen)
{
    const char *got = jsonlim_get_string(claims, name, 1, maxlen);

    return got != NULL && want != NULL && strlen(got) == strlen(want) &&
           ids_ct_equal(got, want, strlen(want));
}

enum errcode
dpop_verify(const char *proof, size_t len, const struct dpop_expect *exp, struct dpop_result *out,
            const char **errstr)
{
    char htu[DPOP_URL_MAX + 1], jkt[JWK_THUMBPRINT_LEN + 1];
    enum errcode rc = ERRCODE_PROOF_INVALID;
    const char *jti, *raw;
    EVP_PKEY *key = NULL;
    enum jwk_alg keyalg;
    int64_t iat, now, skew;
    const json_t *claims;
    struct jws jws;

    memset(out, 0, sizeof(*out));
    if (jws_parse(proof, len, &jws, errstr) != ERRCODE_OK)
        goto fail;
    if (!dpop_typ_is(jws.typ, DPOP_TYP)) {
        *errstr = "DPoP proof typ is not dpop+jwt";
        goto fail;
    }
    if (!json_is_object(json_object_get(jws.header, "jwk"))) {
        *errstr = "DPoP proof header has no jwk object";
        goto fail;
    }
    if ((key = jwk_public_from_json(json_object_get(jws.header, "jwk"), errstr)) == NULL)
        goto fail;
    if (jwk_alg_of_key(key, &keyalg) == -1 || !dpop_alg_fits(jws.alg, keyalg)) {
        *errstr = "DPoP proof alg is not the alg of its jwk";
        goto fail;
    }
    claims = jws.payload;
    /* Cheap claim checks before the signature. */
    if (!dpop_claim_eq(claims, "htm", exp->method, DPOP_METHOD_MAX)) {
        *errstr = "DPoP proof htm is not the request's method";
        goto fail;
    }
    if ((raw = jsonlim_get_string(claims, "htu", 1, DPOP_URL_MAX)) == NULL ||
        dpop_normalise_url(raw, strlen(raw), htu, sizeof(htu)) == -1 || exp->url == NULL ||
        strcmp(htu, exp->url) != 0) {
        *errstr = "DPoP proof htu is not the request's URL";
        goto fail;
    }
    now = jwt_clamp_time(exp->now);
    skew = jwt_clamp_skew(exp->skew);
    if (jsonlim_get_int(claims, "iat", 0, JWT_TIME_MAX, &iat) == -1 || iat > now + skew ||
        iat < now - skew) {
        *errstr = "DPoP proof iat missing or outside the allowed clock skew";
        goto fail;
    }
    if ((jti = jsonlim_get_string(claims, "jti", 1, DPOP_JTI_MAX)) == NULL) {
        *errstr = "DPoP proof jti must be a string of 1 to 128 characters";
        goto fail;
    }
    if (!dpop_claim_eq(claims, "ath", exp->ath, 64)) {
        *errstr = "DPoP proof ath does not match the access token";
        goto fail;
    }
    if (jws_verify_raw(key, keyalg, jws.signing_input, jws.signing_input_len, jws.sig,
                       jws.siglen) == -1) {
        *errstr = "DPoP proof signature does not verify with its jwk";
        goto fail;
    }
    if (jwk_thumbprint(key, jkt) == -1) {
        *errstr = "cannot compute the key thumbprint";
        goto fail;
    }
    if (exp->jkt == NULL || strlen(exp->jkt) != JWK_THUMBPRINT_LEN ||
        !ids_ct_equal(jkt, exp->jkt, JWK_THUMBPRINT_LEN)) {
        *errstr = "DPoP proof key is not the key the token is bound to";
        rc = ERRCODE_BINDING_MISMATCH;
        goto fail;
    }
    memcpy(out->jti, jti, strlen(jti) + 1);
    out->iat = iat;
    rc = ERRCODE_OK;
fail:
    EVP_PKEY_free(key);
    jws_clear(&jws);
    return rc;
}

/* The replay cache: open addressing over at least 2 x max_entries slots,
 * linear probing, so the load stays at most one half. A used slot is never
 * emptied except by a rebuild, so probe chains stay intact; an expired slot
 * is reused in place. When max_entries slots are used, the table is rebuilt
 * from its live entries, but only once something can have expired since the
 * last rebuild (min_until), so a flood against a full cache costs no more
 * than a probe per request. */
struct dpop_replay_slot {
    uint8_t key[16];
    int64_t until; /* 0: never used */
};

struct dpop_replay {
    struct dpop_replay_slot *slots;
    size_t cap, used, max;
    int64_t min_until; /* earliest expiry among used slots; INT64_MAX when none */
};

struct dpop_replay *
dpop_replay_new(size_t max_entries)
{
    struct dpop_replay *r;
    size_t cap = 16;

    if (max_entries == 0 || max_entries > (1u << 26))
        return NULL;
    while (cap < 2 * max_entries)
        cap *= 2;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    if ((r->slots = calloc(cap, sizeof(*r->slots))) == NULL) {
        free(r);
        return NULL;
    }
    r->cap = cap;
    r->max = max_entries;
    r->min_until = INT64_MAX;
    return r;
}

void
dpop_replay_free(struct dpop_replay *r)
{
    if (r == NULL)
        return;
    free(r->slots);
    free(r);
}

static size_t
dpop_replay_index(const struct dpop_replay *r, const uint8_t key[16])
{
    uint64_t h;

    memcpy(&h, key, sizeof(h));
    return (size_t)h & (r->cap - 1);
}

static void
dpop_replay_rebuild(struct dpop_replay *r, int64_t now)
{
    struct dpop_replay_slot *old = r->slots;
    size_t i, j;

    if ((r->slots = calloc(r->cap, sizeof(*r->slots))) == NULL) {
        r->slots = old; /* keep the old table: still correct */
        return;
    }
    r->used = 0;
    r->min_until = INT64_MAX;
    for (i = 0; i < r->cap; i++) {
        if (old[i].until <= now)
            continue;
        for (j = dpop_replay_index(r, old[i].key); r->slots[j].until != 0;
             j = (j + 1) & (r->cap - 1))
            ;
        r->slots[j] = old[i];
        r->used++;
        if (old[i].until < r->min_until)
            r->min_until = old[i].until;
    }
    free(old);
}

size_t
dpop_replay_count(const struct dpop_replay *r, int64_t now)
{
    size_t live = 0;

    for (size_t i = 0; r != NULL && i < r->cap; i++)
        live += r->slots[i].until > now;
    return live;
}

enum errcode
dpop_replay_check(struct dpop_replay *r, const char *jkt, const char *jti, int64_t keep_until,
                  int64_t now)
{
    struct dpop_replay_slot *reuse = NULL;
    uint8_t digest[32];
    EVP_MD_CTX *ctx;
    size_t i;
    int ok;

    if (r == NULL || jkt == NULL || jti == NULL)
        return ERRCODE_INVALID_REQUEST;
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return ERRCODE_UNAVAILABLE;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, jkt, strlen(jkt) + 1) == 1 &&
         EVP_DigestUpdate(ctx, jti, strlen(jti)) == 1 && EVP_DigestFinal_ex(ctx, digest, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ERRCODE_UNAVAILABLE;
    if (r->used >= r->max && now >= r->min_until)
        dpop_replay_rebuild(r, now);
    for (i = dpop_replay_index(r, digest); r->slots[i].until != 0; i = (i + 1) & (r->cap - 1)) {
        struct dpop_replay_slot *s = &r->slots[i];

        if (memcmp(s->key, digest, sizeof(s->key)) == 0) {
            if (s->until > now)
                return ERRCODE_PROOF_REPLAYED;
            reuse = s;
            break;
        }
        if (reuse == NULL && s->until <= now)
            reuse = s;
    }
    if (reuse == NULL) {
        if (r->used >= r->max)
            return ERRCODE_RATE_LIMITED; /* full of live entries: refuse, never forget */
        reuse = &r->slots[i];
        r->used++;
    }
    memcpy(reuse->key, digest, sizeof(reuse->key));
    reuse->until = keep_until > now ? keep_until : now + 1;
    if (reuse->until < r->min_until)
        r->min_until = reuse->until;
    return ERRCODE_OK;
}
