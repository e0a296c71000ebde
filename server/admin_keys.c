/* Admin routes over the signing keys: list (the signer's snapshot) and
 * rotate (through the writer, then the signer reloads). The key lifecycle
 * step itself is shared with the maintenance timer (maintenance.c). */
#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "admin_op.h"
#include "feed.h"
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
admin_keys_after(struct admin_op *a)
{
    const char *errstr = NULL;

    if (a->changed[0] == '\0')
        return;
    if (signer_reload(a->env->signer, a->env->store, &errstr) == -1) {
        log_error("event=keys_reload error=%s", log_quote(errstr, (char[256]){0}, 256));
        /* Committed but not in force: never report it as done. */
        commit_op_fail(&a->op, ERRCODE_UNAVAILABLE,
                       "the key change was stored but could not be loaded (%s); the server keeps "
                       "signing with the keys it had",
                       errstr);
    } else {
        log_info("event=keys changed=%s", log_quote(a->changed, (char[600]){0}, 600));
    }
    feed_keys_changed(a->env->feed); /* a keys event on /v1/events */
}

/* The rotation's answer is the key list as the signer now has it. */
static void
admin_keys_rotate_after(struct admin_op *a)
{
    admin_keys_after(a);
    if (a->op.code != ERRCODE_OK)
        return;
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
    a->after = admin_keys_rotate_after;
    admin_op_write(a, admin_keys_apply);
}
