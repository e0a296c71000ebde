/* Admin inventory (see inventory.h). A change is an inv_op: checked on the
 * loop, applied by the writer (state change, revocation feed entry and audit
 * record in one savepoint), answered from inv_done after the commit, which
 * then lets the feed push the new entry to gateways. Lists ask for one row
 * more than the page so that `next` is null exactly on the last page. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "audit.h"
#include "body.h"
#include "bulk.h"
#include "committer.h"
#include "config.h"
#include "devices.h"
#include "feed.h"
#include "http.h"
#include "ids.h"
#include "inventory.h"
#include "log.h"
#include "revocations.h"
#include "sitetokend.h"
#include "store.h"
#include "timefmt.h"
#include "workers.h"

#define INV_LIMIT_DEFAULT 100
#define INV_LIMIT_MAX 1000
#define INV_SHOW_TOKENS 20
#define INV_REASON_MAX 128

enum inv_action {
    INV_BULK_BLOCK,
    INV_BULK_UNBLOCK,
    INV_DEVICE_BLOCK,
    INV_DEVICE_UNBLOCK,
    INV_TOKEN_REVOKE,
};

static const char *const inv_action_names[] = {
    [INV_BULK_BLOCK] = "bulk.block",     [INV_BULK_UNBLOCK] = "bulk.unblock",
    [INV_DEVICE_BLOCK] = "device.block", [INV_DEVICE_UNBLOCK] = "device.unblock",
    [INV_TOKEN_REVOKE] = "token.revoke",
};

struct inv_op {
    struct commit_op op; /* first: the committer hands this pointer back */
    struct http_req *req;
    struct sitetokend *env;
    enum inv_action action;
    char actor[96];
    char id[72];
    char reason[INV_REASON_MAX + 1];
    json_t *reply; /* made by the writer, sent by inv_done; owned */
};

/* Times on the wire: RFC 3339, or null for "never" (0). */
static json_t *
inv_time(int64_t t)
{
    char buf[TIMEFMT_LEN + 1];

    if (t == 0)
        return json_null();
    timefmt_rfc3339(t, buf);
    return json_string(buf);
}

static json_t *
inv_opt_str(const char *s)
{
    return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

static const char *
inv_bulk_status(const struct store_bulk *b, int64_t now)
{
    if (b->blocked)
        return "blocked";
    if (now >= b->expires_at)
        return "expired";
    if (b->max_uses > 0 && b->uses >= b->max_uses)
        return "exhausted";
    return "active";
}

/* What introspection would answer for the token now, in its order: the
 * signature check refuses an expired token first (tokens are accepted until
 * exp + skew), then the token's row, then its device. */
static const char *
inv_token_status(const struct store_token *t, int64_t now, int64_t skew)
{
    if (now >= t->expires_at + skew)
        return "expired";
    if (t->revoked_at != 0)
        return strcmp(t->revoke_reason, STORE_REASON_SUPERSEDED) == 0 ? "superseded" : "revoked";
    if (t->device_blocked)
        return "device_blocked";
    return "active";
}

json_t *
inv_bulk_json(const struct store_bulk *b, int64_t now)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:s, s:I, s:o, s:o, s:s, s:s}", "id", b->id,
                     "created_at", inv_time(b->created_at), "not_before", inv_time(b->not_before),
                     "expires_at", inv_time(b->expires_at), "status", inv_bulk_status(b, now),
                     "uses", (json_int_t)b->uses, "max_uses",
                     b->max_uses > 0 ? json_integer(b->max_uses) : json_null(), "last_used_at",
                     inv_time(b->last_used_at), "note", b->note, "created_by", b->created_by);
}

json_t *
inv_device_json(const struct store_device *d)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o}", "id", d->id, "name", d->name,
        "hardware_id", d->hardware_id, "status", d->blocked ? "blocked" : "active", "reg", d->reg,
        "bulk_id", inv_opt_str(d->bulk_id), "mp_id", inv_opt_str(d->mp_id), "jkt", d->jkt,
        "created_at", inv_time(d->created_at), "last_seen_at", inv_time(d->last_seen_at));
}

