/* The route table and the matcher. Patterns are split on '/', and a "{}"
 * segment captures one non-empty path segment (percent-decoded). */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "admin.h"
#include "admin_stats.h"
#include "body.h"
#include "feed.h"
#include "mpapi.h"
#include "openapi.h"
#include "ops.h"
#include "publish.h"
#include "routes.h"

const struct route routes_table[] = {
    {.name = "healthz",
     .method = ROUTE_GET,
     .pattern = "/healthz",
     .scope = ROUTE_PUBLIC,
     .handler = ops_healthz},
    {.name = "readyz",
     .method = ROUTE_GET,
     .pattern = "/readyz",
     .scope = ROUTE_PUBLIC,
     .handler = ops_readyz},
    {.name = "metrics",
     .method = ROUTE_GET,
     .pattern = "/metrics",
     .scope = ROUTE_PUBLIC,
     .handler = ops_metrics},
    {.name = "keys",
     .method = ROUTE_GET,
     .pattern = "/v1/keys",
     .scope = ROUTE_PUBLIC,
     .handler = publish_keys},
    {.name = "jwks",
     .method = ROUTE_GET,
     .pattern = "/.well-known/jwks.json",
     .scope = ROUTE_PUBLIC,
     .handler = publish_keys},
    {.name = "metadata",
     .method = ROUTE_GET,
     .pattern = "/.well-known/sitetoken",
     .scope = ROUTE_PUBLIC,
     .handler = publish_metadata},
    {.name = "openapi",
     .method = ROUTE_GET,
     .pattern = "/v1/openapi.json",
     .scope = ROUTE_PUBLIC,
     .handler = openapi_serve},
    {.name = "registrations",
     .method = ROUTE_POST,
     .pattern = "/v1/registrations",
     .scope = ROUTE_PUBLIC,
     .mp = 1,
     .body = &body_register,
     .handler = mpapi_register},
    {.name = "exchanges",
     .method = ROUTE_POST,
     .pattern = "/v1/exchanges",
     .scope = ROUTE_PUBLIC,
     .mp = 1,
     .body = &body_exchange,
     .handler = mpapi_exchange},
    {.name = "renewals",
     .method = ROUTE_POST,
     .pattern = "/v1/renewals",
     .scope = ROUTE_PUBLIC,
     .mp = 1,
     .body = &body_renew,
     .handler = mpapi_renew},
    {.name = "access_tokens",
     .method = ROUTE_POST,
     .pattern = "/v1/access-tokens",
     .scope = ROUTE_PUBLIC,
     .mp = 1,
     .body = &body_access,
     .handler = mpapi_access},
    {.name = "introspect",
     .method = ROUTE_POST,
     .pattern = "/v1/introspect",
     .scope = ROUTE_PUBLIC,
     .mp = 1,
     .body = &body_introspect,
     .handler = mpapi_introspect},
    {.name = "admin_status",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/status",
     .scope = ROUTE_ADMIN,
     .handler = admin_status},
    {.name = "admin_bulk_create",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/bulk-tokens",
     .scope = ROUTE_ADMIN,
     .body = &body_bulk_create,
     .handler = admin_bulk_create},
    {.name = "admin_mp_add",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/mps",
     .scope = ROUTE_ADMIN,
     .body = &body_mp_add,
     .handler = admin_mp_add},
    {.name = "admin_mp_list",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/mps",
     .scope = ROUTE_ADMIN,
     .handler = admin_mp_list},
    {.name = "admin_mp_remove",
     .method = ROUTE_DELETE,
     .pattern = "/v1/admin/mps/{}",
     .scope = ROUTE_ADMIN,
     .handler = admin_mp_remove},
    {.name = "admin_keys",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/keys",
     .scope = ROUTE_ADMIN,
     .handler = admin_keys_list},
    {.name = "admin_keys_rotate",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/keys/rotate",
     .scope = ROUTE_ADMIN,
     .body = &body_keys_rotate,
     .handler = admin_keys_rotate},
    {.name = "admin_keys_taint",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/keys/{}/taint",
     .scope = ROUTE_ADMIN,
     .body = &body_unblock,
     .handler = admin_keys_taint},
    {.name = "admin_keys_revoke",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/keys/{}/revoke",
     .scope = ROUTE_ADMIN,
     .body = &body_unblock,
     .handler = admin_keys_revoke},
    {.name = "admin_debug_clock",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/debug/clock",
     .scope = ROUTE_ADMIN,
     .body = &body_debug_clock,
     .handler = admin_debug_clock},
    {.name = "revocations",
     .method = ROUTE_GET,
     .pattern = "/v1/revocations",
     .scope = ROUTE_PUBLIC,
     .handler = feed_revocations},
    {.name = "events",
     .method = ROUTE_GET,
     .pattern = "/v1/events",
     .scope = ROUTE_PUBLIC,
     .handler = feed_events},
    {.name = "admin_bulk_list",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/bulk-tokens",
     .scope = ROUTE_ADMIN,
     .handler = admin_bulk_list},
    {.name = "admin_bulk_block",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/bulk-tokens/{}/block",
     .scope = ROUTE_ADMIN,
     .body = &body_block,
     .handler = admin_bulk_block},
    {.name = "admin_bulk_allow",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/bulk-tokens/{}/allow",
     .scope = ROUTE_ADMIN,
     .body = &body_bulk_allow,
     .handler = admin_bulk_allow},
    {.name = "admin_bulk_allow_list",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/bulk-tokens/{}/allow",
     .scope = ROUTE_ADMIN,
     .handler = admin_bulk_allow_list},
    {.name = "admin_bulk_unblock",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/bulk-tokens/{}/unblock",
     .scope = ROUTE_ADMIN,
     .body = &body_unblock,
     .handler = admin_bulk_unblock},
    {.name = "admin_devices",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/devices",
     .scope = ROUTE_ADMIN,
     .handler = admin_device_list},
    {.name = "admin_device",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/devices/{}",
     .scope = ROUTE_ADMIN,
     .handler = admin_device_show},
    {.name = "admin_device_block",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/devices/{}/block",
     .scope = ROUTE_ADMIN,
     .body = &body_block,
     .handler = admin_device_block},
    {.name = "admin_device_unblock",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/devices/{}/unblock",
     .scope = ROUTE_ADMIN,
     .body = &body_unblock,
     .handler = admin_device_unblock},
    {.name = "admin_tokens",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/tokens",
     .scope = ROUTE_ADMIN,
     .handler = admin_token_list},
    {.name = "admin_token_revoke",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/tokens/{}/revoke",
     .scope = ROUTE_ADMIN,
     .body = &body_revoke,
     .handler = admin_token_revoke},
    {.name = "admin_audit",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/audit",
     .scope = ROUTE_ADMIN,
     .handler = admin_audit_list},
    {.name = "admin_audit_verify",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/audit/verify",
     .scope = ROUTE_ADMIN,
     .handler = admin_audit_verify},
    {.name = "admin_overview",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/overview",
     .scope = ROUTE_ADMIN,
     .handler = admin_stats_overview},
    {.name = "admin_device_search",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/search/devices",
     .scope = ROUTE_ADMIN,
     .handler = admin_stats_device_search},
    {.name = "admin_audit_recent",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/audit/recent",
     .scope = ROUTE_ADMIN,
     .handler = admin_stats_audit_recent},
    {.name = "admin_impact",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/impact",
     .scope = ROUTE_ADMIN,
     .handler = admin_stats_impact},
    {.name = "admin_summary",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/summary",
     .scope = ROUTE_ADMIN,
     .handler = admin_summary},
    {.name = "admin_token",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/tokens/{}",
     .scope = ROUTE_ADMIN,
     .handler = admin_token_show},
    {.name = "admin_bulk",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/bulk-tokens/{}",
     .scope = ROUTE_ADMIN,
     .handler = admin_bulk_show},
    {.name = "admin_mp",
     .method = ROUTE_GET,
     .pattern = "/v1/admin/mps/{}",
     .scope = ROUTE_ADMIN,
     .handler = admin_mp_show},
    {.name = "admin_mp_rotate_key",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/mps/{}/rotate-key",
     .scope = ROUTE_ADMIN,
     .handler = admin_mp_rotate_key},
    {.name = "admin_device_purge",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/devices/purge",
     .scope = ROUTE_ADMIN,
     .body = &body_purge,
     .handler = admin_device_purge},
    {.name = "admin_bulk_prune",
     .method = ROUTE_POST,
     .pattern = "/v1/admin/bulk-tokens/prune",
     .scope = ROUTE_ADMIN,
     .body = &body_purge,
     .handler = admin_bulk_prune},
};

