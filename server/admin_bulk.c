/* Admin routes over bulk tokens: create (signed here, recorded by the
 * writer), list and show with the devices it enrolled (on a worker), block
 * and unblock (the shared flow of admin_op.c, with a revocation feed entry
 * for a block), and prune of long expired ones (the shared purge flow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "admin.h"
#include "admin_op.h"
#include "cidr.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "ids.h"
#include "jwt.h"
#include "labels.h"
#include "purge.h"
#include "sitetokend.h"
#include "stats.h"
#include "timefmt.h"

static const char *
admin_bulk_status(const struct store_bulk *b, int64_t now)
{
    if (b->blocked)
        return "blocked";
    if (now >= b->expires_at)
        return "expired";
    if (b->max_uses > 0 && b->uses >= b->max_uses)
        return "exhausted";
    return "active";
}

/* "a,b" -> ["a", "b"] */
static json_t *
admin_bulk_cidrs(const char *list)
{
    json_t *a = json_array();

    for (const char *p = list; a != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");

        json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

json_t *
admin_bulk_json(const struct store_bulk *b, int64_t now)
{
    json_t *labels = labels_parse(b->labels);
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:s, s:I, s:o, s:o, s:s, s:s, s:o}", "id", b->id, "created_at",
        admin_time(b->created_at), "not_before", admin_time(b->not_before), "expires_at",
        admin_time(b->expires_at), "status", admin_bulk_status(b, now), "uses", (json_int_t)b->uses,
        "max_uses", b->max_uses > 0 ? json_integer(b->max_uses) : json_null(), "last_used_at",
        admin_time(b->last_used_at), "note", b->note, "created_by", b->created_by, "labels",
        labels != NULL ? labels : json_object());

    if (o != NULL) {
        json_object_set_new(o, "cidrs", admin_bulk_cidrs(b->cidrs));
        json_object_set_new(o, "rate_per_second",
                            b->rate_per_second > 0 ? json_integer(b->rate_per_second)
                                                   : json_null());
        json_object_set_new(o, "allow_total",
                            b->allow_list ? json_integer(b->allow_total) : json_null());
        json_object_set_new(o, "allow_used", json_integer(b->allow_used));
    }
    return o;
}

/* The body's cidrs (checked by the gate) as canonical text, comma-joined. */
static void
admin_bulk_cidr_list(const json_t *arr, char out[CIDR_LIST_MAX])
{
    char one[CIDR_TEXT_MAX];
    struct cidr c;
    size_t i, used = 0;
    json_t *e;

    out[0] = '\0';
    json_array_foreach(arr, i, e)
    {
        if (cidr_parse(json_string_value(e), &c) == -1)
            continue;
        cidr_format(&c, one);
        used += (size_t)snprintf(out + used, CIDR_LIST_MAX - used, "%s%s", used ? "," : "", one);
        if (used >= CIDR_LIST_MAX)
            break;
    }
}

/* Create ------------------------------------------------------------------ */

