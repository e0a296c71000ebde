/* Serves the OpenAPI document built into the binary (see openapi.h): its
 * bytes and ETag are constants written by sitetoken-openapi-gen, so there is
 * nothing to build or free at run time. */
#include <stddef.h>

#include <event2/buffer.h>

#include "openapi.h"

/* From the generated openapi_doc.c. */
extern const unsigned char openapi_doc_json[];
extern const size_t openapi_doc_len;
extern const char openapi_doc_etag[];

#define OPENAPI_CACHE_CONTROL "public, max-age=3600"

void
openapi_serve(struct http_req *req)
{
    struct evbuffer *buf;

    http_add_header(req, "Cache-Control", OPENAPI_CACHE_CONTROL);
    if (http_reply_not_modified(req, openapi_doc_etag))
        return;
    if ((buf = evbuffer_new()) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    http_add_header(req, "ETag", openapi_doc_etag);
    evbuffer_add_reference(buf, openapi_doc_json, openapi_doc_len, NULL, NULL);
    http_reply_buffer(req, 200, "application/json", buf);
    evbuffer_free(buf);
}
