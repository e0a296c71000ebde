/* The MP API: registrations, exchanges, renewals, access tokens and
 * introspection; the routes, the op's lifecycle, the loop side and the
 * worker half. On the event loop the request gate (http.c) has refused a
 * missing or malformed credential and checked the body; the rest of the work
 * is a worker's: it authenticates the MP against the store, admits it by its
 * rate limits (keyed on its identity), verifies the proof and any presented
 * token and signs the new one. Introspection and refusals go straight back to
 * the loop; an issuance goes on to the writer (mpapi_apply.c), which checks
 * replay (and the MP's replay quota), bulk counters, device and token state
 * inside the group commit and records the token and the proof's jti. The
 * reply (with the token) is sent from done() on the loop, after the commit:
 * no token leaves before its record is durable. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "auth.h"
#include "body.h"
#include "bulkcache.h"
#include "clock.h"
#include "committer.h"
#include "config.h"
#include "devices.h"
#include "enrol.h"
#include "http.h"
#include "ids.h"
#include "jwt.h"
#include "labels.h"
#include "log.h"
#include "mpapi.h"
#include "mpapi_int.h"
#include "proof.h"
#include "ratelimit.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"
#include "timefmt.h"
#include "workers.h"

const struct mpapi_kind_info mpapi_kinds[] = {
    [MPAPI_REGISTER] = {"register", "token.register", 201},
    [MPAPI_EXCHANGE] = {"exchange", "token.exchange", 201},
    [MPAPI_RENEW] = {"renew", "token.renew", 200},
    [MPAPI_ACCESS] = {"access", "token.access", 200},
    [MPAPI_INTROSPECT] = {"introspect", NULL, 200},
};

static void
mpapi_op_free(struct mpapi_op *m)
{
    if (m->token != NULL)
        OPENSSL_clear_free(m->token, strlen(m->token));
    if (m->reply_text != NULL) {
        OPENSSL_cleanse(m->reply_text, strlen(m->reply_text));
        free(m->reply_text);
    }
    OPENSSL_cleanse(m->authorization, sizeof(m->authorization));
    json_decref(m->body);
    json_decref(m->reply);
    json_decref(m->labels);
    enrol_clear(&m->enrol);
    free(m);
}

/* Loop thread, after the commit. */
static void
mpapi_done(struct commit_op *op)
{
    struct mpapi_op *m = (struct mpapi_op *)op;
    struct http_req *req = m->req;
    struct evbuffer *buf;

    if (m->kind == MPAPI_EXCHANGE && m->env->ratelimit != NULL)
        ratelimit_exchange_done(m->env->ratelimit, &m->rl, op->code, clock_mono_us());
    enrol_done(&m->enrol, m->env->bulkrate, m->tok.bulk_id, op->code);
    if (m->mp.name[0] != '\0') {
        req->actor = log_actor("mp", m->mp.name, req->actor_buf, sizeof(req->actor_buf));
    }
    if (op->code != ERRCODE_OK) {
        if (op->code == ERRCODE_UNAUTHENTICATED)
            auth_challenge(req);
        if (op->code == ERRCODE_RATE_LIMITED && m->rl.retry_after > 0) {
            char secs[16];

            snprintf(secs, sizeof(secs), "%d", m->rl.retry_after);
            http_add_header(req, "Retry-After", secs);
        }
        http_reply_problem(req, op->code, "%s", op->detail);
        mpapi_op_free(m);
        return;
    }
    if (m->kind == MPAPI_INTROSPECT) {
        http_reply_json(req, 200, m->reply);
        m->reply = NULL;
        mpapi_op_free(m);
        return;
    }
    log_info("event=issue rid=%llx actor=%s kind=%s jti=%s device=%s kid=%s superseded=%d",
             (unsigned long long)req->id, req->actor, m->tok.kind, m->tok.jti, m->tok.device_id,
             m->tok.kid, m->superseded);
    if ((buf = evbuffer_new()) == NULL || m->reply_text == NULL ||
        evbuffer_add(buf, m->reply_text, strlen(m->reply_text)) == -1) {
        if (buf != NULL)
            evbuffer_free(buf);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        mpapi_op_free(m);
        return;
    }
    http_add_header(req, "Cache-Control", "no-store");
    http_reply_buffer(req, mpapi_kinds[m->kind].status, "application/json", buf);
    evbuffer_free(buf);
    mpapi_op_free(m);
}

