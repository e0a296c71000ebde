/* Parsing the revocation document (see revdoc.h). Input comes from the
 * network: sizes are bounded before anything is allocated for them, and the
 * JWS form is split and verified here rather than by jws_parse, whose size
 * bound fits tokens, not feeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64url.h"
#include "jsonlim.h"
#include "jws.h"
#include "revdoc.h"
#include "timefmt.h"

#define REVDOC_DEPTH 4
#define REVDOC_HEADER_MAX 4096
#define REVDOC_REASON_MAX 128

static const char *const revdoc_kinds[] = {
    [REVDOC_TOKEN] = "token",
    [REVDOC_DEVICE] = "device",
    [REVDOC_BULK] = "bulk",
};

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t
revdoc_days(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
revdoc_time(const char *s, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, mo, d, h, mi, se;
    int leap;

    if (s == NULL || strlen(s) != sizeof(shape) - 1)
        return -1;
    for (size_t i = 0; i < sizeof(shape) - 1; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -1;
    y = 0;
    for (int i = 0; i < 4; i++)
        y = y * 10 + (s[i] - '0');
    mo = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    h = (s[11] - '0') * 10 + (s[12] - '0');
    mi = (s[14] - '0') * 10 + (s[15] - '0');
    se = (s[17] - '0') * 10 + (s[18] - '0');
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
        return -1;
    *out = revdoc_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

static enum errcode
revdoc_entry_from_json(const json_t *e, struct revdoc_entry *out, const char **errstr)
{
    const char *kind, *id, *reason;
    const json_t *r = json_object_get(e, "reason");
    size_t k;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(e)) {
        *errstr = "revocations: an entry is not an object";
        return ERRCODE_INVALID_REQUEST;
    }
    if (jsonlim_get_int(e, "serial", 1, INT64_MAX, &out->serial) == -1) {
        *errstr = "revocations: entry serial missing or not a positive integer";
        return ERRCODE_INVALID_REQUEST;
    }
    if ((kind = jsonlim_get_string(e, "kind", 1, 8)) == NULL) {
        *errstr = "revocations: entry kind missing";
        return ERRCODE_INVALID_REQUEST;
    }
    for (k = 0; k < sizeof(revdoc_kinds) / sizeof(revdoc_kinds[0]); k++)
        if (strcmp(kind, revdoc_kinds[k]) == 0)
            break;
    out->kind = (enum revdoc_kind)k; /* REVDOC_UNKNOWN when not one of ours */
    if ((id = jsonlim_get_string(e, "id", 1, REVDOC_ID_MAX)) == NULL) {
        *errstr = "revocations: entry id missing or longer than 64 bytes";
        return ERRCODE_INVALID_REQUEST;
    }
    memcpy(out->id, id, strlen(id) + 1);
    if (revdoc_time(json_string_value(json_object_get(e, "revoked_at")), &out->revoked_at) == -1 ||
        revdoc_time(json_string_value(json_object_get(e, "expires_at")), &out->expires_at) == -1) {
        *errstr = "revocations: entry times must be RFC 3339 UTC";
        return ERRCODE_INVALID_REQUEST;
    }
    if (r != NULL && (!json_is_string(r) || (reason = json_string_value(r)) == NULL ||
                      strlen(reason) > REVDOC_REASON_MAX)) {
        *errstr = "revocations: entry reason must be a string of at most 128 bytes";
        return ERRCODE_INVALID_REQUEST;
    }
    return ERRCODE_OK;
}

static enum errcode
revdoc_from_json(const json_t *doc, struct revdoc *out, const char **errstr)
{
    const json_t *entries = json_object_get(doc, "entries"), *e;
    enum errcode rc;
    size_t i, n;

    if (jsonlim_get_int(doc, "serial", 0, INT64_MAX, &out->serial) == -1) {
        *errstr = "revocations: serial missing or not an integer >= 0";
        return ERRCODE_INVALID_REQUEST;
    }
    if (!json_is_array(entries) || (n = json_array_size(entries)) > REVDOC_MAX_ENTRIES) {
        *errstr = "revocations: entries must be an array (at most 1000000)";
        return ERRCODE_INVALID_REQUEST;
    }
    if (n > 0 && (out->entries = calloc(n, sizeof(*out->entries))) == NULL) {
        *errstr = "out of memory";
        return ERRCODE_UNAVAILABLE;
    }
    json_array_foreach(entries, i, e)
    {
        if ((rc = revdoc_entry_from_json(e, &out->entries[i], errstr)) != ERRCODE_OK)
            return rc;
        if (out->entries[i].serial > out->serial) {
            *errstr = "revocations: an entry's serial is above the document's";
            return ERRCODE_INVALID_REQUEST;
        }
        out->n++;
    }
    return ERRCODE_OK;
}

static void
revdoc_init(struct revdoc *out)
{
    memset(out, 0, sizeof(*out));
}

enum errcode
revdoc_parse(const char *text, size_t len, struct revdoc *out, const char **errstr)
{
    json_t *doc;
    enum errcode rc;

    revdoc_init(out);
    if (text == NULL) {
        *errstr = "revocations: no document";
        return ERRCODE_INVALID_REQUEST;
    }
    if ((doc = jsonlim_load_object(text, len, REVDOC_MAX_DOC, REVDOC_DEPTH, errstr)) == NULL)
        return ERRCODE_INVALID_REQUEST;
    rc = revdoc_from_json(doc, out, errstr);
    json_decref(doc);
    return rc;
}