/* An access token has no gen: the key is absent, as in the token. */
json_t *
inv_token_json(const struct store_token *t, int64_t now, int64_t skew)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "jti", t->jti, "kind",
        t->kind, "status", inv_token_status(t, now, skew), "device_id", t->device_id, "kid", t->kid,
        "issued_at", inv_time(t->issued_at), "expires_at", inv_time(t->expires_at), "family",
        t->family, "bulk_id", inv_opt_str(t->bulk_id), "mp_id", inv_opt_str(t->mp_id), "prev_jti",
        inv_opt_str(t->prev_jti), "revoked_at", inv_time(t->revoked_at), "revoke_reason",
        t->revoked_at != 0 ? json_string(t->revoke_reason) : json_null());

    if (o != NULL && strcmp(t->kind, "access") != 0)
        json_object_set_new(o, "gen", json_integer(t->gen));
    return o;
}

/* Paging --------------------------------------------------------------- */

struct inv_page {
    json_t *items;
    int limit, n;
    int64_t now, skew; /* skew: tokens are accepted until exp + skew */
    char next[72];     /* the cursor of the last item kept */
    int more;          /* a row past the page exists */
};

/* ?limit= and ?after=; replies invalid_request itself (returns -1). */
static int
inv_page_init(struct http_req *req, struct inv_page *p, const char **after)
{
    const char *l = http_query(req, "limit");

    memset(p, 0, sizeof(*p));
    p->limit = INV_LIMIT_DEFAULT;
    if (l != NULL) {
        char *end;
        long v;

        errno = 0;
        v = strtol(l, &end, 10);
        if (*l == '\0' || *end != '\0' || errno != 0 || v < 1 || v > INV_LIMIT_MAX) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "limit must be 1 to %d",
                               INV_LIMIT_MAX);
            return -1;
        }
        p->limit = (int)v;
    }
    *after = http_query(req, "after");
    if (*after != NULL && strlen(*after) > 64) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "after: not a cursor");
        return -1;
    }
    if ((p->items = json_array()) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return -1;
    }
    p->now = sitetokend_now(req->env);
    p->skew = req->env->cfg->clock_skew_ms / 1000;
    return 0;
}

/* Keeps one item (or notes that there are more); nonzero stops the list. */
static int
inv_page_add(struct inv_page *p, json_t *item, const char *cursor)
{
    if (p->n >= p->limit) {
        json_decref(item);
        p->more = 1;
        return 1;
    }
    json_array_append_new(p->items, item);
    snprintf(p->next, sizeof(p->next), "%s", cursor);
    p->n++;
    return 0;
}

static void
inv_page_reply(struct http_req *req, struct inv_page *p, int rc, const char *errstr)
{
    if (rc == -1) {
        json_decref(p->items);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    http_reply_json(req, 200,
                    json_pack("{s:o, s:o}", "items", p->items, "next",
                              p->more ? json_string(p->next) : json_null()));
}

static int
inv_bulk_cb(const struct store_bulk *b, void *arg)
{
    struct inv_page *p = arg;

    return inv_page_add(p, inv_bulk_json(b, p->now), b->id);
}

void
inventory_bulk_list(struct http_req *req)
{
    struct inv_page p;
    const char *after, *errstr = NULL;
    int rc;

    if (inv_page_init(req, &p, &after) == -1)
        return;
    rc = store_bulk_list(req->env->store, after, p.limit + 1, inv_bulk_cb, &p, &errstr);
    inv_page_reply(req, &p, rc, errstr);
}

static int
inv_device_cb(const struct store_device *d, void *arg)
{
    return inv_page_add(arg, inv_device_json(d), d->id);
}

void
inventory_device_list(struct http_req *req)
{
    struct inv_page p;
    const char *after, *errstr = NULL, *status = http_query(req, "status"),
                       *name = http_query(req, "name");
    int rc;

    if (status != NULL && *status != '\0' && strcmp(status, "active") != 0 &&
        strcmp(status, "blocked") != 0) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "status must be active or blocked");
        return;
    }
    if (name != NULL && strlen(name) > 256) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "name: too long (max 256 bytes)");
        return;
    }
    if (inv_page_init(req, &p, &after) == -1)
        return;
    rc = store_device_list(req->env->store, status, name, after, p.limit + 1, inv_device_cb, &p,
                           &errstr);
    inv_page_reply(req, &p, rc, errstr);
}

