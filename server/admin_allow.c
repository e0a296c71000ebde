/* Bulk token allow-lists over the admin API: the first page rides with the
 * token's creation (admin_bulk.c), further pages come through POST
 * /v1/admin/bulk-tokens/{id}/allow, and the entries, used or not, are read
 * a page at a time (GET .../allow, and the first page in a bulk show). The
 * total is capped (BULK_ALLOW_MAX); a list longer than max_uses is refused,
 * never adjusted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "admin_op.h"
#include "clock.h"
#include "http.h"
#include "ids.h"
#include "sitetokend.h"

enum errcode
admin_allow_add(struct admin_op *a, struct store *st, struct store_bulk *b, enum errcode refusal,
                int64_t *added)
{
    const char *errstr = NULL;
    int64_t n = 0, total;
    size_t i;
    json_t *e;
    int rc;

    json_array_foreach(a->list, i, e)
    {
        if ((rc = store_bulk_allow_add(st, b->id, json_string_value(e), &errstr)) == -1)
            return commit_op_store_fail(&a->op, errstr);
        n += rc == 0;
    }
    total = b->allow_total + n;
    if (total > BULK_ALLOW_MAX)
        return commit_op_fail(&a->op, refusal,
                              "the allow-list of bulk token %s would hold %lld hardware ids; at "
                              "most %d",
                              b->id, (long long)total, BULK_ALLOW_MAX);
    if (b->max_uses > 0 && b->max_uses < total)
        return commit_op_fail(&a->op, refusal,
                              "max_uses %lld is less than the %lld hardware ids of the allow-list "
                              "(each may enrol once): raise max_uses or leave it out",
                              (long long)b->max_uses, (long long)total);
    if (store_bulk_allow_total(st, b->id, total, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    b->allow_total = total;
    *added = n;
    return ERRCODE_OK;
}

/* Add a page ------------------------------------------------------------------ */

static enum errcode
admin_allow_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    struct store_bulk *b = &a->row.bulk;
    const char *errstr = NULL;
    int64_t added = 0;
    enum errcode code;
    int rc;

    if ((rc = store_bulk_get(ctx->store, a->id, b, &errstr)) == 1)
        return commit_op_fail(op, ERRCODE_NOT_FOUND, "no bulk token %s", a->id);
    if (rc == -1)
        return commit_op_store_fail(op, errstr);
    if (!b->allow_list)
        return commit_op_fail(op, ERRCODE_CONFLICT,
                              "bulk token %s was made without an allow-list (any hardware id may "
                              "exchange with it); make one with \"allow\"",
                              a->id);
    if ((code = admin_allow_add(a, ctx->store, b, ERRCODE_CONFLICT, &added)) != ERRCODE_OK)
        return code;
    a->reply = json_pack("{s:s, s:I, s:I, s:I, s:I}", "id", b->id, "added", (json_int_t)added,
                         "duplicates", (json_int_t)json_array_size(a->list) - added, "total",
                         (json_int_t)b->allow_total, "used", (json_int_t)b->allow_used);
    return admin_op_audit(
        a, ctx, "bulk.allow", b->id,
        json_pack("{s:I, s:I}", "added", (json_int_t)added, "total", (json_int_t)b->allow_total));
}

void
admin_bulk_allow(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_uuid, "bulk token");

    if (a == NULL)
        return;
    /* the writer's own copy: the body stays the loop's */
    if ((a->list = json_deep_copy(json_object_get(req->body, "hardware_ids"))) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        admin_op_free(a);
        return;
    }
    admin_op_write(a, admin_allow_apply);
}

/* Read the entries ---------------------------------------------------------------- */

static int
admin_allow_entry_cb(const struct store_allow *e, void *arg)
{
    struct admin_page *p = arg;

    return admin_page_add(p,
                          json_pack("{s:s, s:b, s:o, s:o}", "hardware_id", e->hardware_id, "used",
                                    e->used_at != 0, "device_id", admin_opt_str(e->device_id),
                                    "used_at", admin_time(e->used_at)),
                          e->hardware_id);
}

int
admin_allow_page(struct admin_page *p, struct store *st, const char *bulk_id, const char **errstr)
{
    return store_bulk_allow_list(st, bulk_id, p->has_after ? p->after : "", p->limit + 1,
                                 admin_allow_entry_cb, p, errstr);
}

static enum errcode
admin_allow_list_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct store_bulk b;
    const char *errstr = NULL;
    int rc;

    if ((rc = store_bulk_get(ctx->store, a->id, &b, &errstr)) == 1)
        return commit_op_fail(&a->op, ERRCODE_NOT_FOUND, "no bulk token %s", a->id);
    if (rc == -1)
        return commit_op_store_fail(&a->op, errstr);
    return admin_page_done(a, admin_allow_page(&a->page, ctx->store, a->id, &errstr), errstr);
}

void
admin_bulk_allow_list(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_uuid, "bulk token");

    if (a != NULL && admin_page_init(a) == 0)
        admin_op_read(a, admin_allow_list_read);
}