/* Worker thread: the answer of an issuance (every field is fixed once the
 * token is signed; the writer only adds the family), as JSON text with a
 * newline; NULL when out of memory. Cleanse before free: it holds the token. */
static char *
mpapi_reply_text(const struct mpapi_op *m)
{
    char exp[TIMEFMT_LEN + 1], *text, *out = NULL;
    json_t *doc;
    size_t len;

    timefmt_rfc3339(m->tok.expires_at, exp);
    if (m->kind == MPAPI_ACCESS) {
        doc = json_pack("{s:s, s:s, s:s, s:s}", "access_token", m->token, "token_id", m->tok.jti,
                        "device_id", m->tok.device_id, "expires_at", exp);
    } else {
        doc =
            json_pack("{s:s, s:s, s:s, s:s, s:I}", "device_id", m->tok.device_id, "token", m->token,
                      "token_id", m->tok.jti, "expires_at", exp, "gen", (json_int_t)m->tok.gen);
        if (doc != NULL && m->kind == MPAPI_EXCHANGE)
            json_object_set_new(doc, "bulk_token_id", json_string(m->tok.bulk_id));
    }
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL)
        return NULL;
    len = strlen(text);
    if ((out = malloc(len + 2)) != NULL) {
        memcpy(out, text, len);
        memcpy(out + len, "\n", 2);
    }
    OPENSSL_cleanse(text, len);
    free(text);
    return out;
}

/* The claims of a new client or access token. Only an access token names
 * the gateways in aud; a client token is for this authority alone
 * (DESIGN.md, "The tokens"). */
static json_t *
mpapi_claims(struct sitetokend *env, const struct mpapi_op *m, int64_t now)
{
    const struct config *cfg = env->cfg;
    const struct jwt_mint mint = {
        .kind = m->kind == MPAPI_ACCESS ? JWT_KIND_ACCESS : JWT_KIND_CLIENT,
        .iss = cfg->issuer,
        .aud = m->kind == MPAPI_ACCESS ? cfg->audience : cfg->issuer,
        .site = cfg->site_code,
        .jti = m->tok.jti,
        .iat = now,
        .exp = m->tok.expires_at,
        .sub = m->tok.device_id,
        .jkt = m->dev.jkt,
        .reg = m->dev.reg,
        .bulk = m->tok.bulk_id,
        .gen = m->tok.gen,
        .labels = m->labels,
    };

    return jwt_claims_new(&mint);
}

static void
mpapi_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct mpapi_op *m = arg;

    mpapi_done(&m->op);
}

/* Worker: hands a refusal (or introspection's answer) back to the loop. */
static void
mpapi_finish(struct mpapi_op *m, enum errcode code)
{
    static const struct timeval now = {0, 0};

    m->op.code = code;
    if (event_base_once(m->env->base, -1, EV_TIMEOUT, mpapi_done_cb, m, &now) == -1)
        mpapi_done(&m->op); /* only when the loop is gone */
}

/* Worker half of introspection: signature and claims, then the store's word
 * on the token and its device. */
