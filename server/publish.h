/* Public material for gateways: the verification keys (JWKS) and the
 * authority's metadata (GET /.well-known/sitetoken). */
#ifndef SITETOKEN_PUBLISH_H
#define SITETOKEN_PUBLISH_H

struct http_req;
struct publish;

void publish_keys(struct http_req *req);
/* The metadata document. Built once per origin it is served under and kept
 * (at most PUBLISH_ORIGINS origins, the oldest replaced first); the state
 * is made on first use on the main loop and hangs off env->publish. */
void publish_metadata(struct http_req *req);
/* Frees env->publish (NULL is fine). Main loop, at exit. */
void publish_free(struct publish *p);

#endif