enum errcode
revdoc_parse_entry(const char *text, size_t len, struct revdoc_entry *out, const char **errstr)
{
    json_t *doc;
    enum errcode rc;

    memset(out, 0, sizeof(*out));
    if (text == NULL || (doc = jsonlim_load_object(text, len, 4096, 2, errstr)) == NULL) {
        if (text == NULL)
            *errstr = "revocations: no entry";
        return ERRCODE_INVALID_REQUEST;
    }
    rc = revdoc_entry_from_json(doc, out, errstr);
    json_decref(doc);
    return rc;
}

enum errcode
revdoc_parse_jws(const char *compact, size_t len, const struct jwks *keys, struct revdoc *out,
                 const char **errstr)
{
    struct jws_segments seg;
    const char *typ, *alg, *kid, *iss, *aud;
    uint8_t *hdr = NULL, *payload = NULL, *sig = NULL;
    size_t hdrlen = 0, paylen = 0, siglen = 0;
    json_t *header = NULL, *doc = NULL;
    enum jwk_alg keyalg;
    EVP_PKEY *pub;
    enum errcode rc = ERRCODE_INVALID_REQUEST;

    revdoc_init(out);
    *errstr = "revocations: not a compact JWS";
    if (compact == NULL || len > REVDOC_MAX_DOC * 2 || memchr(compact, '\0', len) != NULL ||
        jws_split(compact, len, &seg) == -1 ||
        seg.header_len > b64url_encoded_len(REVDOC_HEADER_MAX) ||
        b64url_decode(seg.header, seg.header_len, &hdr, &hdrlen) == -1 ||
        b64url_decode(seg.payload, seg.payload_len, &payload, &paylen) == -1 ||
        b64url_decode(seg.sig, seg.sig_len, &sig, &siglen) == -1)
        goto done;
    if ((header = jsonlim_load_object((const char *)hdr, hdrlen, REVDOC_HEADER_MAX, 2, errstr)) ==
        NULL)
        goto done;
    typ = jsonlim_get_string(header, "typ", 1, 64);
    alg = jsonlim_get_string(header, "alg", 1, 16);
    kid = jsonlim_get_string(header, "kid", 1, JWK_KID_MAX);
    if (json_object_get(header, "crit") != NULL || typ == NULL || strcmp(typ, REVDOC_TYP) != 0) {
        *errstr = "revocations: header typ is not " REVDOC_TYP;
        rc = ERRCODE_WRONG_TOKEN_TYPE;
        goto done;
    }
    if (alg == NULL || kid == NULL) {
        *errstr = "revocations: header needs alg and kid";
        rc = ERRCODE_BAD_SIGNATURE;
        goto done;
    }
    if ((pub = jwks_find(keys, kid, &keyalg)) == NULL) {
        *errstr = "revocations: signed by an unknown key";
        rc = ERRCODE_UNKNOWN_KEY;
        goto done;
    }
    if (strcmp(alg, jwk_alg_name(keyalg)) != 0 ||
        jws_verify_raw(pub, keyalg, compact, seg.signing_input_len, sig, siglen) == -1) {
        *errstr = "revocations: the signature does not verify";
        rc = ERRCODE_BAD_SIGNATURE;
        goto done;
    }
    if ((doc = jsonlim_load_object((const char *)payload, paylen, REVDOC_MAX_DOC, REVDOC_DEPTH,
                                   errstr)) == NULL)
        goto done;
    if ((iss = jsonlim_get_string(doc, "iss", 1, sizeof(out->iss) - 1)) == NULL) {
        *errstr = "revocations: iss missing";
        goto done;
    }
    snprintf(out->iss, sizeof(out->iss), "%s", iss);
    if ((aud = jsonlim_get_string(doc, "aud", 1, sizeof(out->aud) - 1)) == NULL) {
        *errstr = "revocations: aud missing";
        goto done;
    }
    snprintf(out->aud, sizeof(out->aud), "%s", aud);
    if (jsonlim_get_int(doc, "iat", 0, INT64_MAX / 2, &out->iat) == -1 ||
        jsonlim_get_int(doc, "exp", 0, INT64_MAX / 2, &out->exp) == -1 || out->exp <= out->iat) {
        *errstr = "revocations: iat and exp must be integers, exp after iat";
        goto done;
    }
    rc = revdoc_from_json(doc, out, errstr);
done:
    json_decref(header);
    json_decref(doc);
    free(hdr);
    free(payload);
    free(sig);
    return rc;
}

json_t *
revdoc_entry_json(int64_t serial, const char *kind, const char *id, int64_t revoked_at,
                  int64_t expires_at, const char *reason)
{
    char revoked[TIMEFMT_LEN + 1], expires[TIMEFMT_LEN + 1];

    if (kind == NULL || id == NULL)
        return NULL;
    timefmt_rfc3339(revoked_at, revoked);
    timefmt_rfc3339(expires_at, expires);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "serial", (json_int_t)serial, "kind", kind,
                     "id", id, "revoked_at", revoked, "expires_at", expires, "reason",
                     reason != NULL ? reason : "");
}

int
revdoc_set_claims(json_t *doc, const char *iss, const char *aud, int64_t now, int64_t max_age)
{
    if (!json_is_object(doc) || iss == NULL || aud == NULL || max_age <= 0)
        return -1;
    if (json_object_set_new(doc, "iss", json_string(iss)) == -1 ||
        json_object_set_new(doc, "aud", json_string(aud)) == -1 ||
        json_object_set_new(doc, "iat", json_integer(now)) == -1 ||
        json_object_set_new(doc, "exp", json_integer(now + max_age)) == -1)
        return -1;
    return 0;
}

void
revdoc_clear(struct revdoc *doc)
{
    if (doc == NULL)
        return;
    free(doc->entries);
    doc->entries = NULL;
    doc->n = 0;
}