static enum errcode
admin_bulk_create_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const struct store_bulk *b = &a->row.bulk;
    const char *errstr = NULL;

    struct store_bulk row = *b;
    int64_t added = 0;
    enum errcode code;

    if (store_bulk_insert(ctx->store, b, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    /* the allow-list's first page; a contradiction refuses the creation */
    if (b->allow_list && (code = admin_allow_add(a, ctx->store, &row, ERRCODE_INVALID_REQUEST,
                                                 &added)) != ERRCODE_OK)
        return code;
    json_object_set_new(a->reply, "allow_total",
                        b->allow_list ? json_integer(row.allow_total) : json_null());
    return admin_op_audit(
        a, ctx, "bulk.create", b->id,
        json_pack("{s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:o}", "not_before",
                  (json_int_t)b->not_before, "expires_at", (json_int_t)b->expires_at, "max_uses",
                  (json_int_t)b->max_uses, "note", b->note, "labels", b->labels, "cidrs", b->cidrs,
                  "rate_per_second", (json_int_t)b->rate_per_second, "allow_total",
                  b->allow_list ? json_integer(row.allow_total) : json_null()));
}

void
admin_bulk_create(struct http_req *req)
{
    struct sitetokend *env = req->env;
    const struct config *cfg = env->cfg;
    int64_t max_minutes = cfg->bulk_max_lifetime_ms / 60000, now = clock_now(env);
    int64_t minutes =
        body_int(req->body, "lifetime_minutes", cfg->bulk_default_lifetime_ms / 60000);
    struct admin_op *a;
    struct store_bulk *b;
    json_t *claims = NULL;
    char kid[65], nbf[TIMEFMT_LEN + 1], exp[TIMEFMT_LEN + 1];
    char *token = NULL;

    /* the body table bounds it for every config; this config's bound here */
    if (minutes > max_minutes) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "lifetime_minutes: must be an integer from 1 to %lld",
                           (long long)max_minutes);
        return;
    }
    if ((a = admin_op_new(req)) == NULL)
        return;
    b = &a->row.bulk;
    ids_uuid7(b->id); /* time-ordered: its index grows at the right edge */
    b->created_at = b->not_before = now;
    b->expires_at = now + minutes * 60;
    b->max_uses = body_int(req->body, "max_uses", 0);
    snprintf(b->note, sizeof(b->note), "%s",
             body_str(req->body, "note") != NULL ? body_str(req->body, "note") : "");
    snprintf(b->created_by, sizeof(b->created_by), "%s", req->actor);
    labels_canon(json_object_get(req->body, "labels"), b->labels); /* checked by the gate */
    admin_bulk_cidr_list(json_object_get(req->body, "cidrs"), b->cidrs);
    b->rate_per_second = body_int(req->body, "rate_per_second", 0);
    if (json_object_get(req->body, "allow") != NULL) {
        b->allow_list = 1;
        if ((a->list = json_deep_copy(json_object_get(req->body, "allow"))) == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
            admin_op_free(a);
            return;
        }
    }
    /* aud = the issuer: only this authority accepts a bulk token (DESIGN.md) */
    claims = jwt_claims_new(&(const struct jwt_mint){.kind = JWT_KIND_BULK,
                                                     .iss = cfg->issuer,
                                                     .aud = cfg->issuer,
                                                     .site = cfg->site_code,
                                                     .jti = b->id,
                                                     .iat = now,
                                                     .exp = b->expires_at});
    if (claims == NULL ||
        signer_sign(env->signer, JWT_KIND_BULK, claims, &token, kid) != ERRCODE_OK) {
        json_decref(claims);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "cannot sign");
        admin_op_free(a);
        return;
    }
    json_decref(claims);
    SHA256((const uint8_t *)token, strlen(token), b->token_hash);
    timefmt_rfc3339(b->not_before, nbf);
    timefmt_rfc3339(b->expires_at, exp);
    a->status = 201;
    a->reply = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", b->id, "token", token,
                         "not_before", nbf, "expires_at", exp, "max_uses",
                         b->max_uses > 0 ? json_integer(b->max_uses) : json_null(), "labels",
                         labels_parse(b->labels));
    OPENSSL_clear_free(token, strlen(token));
    json_object_set_new(a->reply, "cidrs", admin_bulk_cidrs(b->cidrs));
    json_object_set_new(a->reply, "rate_per_second",
                        b->rate_per_second > 0 ? json_integer(b->rate_per_second) : json_null());
    admin_op_write(a, admin_bulk_create_apply);
}

/* List -------------------------------------------------------------------- */

static int
admin_bulk_list_cb(const struct store_bulk *b, void *arg)
{
    struct admin_page *p = arg;

    return admin_page_add(p, admin_bulk_json(b, p->now), b->id);
}

static enum errcode
admin_bulk_list_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    const char *errstr = NULL;
    int rc = store_bulk_list(ctx->store, p->has_after ? p->after : NULL, p->limit + 1,
                             admin_bulk_list_cb, p, &errstr);

    return admin_page_done(a, rc, errstr);
}

