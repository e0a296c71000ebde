/* The admin op and the flows every admin feature shares (see admin_op.h):
 * to a worker and back for reads, to the writer and back for changes, keyset
 * paging, and block/unblock and purge as table-driven flows. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "admin_op.h"
#include "clock.h"
#include "config.h"
#include "feed.h"
#include "http.h"
#include "log.h"
#include "revocations.h"
#include "sitetokend.h"
#include "timefmt.h"

struct admin_op *
admin_op_new_system(struct sitetokend *env)
{
    struct admin_op *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->env = env;
    a->status = 200;
    snprintf(a->actor, sizeof(a->actor), "system");
    a->op.done = admin_op_done;
    a->op.base = env->base;
    return a;
}

struct admin_op *
admin_op_new(struct http_req *req)
{
    struct admin_op *a = admin_op_new_system(req->env);

    if (a == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return NULL;
    }
    a->req = req;
    snprintf(a->actor, sizeof(a->actor), "%s", req->actor);
    return a;
}

struct admin_op *
admin_op_for_path(struct http_req *req, int (*valid)(const char *id), const char *noun)
{
    struct admin_op *a;

    if (!valid(req->params[0])) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such %s", noun);
        return NULL;
    }
    if ((a = admin_op_new(req)) != NULL)
        snprintf(a->id, sizeof(a->id), "%.64s", req->params[0]);
    return a;
}

void
admin_op_free(struct admin_op *a)
{
    json_decref(a->reply);
    json_decref(a->page.items);
    json_decref(a->list);
    free(a);
}

void
admin_op_write(struct admin_op *a, enum errcode (*apply)(struct commit_op *, struct commit_ctx *))
{
    a->op.apply = apply;
    committer_submit(a->env->committer, &a->op);
}

static void
admin_op_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct admin_op *a = arg;

    admin_op_done(&a->op);
}

static void
admin_op_work(struct work *w, struct worker_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)((char *)w - offsetof(struct admin_op, work));
    static const struct timeval now = {0, 0};

    a->op.code = a->read(a, ctx);
    if (event_base_once(a->env->base, -1, EV_TIMEOUT, admin_op_done_cb, a, &now) == -1)
        admin_op_done(&a->op); /* only when the loop is gone */
}

void
admin_op_read(struct admin_op *a, enum errcode (*read)(struct admin_op *, struct worker_ctx *))
{
    a->read = read;
    a->work.run = admin_op_work;
    workers_submit(a->env->workers, &a->work);
}

/* Worker: what a committed change must read back before its reply. */
static void
admin_op_after_work(struct work *w, struct worker_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)((char *)w - offsetof(struct admin_op, work));
    static const struct timeval now = {0, 0};
    void (*after_work)(struct admin_op *, struct worker_ctx *) = a->after_work;

    a->after_work = NULL; /* once */
    after_work(a, ctx);
    if (event_base_once(a->env->base, -1, EV_TIMEOUT, admin_op_done_cb, a, &now) == -1)
        admin_op_done(&a->op); /* only when the loop is gone */
}

void
admin_op_done(struct commit_op *op)
{
    struct admin_op *a = (struct admin_op *)op;

    if (op->code == ERRCODE_OK && a->after_work != NULL && a->env->workers != NULL) {
        a->work.run = admin_op_after_work;
        workers_submit(a->env->workers, &a->work);
        return;
    }
    if (op->code == ERRCODE_OK && a->after != NULL)
        a->after(a);
    if (a->req == NULL) {
        if (op->code != ERRCODE_OK)
            log_warn("event=admin_op actor=%s code=%s detail=%s", a->actor, errcode_name(op->code),
                     log_quote(op->detail, (char[256]){0}, 256));
    } else if (op->code != ERRCODE_OK) {
        http_reply_problem(a->req, op->code, "%s", op->detail);
    } else {
        http_reply_json(a->req, a->status, a->reply);
        a->reply = NULL;
    }
    /* The feed already has the change: the writer handed it over before
     * the op came back (committer_set_revocation_hook). */
    if (op->code == ERRCODE_OK && a->feed_changed)
        log_info("event=admin action=%s id=%s actor=%s", a->action, a->id, a->actor);
    admin_op_free(a);
}

enum errcode
admin_op_audit(struct admin_op *a, struct commit_ctx *ctx, const char *action, const char *subject,
               json_t *detail)
{
    return commit_op_audit(&a->op, ctx, a->actor, action, subject, detail);
}