static enum errcode
mpapi_introspect_work(struct mpapi_op *m, struct worker_ctx *ctx, struct signer_keys *keys)
{
    const struct config *cfg = m->env->cfg;
    const char *errstr = NULL, *token = body_str(m->body, "token");
    struct jwt_claims c;
    struct store_token t;
    struct store_device d;
    char exp[TIMEFMT_LEN + 1];
    enum errcode code = ERRCODE_WRONG_TOKEN_TYPE;
    int rc;

    memset(&c, 0, sizeof(c));
    for (int k = JWT_KIND_CLIENT; k <= JWT_KIND_ACCESS; k++) {
        /* client tokens: aud the issuer, or the gateways before that rule */
        const struct jwt_expect want = {.kind = (enum jwt_kind)k,
                                        .iss = cfg->issuer,
                                        .aud = k == JWT_KIND_ACCESS ? cfg->audience : cfg->issuer,
                                        .aud_legacy = k == JWT_KIND_ACCESS ? NULL : cfg->audience,
                                        .now = clock_now(m->env),
                                        .skew = cfg->clock_skew_ms / 1000};

        jwt_claims_clear(&c);
        code = signer_verify(keys, token, &want, &c, &errstr);
        if (code != ERRCODE_WRONG_TOKEN_TYPE)
            break;
    }
    if (code == ERRCODE_OK) {
        rc = store_token_get(ctx->store, c.jti, &t, &errstr);
        if (rc == -1) {
            jwt_claims_clear(&c);
            return commit_op_store_fail(&m->op, errstr);
        }
        if (rc == 1 || t.revoked_at != 0)
            code = ERRCODE_TOKEN_REVOKED;
        else if ((rc = store_device_get(ctx->store, t.device_id, &d, &errstr)) != 0 || d.blocked)
            code = rc == -1 ? ERRCODE_UNAVAILABLE : ERRCODE_DEVICE_BLOCKED;
    }
    if (code == ERRCODE_OK) {
        timefmt_rfc3339(c.exp, exp);
        m->reply =
            json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "active", 1, "type", jwt_kind_name(c.kind),
                      "device_id", c.sub, "token_id", c.jti, "expires_at", exp, "kid", c.kid);
        if (m->reply != NULL && c.kind == JWT_KIND_CLIENT) /* access tokens have no gen */
            json_object_set_new(m->reply, "gen", json_integer(c.gen < 0 ? 0 : c.gen));
    } else {
        m->reply = json_pack("{s:b, s:s}", "active", 0, "reason", errcode_name(code));
    }
    jwt_claims_clear(&c);
    return ERRCODE_OK;
}

