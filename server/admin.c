/* Admin handlers: status, bulk tokens, MPs, keys and the debug clock. A change
 * is an admin_op: validated on the loop, applied (with its audit record) by
 * the writer, answered from admin_done after the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "admin.h"
#include "audit.h"
#include "auth.h"
#include "body.h"
#include "bulk.h"
#include "committer.h"
#include "config.h"
#include "feed.h"
#include "http.h"
#include "ids.h"
#include "jwt.h"
#include "log.h"
#include "mps.h"
#include "revocations.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"
#include "timefmt.h"
#include "tls.h"

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

struct admin_op {
    struct commit_op op;  /* first */
    struct http_req *req; /* NULL for the timer's key tick */
    struct sitetokend *env;
    int status;
    json_t *reply; /* sent on success; owned */
    char actor[96];
    struct store_bulk bulk;
    struct store_mp mp;
    enum signer_mode mode;
    char changed[512];
    int reload_keys; /* reload the signer after the commit */
};

static enum errcode
admin_audit(struct admin_op *a, struct commit_ctx *ctx, const char *action, const char *subject,
            json_t *detail /* stolen */)
{
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *errstr = NULL;
    int rc;

    json_decref(detail);
    rc = store_audit_append(ctx->store, ctx->now_ms / 1000, a->actor, action, subject,
                            text != NULL ? text : "{}", &errstr);
    free(text);
    if (rc == -1) {
        snprintf(a->op.detail, sizeof(a->op.detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    return ERRCODE_OK;
}

static void
admin_op_free(struct admin_op *a)
{
    json_decref(a->reply);
    free(a);
}

static void
admin_done(struct commit_op *op)
{
    struct admin_op *a = (struct admin_op *)op;
    const char *errstr = NULL;

    if (op->code == ERRCODE_OK && a->reload_keys && a->changed[0] != '\0') {
        if (signer_reload(a->env->signer, a->env->store, &errstr) == -1) {
            log_error("event=keys_reload error=%s", log_quote(errstr, (char[256]){0}, 256));
            /* Committed but not in force: never report it as done. */
            op->code = ERRCODE_UNAVAILABLE;
            snprintf(op->detail, sizeof(op->detail),
                     "the key change was stored but could not be loaded (%s); the server keeps "
                     "signing with the keys it had",
                     errstr);
        } else {
            log_info("event=keys changed=%s", log_quote(a->changed, (char[600]){0}, 600));
        }
        feed_keys_changed(a->env->feed); /* a keys event on /v1/events */
    }
    if (a->req == NULL) {
        if (op->code != ERRCODE_OK)
            log_warn("event=keys_tick code=%s detail=%s", errcode_name(op->code),
                     log_quote(op->detail, (char[256]){0}, 256));
    } else if (op->code != ERRCODE_OK) {
        http_reply_problem(a->req, op->code, "%s", op->detail);
    } else {
        if (a->reload_keys) {
            json_decref(a->reply);
            a->reply = json_pack("{s:o, s:s}", "items", signer_key_list(a->env->signer), "changed",
                                 a->changed);
        }
        http_reply_json(a->req, a->status, a->reply);
        a->reply = NULL;
    }
    admin_op_free(a);
}

static struct admin_op *
admin_op_new(struct http_req *req, enum errcode (*apply)(struct commit_op *, struct commit_ctx *))
{
    struct admin_op *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return NULL;
    }
    a->req = req;
    a->env = req->env;
    a->status = 200;
    snprintf(a->actor, sizeof(a->actor), "%s", req->actor);
    a->op.apply = apply;
    a->op.done = admin_done;
    a->op.base = req->env->base;
    return a;
}

void
admin_status(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct committer_stats cs;
    char started[TIMEFMT_LEN + 1];

    committer_get_stats(env->committer, &cs);
    timefmt_rfc3339(env->started_at, started);
    http_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:{s:I, s:I, s:I}}",
                  "version", SITETOKEN_VERSION, "started_at", started, "uptime_seconds",
                  (json_int_t)(time(NULL) - env->started_at), "site_code", env->cfg->site_code,
                  "issuer", env->cfg->issuer, "database", store_path(env->store), "config",
                  env->cfg->source, "schema_version", store_schema_version(env->store),
                  "schema_latest", store_schema_latest(), "pid", (json_int_t)getpid(), "commits",
                  "batches", (json_int_t)cs.batches, "ops", (json_int_t)cs.ops, "max_batch",
                  (json_int_t)cs.max_batch));
}