/* Paging ------------------------------------------------------------------ */

int
admin_page_init(struct admin_op *a)
{
    struct http_req *req = a->req;
    struct admin_page *p = &a->page;
    const char *l = http_query(req, "limit"), *after = http_query(req, "after");

    p->limit = ADMIN_LIMIT_DEFAULT;
    if (l != NULL) {
        char *end;
        long v;

        errno = 0;
        v = strtol(l, &end, 10);
        if (*l == '\0' || *end != '\0' || errno != 0 || v < 1 || v > ADMIN_LIMIT_MAX) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "limit must be 1 to %d",
                               ADMIN_LIMIT_MAX);
            goto fail;
        }
        p->limit = (int)v;
    }
    if (after != NULL && strlen(after) > 256) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "after: not a cursor");
        goto fail;
    }
    if (after != NULL) {
        snprintf(p->after, sizeof(p->after), "%s", after);
        p->has_after = 1;
    }
    return admin_page_start(a, p->limit);
fail:
    admin_op_free(a);
    return -1;
}

int
admin_page_start(struct admin_op *a, int limit)
{
    struct admin_page *p = &a->page;

    if ((p->items = json_array()) == NULL) {
        http_reply_problem(a->req, ERRCODE_UNAVAILABLE, "out of memory");
        admin_op_free(a);
        return -1;
    }
    p->limit = limit;
    p->now = clock_now(a->env);
    p->skew = a->env->cfg->clock_skew_ms / 1000;
    p->signer = a->env->signer;
    return 0;
}

int
admin_page_add(struct admin_page *p, json_t *item, const char *cursor)
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

enum errcode
admin_page_done(struct admin_op *a, int rc, const char *errstr)
{
    struct admin_page *p = &a->page;

    if (rc == -1)
        return commit_op_store_fail(&a->op, errstr);
    a->reply = json_pack("{s:o, s:o}", "items", p->items, "next",
                         p->more ? json_string(p->next) : json_null());
    p->items = NULL;
    return a->reply != NULL ? ERRCODE_OK
                            : commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
}

/* Block and unblock --------------------------------------------------------- */