static int
inv_token_cb(const struct store_token *t, void *arg)
{
    struct inv_page *p = arg;

    return inv_page_add(p, inv_token_json(t, p->now, p->skew), t->jti);
}

void
inventory_token_list(struct http_req *req)
{
    struct inv_page p;
    const char *after, *errstr = NULL, *device = http_query(req, "device_id");
    int rc;

    if (device != NULL && *device != '\0' && !ids_is_device_id(device)) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "device_id: not a device id");
        return;
    }
    if (inv_page_init(req, &p, &after) == -1)
        return;
    rc = store_token_list(req->env->store, device, after, p.limit + 1, inv_token_cb, &p, &errstr);
    inv_page_reply(req, &p, rc, errstr);
}

void
inventory_device_show(struct http_req *req)
{
    struct store *st = req->env->store;
    struct store_device d;
    struct inv_page p;
    const char *errstr = NULL;
    json_t *doc;
    int rc;

    if (!ids_is_device_id(req->params[0]) ||
        (rc = store_device_get(st, req->params[0], &d, &errstr)) == 1) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such device");
        return;
    }
    if (rc == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    memset(&p, 0, sizeof(p));
    p.limit = INV_SHOW_TOKENS;
    p.now = sitetokend_now(req->env);
    p.skew = req->env->cfg->clock_skew_ms / 1000;
    if ((p.items = json_array()) == NULL ||
        store_token_list(st, d.id, NULL, p.limit + 1, inv_token_cb, &p, &errstr) == -1) {
        json_decref(p.items);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr ? errstr : "no memory");
        return;
    }
    doc = inv_device_json(&d);
    json_object_set_new(doc, "tokens", p.items);
    json_object_set_new(doc, "tokens_next", p.more ? json_string(p.next) : json_null());
    http_reply_json(req, 200, doc);
}

/* Audit ------------------------------------------------------------------ */

static int
inv_audit_cb(const struct store_audit *a, void *arg)
{
    struct inv_page *p = arg;
    json_t *detail = json_loads(a->detail, 0, NULL);
    char seq[24];

    snprintf(seq, sizeof(seq), "%lld", (long long)a->seq);
    return inv_page_add(p,
                        json_pack("{s:I, s:o, s:s, s:s, s:s, s:o, s:s, s:s}", "seq",
                                  (json_int_t)a->seq, "time", inv_time(a->time), "actor", a->actor,
                                  "action", a->action, "subject", a->subject, "detail",
                                  detail != NULL ? detail : json_string(a->detail), "prev_hash",
                                  a->prev_hash, "hash", a->hash),
                        seq);
}

void
inventory_audit_list(struct http_req *req)
{
    struct inv_page p;
    const char *after, *errstr = NULL;
    long long seq = 0;
    int rc;

    if (inv_page_init(req, &p, &after) == -1)
        return;
    if (after != NULL && *after != '\0') {
        char *end;

        errno = 0;
        seq = strtoll(after, &end, 10);
        if (*end != '\0' || errno != 0 || seq < 0) {
            json_decref(p.items);
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "after: not a sequence number");
            return;
        }
    }
    rc = store_audit_list(req->env->store, seq, p.limit + 1, inv_audit_cb, &p, &errstr);
    inv_page_reply(req, &p, rc, errstr);
}

