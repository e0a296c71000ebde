/* The gateway's decisions. /auth rebuilds the original request from the
 * proxy's headers (DESIGN.md, "The gateway kit"), then checks freshness,
 * the access token, the revocation cache and the DPoP proof, in that order;
 * /auth/enrol pre-screens a bulk token under a per-source-address refusal
 * budget. On every loop thread at once: the shared verifier and revocation
 * cache under gw->lock (read), the replay cache locks itself, the budget is
 * under gw->budget_mu. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include <jansson.h>

#include "b64url.h"
#include "gw.h"
#include "gw_auth.h"
#include "gw_fetch.h"
#include "labels.h"

#define GW_TOKEN_MAX 8192
#define GW_URL_MAX 4096

/* What libsitetoken's results mean for a client. */
static const struct {
    enum errcode code;
    const char *www;
} gw_results[] = {
    [SITETOKEN_OK] = {ERRCODE_OK, NULL},
    [SITETOKEN_E_INVALID_REQUEST] = {ERRCODE_INVALID_REQUEST, "invalid_token"},
    [SITETOKEN_E_TOKEN_EXPIRED] = {ERRCODE_TOKEN_EXPIRED, "invalid_token"},
    [SITETOKEN_E_TOKEN_NOT_YET_VALID] = {ERRCODE_TOKEN_NOT_YET_VALID, "invalid_token"},
    [SITETOKEN_E_BAD_SIGNATURE] = {ERRCODE_BAD_SIGNATURE, "invalid_token"},
    [SITETOKEN_E_UNKNOWN_KEY] = {ERRCODE_UNKNOWN_KEY, "invalid_token"},
    [SITETOKEN_E_WRONG_TOKEN_TYPE] = {ERRCODE_WRONG_TOKEN_TYPE, "invalid_token"},
    [SITETOKEN_E_TOKEN_REVOKED] = {ERRCODE_TOKEN_REVOKED, "invalid_token"},
    [SITETOKEN_E_UNAVAILABLE] = {ERRCODE_UNAVAILABLE, NULL},
    [SITETOKEN_E_PROOF_INVALID] = {ERRCODE_PROOF_INVALID, "invalid_dpop_proof"},
    [SITETOKEN_E_PROOF_REPLAYED] = {ERRCODE_PROOF_REPLAYED, "invalid_dpop_proof"},
    [SITETOKEN_E_BINDING_MISMATCH] = {ERRCODE_BINDING_MISMATCH, "invalid_dpop_proof"},
    [SITETOKEN_E_RATE_LIMITED] = {ERRCODE_RATE_LIMITED, NULL},
    [SITETOKEN_E_BULK_TOKEN_BLOCKED] = {ERRCODE_BULK_TOKEN_BLOCKED, NULL},
};

static void
gw_set(struct gw_answer *out, int st, const char *detail)
{
    if (st < 0 || (size_t)st >= sizeof(gw_results) / sizeof(gw_results[0]))
        st = SITETOKEN_E_UNAVAILABLE;
    out->code = gw_results[st].code;
    out->www_error = gw_results[st].www;
    out->detail = detail;
    if (st == SITETOKEN_E_RATE_LIMITED)
        out->retry_after = 1;
}

static void
gw_refuse(struct gw_answer *out, enum errcode code, const char *www, const char *detail)
{
    out->code = code;
    out->www_error = www;
    out->detail = detail;
}

/* The one value of a header: NULL when absent; *many set when repeated. */
static const char *
gw_header(struct evhttp_request *req, const char *name, int *many)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *v = NULL;
    struct evkeyval *kv;
    int n = 0;

    TAILQ_FOREACH(kv, h, next)
    if (strcasecmp(kv->key, name) == 0) {
        v = kv->value;
        n++;
    }
    if (many != NULL)
        *many = n > 1;
    return v;
}

