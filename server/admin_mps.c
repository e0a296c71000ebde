/* Admin routes over management points: add (a new API key, shown once;
 * optionally a client certificate's fingerprint), list (on a worker) and
 * remove. */
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
#include "stats.h"
#include "timefmt.h"
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

static int
admin_mp_list_cb(const struct store_mp *mp, void *arg)
{
    char created[TIMEFMT_LEN + 1];

    timefmt_rfc3339(mp->created_at, created);
    json_array_append_new(arg,
                          json_pack("{s:s, s:s, s:s, s:o}", "id", mp->id, "name", mp->name,
                                    "created_at", created, "labels", labels_parse(mp->labels)));
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

    if (a == NULL)
        return;
    if ((a->page.items = json_array()) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        admin_op_free(a);
        return;
    }
    admin_op_read(a, admin_mp_list_read);
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
    struct admin_op *a;

    if (!ids_is_uuid4(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such MP");
        return;
    }
    if ((a = admin_op_new(req)) == NULL)
        return;
    snprintf(a->id, sizeof(a->id), "%.36s", req->params[0]);
    a->reply = json_pack("{s:s, s:b}", "id", a->id, "removed", 1);
    admin_op_write(a, admin_mp_remove_apply);
}
