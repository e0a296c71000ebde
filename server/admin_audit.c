/* Admin routes over the audit trail: page through it and verify its hash
 * chain, both on a worker (verify reads and hashes the whole chain). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "admin.h"
#include "admin_op.h"
#include "audit.h"
#include "http.h"

json_t *
admin_audit_json(const struct store_audit *r)
{
    const char *text = r->detail != NULL ? r->detail : "{}";
    json_t *detail = json_loads(text, 0, NULL);

    /* A detail that does not parse (a tampered row) is shown as its text. */
    return json_pack("{s:I, s:o, s:s, s:s, s:s, s:o, s:s, s:s}", "seq", (json_int_t)r->seq, "time",
                     admin_time(r->time), "actor", r->actor, "action", r->action, "subject",
                     r->subject, "detail", detail != NULL ? detail : json_string(text), "prev_hash",
                     r->prev_hash, "hash", r->hash);
}

/* One record into a page; its cursor is its sequence number. */
int
admin_audit_page_add(struct admin_page *p, const struct store_audit *r)
{
    char seq[24];

    snprintf(seq, sizeof(seq), "%lld", (long long)r->seq);
    return admin_page_add(p, p->n < p->limit ? admin_audit_json(r) : NULL, seq);
}

static int
admin_audit_list_cb(const struct store_audit *r, void *arg)
{
    return admin_audit_page_add(arg, r);
}

static enum errcode
admin_audit_list_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    const char *errstr = NULL;
    int rc =
        store_audit_list(ctx->store, p->after_seq, p->limit + 1, admin_audit_list_cb, p, &errstr);

    return admin_page_done(a, rc, errstr);
}

void
admin_audit_list(struct http_req *req)
{
    struct admin_op *a;
    long long seq = 0;

    if ((a = admin_op_new(req)) == NULL || admin_page_init(a) == -1)
        return;
    if (a->page.has_after && a->page.after[0] != '\0') {
        char *end;

        errno = 0;
        seq = strtoll(a->page.after, &end, 10);
        if (*end != '\0' || errno != 0 || seq < 0) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "after: not a sequence number");
            admin_op_free(a);
            return;
        }
    }
    a->page.after_seq = seq;
    admin_op_read(a, admin_audit_list_read);
}

/* Verify ------------------------------------------------------------------ */

static enum errcode
admin_audit_verify_read(struct admin_op *a, struct worker_ctx *ctx)
{
    int64_t first_bad = 0, records = 0;
    const char *errstr = NULL;
    char head[65] = "";
    int ok = 0;

    if (store_audit_verify(ctx->store, &ok, &first_bad, &records, head, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    if (ok)
        a->reply =
            json_pack("{s:b, s:I, s:s}", "ok", 1, "records", (json_int_t)records, "head", head);
    else
        a->reply = json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "first_bad_seq",
                             (json_int_t)first_bad, "records", (json_int_t)records, "head", head);
    return ERRCODE_OK;
}

void
admin_audit_verify(struct http_req *req)
{
    struct admin_op *a = admin_op_new(req);

    if (a != NULL)
        admin_op_read(a, admin_audit_verify_read);
}
