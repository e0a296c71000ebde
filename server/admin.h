/* The admin routes, served on the admin Unix socket only (the file system is
 * the authorization: mode 0600), grouped by feature, one file each. Every
 * change goes through the writer with an audit record naming the admin's uid;
 * every store read runs on a worker (admin_op.h). */
#ifndef SITETOKEN_ADMIN_H
#define SITETOKEN_ADMIN_H

#include "committer.h"

struct http_req;
struct admin_op;
struct worker_ctx;

/* admin_status.c: the server itself */
void admin_status(struct http_req *req);
void admin_summary(struct http_req *req);
void admin_debug_clock(struct http_req *req);

/* admin_bulk.c: bulk tokens */
void admin_bulk_create(struct http_req *req);
void admin_bulk_list(struct http_req *req);
void admin_bulk_show(struct http_req *req);
void admin_bulk_prune(struct http_req *req);
void admin_bulk_block(struct http_req *req);
void admin_bulk_unblock(struct http_req *req);
/* admin_allow.c: bulk token allow-lists */
void admin_bulk_allow(struct http_req *req);
void admin_bulk_allow_list(struct http_req *req);

/* admin_devices.c: devices and their tokens */
void admin_device_list(struct http_req *req);
void admin_device_show(struct http_req *req);
void admin_device_block(struct http_req *req);
void admin_device_unblock(struct http_req *req);
void admin_device_purge(struct http_req *req);
void admin_token_list(struct http_req *req);
void admin_token_show(struct http_req *req);
void admin_token_revoke(struct http_req *req);

/* admin_mps.c: management points */
void admin_mp_add(struct http_req *req);
void admin_mp_list(struct http_req *req);
void admin_mp_show(struct http_req *req);
void admin_mp_rotate_key(struct http_req *req);
void admin_mp_remove(struct http_req *req);

/* admin_keys.c: signing keys */
void admin_keys_list(struct http_req *req);
void admin_keys_rotate(struct http_req *req);
/* POST /v1/admin/keys/{kid}/taint and /revoke */
void admin_keys_taint(struct http_req *req);
void admin_keys_revoke(struct http_req *req);
/* The key lifecycle step of an op (its mode: a rotation or the maintenance
 * tick), on the writer, with its audit record when anything changed. */
enum errcode admin_keys_apply(struct commit_op *op, struct commit_ctx *ctx);
/* On a worker after that commit (an admin_op's after_work): the signer
 * reloads the keys from the store; a failure fails the op. */
void admin_keys_reload(struct admin_op *a, struct worker_ctx *ctx);
/* Then on the loop: the change logged and announced on /v1/events. */
void admin_keys_after(struct admin_op *a);

/* admin_audit.c: the audit trail */
void admin_audit_list(struct http_req *req);
void admin_audit_verify(struct http_req *req);

#endif
