/* Admin routes over what the authority has issued: bulk tokens (list, block,
 * unblock), devices (list, show, block, unblock), tokens (list, revoke) and
 * the audit trail (page through, verify). Lists are keyset-paged and read on
 * the loop's connection; changes go through the writer with their audit
 * record and, for a revocation, their feed entry in the same transaction. */
#ifndef SITETOKEN_INVENTORY_H
#define SITETOKEN_INVENTORY_H

#include <stdint.h>

#include <jansson.h>

struct http_req;
struct store_bulk;
struct store_device;
struct store_token;

/* The list items as the admin routes show them (also for admin_maint.c). */
json_t *inv_bulk_json(const struct store_bulk *b, int64_t now);
json_t *inv_device_json(const struct store_device *d);
json_t *inv_token_json(const struct store_token *t, int64_t now, int64_t skew);

void inventory_bulk_list(struct http_req *req);
void inventory_bulk_block(struct http_req *req);
void inventory_bulk_unblock(struct http_req *req);
void inventory_device_list(struct http_req *req);
void inventory_device_show(struct http_req *req);
void inventory_device_block(struct http_req *req);
void inventory_device_unblock(struct http_req *req);
void inventory_token_list(struct http_req *req);
void inventory_token_revoke(struct http_req *req);
void inventory_audit_list(struct http_req *req);
void inventory_audit_verify(struct http_req *req);

#endif