enum errcode
admin_revocation_add(struct admin_op *a, struct commit_ctx *ctx, const char *kind,
                     int64_t expires_at, int64_t *serial)
{
    const char *errstr = NULL;

    if (store_revocation_add(ctx->store, kind, a->id, ctx->now_ms / 1000, expires_at, a->reason,
                             serial, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    return ERRCODE_OK;
}

/* Writer: the state change, its feed entry (or the entry's removal) and its
 * audit record, in the op's savepoint. */
static enum errcode
admin_block_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct admin_op *a = (struct admin_op *)op;
    const struct admin_blockable *t = a->blockable;
    int64_t now = ctx->now_ms / 1000, serial = 0, devices = 0, tokens = 0;
    const char *errstr = NULL;
    enum errcode code;
    int rc, blocked = 0;

    if ((rc = t->load(a, ctx->store, &blocked, &errstr)) == 1)
        return commit_op_fail(op, ERRCODE_NOT_FOUND, "no %s %s", t->noun, a->id);
    if (rc == -1)
        return commit_op_store_fail(op, errstr);
    if (blocked == a->block)
        return commit_op_fail(op, ERRCODE_CONFLICT, "%s %s is %s", t->noun, a->id,
                              a->block ? "already blocked" : "not blocked");
    if (a->block && t->impact != NULL &&
        t->impact(ctx->store, a->id, now, &devices, &tokens, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    if (t->set_blocked(ctx->store, a->id, a->block, &errstr) != 0)
        return commit_op_store_fail(op, errstr);
    if (a->block) {
        code = admin_revocation_add(a, ctx, t->kind, t->entry_expires(a, ctx->store, now), &serial);
        if (code != ERRCODE_OK)
            return code;
    } else if (store_revocation_remove(ctx->store, t->kind, a->id, &errstr) == -1) {
        return commit_op_store_fail(op, errstr);
    }
    a->reply = t->reply(a, a->block, now);
    if (a->block)
        json_object_set_new(a->reply, "serial", json_integer(serial));
    if (a->block && t->impact != NULL)
        json_object_set_new(a->reply, "impact",
                            json_pack("{s:I, s:I}", "devices", (json_int_t)devices, "live_tokens",
                                      (json_int_t)tokens));
    return admin_op_audit(
        a, ctx, a->action, a->id,
        !a->block ? NULL
        : t->impact != NULL
            ? json_pack("{s:I, s:s, s:I, s:I}", "serial", (json_int_t)serial, "reason", a->reason,
                        "devices", (json_int_t)devices, "live_tokens", (json_int_t)tokens)
            : json_pack("{s:I, s:s}", "serial", (json_int_t)serial, "reason", a->reason));
}

void
admin_block_route(struct http_req *req, const struct admin_blockable *t, int block)
{
    struct admin_op *a;
    const char *reason = body_str(req->body, "reason");

    if ((a = admin_op_for_path(req, t->valid, t->noun)) == NULL)
        return;
    if (block && reason != NULL)
        snprintf(a->reason, sizeof(a->reason), "%s", reason);
    a->blockable = t;
    a->block = block;
    a->action = t->action[block];
    a->feed_changed = 1;
    admin_op_write(a, admin_block_apply);
}

/* Purge and prune ------------------------------------------------------------ */

static void
admin_purge_id_cb(const char *id, void *arg)
{
    json_array_append_new(arg, json_string(id));
}

/* The purge at now on st (a worker's for a dry run, the writer's else): the
 * reply, and the audit record of what was removed. */
static enum errcode
admin_purge_run(struct admin_op *a, struct store *st, struct commit_ctx *ctx, int64_t now)
{
    const struct admin_purgeable *t = a->purgeable;
    int64_t skew = a->env->cfg->clock_skew_ms / 1000;
    struct store_purge r;
    const char *errstr = NULL;
    json_t *ids = json_array();

    json_decref(a->reply); /* apply runs again when its batch is retried */
    a->reply = NULL;
    if (ids == NULL)
        return commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    if (t->purge(st, now - a->purge.older_than, now, skew, a->purge.limit, a->purge.dry_run,
                 admin_purge_id_cb, ids, &r, &errstr) == -1) {
        json_decref(ids);
        return commit_op_store_fail(&a->op, errstr);
    }
    a->reply = json_pack("{s:b, s:I, s:I, s:b, s:O}", "dry_run", a->purge.dry_run, "count",
                         (json_int_t)r.count, "tombstones", (json_int_t)r.tombstones, "more",
                         r.more, "ids", ids);
    if (ctx == NULL || r.count == 0) {
        json_decref(ids); /* nothing changed: nothing to audit */
        return a->reply != NULL ? ERRCODE_OK
                                : commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    }
    return admin_op_audit(a, ctx, t->action, t->subject,
                          json_pack("{s:I, s:I, s:I, s:o}", "older_than_seconds",
                                    (json_int_t)a->purge.older_than, "count", (json_int_t)r.count,
                                    "tombstones", (json_int_t)r.tombstones, "ids", ids));
}

static enum errcode
admin_purge_read(struct admin_op *a, struct worker_ctx *ctx)
{
    return admin_purge_run(a, ctx->store, NULL, a->page.now);
}

static enum errcode
admin_purge_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    return admin_purge_run((struct admin_op *)op, ctx->store, ctx, ctx->now_ms / 1000);
}

void
admin_purge_route(struct http_req *req, const struct admin_purgeable *t)
{
    struct admin_op *a;

    if ((a = admin_op_new(req)) == NULL)
        return;
    a->purgeable = t;
    /* body_purge bounds them */
    a->purge.older_than = body_int(req->body, "older_than_seconds", 0);
    a->purge.dry_run = json_is_true(json_object_get(req->body, "dry_run"));
    a->purge.limit = (int)body_int(req->body, "limit", ADMIN_PURGE_LIMIT_DEFAULT);
    a->page.now = clock_now(req->env); /* a dry run's time */
    if (a->purge.dry_run)
        admin_op_read(a, admin_purge_read);
    else
        admin_op_write(a, admin_purge_apply);
}

/* Wire helpers --------------------------------------------------------------- */

json_t *
admin_time(int64_t t)
{
    char buf[TIMEFMT_LEN + 1];

    if (t == 0)
        return json_null();
    timefmt_rfc3339(t, buf);
    return json_string(buf);
}

json_t *
admin_opt_str(const char *s)
{
    return s != NULL && *s != '\0' ? json_string(s) : json_null();
}