/* Worker half of every issuing route: verify, decide the device, sign. */
static enum errcode
mpapi_issue_work(struct mpapi_op *m, struct worker_ctx *ctx, struct signer_keys *keys)
{
    struct sitetokend *env = m->env;
    const struct config *cfg = env->cfg;
    const enum mpapi_kind kind = m->kind;
    struct proof_result proof;
    struct bulkcache_claims presented;
    char labels[LABELS_TEXT_MAX]; /* the presented token's, canonical (from the cache) */
    struct jwt_claims full;
    struct store_device known;
    const char *errstr = "", *token = NULL;
    char ath[JWK_THUMBPRINT_LEN + 1];
    int64_t now = clock_now(env), skew = cfg->clock_skew_ms / 1000;
    json_t *claims = NULL;
    enum errcode code;
    int rc;

    memset(&proof, 0, sizeof(proof));
    memset(&presented, 0, sizeof(presented));

    /* A presented client token (renew, access): valid, and its ath. */
    if (kind == MPAPI_RENEW || kind == MPAPI_ACCESS) {
        const struct jwt_expect want = {.kind = JWT_KIND_CLIENT,
                                        .iss = cfg->issuer,
                                        .aud = cfg->issuer,
                                        .aud_legacy = cfg->audience,
                                        .now = now,
                                        .skew = skew};

        token = body_str(m->body, "token");
        /* signature once per token (issue 14); kid, window every time, and
         * revocation and the device in the writer */
        code = bulkcache_verify_claims(env->clientcache, token, keys->jwks, &want, &presented,
                                       labels, &errstr);
        if (code == ERRCODE_UNKNOWN_KEY || (code == ERRCODE_OK && presented.has_labels == -1)) {
            /* not in the key set: perhaps revoked after a leak (token_revoked,
             * not unknown_key); a labels claim that is not labels (never
             * signed here) travels as it is: both need the token's own claims */
            memset(&full, 0, sizeof(full));
            code = signer_verify(keys, token, &want, &full, &errstr);
            if (code == ERRCODE_OK)
                m->labels = json_deep_copy(json_object_get(full.claims, "labels"));
            jwt_claims_clear(&full);
        } else if (code == ERRCODE_OK && presented.has_labels == 1 &&
                   (m->labels = labels_parse(labels)) == NULL) {
            code = commit_op_fail(&m->op, ERRCODE_UNAVAILABLE, "%s", "out of memory (labels)");
            goto done;
        }
        if (code != ERRCODE_OK) {
            code = commit_op_fail(&m->op, code, "token: %s", errstr);
            goto done;
        }
        proof_ath(token, strlen(token), ath);
    }

    /* The device's proof of possession. */
    {
        /* renew, access: the key the token is bound to, checked before
         * the signature; register, exchange: a new key, held to the
         * enrolment rules */
        const struct proof_expect want = {.aud = cfg->issuer,
                                          .act = mpapi_kinds[kind].act,
                                          .ath = token != NULL ? ath : NULL,
                                          .jkt = token != NULL && presented.jkt[0] ? presented.jkt
                                                                                   : NULL,
                                          .now = now,
                                          .skew = skew};
        const char *p = body_str(m->body, "proof");

        code = proof_verify(p, strlen(p), &want, &proof, &errstr);
        if (code != ERRCODE_OK) {
            code = commit_op_fail(&m->op, code, "proof: %s", errstr);
            goto done;
        }
        snprintf(m->proof_jti, sizeof(m->proof_jti), "%s", proof.jti);
        m->proof_iat = proof.iat;
    }

    if (token != NULL) {
        if (strlen(presented.jkt) != strlen(proof.jkt) ||
            !ids_ct_equal(presented.jkt, proof.jkt, strlen(proof.jkt))) {
            code = commit_op_fail(&m->op, ERRCODE_BINDING_MISMATCH, "%s",
                                  "the proof's key is not the key the token is bound to");
            goto done;
        }
        /* a token signed by a tainted key may be renewed at once */
        if (kind == MPAPI_RENEW && now - presented.iat < cfg->renew_after_ms / 1000 &&
            !signer_kid_tainted(env->signer, presented.kid)) {
            char when[TIMEFMT_LEN + 1];
            struct store_token row;

            /* A revoked token is dead, not early: say so (the writer
             * decides every other case, this read only orders answers). */
            if (store_token_get(ctx->store, presented.jti, &row, &errstr) == 0 &&
                row.revoked_at != 0) {
                code = commit_op_fail(&m->op, ERRCODE_TOKEN_REVOKED, "token %s is revoked",
                                      presented.jti);
                goto done;
            }

            timefmt_rfc3339(presented.iat + cfg->renew_after_ms / 1000, when);
            code = commit_op_fail(&m->op, ERRCODE_CONFLICT, "too early to renew: renewable from %s",
                                  when);
            goto done;
        }
        snprintf(m->presented, sizeof(m->presented), "%s", presented.jti);
        snprintf(m->dev.id, sizeof(m->dev.id), "%s", presented.sub);
        snprintf(m->dev.jkt, sizeof(m->dev.jkt), "%s", presented.jkt);
        snprintf(m->dev.reg, sizeof(m->dev.reg), "%s", presented.reg);
        /* renewals and (for the blast radius) access tokens record the bulk
         * token the device came by; only a client token says so in a claim */
        snprintf(m->tok.bulk_id, sizeof(m->tok.bulk_id), "%s", presented.bulk);
        m->tok.gen = kind == MPAPI_RENEW ? presented.gen + 1 : 0;
        /* renewals link old and new; access tokens name the client token */
        snprintf(m->tok.prev_jti, sizeof(m->tok.prev_jti), "%s", presented.jti);
        /* labels travel with the family: the presented token's (m->labels,
         * from the cache's canonical text above) */
    } else {
        snprintf(m->dev.jkt, sizeof(m->dev.jkt), "%s", proof.jkt);
        snprintf(m->dev.hardware_id, sizeof(m->dev.hardware_id), "%s",
                 body_str(m->body, "hardware_id"));
        snprintf(m->dev.name, sizeof(m->dev.name), "%s", body_str(m->body, "name"));
        snprintf(m->dev.mp_id, sizeof(m->dev.mp_id), "%s", m->mp.id);
        snprintf(m->dev.reg, sizeof(m->dev.reg), "%s",
                 kind == MPAPI_EXCHANGE ? "bulk" : "intranet");
    }

    /* A bulk token: signature, type, window; its state is the writer's. */
    if (kind == MPAPI_EXCHANGE) {
        const struct jwt_expect want = {.kind = JWT_KIND_BULK,
                                        .iss = cfg->issuer,
                                        .aud = cfg->issuer,
                                        .aud_legacy = cfg->audience,
                                        .now = now,
                                        .skew = 0};
        const char *b = body_str(m->body, "bulk_token");

        code = bulkcache_verify(env->bulkcache, b, keys->jwks, &want, m->tok.bulk_id, m->bulk_hash,
                                &errstr);
        if (code != ERRCODE_OK) {
            code = commit_op_fail(&m->op, code, "bulk_token: %s", errstr);
            goto done;
        }
        snprintf(m->dev.bulk_id, sizeof(m->dev.bulk_id), "%s", m->tok.bulk_id);
        if ((code = enrol_bulk_bounds(&m->enrol, &m->op, ctx->store, env->bulkrate, m->dev.bulk_id,
                                      body_str(m->body, "client_address"), clock_now(env),
                                      &m->rl.retry_after)) != ERRCODE_OK)
            goto done;
    }

    /* Which device: known by its key, or new. The writer re-checks. */
    if (token == NULL) {
        rc = store_device_by_jkt(ctx->store, m->dev.jkt, &known, &errstr);
        if (rc == -1) {
            code = commit_op_store_fail(&m->op, errstr);
            goto done;
        }
        if (rc == 0 && known.blocked) {
            code = commit_op_fail(&m->op, ERRCODE_DEVICE_BLOCKED, "device %s is blocked", known.id);
            goto done;
        }
        if (rc == 0) {
            /* a known device keeps the labels it was enrolled with */
            snprintf(m->dev.id, sizeof(m->dev.id), "%s", known.id);
            snprintf(m->dev.labels, sizeof(m->dev.labels), "%s", known.labels);
        } else {
            ids_device_id(m->dev.id);
            if ((code = enrol_labels(&m->enrol, &m->op, ctx->store, m->mp.id, m->mp.name,
                                     kind == MPAPI_EXCHANGE ? m->dev.bulk_id : NULL,
                                     m->dev.labels)) != ERRCODE_OK)
                goto done;
        }
        if (m->dev.labels[0] != '\0' && (m->labels = labels_parse(m->dev.labels)) == NULL) {
            code = commit_op_fail(&m->op, ERRCODE_UNAVAILABLE, "%s", "unreadable labels");
            goto done;
        }
    }

    /* The new token; a registration or exchange starts a family (renewals
     * and access tokens join the presented token's, in the writer). */
    ids_jti(m->tok.jti);
    if (token == NULL)
        snprintf(m->tok.family, sizeof(m->tok.family), "%s", m->tok.jti);
    snprintf(m->tok.kind, sizeof(m->tok.kind), "%s", kind == MPAPI_ACCESS ? "access" : "client");
    snprintf(m->tok.device_id, sizeof(m->tok.device_id), "%s", m->dev.id);
    snprintf(m->tok.mp_id, sizeof(m->tok.mp_id), "%s", m->mp.id);
    m->tok.issued_at = now;
    m->tok.expires_at =
        now + (kind == MPAPI_ACCESS ? cfg->access_lifetime_ms : cfg->client_lifetime_ms) / 1000;
    if ((claims = mpapi_claims(env, m, now)) == NULL ||
        signer_sign(env->signer, kind == MPAPI_ACCESS ? JWT_KIND_ACCESS : JWT_KIND_CLIENT, claims,
                    &m->token, m->tok.kid) != ERRCODE_OK) {
        code = commit_op_fail(&m->op, ERRCODE_UNAVAILABLE, "%s", "cannot sign");
        goto done;
    }
    if ((m->reply_text = mpapi_reply_text(m)) == NULL) {
        code = commit_op_fail(&m->op, ERRCODE_UNAVAILABLE, "%s", "out of memory");
        goto done;
    }
    code = ERRCODE_OK;
done:
    json_decref(claims);
    proof_result_clear(&proof);
    return code;
}

