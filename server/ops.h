/* Operations endpoints: liveness, readiness and metrics (public, no secrets). */
#ifndef SITETOKEN_OPS_H
#define SITETOKEN_OPS_H

struct http_req;
struct ops;

void ops_healthz(struct http_req *req);
void ops_readyz(struct http_req *req);
void ops_metrics(struct http_req *req);
/* The /readyz probe state (env->ops, made on first use); after the loop. */
void ops_free(struct ops *o);

#endif