const int routes_count = (int)(sizeof(routes_table) / sizeof(routes_table[0]));

const char *const *
routes_names(void)
{
    static const char *names[sizeof(routes_table) / sizeof(routes_table[0]) + 1];

    if (names[0] == NULL) {
        for (int i = 0; i < routes_count; i++)
            names[i] = routes_table[i].name;
        names[routes_count] = "not_found";
    }
    return names;
}

int
routes_not_found_id(void)
{
    return routes_count;
}

/* Matches one pattern against path; captured segments go to params. */
static int
routes_match_one(const char *pattern, const char *path, char params[][HTTP_MAX_PARAM_LEN],
                 int nparams)
{
    int np = 0;

    while (*pattern != '\0' && *path != '\0') {
        if (pattern[0] == '{' && pattern[1] == '}') {
            const char *end = strchr(path, '/');
            size_t len = end != NULL ? (size_t)(end - path) : strlen(path);
            char *dec;
            size_t declen = 0;

            if (len == 0 || np >= nparams)
                return 0;
            {
                char seg[3 * HTTP_MAX_PARAM_LEN];

                if (len >= sizeof(seg))
                    return 0;
                memcpy(seg, path, len);
                seg[len] = '\0';
                if ((dec = evhttp_uridecode(seg, 0, &declen)) == NULL)
                    return 0;
            }
            if (declen == 0 || declen >= HTTP_MAX_PARAM_LEN || memchr(dec, '\0', declen)) {
                free(dec);
                return 0;
            }
            memcpy(params[np++], dec, declen + 1);
            free(dec);
            pattern += 2;
            path += len;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

int
routes_match(enum route_method method, const char *path, char params[][HTTP_MAX_PARAM_LEN],
             int nparams)
{
    return routes_lookup(method, path, params, nparams, 1);
}

int
routes_lookup(enum route_method method, const char *path, char params[][HTTP_MAX_PARAM_LEN],
              int nparams, int admin)
{
    int path_matched = 0;

    for (int i = 0; i < routes_count; i++) {
        if (!admin && routes_table[i].scope == ROUTE_ADMIN)
            continue;
        if (!routes_match_one(routes_table[i].pattern, path, params, nparams))
            continue;
        if (routes_table[i].method == method)
            return i;
        path_matched = 1;
    }
    return path_matched ? -2 : -1;
}

void
routes_allow(const char *path, int admin, char *buf, size_t n)
{
    static const char *const names[] = {
        [ROUTE_GET] = "GET", [ROUTE_POST] = "POST", [ROUTE_DELETE] = "DELETE"};
    char params[HTTP_MAX_PARAMS][HTTP_MAX_PARAM_LEN];
    unsigned seen = 0;
    size_t o = 0;

    if (n == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < routes_count; i++) {
        enum route_method m = routes_table[i].method;

        if ((!admin && routes_table[i].scope == ROUTE_ADMIN) || (seen & 1u << m) ||
            !routes_match_one(routes_table[i].pattern, path, params, HTTP_MAX_PARAMS))
            continue;
        seen |= 1u << m;
        o += (size_t)snprintf(buf + o, o < n ? n - o : 0, "%s%s", o > 0 ? ", " : "", names[m]);
        if (o >= n) {
            buf[n - 1] = '\0';
            return;
        }
    }
}
