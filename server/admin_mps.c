/* Admin routes over management points: add (a new API key, shown once;
 * optionally a client certificate's fingerprint), list and show (on a
 * worker), a new API key for an MP (rotate-key) and remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "admin_op.h"
#include "auth.h"
#include "clock.h"
#include "http.h"
#include "ids.h"
#include "labels.h"
#include "maint.h"
#include "sitetokend.h"
#include "stats.h"
#include "tls.h"

static enum errcode
admin_mp_add_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const struct store_mp *mp = &a->row.mp;
    const char *errstr = NULL;
    int rc = store_mp_insert(ctx->store, mp, &errstr);

    if (rc == 1)
        return commit_op_fail(op, ERRCODE_CONFLICT, "%s", errstr);
    if (rc == -1)
        return commit_op_store_fail(op, errstr);
    return admin_op_audit(a, ctx, "mp.add", mp->id,
                          mp->cert_sha256[0] != '\0'
                              ? json_pack("{s:s, s:s, s:s}", "name", mp->name, "cert_sha256",
                                          mp->cert_sha256, "labels", mp->labels)
                              : json_pack("{s:s, s:s}", "name", mp->name, "labels", mp->labels));
}

void
admin_mp_add(struct http_req *req)
{
    const char *cert = body_str(req->body, "certificate"), *cert_err = NULL;
    struct admin_op *a;
    struct store_mp *mp;
    char key[64], fp[TLS_FINGERPRINT_LEN + 1] = "";

    /* The body table bounds it; only its SHA-256 fingerprint is kept. */
    if (cert != NULL && tls_pem_fingerprint(cert, strlen(cert), fp, &cert_err) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s",
                           cert_err != NULL ? cert_err : "certificate: a PEM string");
        return;
    }
    if ((a = admin_op_new(req)) == NULL)
        return;
    mp = &a->row.mp;
    ids_uuid4(mp->id);
    snprintf(mp->name, sizeof(mp->name), "%s", body_str(req->body, "name"));
    snprintf(mp->cert_sha256, sizeof(mp->cert_sha256), "%s", fp);
    labels_canon(json_object_get(req->body, "labels"), mp->labels); /* checked by the gate */
    mp->created_at = clock_now(req->env);
    auth_new_key(key, mp->key_hash);
    a->status = 201;
    a->reply = json_pack("{s:s, s:s, s:s, s:o}", "id", mp->id, "name", mp->name, "api_key", key,
                         "labels", labels_parse(mp->labels));
    OPENSSL_cleanse(key, sizeof(key));
    admin_op_write(a, admin_mp_add_apply);
}

/* An MP as lists and shows answer it: never its key. */
static json_t *
admin_mp_json(const struct store_mp *mp)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "id", mp->id, "name", mp->name, "created_at",
                     admin_time(mp->created_at), "cert_sha256", admin_opt_str(mp->cert_sha256),
                     "labels", labels_parse(mp->labels));
}

static int
admin_mp_list_cb(const struct store_mp *mp, void *arg)
{
    json_array_append_new(arg, admin_mp_json(mp));
    return 0;
}

/* Every MP in one page: there are few. */
static enum errcode
admin_mp_list_read(struct admin_op *a, struct worker_ctx *ctx)
{
    const char *errstr = NULL;

    if (store_mp_list(ctx->store, admin_mp_list_cb, a->page.items, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    a->reply = json_pack("{s:o, s:n}", "items", a->page.items, "next");
    a->page.items = NULL;
    return ERRCODE_OK;
}

void
admin_mp_list(struct http_req *req)
{
    struct admin_op *a = admin_op_new(req);

    if (a != NULL && admin_page_start(a, 0) == 0) /* no limit: every MP */
        admin_op_read(a, admin_mp_list_read);
}

/* Show: the list item, its last use and the devices that last came through it. */
static enum errcode
admin_mp_show_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct store_mp *mp = &a->row.mp;
    const char *errstr = NULL;
    int64_t last = 0, devices = 0;
    int rc;

    if ((rc = store_mp_get(ctx->store, a->id, mp, &errstr)) == 1 ||
        (rc == 0 && mp->removed_at != 0))
        return commit_op_fail(&a->op, ERRCODE_NOT_FOUND, "no MP %s", a->id);
    if (rc == -1 || store_maint_mp_last_use(ctx->store, mp->id, &last, &errstr) == -1 ||
        store_impact_mp(ctx->store, mp->id, &devices, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    if ((a->reply = admin_mp_json(mp)) == NULL)
        return commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    json_object_set_new(a->reply, "last_used_at", admin_time(last));
    json_object_set_new(a->reply, "devices", json_integer(devices));
    return ERRCODE_OK;
}

void
admin_mp_show(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_uuid4, "MP");

    if (a != NULL)
        admin_op_read(a, admin_mp_show_read);
}

/* Writer: the new key hash (row.mp.key_hash) of a live MP; the reply (made
 * on the loop, with the key) gets the MP's name. */
static enum errcode
admin_mp_rotate_key_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    struct store_mp cur;
    const char *errstr = NULL;
    int rc = store_mp_get(ctx->store, a->id, &cur, &errstr);

    if (rc == 0 && cur.removed_at == 0)
        rc = store_maint_mp_set_key(ctx->store, a->id, a->row.mp.key_hash, &errstr);
    else if (rc == 0)
        rc = 1; /* removed */
    if (rc == 1)
        return commit_op_fail(op, ERRCODE_NOT_FOUND, "no MP %s", a->id);
    if (rc == -1)
        return commit_op_store_fail(op, errstr);
    json_object_set_new(a->reply, "name", json_string(cur.name));
    return admin_op_audit(a, ctx, "mp.rotate_key", a->id, NULL);
}

/* Loop, after the commit: cached credentials stop at once (auth.h). */
static void
admin_mp_changed(struct admin_op *a)
{
    auth_mp_changed(a->env->authcache);
}

void
admin_mp_rotate_key(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_uuid4, "MP");
    char key[64];

    if (a == NULL)
        return;
    auth_new_key(key, a->row.mp.key_hash); /* only the hash: the key is in the reply */
    a->reply = json_pack("{s:s, s:s}", "id", a->id, "api_key", key);
    OPENSSL_cleanse(key, sizeof(key));
    a->after = admin_mp_changed;
    admin_op_write(a, admin_mp_rotate_key_apply);
}

static enum errcode
admin_mp_remove_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const char *errstr = NULL;
    int64_t devices = 0;
    int rc = store_mp_remove(ctx->store, a->id, ctx->now_ms / 1000, &errstr);

    if (rc == 1)
        return commit_op_fail(op, ERRCODE_NOT_FOUND, "no MP %s", a->id);
    if (rc == -1 || store_impact_mp(ctx->store, a->id, &devices, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    /* the numbers of impact?mp_id=, in the answer and the audit */
    json_object_set_new(a->reply, "impact",
                        json_pack("{s:I, s:i}", "devices", (json_int_t)devices, "live_tokens", 0));
    return admin_op_audit(a, ctx, "mp.remove", a->id,
                          json_pack("{s:I}", "devices", (json_int_t)devices));
}

void
admin_mp_remove(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_uuid4, "MP");

    if (a == NULL)
        return;
    a->reply = json_pack("{s:s, s:b}", "id", a->id, "removed", 1);
    a->after = admin_mp_changed;
    admin_op_write(a, admin_mp_remove_apply);
}
