/* Public material for gateways: the verification keys (JWKS). */
#ifndef SITETOKEN_PUBLISH_H
#define SITETOKEN_PUBLISH_H

struct http_req;

void publish_keys(struct http_req *req);

#endif
