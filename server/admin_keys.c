/* Admin routes over the signing keys: list (the signer's snapshot), rotate,
 * taint and revoke (through the writer, then the signer reloads). The key
 * lifecycle step itself is shared with the maintenance timer
 * (maintenance.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "admin_op.h"
#include "feed.h"
#include "keys.h"
#include "http.h"
#include "log.h"
#include "sitetokend.h"

void
admin_keys_list(struct http_req *req)
{
    http_reply_json(req, 200,
                    json_pack("{s:o, s:n}", "items", signer_key_list(req->env->signer), "next"));
}

enum errcode
admin_keys_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    enum errcode code =
        signer_lifecycle(a->env->signer, ctx->store, ctx->now_ms / 1000, a->mode, a->changed,
                         sizeof(a->changed), op->detail, sizeof(op->detail));

    if (code != ERRCODE_OK || a->changed[0] == '\0')
        return code;
    return admin_op_audit(a, ctx, a->mode == SIGNER_TICK ? "keys.lifecycle" : "keys.rotate", "keys",
                          json_pack("{s:s}", "changed", a->changed));
}

void
admin_keys_reload(struct admin_op *a, struct worker_ctx *ctx)
{
    const char *errstr = NULL;

    if (a->changed[0] == '\0')
        return;
    if (signer_reload(a->env->signer, ctx->store, &errstr) == -1) {
        log_error("event=keys_reload error=%s", log_quote(errstr, (char[256]){0}, 256));
        /* Committed but not in force: never report it as done. */
        commit_op_fail(&a->op, ERRCODE_UNAVAILABLE,
                       "the key change was stored but could not be loaded (%s); the server keeps "
                       "signing with the keys it had",
                       errstr);
    }
}

void
admin_keys_after(struct admin_op *a)
{
    if (a->changed[0] == '\0')
        return;
    log_info("event=keys changed=%s", log_quote(a->changed, (char[600]){0}, 600));
    feed_keys_changed(a->env->feed); /* a keys event on /v1/events */
}

/* The rotation's answer is the key list as the signer now has it. */
static void
admin_keys_rotate_after(struct admin_op *a)
{
    admin_keys_after(a);
    json_decref(a->reply);
    a->reply =
        json_pack("{s:o, s:s}", "items", signer_key_list(a->env->signer), "changed", a->changed);
}

void
admin_keys_rotate(struct http_req *req)
{
    struct admin_op *a = admin_op_new(req);

    if (a == NULL)
        return;
    a->mode = json_is_true(json_object_get(req->body, "now")) ? SIGNER_ROTATE_NOW : SIGNER_ROTATE;
    a->after_work = admin_keys_reload;
    a->after = admin_keys_rotate_after;
    admin_op_write(a, admin_keys_apply);
}

/* Taint and revoke -------------------------------------------------------- */

/* A kid as this authority makes them (base64url, at most 64 characters). */
static int
admin_keys_kid_ok(const char *kid)
{
    size_t n = strlen(kid);

    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)kid[i]) && kid[i] != '-' && kid[i] != '_')
            return 0;
    return 1;
}

/* Taint or revoke: the key's live tokens and devices counted first (what
 * may now renew at once; what is cut off: the dry run's numbers), then the
 * signer's change, answered and audited with them. */
static enum errcode
admin_keys_change_apply(struct admin_op *a, struct commit_ctx *ctx,
                        enum errcode (*change)(struct signer *s, struct store *st, const char *kid,
                                               int64_t now, char *changed, size_t changed_len,
                                               char *detail, size_t detail_len),
                        const char *action)
{
    int64_t now = ctx->now_ms / 1000, devices = 0, tokens = 0;
    const char *errstr = NULL;
    enum errcode code;

    if (store_key_impact(ctx->store, a->id, now, &devices, &tokens, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    code = change(a->env->signer, ctx->store, a->id, now, a->changed, sizeof(a->changed),
                  a->op.detail, sizeof(a->op.detail));
    if (code != ERRCODE_OK)
        return code;
    json_decref(a->reply);
    a->reply =
        json_pack("{s:I, s:I}", "devices", (json_int_t)devices, "live_tokens", (json_int_t)tokens);
    return admin_op_audit(a, ctx, action, a->id,
                          json_pack("{s:s, s:I, s:I}", "changed", a->changed, "devices",
                                    (json_int_t)devices, "live_tokens", (json_int_t)tokens));
}

static enum errcode
admin_keys_taint_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    return admin_keys_change_apply((struct admin_op *)op, ctx, signer_taint, "keys.taint");
}

static enum errcode
admin_keys_revoke_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    return admin_keys_change_apply((struct admin_op *)op, ctx, signer_revoke, "keys.revoke");
}

/* The answer: the key list as the signer now has it, what changed, and the
 * impact numbers the writer counted. */
static void
admin_keys_change_after(struct admin_op *a)
{
    json_t *impact = a->reply;

    a->reply = NULL;
    admin_keys_after(a);
    a->reply =
        json_pack("{s:o, s:s, s:s, s:O, s:O}", "items", signer_key_list(a->env->signer), "kid",
                  a->id, "changed", a->changed, "devices", json_object_get(impact, "devices"),
                  "live_tokens", json_object_get(impact, "live_tokens"));
    json_decref(impact);
}

static void
admin_keys_change(struct http_req *req,
                  enum errcode (*apply)(struct commit_op *, struct commit_ctx *))
{
    struct admin_op *a;

    if (!admin_keys_kid_ok(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such key");
        return;
    }
    if ((a = admin_op_new(req)) == NULL)
        return;
    snprintf(a->id, sizeof(a->id), "%.64s", req->params[0]); /* kid_ok bounds it */
    a->after_work = admin_keys_reload;
    a->after = admin_keys_change_after;
    admin_op_write(a, apply);
}

void
admin_keys_taint(struct http_req *req)
{
    admin_keys_change(req, admin_keys_taint_apply);
}

void
admin_keys_revoke(struct http_req *req)
{
    admin_keys_change(req, admin_keys_revoke_apply);
}
