/* Admin routes for sitetokenctl's maintenance: a summary for `status`
 * (counts, listeners, the active key, the next rotation), one token, one
 * bulk token with the devices it enrolled, an MP's new API key, and purging
 * old devices and bulk tokens. Reads run on the loop's connection; changes
 * go through the writer with their audit record in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin_maint.h"
#include "audit.h"
#include "auth.h"
#include "body.h"
#include "bulk.h"
#include "committer.h"
#include "config.h"
#include "devices.h"
#include "http.h"
#include "ids.h"
#include "inventory.h"
#include "keys.h"
#include "maint.h"
#include "mps.h"
#include "purge.h"
#include "sitetokend.h"
#include "stats.h"
#include "timefmt.h"

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
#define MAINT_BULK_DEVICES 100         /* devices shown by bulk show */
#define MAINT_PURGE_LIMIT_DEFAULT 1000 /* entries one purge call removes */
#define MAINT_PURGE_LIMIT_MAX 10000

static json_t *
maint_time(int64_t t)
{
    char buf[TIMEFMT_LEN + 1];

    if (t == 0)
        return json_null();
    timefmt_rfc3339(t, buf);
    return json_string(buf);
}

/* Summary ------------------------------------------------------------------ */

void
admin_maint_summary(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct store_stats_counts c;
    struct store_key *keys = NULL;
    size_t nkeys = 0;
    const char *errstr = NULL, *active_kid = NULL;
    int64_t now = sitetokend_now(env), next_at = 0, active_at = 0;

    if (store_stats_counts(env->store, now, &c, &errstr) == -1 ||
        store_keys_list(env->store, &keys, &nkeys, &errstr) == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    /* The next rotation: a waiting next key activates at its time; else the
     * active key is due rotation_period after it activated (signer.c). */
    for (size_t i = 0; i < nkeys; i++) {
        if (strcmp(keys[i].status, "active") == 0 && keys[i].activates_at >= active_at) {
            active_kid = keys[i].kid;
            active_at = keys[i].activates_at;
        } else if (strcmp(keys[i].status, "next") == 0) {
            next_at = keys[i].activates_at;
        }
    }
    if (next_at == 0 && active_kid != NULL)
        next_at = active_at + env->cfg->rotation_period_ms / 1000;
    http_reply_json(req, 200,
                    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}", "devices",
                              (json_int_t)c.devices, "devices_blocked",
                              (json_int_t)c.devices_blocked, "tokens_live",
                              (json_int_t)c.tokens_live, "bulk_tokens", (json_int_t)c.bulk_tokens,
                              "bulk_active", (json_int_t)c.bulk_live, "mps", (json_int_t)c.mps,
                              "listeners", http_describe(env->http), "admin_socket",
                              env->cfg->admin_socket, "active_kid",
                              active_kid != NULL ? json_string(active_kid) : json_null(),
                              "next_rotation_at", maint_time(next_at)));
    store_keys_free(keys, nkeys);
}

/* Token and bulk token shows ------------------------------------------------ */

void
admin_maint_token_show(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct store_token t;
    const char *errstr = NULL;
    int rc;

    if (!ids_is_jti(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such token");
        return;
    }
    rc = store_token_get(env->store, req->params[0], &t, &errstr);
    if (rc == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    if (rc == 1) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no token %s", req->params[0]);
        return;
    }
    http_reply_json(req, 200,
                    inv_token_json(&t, sitetokend_now(env), env->cfg->clock_skew_ms / 1000));
}

struct maint_devices {
    json_t *items;
    int n, more;
};

static int
maint_device_cb(const struct store_device *d, void *arg)
{
    struct maint_devices *m = arg;

    if (m->n == MAINT_BULK_DEVICES) {
        m->more = 1;
        return 1;
    }
    json_array_append_new(m->items, inv_device_json(d));
    m->n++;
    return 0;
}

void
admin_maint_bulk_show(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct maint_devices m = {0};
    struct store_bulk b;
    const char *errstr = NULL;
    json_t *doc;
    int rc;

    if (!ids_is_uuid(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such bulk token");
        return;
    }
    rc = store_bulk_get(env->store, req->params[0], &b, &errstr);
    if (rc == 1) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no bulk token %s", req->params[0]);
        return;
    }
    if (rc == 0 && (m.items = json_array()) != NULL)
        rc = store_maint_bulk_devices(env->store, b.id, MAINT_BULK_DEVICES + 1, maint_device_cb, &m,
                                      &errstr);
    if (rc != 0 || m.items == NULL) {
        json_decref(m.items);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr ? errstr : "no memory");
        return;
    }
    doc = inv_bulk_json(&b, sitetokend_now(env));
    json_object_set_new(doc, "devices", m.items);
    json_object_set_new(doc, "devices_next", m.more ? json_string("more") : json_null());
    http_reply_json(req, 200, doc);
}

