/* Admin routes over devices and their tokens: lists and shows (on a
 * worker), block and unblock (the shared flow of admin_op.c), the purge of
 * devices long gone (the shared purge flow), and the revocation of a token,
 * which takes its whole family, each member with its own feed entry, in one
 * savepoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "admin_op.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "ids.h"
#include "labels.h"
#include "purge.h"
#include "revocations.h"
#include "signer.h"
#include "sitetokend.h"
#include "stats.h"

#define ADMIN_SHOW_TOKENS 20

/* What introspection would answer for the token now, in its order: a token
 * only a revoked key verifies is token_revoked (computed from the key's
 * state, no row marked); the signature check refuses an expired token
 * (tokens are accepted until exp + skew), then the token's row, then its
 * device. */
static const char *
admin_token_status(const struct store_token *t, struct signer *signer, int64_t now, int64_t skew)
{
    if (signer != NULL && signer_kid_revoked(signer, t->kid))
        return "revoked";
    if (now >= t->expires_at + skew)
        return "expired";
    if (t->revoked_at != 0)
        return strcmp(t->revoke_reason, STORE_REASON_SUPERSEDED) == 0 ? "superseded" : "revoked";
    if (t->device_blocked)
        return "device_blocked";
    return "active";
}

/* A jti as this server writes them, or an older form: 1 to 64 base64url
 * characters (bounds a->id). */
static int
admin_valid_jti(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

json_t *
admin_device_json(const struct store_device *d)
{
    json_t *labels = labels_parse(d->labels);

    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o}", "id", d->id, "name", d->name,
        "hardware_id", d->hardware_id, "status", d->blocked ? "blocked" : "active", "reg", d->reg,
        "bulk_id", admin_opt_str(d->bulk_id), "mp_id", admin_opt_str(d->mp_id), "jkt", d->jkt,
        "created_at", admin_time(d->created_at), "last_seen_at", admin_time(d->last_seen_at),
        "labels", labels != NULL ? labels : json_object());
}

/* An access token has no gen: the key is absent, as in the token. */
json_t *
admin_token_json(const struct store_token *t, struct signer *signer, int64_t now, int64_t skew)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "jti", t->jti, "kind",
        t->kind, "status", admin_token_status(t, signer, now, skew), "device_id", t->device_id,
        "kid", t->kid, "issued_at", admin_time(t->issued_at), "expires_at",
        admin_time(t->expires_at), "family", t->family, "bulk_id", admin_opt_str(t->bulk_id),
        "mp_id", admin_opt_str(t->mp_id), "prev_jti", admin_opt_str(t->prev_jti), "revoked_at",
        admin_time(t->revoked_at), "revoke_reason",
        t->revoked_at != 0 ? json_string(t->revoke_reason) : json_null());

    if (o != NULL && strcmp(t->kind, "access") != 0)
        json_object_set_new(o, "gen", json_integer(t->gen));
    return o;
}

/* Lists and show (workers) ---------------------------------------------------- */

static int
admin_device_list_cb(const struct store_device *d, void *arg)
{
    return admin_page_add(arg, admin_device_json(d), d->id);
}

static enum errcode
admin_device_list_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    const char *errstr = NULL;
    int rc = a->changed[0] != '\0'
                 ? store_device_list_label(ctx->store, a->changed, p->has_after ? p->after : NULL,
                                           p->limit + 1, admin_device_list_cb, p, &errstr)
                 : store_device_list(ctx->store, p->filter[0][0] ? p->filter[0] : NULL,
                                     p->filter[1][0] ? p->filter[1] : NULL,
                                     p->has_after ? p->after : NULL, p->limit + 1,
                                     admin_device_list_cb, p, &errstr);

    return admin_page_done(a, rc, errstr);
}

void
admin_device_list(struct http_req *req)
{
    const char *status = http_query(req, "status"), *name = http_query(req, "name");
    const char *label = http_query(req, "label"), *eq;
    struct admin_op *a;

    /* ?label=key=value: the devices carrying that label (one seek) */
    if (label != NULL &&
        ((eq = strchr(label, '=')) == NULL || !labels_key_ok(label, (size_t)(eq - label)) ||
         !labels_value_ok(eq + 1, strlen(eq + 1)))) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "label: key=value, the key [a-z0-9_.-]{1,64}, the value 1 to 64 "
                           "printable ASCII bytes without ',' or '='");
        return;
    }
    if (label != NULL && ((status != NULL && *status) || (name != NULL && *name))) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "label cannot be combined with status or name");
        return;
    }
    if (status != NULL && *status != '\0' && strcmp(status, "active") != 0 &&
        strcmp(status, "blocked") != 0) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "status must be active or blocked");
        return;
    }
    if (name != NULL && strlen(name) > 256) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "name: too long (max 256 bytes)");
        return;
    }
    if ((a = admin_op_new(req)) == NULL || admin_page_init(a) == -1)
        return;
    snprintf(a->page.filter[0], sizeof(a->page.filter[0]), "%s", status != NULL ? status : "");
    snprintf(a->page.filter[1], sizeof(a->page.filter[1]), "%s", name != NULL ? name : "");
    /* the label filter rides in the op's spare text (devices use no key change) */
    snprintf(a->changed, sizeof(a->changed), "%s", label != NULL ? label : "");
    admin_op_read(a, admin_device_list_read);
}

