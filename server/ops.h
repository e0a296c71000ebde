/* Operations endpoints: liveness, readiness and metrics (public, no secrets). */
#ifndef SITETOKEN_OPS_H
#define SITETOKEN_OPS_H

struct http_req;

void ops_healthz(struct http_req *req);
void ops_readyz(struct http_req *req);
void ops_metrics(struct http_req *req);

#endif
