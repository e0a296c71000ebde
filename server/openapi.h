/* GET /v1/openapi.json: the public part of docs/openapi.yaml (every route
 * but /v1/admin/...), converted to JSON at build time by openapi_gen.c. */
#ifndef SITETOKEN_OPENAPI_H
#define SITETOKEN_OPENAPI_H

#include "http.h"

/* The handler: the document with its ETag; 304 for a current copy. */
void openapi_serve(struct http_req *req);

#endif
