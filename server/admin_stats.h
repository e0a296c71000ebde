/* Admin routes for the console (and sitetokenctl): an overview with counts
 * and issuances and refusals per minute, device search by prefix, the audit
 * trail newest first with filters, and what a block or revoke would affect.
 * All are admin ops read on a worker (admin_op_read), each bounded by an
 * index; only what the loop owns (feed subscribers, refusal counts) is added
 * on the loop. */
#ifndef SITETOKEN_ADMIN_STATS_H
#define SITETOKEN_ADMIN_STATS_H

struct http_req;

void admin_stats_overview(struct http_req *req);
void admin_stats_device_search(struct http_req *req);
void admin_stats_audit_recent(struct http_req *req);
void admin_stats_impact(struct http_req *req);

#endif