static int
admin_token_list_cb(const struct store_token *t, void *arg)
{
    struct admin_page *p = arg;

    return admin_page_add(p, admin_token_json(t, p->signer, p->now, p->skew), t->jti);
}

static enum errcode
admin_token_list_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    const char *errstr = NULL;
    int rc = store_token_list(ctx->store, p->filter[0][0] ? p->filter[0] : NULL,
                              p->has_after ? p->after : NULL, p->limit + 1, admin_token_list_cb, p,
                              &errstr);

    return admin_page_done(a, rc, errstr);
}

void
admin_token_list(struct http_req *req)
{
    const char *device = http_query(req, "device_id");
    struct admin_op *a;

    if (device != NULL && *device != '\0' && !ids_is_device_id(device)) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "device_id: not a device id");
        return;
    }
    if ((a = admin_op_new(req)) == NULL || admin_page_init(a) == -1)
        return;
    snprintf(a->page.filter[0], sizeof(a->page.filter[0]), "%s", device != NULL ? device : "");
    admin_op_read(a, admin_token_list_read);
}

/* The device and its first tokens. */
static enum errcode
admin_device_show_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    struct store_device *d = &a->row.dev;
    const char *errstr = NULL;
    int rc;

    if ((rc = store_device_get(ctx->store, a->id, d, &errstr)) == 1)
        return commit_op_fail(&a->op, ERRCODE_NOT_FOUND, "no such device");
    if (rc == -1)
        return commit_op_store_fail(&a->op, errstr);
    if (store_token_list(ctx->store, d->id, NULL, p->limit + 1, admin_token_list_cb, p, &errstr) ==
        -1)
        return commit_op_store_fail(&a->op, errstr);
    a->reply = admin_device_json(d);
    json_object_set_new(a->reply, "tokens", p->items);
    json_object_set_new(a->reply, "tokens_next", p->more ? json_string(p->next) : json_null());
    p->items = NULL;
    return ERRCODE_OK;
}

void
admin_device_show(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_device_id, "device");

    if (a != NULL && admin_page_start(a, ADMIN_SHOW_TOKENS) == 0)
        admin_op_read(a, admin_device_show_read);
}

static enum errcode
admin_token_show_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct store_token t;
    const char *errstr = NULL;
    int rc;

    if ((rc = store_token_get(ctx->store, a->id, &t, &errstr)) == 1)
        return commit_op_fail(&a->op, ERRCODE_NOT_FOUND, "no token %s", a->id);
    if (rc == -1)
        return commit_op_store_fail(&a->op, errstr);
    if ((a->reply = admin_token_json(&t, a->env->signer, a->page.now, a->page.skew)) == NULL)
        return commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    return ERRCODE_OK;
}

void
admin_token_show(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, admin_valid_jti, "token");

    if (a == NULL)
        return;
    a->page.now = clock_now(req->env);
    a->page.skew = req->env->cfg->clock_skew_ms / 1000;
    a->page.signer = req->env->signer;
    admin_op_read(a, admin_token_show_read);
}

/* Block and unblock ------------------------------------------------------------ */

static int
admin_device_load(struct admin_op *a, struct store *st, int *blocked, const char **errstr)
{
    int rc = store_device_get(st, a->id, &a->row.dev, errstr);

    *blocked = rc == 0 && a->row.dev.blocked;
    return rc;
}

/* Worth knowing until the last of its tokens has expired. */
static int64_t
admin_device_entry_expires(struct admin_op *a, struct store *st, int64_t now)
{
    int64_t last = store_device_last_expiry(st, a->id);

    return last > now ? last : now;
}

static json_t *
admin_device_reply(struct admin_op *a, int blocked, int64_t now)
{
    a->row.dev.blocked = blocked;
    return admin_device_json(&a->row.dev);
}

/* A device block affects the device and its live tokens (as impact?device_id=). */
static int
admin_device_impact(struct store *st, const char *id, int64_t now, int64_t *devices,
                    int64_t *tokens, const char **errstr)
{
    *devices = 1;
    return store_impact_device(st, id, now, tokens, errstr);
}

