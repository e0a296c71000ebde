/* What gateways fetch without a credential. The JWKS document is built once
 * per key change by the signer; here it is only served, with its ETag, a
 * max-age shorter than the prepublish window, and 304 for a current copy. */
#include <stdio.h>

#include <event2/buffer.h>

#include "http.h"
#include "publish.h"
#include "signer.h"
#include "sitetokend.h"

void
publish_keys(struct http_req *req)
{
    struct signer_keys *k = signer_keys_get(req->env->signer);
    struct evbuffer *buf;
    char cc[64];

    if (k == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "no keys yet");
        return;
    }
    snprintf(cc, sizeof(cc), "public, max-age=%lld", (long long)k->max_age_s);
    http_add_header(req, "Cache-Control", cc);
    if (http_reply_not_modified(req, k->etag)) {
        signer_keys_put(k);
        return;
    }
    http_add_header(req, "ETag", k->etag);
    if ((buf = evbuffer_new()) == NULL) {
        signer_keys_put(k);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    evbuffer_add(buf, k->doc, k->doclen);
    signer_keys_put(k);
    http_reply_buffer(req, 200, "application/json", buf);
    evbuffer_free(buf);
}