/* Bulk tokens ------------------------------------------------------------ */

static enum errcode
admin_bulk_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const char *errstr = NULL;

    if (store_bulk_insert(ctx->store, &a->bulk, &errstr) == -1) {
        snprintf(op->detail, sizeof(op->detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    return admin_audit(a, ctx, "bulk.create", a->bulk.id,
                       json_pack("{s:I, s:I, s:I, s:s}", "not_before",
                                 (json_int_t)a->bulk.not_before, "expires_at",
                                 (json_int_t)a->bulk.expires_at, "max_uses",
                                 (json_int_t)a->bulk.max_uses, "note", a->bulk.note));
}

void
admin_bulk_create(struct http_req *req)
{
    struct sitetokend *env = req->env;
    const struct config *cfg = env->cfg;
    const struct body_field fields[] = {
        {.name = "lifetime_minutes",
         .type = BODY_INT,
         .min = 1,
         .imax = cfg->bulk_max_lifetime_ms / 60000},
        {.name = "max_uses", .type = BODY_INT, .min = 1, .imax = 1000000000},
        {.name = "note", .type = BODY_TEXT, .max = 256},
    };
    struct admin_op *a = NULL;
    json_t *doc = NULL, *claims = NULL;
    char why[160], kid[65], nbf[TIMEFMT_LEN + 1], exp[TIMEFMT_LEN + 1];
    char *token = NULL;
    int64_t now = sitetokend_now(env), minutes;

    if (http_body_length(req) == 0)
        doc = json_object();
    else if ((doc = http_body_object(req)) == NULL)
        return;
    if (body_check(doc, fields, NFIELDS(fields), why, sizeof(why)) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
        goto done;
    }
    if ((a = admin_op_new(req, admin_bulk_apply)) == NULL)
        goto done;
    minutes = body_int(doc, "lifetime_minutes", cfg->bulk_default_lifetime_ms / 60000);
    ids_uuid7(a->bulk.id); /* time-ordered: its index grows at the right edge */
    a->bulk.created_at = a->bulk.not_before = now;
    a->bulk.expires_at = now + minutes * 60;
    a->bulk.max_uses = body_int(doc, "max_uses", 0);
    snprintf(a->bulk.note, sizeof(a->bulk.note), "%s",
             body_str(doc, "note") != NULL ? body_str(doc, "note") : "");
    snprintf(a->bulk.created_by, sizeof(a->bulk.created_by), "%s", req->actor);
    /* aud = the issuer: only this authority accepts a bulk token (DESIGN.md) */
    claims = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "iss", cfg->issuer, "aud",
                       cfg->issuer, "iat", (json_int_t)now, "nbf", (json_int_t)now, "exp",
                       (json_int_t)a->bulk.expires_at, "jti", a->bulk.id, "site", cfg->site_code);
    if (claims == NULL ||
        signer_sign(env->signer, JWT_KIND_BULK, claims, &token, kid) != ERRCODE_OK) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "cannot sign");
        admin_op_free(a);
        goto done;
    }
    SHA256((const uint8_t *)token, strlen(token), a->bulk.token_hash);
    timefmt_rfc3339(a->bulk.not_before, nbf);
    timefmt_rfc3339(a->bulk.expires_at, exp);
    a->status = 201;
    a->reply = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", a->bulk.id, "token", token,
                         "not_before", nbf, "expires_at", exp, "max_uses",
                         a->bulk.max_uses > 0 ? json_integer(a->bulk.max_uses) : json_null());
    OPENSSL_clear_free(token, strlen(token));
    committer_submit(env->committer, &a->op);
done:
    json_decref(claims);
    json_decref(doc);
}

/* MPs -------------------------------------------------------------------- */

