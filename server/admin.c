/* Admin handlers that concern the process itself (status). Feature-specific
 * admin routes live with their feature. */
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "http.h"
#include "sitetokend.h"
#include "store.h"

void
admin_status(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct tm tm;
    char started[32];

    gmtime_r(&env->started_at, &tm);
    strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:I}", "version",
                              SITETOKEN_VERSION, "started_at", started, "uptime_seconds",
                              (json_int_t)(time(NULL) - env->started_at), "site_code",
                              env->cfg->site_code, "issuer", env->cfg->issuer, "database",
                              store_path(env->store), "config", env->cfg->source,
                              "schema_version", store_schema_version(env->store),
                              "schema_latest", store_schema_latest(), "pid",
                              (json_int_t)getpid()));
}
