/* The MP API: registrations, bulk exchanges, renewals, access tokens and
 * introspection, on behalf of devices that prove possession of their key. */
#ifndef SITETOKEN_MPAPI_H
#define SITETOKEN_MPAPI_H

struct http_req;

void mpapi_register(struct http_req *req);
void mpapi_exchange(struct http_req *req);
void mpapi_renew(struct http_req *req);
void mpapi_access(struct http_req *req);
void mpapi_introspect(struct http_req *req);

#endif