void
admin_maint_mp_show(struct http_req *req)
{
    struct store_mp mp;
    const char *errstr = NULL;
    int64_t last = 0, devices = 0;
    int rc = -1;

    if (!ids_is_uuid4(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such MP");
        return;
    }
    rc = store_mp_get(req->env->store, req->params[0], &mp, &errstr);
    if (rc == 1 || (rc == 0 && mp.removed_at != 0)) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no MP %s", req->params[0]);
        return;
    }
    if (rc == 0)
        rc = store_maint_mp_last_use(req->env->store, mp.id, &last, &errstr);
    if (rc == 0)
        rc = store_impact_mp(req->env->store, mp.id, &devices, &errstr);
    if (rc != 0) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:o, s:o, s:o, s:I}", "id", mp.id, "name", mp.name,
                              "created_at", maint_time(mp.created_at), "cert_sha256",
                              mp.cert_sha256[0] ? json_string(mp.cert_sha256) : json_null(),
                              "last_used_at", maint_time(last), "devices", (json_int_t)devices));
}

/* Changes through the writer ----------------------------------------------- */

struct maint_op {
    struct commit_op op; /* first */
    struct http_req *req;
    struct sitetokend *env;
    char actor[96];
    char id[40];
    uint8_t key_hash[32];
    int64_t older_than, now, skew;
    int limit, dry_run;
    struct store_purge result;
    json_t *ids;   /* purged ids (owned) */
    json_t *reply; /* sent on success (owned) */
};

static void
maint_op_free(struct maint_op *m)
{
    json_decref(m->ids);
    json_decref(m->reply);
    free(m);
}

static void
maint_done(struct commit_op *op)
{
    struct maint_op *m = (struct maint_op *)op;

    if (op->code != ERRCODE_OK) {
        http_reply_problem(m->req, op->code, "%s", op->detail);
    } else {
        http_reply_json(m->req, 200, m->reply);
        m->reply = NULL;
    }
    maint_op_free(m);
}

static struct maint_op *
maint_op_new(struct http_req *req, enum errcode (*apply)(struct commit_op *, struct commit_ctx *))
{
    struct maint_op *m = calloc(1, sizeof(*m));

    if (m == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return NULL;
    }
    m->req = req;
    m->env = req->env;
    snprintf(m->actor, sizeof(m->actor), "%s", req->actor);
    m->op.apply = apply;
    m->op.done = maint_done;
    m->op.base = req->env->base;
    return m;
}

