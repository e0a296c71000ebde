/* Claim rules for bulk, client and access tokens: which claims each kind
 * carries, their syntax, and the order in which a token is judged. */
#include <string.h>

#include "b64url.h"
#include "ids.h"
#include "jsonlim.h"
#include "jws.h"
#include "jwt.h"

static const struct {
    const char *typ;
    const char *name;
} jwt_kinds[JWT_KIND_COUNT] = {
    [JWT_KIND_BULK] = {"sitetoken-bulk+jwt", "bulk"},
    [JWT_KIND_CLIENT] = {"sitetoken-client+jwt", "client"},
    [JWT_KIND_ACCESS] = {"sitetoken-access+jwt", "access"},
};

enum jwt_claim_type {
    JWT_CLAIM_STRING,
    JWT_CLAIM_TIME,
    JWT_CLAIM_AUD,
    JWT_CLAIM_GEN,
    JWT_CLAIM_CNF
};

#define JWT_ALL (1u << JWT_KIND_BULK | 1u << JWT_KIND_CLIENT | 1u << JWT_KIND_ACCESS)
#define JWT_BOUND (1u << JWT_KIND_CLIENT | 1u << JWT_KIND_ACCESS)
#define JWT_CLIENT (1u << JWT_KIND_CLIENT)

/* The required claims of each kind and their JSON type (DESIGN.md, "The tokens"). */
static const struct {
    const char *name;
    enum jwt_claim_type type;
    unsigned kinds;
} jwt_claim_table[] = {
    {"iss", JWT_CLAIM_STRING, JWT_ALL},  {"aud", JWT_CLAIM_AUD, JWT_ALL},
    {"iat", JWT_CLAIM_TIME, JWT_ALL},    {"nbf", JWT_CLAIM_TIME, JWT_ALL},
    {"exp", JWT_CLAIM_TIME, JWT_ALL},    {"jti", JWT_CLAIM_STRING, JWT_ALL},
    {"site", JWT_CLAIM_STRING, JWT_ALL}, {"sub", JWT_CLAIM_STRING, JWT_BOUND},
    {"cnf", JWT_CLAIM_CNF, JWT_BOUND},   {"reg", JWT_CLAIM_STRING, JWT_CLIENT},
    {"gen", JWT_CLAIM_GEN, JWT_CLIENT},
};

int64_t
jwt_clamp_skew(int64_t skew)
{
    return skew < 0 ? 0 : skew > JWT_SKEW_MAX ? JWT_SKEW_MAX : skew;
}

int64_t
jwt_clamp_time(int64_t t)
{
    return t < 0 ? 0 : t > JWT_TIME_MAX ? JWT_TIME_MAX : t;
}

/* The value of claim name for m, or NULL when m does not give it. */
static json_t *
jwt_mint_value(const struct jwt_mint *m, const char *name)
{
    static const char *const strings[] = {"iss", "aud", "jti", "site", "sub", "reg"};
    const char *const values[] = {m->iss, m->aud, m->jti, m->site, m->sub, m->reg};

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (strcmp(name, strings[i]) == 0)
            return values[i] != NULL && values[i][0] != '\0' ? json_string(values[i]) : NULL;
    if (strcmp(name, "iat") == 0 || strcmp(name, "nbf") == 0)
        return json_integer(m->iat);
    if (strcmp(name, "exp") == 0)
        return json_integer(m->exp);
    if (strcmp(name, "gen") == 0)
        return json_integer(m->gen);
    if (strcmp(name, "cnf") == 0 && m->jkt != NULL && m->jkt[0] != '\0')
        return json_pack("{s:s}", "jkt", m->jkt);
    return NULL;
}

json_t *
jwt_claims_new(const struct jwt_mint *m)
{
    json_t *c, *v;

    if (m == NULL || (unsigned)m->kind >= JWT_KIND_COUNT || (c = json_object()) == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(jwt_claim_table) / sizeof(jwt_claim_table[0]); i++) {
        if ((jwt_claim_table[i].kinds & 1u << m->kind) == 0)
            continue;
        if ((v = jwt_mint_value(m, jwt_claim_table[i].name)) == NULL ||
            json_object_set_new(c, jwt_claim_table[i].name, v) == -1)
            goto fail;
    }
    /* The optional claims: which bulk token a client token came from, and
     * the device's labels (client and access tokens; proto/labels.h). */
    if (m->kind == JWT_KIND_CLIENT && m->bulk != NULL && m->bulk[0] != '\0' &&
        json_object_set_new(c, "bulk", json_string(m->bulk)) == -1)
        goto fail;
    if (m->kind != JWT_KIND_BULK && json_is_object(m->labels) && json_object_size(m->labels) > 0 &&
        json_object_set(c, "labels", (json_t *)m->labels) == -1)
        goto fail;
    return c;
fail:
    json_decref(c);
    return NULL;
}