/* Worker: hands the op on to the writer (mpapi_apply.c), which needs none
 * of the body. */
static void
mpapi_to_writer(struct mpapi_op *m, enum errcode (*apply)(struct commit_op *, struct commit_ctx *))
{
    json_decref(m->body);
    m->body = NULL;
    m->op.apply = apply;
    m->op.refused = mpapi_apply_refused;
    m->op.done = mpapi_done;
    m->op.base = m->env->base;
    committer_submit(m->env->committer, &m->op);
}

static void
mpapi_work(struct work *w, struct worker_ctx *ctx)
{
    struct mpapi_op *m = (struct mpapi_op *)((char *)w - offsetof(struct mpapi_op, work));
    struct signer_keys *keys = NULL;
    const char *why = NULL;
    enum errcode code;

    code = auth_mp_check_cached(m->env->authcache, m->authorization[0] ? m->authorization : NULL,
                                m->cert_sha256, ctx->store, &m->mp, &why);
    if (code != ERRCODE_OK) {
        commit_op_fail(&m->op, code, "%s", why);
        goto refused;
    }
    /* Budgets are the authenticated MP's, whatever spelling the key came in. */
    if (m->env->ratelimit != NULL &&
        (code = ratelimit_admit(m->env->ratelimit, &m->rl, m->mp.identity,
                                m->kind == MPAPI_EXCHANGE ? body_str(m->body, "bulk_token") : NULL,
                                clock_mono_us(), &why)) != ERRCODE_OK) {
        commit_op_fail(&m->op, code, "%s", why);
        goto refused;
    }
    if ((keys = signer_keys_get(m->env->signer)) == NULL) {
        code = commit_op_fail(&m->op, ERRCODE_UNAVAILABLE, "%s", "no signing keys");
        goto refused;
    }
    if (m->kind == MPAPI_INTROSPECT)
        code = mpapi_introspect_work(m, ctx, keys);
    else
        code = mpapi_issue_work(m, ctx, keys);
    signer_keys_put(keys);
    if (m->kind == MPAPI_EXCHANGE && m->tok.bulk_id[0] != '\0' &&
        (code == ERRCODE_TOKEN_EXPIRED || code == ERRCODE_TOKEN_NOT_YET_VALID ||
         code == ERRCODE_FORBIDDEN)) {
        /* A genuine bulk token out of its window: worth an audit record, so
         * the refusal goes through the writer (and only genuine tokens do:
         * forgeries cost no writes). */
        m->early = code;
        mpapi_to_writer(m, mpapi_apply_refusal);
        return;
    }
    if (code != ERRCODE_OK || m->kind == MPAPI_INTROSPECT)
        goto refused;
    mpapi_to_writer(m, mpapi_apply);
    return;
refused:
    mpapi_finish(m, code);
}

