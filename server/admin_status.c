/* Admin routes about the server itself: its status (version, uptime, store,
 * group-commit counters), the summary sitetokenctl's `status` adds (counts
 * and keys read on a worker, listeners added on the loop) and the debug
 * clock (tests only: moves every clock the server reads, then runs
 * maintenance at the new time). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "admin_op.h"
#include "body.h"
#include "clock.h"
#include "committer.h"
#include "config.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "maintenance.h"
#include "sitetokend.h"
#include "stats.h"
#include "store.h"
#include "timefmt.h"

/* Worker: the schema version is a store read; the rest is the loop's. */
static enum errcode
admin_status_read(struct admin_op *a, struct worker_ctx *ctx)
{
    a->which = store_schema_version(ctx->store);
    return ERRCODE_OK;
}

static void
admin_status_after(struct admin_op *a)
{
    struct sitetokend *env = a->env;
    struct committer_stats cs;
    char started[TIMEFMT_LEN + 1];

    committer_get_stats(env->committer, &cs);
    timefmt_rfc3339(env->started_at, started);
    a->reply = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:{s:I, s:I, s:I}}",
                         "version", SITETOKEN_VERSION, "started_at", started, "uptime_seconds",
                         (json_int_t)(time(NULL) - env->started_at), "site_code",
                         env->cfg->site_code, "issuer", env->cfg->issuer, "database",
                         store_path(env->store), "config", env->cfg->source, "schema_version",
                         a->which, "schema_latest", store_schema_latest_of(env->store), "pid",
                         (json_int_t)getpid(), "commits", "batches", (json_int_t)cs.batches, "ops",
                         (json_int_t)cs.ops, "max_batch", (json_int_t)cs.max_batch);
    if (a->reply == NULL)
        commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
}

void
admin_status(struct http_req *req)
{
    struct admin_op *a = admin_op_new(req);

    if (a == NULL)
        return;
    a->after = admin_status_after;
    admin_op_read(a, admin_status_read);
}

/* The next rotation: a waiting next key activates at its time; else the
 * active key is due rotation_period after it activated (signer.c). */
static json_t *
admin_summary_keys(const struct store_key *keys, size_t nkeys, int64_t period)
{
    const char *active_kid = NULL;
    int64_t next_at = 0, active_at = 0;

    for (size_t i = 0; i < nkeys; i++) {
        if (strcmp(keys[i].status, "active") == 0 && keys[i].activates_at >= active_at) {
            active_kid = keys[i].kid;
            active_at = keys[i].activates_at;
        } else if (strcmp(keys[i].status, "next") == 0) {
            next_at = keys[i].activates_at;
        }
    }
    if (next_at == 0 && active_kid != NULL)
        next_at = active_at + period;
    return json_pack("{s:o, s:o}", "active_kid", admin_opt_str(active_kid), "next_rotation_at",
                     admin_time(next_at));
}

static enum errcode
admin_summary_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct store_stats_counts c;
    struct store_key *keys = NULL;
    size_t nkeys = 0;
    const char *errstr = NULL;

    if (store_stats_counts(ctx->store, a->page.now, &c, &errstr) == -1 ||
        store_keys_list(ctx->store, &keys, &nkeys, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    a->reply = admin_summary_keys(keys, nkeys, a->env->cfg->rotation_period_ms / 1000);
    store_keys_free(keys, nkeys);
    if (a->reply == NULL ||
        json_object_update_new(
            a->reply,
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "devices", (json_int_t)c.devices,
                      "devices_blocked", (json_int_t)c.devices_blocked, "tokens_live",
                      (json_int_t)c.tokens_live, "bulk_tokens", (json_int_t)c.bulk_tokens,
                      "bulk_active", (json_int_t)c.bulk_live, "mps", (json_int_t)c.mps)) == -1)
        return commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    return ERRCODE_OK;
}

/* Loop: what only the loop knows. */
static void
admin_summary_after(struct admin_op *a)
{
    json_object_set_new(a->reply, "listeners", json_string(http_describe(a->env->http)));
    json_object_set_new(a->reply, "admin_socket", json_string(a->env->cfg->admin_socket));
}

void
admin_summary(struct http_req *req)
{
    struct admin_op *a = admin_op_new(req);

    if (a == NULL)
        return;
    a->page.now = clock_now(req->env);
    a->after = admin_summary_after;
    admin_op_read(a, admin_summary_read);
}

void
admin_debug_clock(struct http_req *req)
{
    struct sitetokend *env = req->env;
    int64_t offset_ms;

    if (!env->cfg->clock_override) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "the debug clock is not enabled");
        return;
    }
    offset_ms = body_int(req->body, "offset_seconds", 0) * 1000;
    clock_set_offset(env, offset_ms);
    log_warn("event=debug_clock offset_ms=%lld", (long long)offset_ms);
    maintenance_tick(env);
    http_reply_json(req, 200,
                    json_pack("{s:I, s:I}", "offset_seconds", (json_int_t)(offset_ms / 1000), "now",
                              (json_int_t)clock_now(env)));
}
