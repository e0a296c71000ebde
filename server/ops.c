/* /healthz answers whenever the loop runs; /readyz proves the store takes a
 * durable write (and, once keys exist, that a signing key is active);
 * /metrics renders the process statistics. */
#include <event2/buffer.h>

#include "http.h"
#include "metrics.h"
#include "ops.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"

void
ops_healthz(struct http_req *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void
ops_readyz(struct http_req *req)
{
    const char *errstr = NULL;

    struct signer_keys *k = signer_keys_get(req->env->signer);
    int active = k != NULL && k->has_active;

    if (k != NULL)
        signer_keys_put(k);
    if (!active) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "no active signing key");
        return;
    }
    if (store_probe_write(req->env->store, &errstr) == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store is not writable: %s", errstr);
        return;
    }
    http_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:s}", "status", "ready", "store", "ok", "signing_key", "active"));
}

void
ops_metrics(struct http_req *req)
{
    struct evbuffer *buf = evbuffer_new();

    if (buf == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    metrics_render(req->env->metrics, buf);
    http_reply_buffer(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf);
    evbuffer_free(buf);
}