const char *
jwt_kind_typ(enum jwt_kind kind)
{
    return (unsigned)kind < JWT_KIND_COUNT ? jwt_kinds[kind].typ : NULL;
}

const char *
jwt_kind_name(enum jwt_kind kind)
{
    return (unsigned)kind < JWT_KIND_COUNT ? jwt_kinds[kind].name : NULL;
}

json_t *
jwt_header(enum jwt_kind kind, enum jwk_alg alg, const char *kid)
{
    if (jwt_kind_typ(kind) == NULL || jwk_alg_name(alg) == NULL || kid == NULL ||
        strlen(kid) == 0 || strlen(kid) > JWK_KID_MAX)
        return NULL;
    return json_pack("{s:s, s:s, s:s}", "alg", jwk_alg_name(alg), "kid", kid, "typ",
                     jwt_kind_typ(kind));
}

int
jwt_aud_contains(const json_t *aud, const char *want)
{
    const json_t *v;
    size_t i;

    if (want == NULL)
        return 0;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return 1;
    }
    return 0;
}

/* A base64url SHA-256 thumbprint: 43 characters that decode to 32 bytes. */
static int
jwt_is_thumbprint(const char *s)
{
    uint8_t buf[32];
    size_t n;

    return s != NULL && strlen(s) == JWK_THUMBPRINT_LEN &&
           b64url_decode_buf(s, JWK_THUMBPRINT_LEN, buf, sizeof(buf), &n) == 0 && n == 32;
}

/* Presence and JSON type of every claim the kind requires. */
static int
jwt_check_types(const json_t *claims, enum jwt_kind kind, const char **errstr)
{
    const json_t *v;
    int64_t t;
    size_t i, j;

    for (i = 0; i < sizeof(jwt_claim_table) / sizeof(jwt_claim_table[0]); i++) {
        if ((jwt_claim_table[i].kinds & 1u << kind) == 0)
            continue;
        v = json_object_get(claims, jwt_claim_table[i].name);
        switch (jwt_claim_table[i].type) {
        case JWT_CLAIM_STRING:
            if (jsonlim_get_string(claims, jwt_claim_table[i].name, 1, 1024) == NULL)
                goto bad;
            break;
        case JWT_CLAIM_TIME:
            if (jsonlim_get_int(claims, jwt_claim_table[i].name, 0, JWT_TIME_MAX, &t) == -1)
                goto bad;
            break;
        case JWT_CLAIM_GEN:
            if (jsonlim_get_int(claims, jwt_claim_table[i].name, 0, INT32_MAX, &t) == -1)
                goto bad;
            break;
        case JWT_CLAIM_AUD:
            if (json_is_string(v))
                break;
            if (!json_is_array(v) || json_array_size(v) == 0)
                goto bad;
            for (j = 0; j < json_array_size(v); j++)
                if (!json_is_string(json_array_get(v, j)))
                    goto bad;
            break;
        case JWT_CLAIM_CNF:
            if (!json_is_object(v) || !jwt_is_thumbprint(jsonlim_get_string(v, "jkt", 43, 43)))
                goto bad;
            break;
        }
    }
    return 0;
bad:
    *errstr = "a required claim is missing or ill-typed";
    return -1;
}