static int
gw_is_token_char(int c)
{
    return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Method, and the absolute URL of the original request. 0 or -1 (*why). */
static int
gw_rebuild(struct gw *g, struct evhttp_request *req, char *method, size_t msz, char *url,
           size_t usz, const char **why)
{
    static const char *const methods[] = {"GET",     "POST",  "HEAD",    "PUT",  "DELETE",
                                          "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    const char *m, *path, *proto, *host;
    char own[GW_URL_MAX + 1];
    int many = 0, many2 = 0;
    size_t n;

    if ((m = gw_header(req, "X-Forwarded-Method", &many)) == NULL)
        m = gw_header(req, "X-Original-Method", &many);
    if (m == NULL) {
        int t = evhttp_request_get_command(req);

        m = "GET";
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
            if (t == (1 << i))
                m = methods[i];
    }
    if (many || (n = strlen(m)) == 0 || n >= msz) {
        *why = "the original method is missing, repeated or too long";
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!gw_is_token_char((unsigned char)m[i])) {
            *why = "the original method is not an HTTP token";
            return -1;
        }
    memcpy(method, m, n + 1);
    if ((path = gw_header(req, "X-Forwarded-Uri", &many)) == NULL)
        path = gw_header(req, "X-Original-URI", &many);
    if (path == NULL) {
        /* Envoy's path-prefix mode: the request path past /auth. */
        const char *uri = evhttp_request_get_uri(req);

        if (uri == NULL || strlen(uri) > GW_URL_MAX || strncmp(uri, "/auth", 5) != 0) {
            *why = "cannot rebuild the original path";
            return -1;
        }
        snprintf(own, sizeof(own), "%s", uri[5] == '\0' || uri[5] == '?' ? "/" : uri + 5);
        path = own;
    }
    if (many || path[0] != '/' || strlen(path) > GW_URL_MAX) {
        *why = "the original path is missing, repeated, not absolute or too long";
        return -1;
    }
    if (*g->cfg.public_origin != '\0') {
        n = (size_t)snprintf(url, usz, "%s%s", g->cfg.public_origin, path);
    } else {
        proto = gw_header(req, "X-Forwarded-Proto", &many);
        host = gw_header(req, "X-Forwarded-Host", &many2);
        if (many || many2 || (proto != NULL && strchr(proto, ',') != NULL) ||
            (host != NULL && strchr(host, ',') != NULL)) {
            *why = "X-Forwarded-Proto and X-Forwarded-Host must be one value each";
            return -1;
        }
        if (host == NULL)
            host = gw_header(req, "Host", &many2);
        if (host == NULL || *host == '\0' || many2) {
            *why = "no host to rebuild the original URL";
            return -1;
        }
        n = (size_t)snprintf(url, usz, "%s://%s%s", proto != NULL ? proto : "http", host, path);
    }
    if (n >= usz) {
        *why = "the original URL is too long";
        return -1;
    }
    return 0;
}

/* The credential of an Authorization header: scheme DPoP or Bearer. */
static const char *
gw_credential(struct evhttp_request *req, const char *want, int *other_scheme, int *many)
{
    const char *a = gw_header(req, "Authorization", many), *sp;

    *other_scheme = 0;
    if (a == NULL)
        return NULL;
    if ((sp = strchr(a, ' ')) == NULL)
        return NULL;
    if ((size_t)(sp - a) != strlen(want) || strncasecmp(a, want, (size_t)(sp - a)) != 0)
        *other_scheme = 1;
    while (*sp == ' ')
        sp++;
    return *sp != '\0' ? sp : NULL;
}

static void
gw_fill_ids(struct gw_answer *out, const struct sitetoken_claims *c)
{
    snprintf(out->device_id, sizeof(out->device_id), "%s", c->sub);
    snprintf(out->token_id, sizeof(out->token_id), "%s", c->jti);
    snprintf(out->site, sizeof(out->site), "%s", c->site);
}

/* The verified access token's labels claim as the X-Sitetoken-Labels value
 * ("ring=pilot, site=lab4"); "" when it has none or they are not labels. */
static void
gw_fill_labels(struct gw_answer *out, const char *tok)
{
    const char *p1 = strchr(tok, '.'), *p2 = p1 != NULL ? strchr(p1 + 1, '.') : NULL;
    char canon[LABELS_TEXT_MAX], why[160];
    uint8_t *payload = NULL;
    size_t len = 0;
    json_t *claims = NULL, *labels;

    out->labels[0] = '\0';
    if (p2 == NULL || b64url_decode(p1 + 1, (size_t)(p2 - p1 - 1), &payload, &len) == -1)
        return;
    claims = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, NULL);
    free(payload);
    labels = json_object_get(claims, "labels");
    if (labels != NULL && labels_check(labels, why, sizeof(why)) == 0) {
        labels_canon(labels, canon);
        labels_header(canon, out->labels, sizeof(out->labels));
    }
    json_decref(claims);
}

/* An unknown kid: refetch the keys, at most once per kid_cooldown. */
static void
gw_unknown_kid(struct gw *g)
{
    int64_t now = gw_mono_ms(), last = atomic_load(&g->last_kid_refetch_ms);

    /* One loop wins the compare-and-swap: one refetch per cooldown in all. */
    if (last >= 0 && now - last < g->cfg.kid_cooldown * 1000)
        return;
    if (atomic_compare_exchange_strong(&g->last_kid_refetch_ms, &last, now))
        gw_fetch_want_keys(g);
}

static int
gw_ready(struct gw *g, struct gw_answer *out)
{
    if (!gw_fresh(g)) {
        gw_refuse(out, ERRCODE_UNAVAILABLE, NULL,
                  "the gateway's revocation state is not confirmed (fail closed)");
        out->retry_after = 1;
        return 0;
    }
    return 1;
}

void
gw_auth_check(struct gw *g, struct evhttp_request *req, struct gw_answer *out)
{
    char method[33], url[GW_URL_MAX + 1];
    const char *why = NULL, *tok, *proof;
    struct sitetoken_claims c;
    int other = 0, many = 0, st;
    int64_t now = gw_now(g);

    memset(out, 0, sizeof(*out));
    if (!gw_ready(g, out))
        return;
    if (gw_rebuild(g, req, method, sizeof(method), url, sizeof(url), &why) == -1) {
        gw_refuse(out, ERRCODE_INVALID_REQUEST, NULL, why);
        return;
    }
    if ((tok = gw_credential(req, "DPoP", &other, &many)) == NULL || many) {
        gw_refuse(out, ERRCODE_UNAUTHENTICATED, "",
                  "an access token is needed: "
                  "Authorization: DPoP <token> and DPoP: <proof>");
        return;
    }
    if (strlen(tok) > GW_TOKEN_MAX) {
        gw_refuse(out, ERRCODE_INVALID_REQUEST, "invalid_token", "the token is too long");
        return;
    }
    pthread_rwlock_rdlock(&g->lock);
    st = sitetoken_verify(g->v, tok, strlen(tok), SITETOKEN_KIND_ACCESS, now, &c);
    if (st == SITETOKEN_OK)
        st = sitetoken_revocations_check(g->revs, &c, now);
    pthread_rwlock_unlock(&g->lock);
    if (st == SITETOKEN_E_UNKNOWN_KEY)
        gw_unknown_kid(g);
    if (st != SITETOKEN_OK) {
        gw_set(out, st,
               st == SITETOKEN_E_WRONG_TOKEN_TYPE
                   ? "only an access token for this gateway's audience is a credential"
               : st == SITETOKEN_E_TOKEN_REVOKED
                   ? "the token, its family or its device is revoked or blocked"
                   : "the access token does not verify");
        if (st == SITETOKEN_E_TOKEN_REVOKED)
            gw_fill_ids(out, &c);
        return;
    }
    gw_fill_ids(out, &c);
    gw_fill_labels(out, tok); /* the signature verified: the payload is the authority's */
    if (other) {
        gw_refuse(out, ERRCODE_PROOF_INVALID, "invalid_token",
                  "access tokens are DPoP-bound: use Authorization: DPoP");
        return;
    }
    if ((proof = gw_header(req, "DPoP", &many)) == NULL || many || strlen(proof) > GW_TOKEN_MAX) {
        gw_refuse(out, ERRCODE_PROOF_INVALID, "invalid_dpop_proof",
                  "exactly one DPoP proof header is needed");
        return;
    }
    pthread_rwlock_rdlock(&g->lock);
    st = sitetoken_verify_dpop(g->v, g->replay, proof, strlen(proof), method, url, tok, strlen(tok),
                               &c, now);
    pthread_rwlock_unlock(&g->lock);
    if (st == SITETOKEN_E_INVALID_REQUEST) {
        gw_refuse(out, ERRCODE_INVALID_REQUEST, NULL, "the original URL cannot be normalised");
        return;
    }
    gw_set(out, st,
           st == SITETOKEN_E_PROOF_REPLAYED     ? "this DPoP proof was used before"
           : st == SITETOKEN_E_BINDING_MISMATCH ? "the proof's key is not the token's key"
           : st == SITETOKEN_E_RATE_LIMITED     ? "the replay cache is full: retry"
                                                : "the DPoP proof does not fit this request");
}

/* Per-source-address refusal budget in g->budget: a fixed table of
 * one-minute windows; an address that collides with another takes its slot
 * (the worst case is a fresh budget, never a refusal of someone innocent
 * beyond their own). */
static struct gw_budget_slot *
gw_budget_slot(struct gw *g, const char *addr, int64_t minute)
{
    uint64_t h = 1469598103934665603ULL;
    struct gw_budget_slot *s;

    for (const char *p = addr; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    s = &g->budget[h % GW_BUDGET_SLOTS];
    if (strcmp(s->addr, addr) != 0 || s->window != minute) {
        snprintf(s->addr, sizeof(s->addr), "%s", addr);
        s->window = minute;
        s->refusals = 0;
    }
    return s;
}

/* The source address: the last X-Forwarded-For hop when the peer is a
 * trusted proxy, else the peer. */
static void
gw_source(struct gw *g, struct evhttp_request *req, char *out, size_t outsz)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    const char *peer = NULL, *xff, *last;
    ev_uint16_t port;
    size_t n;

    if (conn != NULL)
        evhttp_connection_get_peer(conn, (char **)&peer, &port);
    snprintf(out, outsz, "%s", peer != NULL ? peer : "");
    if (peer == NULL || !gw_config_trusted(&g->cfg, peer) ||
        (xff = gw_header(req, "X-Forwarded-For", NULL)) == NULL)
        return;
    last = strrchr(xff, ',');
    last = last != NULL ? last + 1 : xff;
    while (*last == ' ')
        last++;
    n = strcspn(last, " ");
    if (n > 0 && n < outsz) {
        memcpy(out, last, n);
        out[n] = '\0';
    }
}

void
gw_auth_enrol(struct gw *g, struct evhttp_request *req, struct gw_answer *out)
{
    struct sitetoken_claims c;
    const char *tok;
    char src[64];
    int other = 0, many = 0, st, spent;
    int64_t now = gw_now(g), mono = gw_mono_ms();

    memset(out, 0, sizeof(*out));
    gw_source(g, req, src, sizeof(src));
    pthread_mutex_lock(&g->budget_mu);
    spent = gw_budget_slot(g, src, mono / 60000)->refusals >= g->cfg.enrol_refusals;
    pthread_mutex_unlock(&g->budget_mu);
    if (spent) {
        gw_refuse(out, ERRCODE_RATE_LIMITED, NULL,
                  "too many refused enrolment attempts from this address");
        out->retry_after = (int)(60 - (mono / 1000) % 60);
        return;
    }
    if (!gw_ready(g, out))
        return;
    tok = gw_credential(req, "Bearer", &other, &many);
    if (tok == NULL || other || many) {
        gw_refuse(out, ERRCODE_UNAUTHENTICATED, "",
                  "a bulk token is needed: "
                  "Authorization: Bearer <bulk token>");
    } else if (strlen(tok) > GW_TOKEN_MAX) {
        gw_refuse(out, ERRCODE_INVALID_REQUEST, "invalid_token", "the token is too long");
    } else {
        pthread_rwlock_rdlock(&g->lock);
        st = sitetoken_verify_bulk(g->v, tok, strlen(tok), now, &c);
        if (st == SITETOKEN_OK)
            st = sitetoken_revocations_check_bulk(g->revs, &c, now);
        pthread_rwlock_unlock(&g->lock);
        if (st == SITETOKEN_E_UNKNOWN_KEY)
            gw_unknown_kid(g);
        gw_set(out, st, st == SITETOKEN_OK ? NULL : "the bulk token is not good for enrolment");
        if (st == SITETOKEN_OK || st == SITETOKEN_E_BULK_TOKEN_BLOCKED) {
            snprintf(out->token_id, sizeof(out->token_id), "%s", c.jti);
            snprintf(out->site, sizeof(out->site), "%s", c.site);
        }
    }
    if (out->code != ERRCODE_OK) {
        pthread_mutex_lock(&g->budget_mu);
        gw_budget_slot(g, src, mono / 60000)->refusals++;
        pthread_mutex_unlock(&g->budget_mu);
    }
}
