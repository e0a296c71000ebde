/* The HTTP front: listeners (TCP and the admin Unix socket), route dispatch,
 * the per-request context, and the reply functions every handler ends with. */
#ifndef SITETOKEN_HTTP_H
#define SITETOKEN_HTTP_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "errcode.h"

struct sitetokend;
struct evhttp_request;
struct evbuffer;
struct http;

#define HTTP_MAX_PARAMS 2
#define HTTP_MAX_PARAM_LEN 128

/* One request in flight. Created by the dispatcher, freed in exactly one place
 * (http_finish, called by every http_reply_*). A handler that defers its reply
 * keeps the pointer and must answer from the thread that owns the event base. */
struct http_req {
    struct sitetokend *env;
    struct evhttp_request *ev;
    int route;      /* index into the route table */
    int admin;      /* arrived on the admin socket */
    uid_t peer_uid; /* admin socket peer, (uid_t)-1 when unknown */
    uint64_t id;    /* request id, logged and sent as X-Request-Id */
    int64_t started_us;
    char params[HTTP_MAX_PARAMS][HTTP_MAX_PARAM_LEN]; /* {} segments of the path */
    const char *actor; /* who, for logs and audit: "admin:uid", "mp:name", "public" */
    char actor_buf[96];
    char cert_sha256[65]; /* verified TLS client certificate's SHA-256 (hex), "" when none */
    /* The body the route declares (routes.h), parsed and checked by the
     * gate; NULL for a route that takes none. Freed with req; a handler that
     * keeps it past the reply takes it (and sets this NULL). */
    json_t *body;
};

/* Creates the listeners of cfg->listen and the admin socket on env->base.
 * Returns NULL with *errstr (static buffer) when a bind fails. */
struct http *http_start(struct sitetokend *env, const char **errstr);
/* Stops accepting (listeners closed, admin socket unlinked); requests in
 * flight still get their answers. */
void http_stop_accepting(struct http *h);
void http_free(struct http *h);
/* Requests accepted and not yet answered. */
int http_inflight(const struct http *h);
/* "http://127.0.0.1:8080, admin var/admin.sock" for the ready line. */
const char *http_describe(const struct http *h);
/* Reloads the certificates of every TLS listener (SIGHUP): new connections
 * get the new ones, open connections stay up. -1 when any failed (logged;
 * that listener keeps its old certificate). */
int http_reload_tls(struct http *h);

/* Replies. Each one sends, records metrics, logs, and frees req.
 * http_reply_problem adds Retry-After: 1 to unavailable and rate_limited
 * unless the caller has set one. */
void http_reply_json(struct http_req *req, int status, json_t *doc /* stolen */);
void http_reply_problem(struct http_req *req, enum errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void http_reply_buffer(struct http_req *req, int status, const char *content_type,
                       struct evbuffer *body /* contents moved out */);
/* 304 Not Modified when If-None-Match matches etag: returns 1 (replied). */
int http_reply_not_modified(struct http_req *req, const char *etag);
void http_add_header(struct http_req *req, const char *name, const char *value);

/* A long-lived streamed reply (the SSE event stream, server/feed.c).
 * http_stream_start sends status 200 and the headers (chunked on HTTP/1.1),
 * lifts the connection's read timeout, and keeps req alive (and in flight)
 * until http_stream_end, the one place a stream's context is freed. If the
 * client goes away first, closecb(req, arg) runs on the loop: it must drop
 * its references to req, which is freed as soon as it returns. */
/* Returns -1 when the stream budgets (limits.max_streams: 503 unavailable;
 * limits.max_streams_per_address: 429 rate_limited) have no room: the
 * problem document is sent and req is gone. */
int http_stream_start(struct http_req *req, const char *content_type,
                      void (*closecb)(struct http_req *req, void *arg), void *arg);
/* The budget check of http_stream_start alone, to refuse before any work:
 * 0 (req now holds its place, given back when the stream ends) or -1
 * (answered, req gone). */
int http_stream_admit(struct http_req *req);
/* Event streams open. */
int http_streams(const struct http *h);
/* Queues data as one chunk (copied). */
void http_stream_write(struct http_req *req, const void *data, size_t len);
/* Bytes queued to the client and not yet sent (a slow client's backlog). */
size_t http_stream_pending(struct http_req *req);
/* Ends the reply and frees req; closecb is not called. */
void http_stream_end(struct http_req *req);

/* Query parameter by name, NULL when absent. Valid until the reply. */
const char *http_query(struct http_req *req, const char *name);
const char *http_header(struct http_req *req, const char *name);

#endif