static enum errcode
admin_mp_add_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const char *errstr = NULL;
    int rc = store_mp_insert(ctx->store, &a->mp, &errstr);

    if (rc == 1) {
        snprintf(op->detail, sizeof(op->detail), "%s", errstr);
        return ERRCODE_CONFLICT;
    }
    if (rc == -1) {
        snprintf(op->detail, sizeof(op->detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    return admin_audit(a, ctx, "mp.add", a->mp.id,
                       a->mp.cert_sha256[0] != '\0' ? json_pack("{s:s, s:s}", "name", a->mp.name,
                                                                "cert_sha256", a->mp.cert_sha256)
                                                    : json_pack("{s:s}", "name", a->mp.name));
}

void
admin_mp_add(struct http_req *req)
{
    static const struct body_field fields[] = {
        {.name = "name", .type = BODY_TEXT, .required = 1, .max = 128},
    };
    struct admin_op *a;
    json_t *doc, *cert;
    const char *cert_err = NULL;
    char why[160], key[64], fp[TLS_FINGERPRINT_LEN + 1] = "";

    if ((doc = http_body_object(req)) == NULL)
        return;
    /* certificate (optional): a PEM client certificate; only its SHA-256
     * fingerprint is kept. Checked here because PEM has line breaks. */
    if ((cert = json_object_get(doc, "certificate")) != NULL && !json_is_null(cert)) {
        if (!json_is_string(cert) || json_string_length(cert) > 16384 ||
            tls_pem_fingerprint(json_string_value(cert), json_string_length(cert), fp, &cert_err) ==
                -1) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s",
                               cert_err != NULL ? cert_err : "certificate: a PEM string");
            json_decref(doc);
            return;
        }
    }
    json_object_del(doc, "certificate");
    if (body_check(doc, fields, NFIELDS(fields), why, sizeof(why)) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
        json_decref(doc);
        return;
    }
    if ((a = admin_op_new(req, admin_mp_add_apply)) == NULL) {
        json_decref(doc);
        return;
    }
    ids_uuid4(a->mp.id);
    snprintf(a->mp.name, sizeof(a->mp.name), "%s", body_str(doc, "name"));
    snprintf(a->mp.cert_sha256, sizeof(a->mp.cert_sha256), "%s", fp);
    json_decref(doc);
    a->mp.created_at = sitetokend_now(req->env);
    auth_new_key(key, a->mp.key_hash);
    a->status = 201;
    a->reply = json_pack("{s:s, s:s, s:s}", "id", a->mp.id, "name", a->mp.name, "api_key", key);
    OPENSSL_cleanse(key, sizeof(key));
    committer_submit(req->env->committer, &a->op);
}

static int
admin_mp_list_cb(const struct store_mp *mp, void *arg)
{
    char created[TIMEFMT_LEN + 1];

    timefmt_rfc3339(mp->created_at, created);
    json_array_append_new(
        arg,
        json_pack("{s:s, s:s, s:s, s:o}", "id", mp->id, "name", mp->name, "created_at", created,
                  "cert_sha256", mp->cert_sha256[0] ? json_string(mp->cert_sha256) : json_null()));
    return 0;
}