/* The whole chain is read and hashed: on a worker, not the loop. */
struct inv_verify {
    struct work work;
    struct http_req *req;
    struct sitetokend *env;
    int rc, ok;
    int64_t first_bad, records;
    char head[65];
    char errbuf[256];
};

static void
inv_verify_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct inv_verify *v = arg;

    if (v->rc == -1)
        http_reply_problem(v->req, ERRCODE_UNAVAILABLE, "store: %s", v->errbuf);
    else if (v->ok)
        http_reply_json(v->req, 200,
                        json_pack("{s:b, s:I, s:s}", "ok", 1, "records", (json_int_t)v->records,
                                  "head", v->head));
    else
        http_reply_json(v->req, 200,
                        json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "first_bad_seq",
                                  (json_int_t)v->first_bad, "records", (json_int_t)v->records,
                                  "head", v->head));
    free(v);
}

static void
inv_verify_work(struct work *w, struct worker_ctx *ctx)
{
    struct inv_verify *v = (struct inv_verify *)((char *)w - offsetof(struct inv_verify, work));
    static const struct timeval now = {0, 0};
    const char *errstr = NULL;

    v->rc = store_audit_verify(ctx->store, &v->ok, &v->first_bad, &v->records, v->head, &errstr);
    if (v->rc == -1)
        snprintf(v->errbuf, sizeof(v->errbuf), "%s", errstr);
    if (event_base_once(v->env->base, -1, EV_TIMEOUT, inv_verify_done_cb, v, &now) == -1)
        inv_verify_done_cb(-1, 0, v); /* only when the loop is gone */
}