/* Syntax of the values, and the fields of out. */
static int
jwt_check_values(struct jwt_claims *out, enum jwt_kind kind, const char **errstr)
{
    const json_t *c = out->claims;

    (void)jsonlim_get_int(c, "iat", 0, JWT_TIME_MAX, &out->iat);
    (void)jsonlim_get_int(c, "nbf", 0, JWT_TIME_MAX, &out->nbf);
    (void)jsonlim_get_int(c, "exp", 0, JWT_TIME_MAX, &out->exp);
    if ((out->jti = jsonlim_get_string(c, "jti", 1, JWT_JTI_MAX)) == NULL) {
        *errstr = "jti must be 1 to 64 characters";
        return -1;
    }
    if (kind == JWT_KIND_BULK && !ids_is_uuid(out->jti)) {
        *errstr = "a bulk token's jti must be a lower-case UUID (v7, or v4 before)";
        return -1;
    }
    if ((out->site = jsonlim_get_string(c, "site", 1, JWT_SITE_MAX)) == NULL) {
        *errstr = "site must be 1 to 15 characters";
        return -1;
    }
    if (kind == JWT_KIND_BULK)
        return 0;
    out->sub = jsonlim_get_string(c, "sub", 1, 64);
    if (!ids_is_device_id(out->sub)) {
        out->sub = NULL;
        *errstr = "sub must be a device id (GUID:<uuid>)";
        return -1;
    }
    out->jkt = jsonlim_get_string(json_object_get(c, "cnf"), "jkt", 43, 43);
    if (kind == JWT_KIND_ACCESS)
        return 0;
    (void)jsonlim_get_int(c, "gen", 0, INT32_MAX, &out->gen);
    /* jwt_check_types allowed up to 1024 bytes: a longer reg is NULL here. */
    out->reg = jsonlim_get_string(c, "reg", 1, 16);
    if (out->reg == NULL) {
        *errstr = "reg must be intranet or bulk";
        return -1;
    }
    if (strcmp(out->reg, "bulk") == 0) {
        out->bulk = jsonlim_get_string(c, "bulk", 1, 64);
        if (!ids_is_uuid(out->bulk)) {
            out->bulk = NULL;
            *errstr = "bulk must be the bulk token's UUID when reg is bulk";
            return -1;
        }
    } else if (strcmp(out->reg, "intranet") == 0) {
        if (json_object_get(c, "bulk") != NULL) {
            *errstr = "bulk claim present although reg is intranet";
            return -1;
        }
    } else {
        out->reg = NULL;
        *errstr = "reg must be intranet or bulk";
        return -1;
    }
    return 0;
}

enum errcode
jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_expect *exp,
           struct jwt_claims *out, const char **errstr)
{
    struct jws jws;
    enum errcode rc;
    enum jwk_alg alg;
    EVP_PKEY *key;
    const char *iss;
    int64_t now, skew;

    memset(out, 0, sizeof(*out));
    out->gen = -1;
    out->kind = exp->kind;
    if (jwt_kind_typ(exp->kind) == NULL) {
        *errstr = "unknown token kind expected";
        return ERRCODE_INVALID_REQUEST;
    }
    if ((rc = jws_parse(token, len, &jws, errstr)) != ERRCODE_OK)
        goto done;
    if (!jws_typ_is(jws.typ, jwt_kind_typ(exp->kind))) {
        *errstr = "typ is not the expected token kind";
        rc = ERRCODE_WRONG_TOKEN_TYPE;
        goto done;
    }
    if (jwk_alg_from_name(jws.alg, &alg) == -1) {
        *errstr = "algorithm not accepted";
        rc = ERRCODE_BAD_SIGNATURE;
        goto done;
    }
    if (jws.kid == NULL || (key = jwks_find(keys, jws.kid, NULL)) == NULL) {
        *errstr = jws.kid == NULL ? "no kid in header" : "kid is not a known key";
        rc = ERRCODE_UNKNOWN_KEY;
        goto done;
    }
    if ((rc = jws_verify(&jws, key)) != ERRCODE_OK) {
        *errstr = "signature does not verify with the key named by kid";
        goto done;
    }
    out->claims = json_incref(jws.payload);
    out->header = json_incref(jws.header);
    out->kid = json_string_value(json_object_get(out->header, "kid"));
    if (jwt_check_types(out->claims, exp->kind, errstr) == -1 ||
        jwt_check_values(out, exp->kind, errstr) == -1) {
        rc = ERRCODE_INVALID_REQUEST;
        goto done;
    }
    iss = json_string_value(json_object_get(out->claims, "iss"));
    if (exp->iss == NULL || strcmp(iss, exp->iss) != 0) {
        *errstr = "iss is not this issuer";
        rc = ERRCODE_WRONG_TOKEN_TYPE;
        goto done;
    }
    if (!jwt_aud_contains(json_object_get(out->claims, "aud"), exp->aud) &&
        !jwt_aud_contains(json_object_get(out->claims, "aud"), exp->aud_legacy)) {
        *errstr = "aud does not name this verifier";
        rc = ERRCODE_WRONG_TOKEN_TYPE;
        goto done;
    }
    /* Clamped so that the sums below cannot overflow. */
    now = jwt_clamp_time(exp->now);
    skew = jwt_clamp_skew(exp->skew);
    if (now >= out->exp + skew) {
        *errstr = "token expired";
        rc = ERRCODE_TOKEN_EXPIRED;
        goto done;
    }
    if (out->nbf > now + skew || out->iat > now + skew) {
        *errstr = "token not yet valid";
        rc = ERRCODE_TOKEN_NOT_YET_VALID;
        goto done;
    }
    rc = ERRCODE_OK;
done:
    jws_clear(&jws);
    return rc;
}

void
jwt_claims_clear(struct jwt_claims *c)
{
    if (c == NULL)
        return;
    json_decref(c->claims);
    json_decref(c->header);
    memset(c, 0, sizeof(*c));
    c->gen = -1;
}
