/* Inside the HTTP front (http.c, http_conn.c, http_listen.c): the shared
 * structs and the calls between the three files. Nothing outside them
 * includes this; handlers see http.h only. */
#ifndef SITETOKEN_HTTP_INT_H
#define SITETOKEN_HTTP_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "addrlimit.h"
#include "http.h"
#include "tls.h"

#define HTTP_MAX_LISTENERS 18 /* listen[], metrics.listen, admin */
/* Nesting of objects and arrays in a body, the top object included. */
#define HTTP_JSON_DEPTH 17
/* evhttp itself refuses bodies past this hard cap with its own (HTML) 413;
 * below it we answer payload_too_large as a problem document. Generous, so
 * that every body a real client sends reaches our code (docs/security.md). */
#define HTTP_HARD_BODY_CAP (1024 * 1024)
/* How often deadlines and released connections are looked at. */
#define HTTP_SWEEP_MS 100
/* Connections accepted over limits.max_connections that may wait for the
 * sweep to close them before accepting pauses (each holds a descriptor:
 * well inside main.c's MAIN_FD_RESERVE). */
#define HTTP_OVER_LIMIT_MAX 64
#define HTTP_CONN_BUCKETS 4096
#define HTTP_RATELIMIT_BUCKETS 65536
#define HTTP_ADDRLIMIT_SLOTS 65536
/* Retry-After for a stream refused for want of room. */
#define HTTP_STREAM_RETRY "10"

struct http_listener {
    struct http *h;
    struct evhttp *evh;
    struct evhttp_bound_socket *bound;
    struct tls *tls; /* NULL: plain */
    int admin;
    int metrics; /* metrics.listen: serves /metrics alone (and public ones then do not) */
};

/* One accepted connection. Made in the bufferevent callback, before evhttp
 * has a connection object; until its first request is dispatched ("pending")
 * we hold a reference on its bufferevent, so the pointer stays valid even if
 * evhttp lets go of it first (we notice by its callbacks being cleared).
 * From the first request on ("bound") evhttp's close callback frees it. */
struct http_conn {
    struct http *h;
    struct http_listener *l;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL while pending */
    int64_t deadline_us;             /* the next request must have arrived by; 0 = none */
    struct http_req *stream;         /* a streamed reply on this connection, or NULL */
    int in_streams;                  /* counted in nstreams, not in nconns, while streaming */
    struct http_conn *hnext;         /* hash chain by bev */
    struct http_conn *prev, *next;   /* every connection, for the sweep */
    char cert_sha256[TLS_FINGERPRINT_LEN + 1];
};

struct http {
    struct sitetokend *env;
    struct http_listener listeners[HTTP_MAX_LISTENERS];
    int nlisteners;
    int metrics_route; /* the route id of /metrics, for metrics.listen */
    char *admin_path;
    int inflight;
    int draining; /* http_stop_accepting ran: new requests get 503, nothing reaches the threads */
    int nconns;   /* TCP connections (admin excluded), streams excluded */
    int nstreams; /* event streams open (limits.max_streams) */
    int accept_paused; /* too many over-limit connections not yet closed: listeners off */
    struct http_conn *conns;
    struct http_conn *buckets[HTTP_CONN_BUCKETS];
    struct event *sweep;
    struct ratelimit *ratelimit;
    struct addrlimit *addrlimit; /* per-source-address budgets */
    _Atomic uint64_t next_id;
    char describe[1024];
};

/* Per-request extras that handlers do not see. */
struct http_req_priv {
    struct http_req pub;
    struct http *h;
    struct evkeyvalq query;
    int query_parsed;
    /* http_stream_*: the client's close callback, NULL when not streaming */
    void (*stream_closecb)(struct http_req *req, void *arg);
    void *stream_arg;
    struct evhttp_connection *stream_conn; /* untracked stream's connection */
    struct addrlimit_addr addr;            /* the peer, grouped (IPv6 per /64) */
    int has_addr;                          /* 0: admin socket or unknown family */
    int stream_counted;                    /* holds one of nstreams and of its address's */
};

static inline struct http_req_priv *
http_priv(struct http_req *req)
{
    return (struct http_req_priv *)req;
}

/* http_conn.c: connections, their limits, and streamed replies */
struct bufferevent *http_conn_new_cb(struct event_base *base, void *arg);
void http_sweep_cb(evutil_socket_t fd, short what, void *arg);
/* Pauses (0) or resumes (1) accepting on the TCP listeners (not the admin
 * socket, not while draining). */
void http_conn_accepting(struct http *h, int on);
void http_conn_drop(struct http_conn *c);
struct http_conn *http_conn_bind(struct http *h, struct evhttp_request *ev);
void http_conn_idle(struct http *h, struct evhttp_request *ev);
void http_conn_close_cb(struct evhttp_connection *evcon, void *arg);
void http_stream_release(struct http_req_priv *p);

/* http.c: the request context, the gate and the replies */
void http_dispatch_cb(struct evhttp_request *ev, void *arg);
void http_finish(struct http_req *req, int status);

#endif
