/* Admin routes about the server itself: its status (version, uptime, store,
 * group-commit counters) and the debug clock (tests only: moves every clock
 * the server reads, then runs maintenance at the new time). */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "body.h"
#include "clock.h"
#include "committer.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "maintenance.h"
#include "sitetokend.h"
#include "store.h"
#include "timefmt.h"

void
admin_status(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct committer_stats cs;
    char started[TIMEFMT_LEN + 1];

    committer_get_stats(env->committer, &cs);
    timefmt_rfc3339(env->started_at, started);
    http_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:{s:I, s:I, s:I}}",
                  "version", SITETOKEN_VERSION, "started_at", started, "uptime_seconds",
                  (json_int_t)(time(NULL) - env->started_at), "site_code", env->cfg->site_code,
                  "issuer", env->cfg->issuer, "database", store_path(env->store), "config",
                  env->cfg->source, "schema_version", store_schema_version(env->store),
                  "schema_latest", store_schema_latest_of(env->store), "pid", (json_int_t)getpid(),
                  "commits", "batches", (json_int_t)cs.batches, "ops", (json_int_t)cs.ops,
                  "max_batch", (json_int_t)cs.max_batch));
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
