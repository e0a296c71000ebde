/* Admin routes for sitetokenctl's maintenance commands: GET
 * /v1/admin/summary, GET /v1/admin/tokens/{jti}, GET
 * /v1/admin/bulk-tokens/{id} (with its devices), GET /v1/admin/mps/{id}, POST
 * /v1/admin/mps/{id}/rotate-key, POST /v1/admin/devices/purge and POST
 * /v1/admin/bulk-tokens/prune (docs/api.md). */
#ifndef SITETOKEN_ADMIN_MAINT_H
#define SITETOKEN_ADMIN_MAINT_H

struct http_req;

void admin_maint_summary(struct http_req *req);
void admin_maint_token_show(struct http_req *req);
void admin_maint_bulk_show(struct http_req *req);
void admin_maint_mp_show(struct http_req *req);
void admin_maint_mp_rotate_key(struct http_req *req);
void admin_maint_device_purge(struct http_req *req);
void admin_maint_bulk_prune(struct http_req *req);

#endif