/* Loop half of every MP route: the gate has refused a missing or malformed
 * credential and checked the body; everything else goes to a worker. */
static void
mpapi_handle(struct http_req *req, enum mpapi_kind kind)
{
    const char *authz = http_header(req, "Authorization");
    struct mpapi_op *m;

    if ((m = calloc(1, sizeof(*m))) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    m->req = req;
    m->env = req->env;
    m->kind = kind;
    snprintf(m->authorization, sizeof(m->authorization), "%s", authz != NULL ? authz : "");
    snprintf(m->cert_sha256, sizeof(m->cert_sha256), "%s", req->cert_sha256);
    m->body = req->body; /* the op's from now on: it crosses threads */
    req->body = NULL;
    m->work.run = mpapi_work;
    workers_submit(req->env->workers, &m->work);
}

void
mpapi_register(struct http_req *req)
{
    mpapi_handle(req, MPAPI_REGISTER);
}

void
mpapi_exchange(struct http_req *req)
{
    mpapi_handle(req, MPAPI_EXCHANGE);
}

void
mpapi_renew(struct http_req *req)
{
    mpapi_handle(req, MPAPI_RENEW);
}

void
mpapi_access(struct http_req *req)
{
    mpapi_handle(req, MPAPI_ACCESS);
}

void
mpapi_introspect(struct http_req *req)
{
    mpapi_handle(req, MPAPI_INTROSPECT);
}