void
admin_bulk_list(struct http_req *req)
{
    struct admin_op *a = admin_op_new(req);

    if (a != NULL && admin_page_init(a) == 0)
        admin_op_read(a, admin_bulk_list_read);
}

/* Show: the bulk token and the first devices it enrolled ---------------------- */

#define ADMIN_BULK_DEVICES 100

static int
admin_bulk_device_cb(const struct store_device *d, void *arg)
{
    return admin_page_add(arg, admin_device_json(d), d->id);
}

static enum errcode
admin_bulk_show_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    struct store_bulk *b = &a->row.bulk;
    const char *errstr = NULL;
    int rc;

    if ((rc = store_bulk_get(ctx->store, a->id, b, &errstr)) == 1)
        return commit_op_fail(&a->op, ERRCODE_NOT_FOUND, "no bulk token %s", a->id);
    if (rc == -1 || store_device_list_bulk(ctx->store, b->id, p->limit + 1, admin_bulk_device_cb, p,
                                           &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    if ((a->reply = admin_bulk_json(b, p->now)) == NULL)
        return commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    /* no cursor to page on from here: "more" tells that the list is cut */
    json_object_set_new(a->reply, "devices", p->items);
    json_object_set_new(a->reply, "devices_next", p->more ? json_string("more") : json_null());
    p->items = NULL;
    if (!b->allow_list)
        return ERRCODE_OK;
    /* the allow-list's first entries, used or not; GET .../allow pages on */
    p->n = p->more = 0;
    if ((p->items = json_array()) == NULL || admin_allow_page(p, ctx->store, b->id, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr != NULL ? errstr : "out of memory");
    json_object_set_new(a->reply, "allow", p->items);
    json_object_set_new(a->reply, "allow_next", p->more ? json_string(p->next) : json_null());
    p->items = NULL;
    return ERRCODE_OK;
}

void
admin_bulk_show(struct http_req *req)
{
    struct admin_op *a = admin_op_for_path(req, ids_is_uuid, "bulk token");

    if (a != NULL && admin_page_start(a, ADMIN_BULK_DEVICES) == 0)
        admin_op_read(a, admin_bulk_show_read);
}

/* Block and unblock ---------------------------------------------------------- */

static int
admin_bulk_load(struct admin_op *a, struct store *st, int *blocked, const char **errstr)
{
    int rc = store_bulk_get(st, a->id, &a->row.bulk, errstr);

    *blocked = rc == 0 && a->row.bulk.blocked;
    return rc;
}

static int64_t
admin_bulk_entry_expires(struct admin_op *a, struct store *st, int64_t now)
{
    return a->row.bulk.expires_at;
}

static json_t *
admin_bulk_reply(struct admin_op *a, int blocked, int64_t now)
{
    a->row.bulk.blocked = blocked;
    return admin_bulk_json(&a->row.bulk, now);
}

static const struct admin_blockable admin_bulk_blockable = {
    .noun = "bulk token",
    .kind = "bulk",
    .action = {"bulk.unblock", "bulk.block"},
    .valid = ids_is_uuid,
    .load = admin_bulk_load,
    .set_blocked = store_bulk_set_blocked,
    .entry_expires = admin_bulk_entry_expires,
    .reply = admin_bulk_reply,
    .impact = store_impact_bulk,
};

void
admin_bulk_block(struct http_req *req)
{
    admin_block_route(req, &admin_bulk_blockable, 1);
}

void
admin_bulk_unblock(struct http_req *req)
{
    admin_block_route(req, &admin_bulk_blockable, 0);
}

/* Prune ------------------------------------------------------------------------ */

static const struct admin_purgeable admin_bulk_purgeable = {
    .action = "bulk.prune",
    .subject = "bulk-tokens",
    .purge = store_purge_bulk,
};

void
admin_bulk_prune(struct http_req *req)
{
    admin_purge_route(req, &admin_bulk_purgeable);
}