void
admin_mp_list(struct http_req *req)
{
    json_t *items = json_array();
    const char *errstr = NULL;

    if (store_mp_list(req->env->store, admin_mp_list_cb, items, &errstr) == -1) {
        json_decref(items);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next"));
}

static enum errcode
admin_mp_remove_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const char *errstr = NULL;
    int rc = store_mp_remove(ctx->store, a->mp.id, ctx->now_ms / 1000, &errstr);

    if (rc == 1) {
        snprintf(op->detail, sizeof(op->detail), "no MP %s", a->mp.id);
        return ERRCODE_NOT_FOUND;
    }
    if (rc == -1) {
        snprintf(op->detail, sizeof(op->detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    return admin_audit(a, ctx, "mp.remove", a->mp.id, NULL);
}

void
admin_mp_remove(struct http_req *req)
{
    struct admin_op *a;

    if (!ids_is_uuid4(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such MP");
        return;
    }
    if ((a = admin_op_new(req, admin_mp_remove_apply)) == NULL)
        return;
    snprintf(a->mp.id, sizeof(a->mp.id), "%.36s", req->params[0]);
    a->reply = json_pack("{s:s, s:b}", "id", a->mp.id, "removed", 1);
    committer_submit(req->env->committer, &a->op);
}

/* Keys ------------------------------------------------------------------- */

void
admin_keys_list(struct http_req *req)
{
    http_reply_json(req, 200,
                    json_pack("{s:o, s:n}", "items", signer_key_list(req->env->signer), "next"));
}

static enum errcode
admin_keys_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    enum errcode code =
        signer_lifecycle(a->env->signer, ctx->store, ctx->now_ms / 1000, a->mode, a->changed,
                         sizeof(a->changed), op->detail, sizeof(op->detail));

    if (code != ERRCODE_OK)
        return code;
    /* The timer also drops revocation entries nobody needs any more (the
     * feed already hides them; serials never go back). */
    if (a->mode == SIGNER_TICK) {
        const char *errstr = NULL;

        if (store_revocation_prune(ctx->store, ctx->now_ms / 1000, &errstr) == -1) {
            snprintf(op->detail, sizeof(op->detail), "store: %s", errstr);
            return ERRCODE_UNAVAILABLE;
        }
    }
    if (a->changed[0] == '\0')
        return ERRCODE_OK;
    return admin_audit(a, ctx, a->mode == SIGNER_TICK ? "keys.lifecycle" : "keys.rotate", "keys",
                       json_pack("{s:s}", "changed", a->changed));
}

void
admin_keys_rotate(struct http_req *req)
{
    static const struct body_field fields[] = {
        {.name = "now", .type = BODY_BOOL},
    };
    struct admin_op *a;
    json_t *doc;
    char why[160];

    if (http_body_length(req) == 0)
        doc = json_object();
    else if ((doc = http_body_object(req)) == NULL)
        return;
    if (body_check(doc, fields, NFIELDS(fields), why, sizeof(why)) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
        json_decref(doc);
        return;
    }
    if ((a = admin_op_new(req, admin_keys_apply)) == NULL) {
        json_decref(doc);
        return;
    }
    a->mode = json_is_true(json_object_get(doc, "now")) ? SIGNER_ROTATE_NOW : SIGNER_ROTATE;
    a->reload_keys = 1;
    json_decref(doc);
    committer_submit(req->env->committer, &a->op);
}

int
admin_keys_tick_sync(struct sitetokend *env, const char **errstr)
{
    struct admin_op a;

    memset(&a, 0, sizeof(a));
    a.env = env;
    a.mode = SIGNER_TICK;
    snprintf(a.actor, sizeof(a.actor), "system");
    a.op.apply = admin_keys_apply;
    if (committer_run(env->committer, &a.op) != ERRCODE_OK) {
        *errstr = "the key lifecycle step failed";
        return -1;
    }
    if (a.changed[0] != '\0')
        log_info("event=keys changed=%s", log_quote(a.changed, (char[600]){0}, 600));
    return signer_reload(env->signer, env->store, errstr);
}

void
admin_keys_tick(struct sitetokend *env)
{
    struct admin_op *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return;
    a->env = env;
    a->mode = SIGNER_TICK;
    a->reload_keys = 1;
    snprintf(a->actor, sizeof(a->actor), "system");
    a->op.apply = admin_keys_apply;
    a->op.done = admin_done;
    a->op.base = env->base;
    committer_submit(env->committer, &a->op);
}

/* Debug clock ------------------------------------------------------------ */

void
admin_debug_clock(struct http_req *req)
{
    static const struct body_field fields[] = {
        {.name = "offset_seconds",
         .type = BODY_INT,
         .required = 1,
         .min = -3153600000LL,
         .imax = 3153600000LL},
    };
    struct sitetokend *env = req->env;
    json_t *doc;
    char why[160];
    int64_t offset_ms;

    if (!env->cfg->clock_override) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "the debug clock is not enabled");
        return;
    }
    if ((doc = http_body_object(req)) == NULL)
        return;
    if (body_check(doc, fields, NFIELDS(fields), why, sizeof(why)) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
        json_decref(doc);
        return;
    }
    offset_ms = body_int(doc, "offset_seconds", 0) * 1000;
    json_decref(doc);
    env->clock_offset_ms = offset_ms;
    committer_set_clock_offset(env->committer, offset_ms);
    log_warn("event=debug_clock offset_ms=%lld", (long long)offset_ms);
    admin_keys_tick(env);
    http_reply_json(req, 200,
                    json_pack("{s:I, s:I}", "offset_seconds", (json_int_t)(offset_ms / 1000), "now",
                              (json_int_t)sitetokend_now(env)));
}