static const struct admin_blockable admin_device_blockable = {
    .noun = "device",
    .kind = "device",
    .action = {"device.unblock", "device.block"},
    .valid = ids_is_device_id,
    .load = admin_device_load,
    .set_blocked = store_device_set_blocked,
    .entry_expires = admin_device_entry_expires,
    .reply = admin_device_reply,
    .impact = admin_device_impact,
};

void
admin_device_block(struct http_req *req)
{
    admin_block_route(req, &admin_device_blockable, 1);
}

void
admin_device_unblock(struct http_req *req)
{
    admin_block_route(req, &admin_device_blockable, 0);
}

/* Purge: devices not seen for a while whose tokens have all expired ---------- */

static const struct admin_purgeable admin_device_purgeable = {
    .action = "device.purge",
    .subject = "devices",
    .purge = store_purge_devices,
};

void
admin_device_purge(struct http_req *req)
{
    admin_purge_route(req, &admin_device_purgeable);
}

/* Token revocation ----------------------------------------------------------- */

/* Collects the feed entries of a family revocation. */
struct admin_family {
    struct admin_op *a;
    struct commit_ctx *ctx;
    int64_t first_serial;
    enum errcode code;
};

static int
admin_family_cb(const struct store_token_revoked *r, void *arg)
{
    struct admin_family *f = arg;
    const char *errstr = NULL;
    int64_t serial = 0;

    if (store_revocation_add(f->ctx->store, "token", r->jti, f->ctx->now_ms / 1000, r->expires_at,
                             f->a->reason, &serial, &errstr) == -1) {
        f->code = commit_op_store_fail(&f->a->op, errstr);
        return 1;
    }
    if (f->first_serial == 0)
        f->first_serial = serial;
    return 0;
}

/* An admin's revoke of any token revokes its whole family: the token itself
 * (even expired), then every live member, ancestors and successors and the
 * access tokens minted from them, each with its own feed entry. A conflict
 * only when nothing was left to revoke. */
static enum errcode
admin_token_revoke_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    int64_t now = ctx->now_ms / 1000, serial = 0, live = 0;
    int64_t skew = a->env->cfg->clock_skew_ms / 1000;
    struct admin_family fam = {.a = a, .ctx = ctx, .code = ERRCODE_OK};
    struct store_token t;
    const char *errstr = NULL;
    enum errcode code;
    int rc, members;

    if ((rc = store_token_get(ctx->store, a->id, &t, &errstr)) == 1)
        return commit_op_fail(op, ERRCODE_NOT_FOUND, "no token %s", a->id);
    if (rc == -1 || store_impact_token(ctx->store, a->id, now, &live, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    rc = store_token_revoke(ctx->store, a->id, now, a->reason, &errstr);
    if (rc != 0 && rc != 2)
        return commit_op_store_fail(op, errstr);
    if (rc == 0) {
        if ((code = admin_revocation_add(a, ctx, "token", t.expires_at, &serial)) != ERRCODE_OK)
            return code;
        t.revoked_at = now;
        snprintf(t.revoke_reason, sizeof(t.revoke_reason), "%s", a->reason);
    }
    members = store_token_revoke_family(ctx->store, t.family, now, now - skew, a->reason,
                                        admin_family_cb, &fam, &errstr);
    if (members == -1)
        return fam.code != ERRCODE_OK ? fam.code : commit_op_store_fail(op, errstr);
    if (rc == 2 && members == 0)
        return commit_op_fail(op, ERRCODE_CONFLICT, "token %s and its family are already revoked",
                              a->id);
    if (serial == 0)
        serial = fam.first_serial;
    members += rc == 0;
    a->reply = admin_token_json(&t, a->env->signer, now, skew);
    json_object_set_new(a->reply, "serial", json_integer(serial));
    json_object_set_new(a->reply, "members_revoked", json_integer(members));
    /* the dry run's numbers, counted before the change */
    json_object_set_new(
        a->reply, "impact",
        json_pack("{s:i, s:I}", "devices", live > 0, "live_tokens", (json_int_t)live));
    return admin_op_audit(a, ctx, a->action, a->id,
                          json_pack("{s:I, s:s, s:s, s:s, s:i, s:I}", "serial", (json_int_t)serial,
                                    "device", t.device_id, "reason", a->reason, "family", t.family,
                                    "members", members, "live_tokens", (json_int_t)live));
}

void
admin_token_revoke(struct http_req *req)
{
    const char *reason = body_str(req->body, "reason");
    struct admin_op *a = admin_op_for_path(req, admin_valid_jti, "token");

    if (a == NULL)
        return;
    if (reason != NULL)
        snprintf(a->reason, sizeof(a->reason), "%s", reason);
    a->action = "token.revoke";
    a->feed_changed = 1;
    admin_op_write(a, admin_token_revoke_apply);
}
