/* /healthz answers whenever the loop runs; /readyz proves the store takes a
 * durable write and has room for more (and, once keys exist, that a signing
 * key is active); /metrics renders the process statistics. */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/buffer.h>

#include "config.h"
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

/* Below this much free space where the database lives, a write may fail at
 * any moment (a probe write can still fit in pages SQLite already owns). */
#define OPS_MIN_FREE_BYTES (1024 * 1024)

/* Free bytes on the database's file system, -1 when unknown. */
static long long
ops_db_free_bytes(const char *database)
{
    char dir[4096];
    char *slash;
    struct statvfs sv;

    snprintf(dir, sizeof(dir), "%s", database);
    if ((slash = strrchr(dir, '/')) == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (statvfs(dir, &sv) == -1)
        return -1;
    return (long long)sv.f_bavail * (long long)sv.f_frsize;
}

void
ops_readyz(struct http_req *req)
{
    long long free_bytes;
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
    free_bytes = ops_db_free_bytes(req->env->cfg->database);
    if (free_bytes != -1 && free_bytes < OPS_MIN_FREE_BYTES) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: disk full (%lld bytes free)",
                           free_bytes);
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