static enum errcode
maint_audit(struct maint_op *m, struct commit_ctx *ctx, const char *action, const char *subject,
            json_t *detail /* stolen */)
{
    char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    const char *errstr = NULL;
    int rc;

    json_decref(detail);
    rc = store_audit_append(ctx->store, ctx->now_ms / 1000, m->actor, action, subject,
                            text != NULL ? text : "{}", &errstr);
    free(text);
    if (rc == -1) {
        snprintf(m->op.detail, sizeof(m->op.detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    return ERRCODE_OK;
}

static enum errcode
maint_mp_key_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct maint_op *m = (struct maint_op *)op;
    const char *errstr = NULL;
    int rc = store_maint_mp_set_key(ctx->store, m->id, m->key_hash, &errstr);

    if (rc == 1) {
        snprintf(op->detail, sizeof(op->detail), "no MP %s", m->id);
        return ERRCODE_NOT_FOUND;
    }
    if (rc == -1) {
        snprintf(op->detail, sizeof(op->detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    return maint_audit(m, ctx, "mp.rotate_key", m->id, json_object());
}

void
admin_maint_mp_rotate_key(struct http_req *req)
{
    struct store_mp mp;
    struct maint_op *m;
    const char *errstr = NULL;
    char key[64];
    int rc;

    if (!ids_is_uuid4(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such MP");
        return;
    }
    rc = store_mp_get(req->env->store, req->params[0], &mp, &errstr);
    if (rc == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    if (rc == 1 || mp.removed_at != 0) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no MP %s", req->params[0]);
        return;
    }
    if ((m = maint_op_new(req, maint_mp_key_apply)) == NULL)
        return;
    snprintf(m->id, sizeof(m->id), "%s", mp.id);
    auth_new_key(key, m->key_hash);
    m->reply = json_pack("{s:s, s:s, s:s}", "id", mp.id, "name", mp.name, "api_key", key);
    OPENSSL_cleanse(key, sizeof(key));
    committer_submit(req->env->committer, &m->op);
}

/* Purge and prune ---------------------------------------------------------- */

static void
maint_id_cb(const char *id, void *arg)
{
    struct maint_op *m = arg;

    json_array_append_new(m->ids, json_string(id));
}

static enum errcode
maint_purge_apply(struct commit_op *op, struct commit_ctx *ctx, int devices)
{
    struct maint_op *m = (struct maint_op *)op;
    const char *errstr = NULL;
    int64_t now = ctx->now_ms / 1000, before = now - m->older_than;
    int rc;

    json_array_clear(m->ids); /* apply may run again if its batch is retried */
    json_decref(m->reply);
    m->reply = NULL;
    rc = devices ? store_purge_devices(ctx->store, before, now, m->skew, m->limit, m->dry_run,
                                       maint_id_cb, m, &m->result, &errstr)
                 : store_purge_bulk(ctx->store, before, now, m->skew, m->limit, m->dry_run,
                                    maint_id_cb, m, &m->result, &errstr);
    if (rc == -1) {
        snprintf(op->detail, sizeof(op->detail), "store: %s", errstr);
        return ERRCODE_UNAVAILABLE;
    }
    m->reply = json_pack("{s:b, s:I, s:I, s:b, s:O}", "dry_run", m->dry_run, "count",
                         (json_int_t)m->result.count, "tombstones",
                         (json_int_t)m->result.tombstones, "more", m->result.more, "ids", m->ids);
    if (m->dry_run || m->result.count == 0)
        return ERRCODE_OK; /* nothing changed: nothing to audit */
    return maint_audit(m, ctx, devices ? "device.purge" : "bulk.prune",
                       devices ? "devices" : "bulk-tokens",
                       json_pack("{s:I, s:I, s:I, s:O}", "older_than_seconds",
                                 (json_int_t)m->older_than, "count", (json_int_t)m->result.count,
                                 "tombstones", (json_int_t)m->result.tombstones, "ids", m->ids));
}

static enum errcode
maint_device_purge_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    return maint_purge_apply(op, ctx, 1);
}

static enum errcode
maint_bulk_prune_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    return maint_purge_apply(op, ctx, 0);
}

static void
maint_purge(struct http_req *req, enum errcode (*apply)(struct commit_op *, struct commit_ctx *))
{
    static const struct body_field fields[] = {
        {.name = "older_than_seconds",
         .type = BODY_INT,
         .required = 1,
         .min = 0,
         .imax = 100LL * 366 * 86400},
        {.name = "dry_run", .type = BODY_BOOL},
        {.name = "limit", .type = BODY_INT, .min = 1, .imax = MAINT_PURGE_LIMIT_MAX},
    };
    struct maint_op *m;
    json_t *doc;
    char why[160];

    if ((doc = http_body_object(req)) == NULL)
        return;
    if (body_check(doc, fields, NFIELDS(fields), why, sizeof(why)) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
        json_decref(doc);
        return;
    }
    if ((m = maint_op_new(req, apply)) == NULL || (m->ids = json_array()) == NULL) {
        if (m != NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
            maint_op_free(m);
        }
        json_decref(doc);
        return;
    }
    m->older_than = body_int(doc, "older_than_seconds", 0);
    m->dry_run = json_is_true(json_object_get(doc, "dry_run"));
    m->limit = (int)body_int(doc, "limit", MAINT_PURGE_LIMIT_DEFAULT);
    m->skew = req->env->cfg->clock_skew_ms / 1000;
    json_decref(doc);
    committer_submit(req->env->committer, &m->op);
}

void
admin_maint_device_purge(struct http_req *req)
{
    maint_purge(req, maint_device_purge_apply);
}

void
admin_maint_bulk_prune(struct http_req *req)
{
    maint_purge(req, maint_bulk_prune_apply);
}