void
inventory_audit_verify(struct http_req *req)
{
    struct inv_verify *v = calloc(1, sizeof(*v));

    if (v == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    v->req = req;
    v->env = req->env;
    v->work.run = inv_verify_work;
    workers_submit(req->env->workers, &v->work);
}

/* Changes ---------------------------------------------------------------- */

static enum errcode inv_fail(struct commit_op *op, enum errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum errcode
inv_fail(struct commit_op *op, enum errcode code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(op->detail, sizeof(op->detail), fmt, ap);
    va_end(ap);
    return code;
}

/* The audit record of a change; detail is stolen. */
static enum errcode
inv_audit(struct inv_op *o, struct commit_ctx *ctx, const char *action, json_t *detail)
{
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *errstr = NULL;
    int rc;

    json_decref(detail);
    rc = store_audit_append(ctx->store, ctx->now_ms / 1000, o->actor, action, o->id,
                            text != NULL ? text : "{}", &errstr);
    free(text);
    if (rc == -1)
        return inv_fail(&o->op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    return ERRCODE_OK;
}

/* Adds the feed entry of a revocation; *serial gets its serial. */
static enum errcode
inv_revoke_entry(struct inv_op *o, struct commit_ctx *ctx, const char *kind, int64_t expires_at,
                 int64_t *serial)
{
    const char *errstr = NULL;

    if (store_revocation_add(ctx->store, kind, o->id, ctx->now_ms / 1000, expires_at, o->reason,
                             serial, &errstr) == -1)
        return inv_fail(&o->op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    return ERRCODE_OK;
}

static enum errcode
inv_bulk_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct inv_op *o = (struct inv_op *)op;
    int block = o->action == INV_BULK_BLOCK;
    int64_t now = ctx->now_ms / 1000, serial = 0;
    struct store_bulk b;
    const char *errstr = NULL;
    enum errcode code;
    int rc;

    if ((rc = store_bulk_get(ctx->store, o->id, &b, &errstr)) == 1)
        return inv_fail(op, ERRCODE_NOT_FOUND, "no bulk token %s", o->id);
    if (rc == -1)
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    if (b.blocked == block)
        return inv_fail(op, ERRCODE_CONFLICT, "bulk token %s is %s", o->id,
                        block ? "already blocked" : "not blocked");
    if (store_bulk_set_blocked(ctx->store, o->id, block, &errstr) != 0)
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    if (block) {
        if ((code = inv_revoke_entry(o, ctx, "bulk", b.expires_at, &serial)) != ERRCODE_OK)
            return code;
    } else if (store_revocation_remove(ctx->store, "bulk", o->id, &errstr) == -1) {
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    }
    b.blocked = block;
    o->reply = inv_bulk_json(&b, now);
    if (block)
        json_object_set_new(o->reply, "serial", json_integer(serial));
    return inv_audit(
        o, ctx, inv_action_names[o->action],
        block ? json_pack("{s:I, s:s}", "serial", (json_int_t)serial, "reason", o->reason) : NULL);
}

static enum errcode
inv_device_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct inv_op *o = (struct inv_op *)op;
    int block = o->action == INV_DEVICE_BLOCK;
    int64_t now = ctx->now_ms / 1000, serial = 0, last;
    struct store_device d;
    const char *errstr = NULL;
    enum errcode code;
    int rc;

    if ((rc = store_device_get(ctx->store, o->id, &d, &errstr)) == 1)
        return inv_fail(op, ERRCODE_NOT_FOUND, "no device %s", o->id);
    if (rc == -1)
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    if (d.blocked == block)
        return inv_fail(op, ERRCODE_CONFLICT, "device %s is %s", o->id,
                        block ? "already blocked" : "not blocked");
    if (store_device_set_blocked(ctx->store, o->id, block, &errstr) != 0)
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    if (block) {
        /* Worth knowing until the last of its tokens has expired. */
        last = store_device_last_expiry(ctx->store, o->id);
        if ((code = inv_revoke_entry(o, ctx, "device", last > now ? last : now, &serial)) !=
            ERRCODE_OK)
            return code;
    } else if (store_revocation_remove(ctx->store, "device", o->id, &errstr) == -1) {
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    }
    d.blocked = block;
    o->reply = inv_device_json(&d);
    if (block)
        json_object_set_new(o->reply, "serial", json_integer(serial));
    return inv_audit(
        o, ctx, inv_action_names[o->action],
        block ? json_pack("{s:I, s:s}", "serial", (json_int_t)serial, "reason", o->reason) : NULL);
}

/* Collects the feed entries of a family revocation. */
struct inv_family {
    struct inv_op *o;
    struct commit_ctx *ctx;
    int64_t first_serial;
    enum errcode code;
};

static int
inv_family_cb(const struct store_token_revoked *r, void *arg)
{
    struct inv_family *f = arg;
    const char *errstr = NULL;
    int64_t serial = 0;

    if (store_revocation_add(f->ctx->store, "token", r->jti, f->ctx->now_ms / 1000, r->expires_at,
                             f->o->reason, &serial, &errstr) == -1) {
        f->code = inv_fail(&f->o->op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
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
inv_token_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct inv_op *o = (struct inv_op *)op;
    int64_t now = ctx->now_ms / 1000, serial = 0;
    int64_t skew = o->env->cfg->clock_skew_ms / 1000;
    struct inv_family fam = {.o = o, .ctx = ctx, .code = ERRCODE_OK};
    struct store_token t;
    const char *errstr = NULL;
    enum errcode code;
    int rc, members;

    if ((rc = store_token_get(ctx->store, o->id, &t, &errstr)) == 1)
        return inv_fail(op, ERRCODE_NOT_FOUND, "no token %s", o->id);
    if (rc == -1)
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    rc = store_token_revoke(ctx->store, o->id, now, o->reason, &errstr);
    if (rc != 0 && rc != 2)
        return inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    if (rc == 0) {
        if ((code = inv_revoke_entry(o, ctx, "token", t.expires_at, &serial)) != ERRCODE_OK)
            return code;
        t.revoked_at = now;
        snprintf(t.revoke_reason, sizeof(t.revoke_reason), "%s", o->reason);
    }
    members = store_token_revoke_family(ctx->store, t.family, now, now - skew, o->reason,
                                        inv_family_cb, &fam, &errstr);
    if (members == -1)
        return fam.code != ERRCODE_OK ? fam.code
                                      : inv_fail(op, ERRCODE_UNAVAILABLE, "store: %s", errstr);
    if (rc == 2 && members == 0)
        return inv_fail(op, ERRCODE_CONFLICT, "token %s and its family are already revoked", o->id);
    if (serial == 0)
        serial = fam.first_serial;
    members += rc == 0;
    o->reply = inv_token_json(&t, now, skew);
    json_object_set_new(o->reply, "serial", json_integer(serial));
    json_object_set_new(o->reply, "members_revoked", json_integer(members));
    return inv_audit(o, ctx, inv_action_names[o->action],
                     json_pack("{s:I, s:s, s:s, s:s, s:i}", "serial", (json_int_t)serial, "device",
                               t.device_id, "reason", o->reason, "family", t.family, "members",
                               members));
}

static void
inv_done(struct commit_op *op)
{
    struct inv_op *o = (struct inv_op *)op;

    if (op->code != ERRCODE_OK) {
        http_reply_problem(o->req, op->code, "%s", op->detail);
    } else {
        log_info("event=admin action=%s id=%s actor=%s", inv_action_names[o->action], o->id,
                 o->actor);
        http_reply_json(o->req, 200, o->reply);
        o->reply = NULL;
        feed_changed(o->env->feed);
    }
    json_decref(o->reply);
    free(o);
}

/* The loop half of every change: the id from the path (checked by valid),
 * an optional {reason}, then to the writer. */
static void
inv_change(struct http_req *req, enum inv_action action, int (*valid)(const char *),
           enum errcode (*apply)(struct commit_op *, struct commit_ctx *), int takes_reason)
{
    static const struct body_field fields[] = {
        {.name = "reason", .type = BODY_TEXT, .max = INV_REASON_MAX},
    };
    struct inv_op *o;
    json_t *doc = NULL;
    char why[160];

    if (!valid(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such %s",
                           action == INV_TOKEN_REVOKE   ? "token"
                           : action <= INV_BULK_UNBLOCK ? "bulk token"
                                                        : "device");
        return;
    }
    if (http_body_length(req) > 0) {
        if ((doc = http_body_object(req)) == NULL)
            return;
        if (body_check(doc, fields, takes_reason ? 1 : 0, why, sizeof(why)) == -1) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
            json_decref(doc);
            return;
        }
    }
    if ((o = calloc(1, sizeof(*o))) == NULL) {
        json_decref(doc);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    o->req = req;
    o->env = req->env;
    o->action = action;
    snprintf(o->actor, sizeof(o->actor), "%s", req->actor);
    snprintf(o->id, sizeof(o->id), "%.64s", req->params[0]); /* valid() bounds it */
    if (doc != NULL && body_str(doc, "reason") != NULL)
        snprintf(o->reason, sizeof(o->reason), "%s", body_str(doc, "reason"));
    json_decref(doc);
    o->op.apply = apply;
    o->op.done = inv_done;
    o->op.base = req->env->base;
    committer_submit(req->env->committer, &o->op);
}

static int
inv_valid_jti(const char *s)
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

void
inventory_bulk_block(struct http_req *req)
{
    inv_change(req, INV_BULK_BLOCK, ids_is_uuid, inv_bulk_apply, 1);
}

void
inventory_bulk_unblock(struct http_req *req)
{
    inv_change(req, INV_BULK_UNBLOCK, ids_is_uuid, inv_bulk_apply, 0);
}

void
inventory_device_block(struct http_req *req)
{
    inv_change(req, INV_DEVICE_BLOCK, ids_is_device_id, inv_device_apply, 1);
}

void
inventory_device_unblock(struct http_req *req)
{
    inv_change(req, INV_DEVICE_UNBLOCK, ids_is_device_id, inv_device_apply, 0);
}

void
inventory_token_revoke(struct http_req *req)
{
    inv_change(req, INV_TOKEN_REVOKE, inv_valid_jti, inv_token_apply, 1);
}
