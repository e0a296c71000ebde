/* The HTTP front of sitetokend on libevent's evhttp: TCP listeners (plain or
 * TLS) from the config, the admin listener on a Unix socket, the connection
 * limits (how many, how long a request may take to arrive), the dispatcher
 * that maps a request to its route, and the replies (JSON, RFC 9457
 * problems, text). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "addrlimit.h"
#include "auth.h"
#include "body.h"
#include "clock.h"
#include "config.h"
#include "http.h"
#include "jsonlim.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "routes.h"
#include "sitetokend.h"
#include "tls.h"

#define HTTP_MAX_LISTENERS 17
/* Nesting of objects and arrays in a body, the top object included. */
#define HTTP_JSON_DEPTH 17
/* evhttp itself refuses bodies past this hard cap with its own (HTML) 413;
 * below it we answer payload_too_large as a problem document. Generous, so
 * that every body a real client sends reaches our code (docs/security.md). */
#define HTTP_HARD_BODY_CAP (1024 * 1024)
/* How often deadlines and released connections are looked at. */
#define HTTP_SWEEP_MS 100
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
    char *admin_path;
    int inflight;
    int nconns;   /* TCP connections (admin excluded), streams excluded */
    int nstreams; /* event streams open (limits.max_streams) */
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

static struct http_req_priv *
http_priv(struct http_req *req)
{
    return (struct http_req_priv *)req;
}

/* Connections ------------------------------------------------------------ */

static uint32_t
http_conn_hash(const struct bufferevent *bev)
{
    uintptr_t v = (uintptr_t)bev;

    return (uint32_t)((v >> 4) ^ (v >> 16)) & (HTTP_CONN_BUCKETS - 1);
}

static struct http_conn *
http_conn_find(struct http *h, const struct bufferevent *bev)
{
    struct http_conn *c;

    if (bev == NULL)
        return NULL;
    for (c = h->buckets[http_conn_hash(bev)]; c != NULL; c = c->hnext)
        if (c->bev == bev)
            return c;
    return NULL;
}

/* Forgets c (and drops our reference on a pending connection's bev). */
static void
http_conn_drop(struct http_conn *c)
{
    struct http *h = c->h;
    struct http_conn **pp = &h->buckets[http_conn_hash(c->bev)];

    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (!c->l->admin && !c->in_streams)
        h->nconns--;
    if (c->evcon == NULL)
        bufferevent_decref(c->bev);
    free(c);
}

static int64_t
http_read_timeout_us(const struct http *h)
{
    return h->env->cfg->read_timeout_ms * 1000;
}

/* evhttp's bufferevent callback: every accepted connection starts here. */
static struct bufferevent *
http_conn_new_cb(struct event_base *base, void *arg)
{
    struct http_listener *l = arg;
    struct http *h = l->h;
    struct bufferevent *bev;
    struct http_conn *c;
    size_t high;
    uint32_t b;

    bev = l->tls != NULL ? tls_bufferevent_new(l->tls, base)
                         : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL || (c = calloc(1, sizeof(*c))) == NULL)
        return bev; /* untracked: evhttp's own timeouts still apply */
    /* evhttp drains its input as it parses; this only bounds what a
     * connection can pile up once evhttp has let go of it. evhttp 2.1 moves
     * a Content-Length body only once all of it is buffered here, so the
     * mark must hold the hard body cap, or a body above it stalls. */
    high = (size_t)h->env->cfg->max_header_size * 2 + 65536 + HTTP_HARD_BODY_CAP;
    bufferevent_setwatermark(bev, EV_READ, 0, high);
    bufferevent_incref(bev);
    c->h = h;
    c->l = l;
    c->bev = bev;
    c->deadline_us = clock_mono_us() + http_read_timeout_us(h);
    b = http_conn_hash(bev);
    c->hnext = h->buckets[b];
    h->buckets[b] = c;
    c->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = c;
    h->conns = c;
    if (!l->admin && ++h->nconns > h->env->cfg->max_connections) {
        /* Over the limit: closed by the sweep right away, unanswered. */
        c->deadline_us = 1;
        if (h->sweep != NULL)
            event_active(h->sweep, EV_TIMEOUT, 0);
        log_debug("event=conn_refused conns=%d max=%lld", h->nconns,
                  (long long)h->env->cfg->max_connections);
    }
    return bev;
}

static void http_conn_close_cb(struct evhttp_connection *evcon, void *arg);

/* Closes c's socket under evhttp: evhttp reads EOF and frees the
 * connection (answering nothing more). */
static void
http_conn_kill(struct http_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    c->deadline_us = 0;
    if (c->evcon == NULL)
        http_conn_drop(c); /* evhttp still holds its own reference */
}

/* Every HTTP_SWEEP_MS: drops pending connections evhttp has let go of, and
 * closes those whose next request has not arrived in limits.read_timeout
 * (slow or idle clients; a slowloris). */
static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http *h = arg;
    int64_t now = clock_mono_us();
    struct http_conn *c, *next;
    bufferevent_data_cb rcb, wcb;
    bufferevent_event_cb ecb;
    void *cbarg;
    int killed = 0;

    for (c = h->conns; c != NULL; c = next) {
        next = c->next;
        if (c->evcon == NULL) {
            bufferevent_getcb(c->bev, &rcb, &wcb, &ecb, &cbarg);
            if (ecb == NULL) { /* bufferevent_free() cleared it: evhttp is done */
                http_conn_drop(c);
                continue;
            }
        }
        if (c->deadline_us != 0 && now >= c->deadline_us) {
            http_conn_kill(c);
            killed++;
        }
    }
    if (killed > 0)
        log_debug("event=conn_timeout closed=%d conns=%d", killed, h->nconns);
}

/* The first request on c arrived: from now on evhttp's close callback
 * tells us when the connection goes. */
static struct http_conn *
http_conn_bind(struct http *h, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    struct http_conn *c;

    if (evcon == NULL || (c = http_conn_find(h, evhttp_connection_get_bufferevent(evcon))) == NULL)
        return NULL;
    c->deadline_us = 0; /* the request is here; its answer may take a while */
    if (c->evcon == NULL) {
        c->evcon = evcon;
        evhttp_connection_set_closecb(evcon, http_conn_close_cb, c);
        if (c->l->tls != NULL)
            tls_peer_fingerprint(c->bev, c->cert_sha256);
        bufferevent_decref(c->bev);
    }
    return c;
}

/* After an answer: the connection's next request must arrive in time. */
static void
http_conn_idle(struct http *h, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    struct http_conn *c;

    if (evcon != NULL &&
        (c = http_conn_find(h, evhttp_connection_get_bufferevent(evcon))) != NULL &&
        c->stream == NULL)
        c->deadline_us = clock_mono_us() + http_read_timeout_us(h);
}

static void http_stream_release(struct http_req_priv *p);

/* The one place a request context is freed. */
static void
http_finish(struct http_req *req, int status)
{
    struct http_req_priv *p = http_priv(req);
    int64_t us = clock_mono_us() - req->started_us;
    char q[300];
    const char *uri = evhttp_request_get_uri(req->ev);

    metrics_request(req->env->metrics, req->route, status, us);
    if (status >= 500)
        log_warn("event=request rid=%llx actor=%s method=%d path=%s route=%s status=%d us=%lld",
                 (unsigned long long)req->id, req->actor, (int)evhttp_request_get_command(req->ev),
                 log_quote(uri, q, sizeof(q)), routes_names()[req->route], status, (long long)us);
    else
        log_debug("event=request rid=%llx actor=%s method=%d path=%s route=%s status=%d us=%lld",
                  (unsigned long long)req->id, req->actor, (int)evhttp_request_get_command(req->ev),
                  log_quote(uri, q, sizeof(q)), routes_names()[req->route], status, (long long)us);
    if (p->query_parsed)
        evhttp_clear_headers(&p->query);
    json_decref(req->body);
    http_stream_release(p);
    http_conn_idle(p->h, req->ev);
    p->h->inflight--;
    if (p->h->env->shutting_down && p->h->inflight == 0)
        event_base_loopexit(p->h->env->base, NULL);
    free(p);
}

void
http_add_header(struct http_req *req, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value);
}

void
http_reply_buffer(struct http_req *req, int status, const char *content_type, struct evbuffer *body)
{
    struct evhttp_request *ev = req->ev;
    struct evkeyvalq *out = evhttp_request_get_output_headers(ev);
    char rid[32];

    snprintf(rid, sizeof(rid), "%llx", (unsigned long long)req->id);
    evhttp_add_header(out, "X-Request-Id", rid);
    if (content_type != NULL)
        evhttp_add_header(out, "Content-Type", content_type);
    if (req->env->shutting_down)
        evhttp_add_header(out, "Connection", "close");
    /* http_finish first: when the client has gone, evhttp_send_reply frees
     * ev at once. */
    http_finish(req, status);
    evhttp_send_reply(ev, status, NULL, body);
}

void
http_reply_json(struct http_req *req, int status, json_t *doc)
{
    struct evbuffer *buf = evbuffer_new();
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (buf == NULL || text == NULL) {
        free(text);
        if (buf != NULL)
            evbuffer_free(buf);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    free(text);
    http_add_header(req, "Cache-Control", "no-store");
    http_reply_buffer(req, status, "application/json", buf);
    evbuffer_free(buf);
}

void
http_reply_problem(struct http_req *req, enum errcode code, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    struct evbuffer *buf;
    char *text;
    int status = errcode_status(code);

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    /* Always a document, even when vsnprintf cut a character in half. */
    text = errcode_problem_text(code, detail);
    buf = evbuffer_new();
    if (buf != NULL && text != NULL) {
        evbuffer_add(buf, text, strlen(text));
        evbuffer_add(buf, "\n", 1);
    }
    free(text);
    /* A caller that knows better has set Retry-After already. */
    if ((code == ERRCODE_UNAVAILABLE || code == ERRCODE_RATE_LIMITED) &&
        evhttp_find_header(evhttp_request_get_output_headers(req->ev), "Retry-After") == NULL)
        http_add_header(req, "Retry-After", "1");
    http_add_header(req, "Cache-Control", "no-store");
    /* A made-up or wrong MP credential spends the address's refusal budget. */
    if (code == ERRCODE_UNAUTHENTICATED && http_priv(req)->has_addr &&
        req->route != routes_not_found_id() && routes_table[req->route].mp)
        addrlimit_charge(http_priv(req)->h->addrlimit, ADDRLIMIT_FAILED_AUTH, &http_priv(req)->addr,
                         clock_mono_us());
    if (code != ERRCODE_OK)
        log_info("event=refused rid=%llx actor=%s route=%s code=%s", (unsigned long long)req->id,
                 req->actor, routes_names()[req->route], errcode_name(code));
    http_reply_buffer(req, status, "application/problem+json", buf);
    if (buf != NULL)
        evbuffer_free(buf);
}

int
http_reply_not_modified(struct http_req *req, const char *etag)
{
    const char *inm = http_header(req, "If-None-Match");

    if (inm == NULL || etag == NULL || strstr(inm, etag) == NULL)
        return 0;
    http_add_header(req, "ETag", etag);
    http_reply_buffer(req, 304, NULL, NULL);
    return 1;
}

/* Streams (see http.h). A streamed request stays in evhttp's hands until
 * evhttp_send_reply_end; when the client closes first, evhttp detaches the
 * request from the dying connection (req->ev stays valid, its connection is
 * NULL) and then calls the connection's close callback. */
/* A stream ends (either way): it gives back its place in the budgets. */
static void
http_stream_release(struct http_req_priv *p)
{
    if (!p->stream_counted)
        return;
    p->stream_counted = 0;
    p->h->nstreams--;
    if (p->has_addr)
        addrlimit_release(p->h->addrlimit, ADDRLIMIT_STREAMS, &p->addr);
}

static void
http_stream_closed(struct http_req *req)
{
    struct http_req_priv *p = http_priv(req);
    struct evhttp_request *ev = req->ev;

    http_stream_release(p);
    p->stream_closecb(req, p->stream_arg);
    http_finish(req, 200);
    evhttp_send_reply_end(ev); /* no connection left: only frees ev */
}

static void
http_stream_close_cb(struct evhttp_connection *conn, void *arg)
{
    http_stream_closed(arg);
}

/* evhttp's close callback for every bound connection. */
static void
http_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct http_conn *c = arg;
    struct http_req *stream = c->stream;

    http_conn_drop(c);
    if (stream != NULL)
        http_stream_closed(stream);
}

int
http_stream_admit(struct http_req *req)
{
    struct http_req_priv *p = http_priv(req);
    struct http *h = p->h;

    if (p->stream_counted)
        return 0;
    if (h->nstreams >= h->env->cfg->max_streams) {
        http_add_header(req, "Retry-After", HTTP_STREAM_RETRY);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "too many event streams open (%lld)",
                           (long long)h->env->cfg->max_streams);
        return -1;
    }
    if (p->has_addr && addrlimit_acquire(h->addrlimit, ADDRLIMIT_STREAMS, &p->addr) == -1) {
        http_add_header(req, "Retry-After", HTTP_STREAM_RETRY);
        http_reply_problem(req, ERRCODE_RATE_LIMITED,
                           "too many event streams open from this address (at most %lld)",
                           (long long)h->env->cfg->max_streams_per_address);
        return -1;
    }
    h->nstreams++;
    p->stream_counted = 1;
    return 0;
}

int
http_streams(const struct http *h)
{
    return h->nstreams;
}

int
http_stream_start(struct http_req *req, const char *content_type,
                  void (*closecb)(struct http_req *req, void *arg), void *arg)
{
    struct http_req_priv *p = http_priv(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req->ev);
    struct timeval write_tv = {.tv_sec = 60};
    char rid[32];

    if (http_stream_admit(req) == -1)
        return -1;

    snprintf(rid, sizeof(rid), "%llx", (unsigned long long)req->id);
    evhttp_add_header(out, "X-Request-Id", rid);
    evhttp_add_header(out, "Content-Type", content_type);
    p->stream_closecb = closecb;
    p->stream_arg = arg;
    evhttp_send_reply_start(req->ev, 200, "OK");
    if (conn != NULL) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);

        /* The client sends nothing more: no read timeout (a writer that
         * stalls is caught by the write timeout and the caller's backlog
         * bound), and at most 4 KiB of whatever it sends is read. */
        struct http_conn *c = http_conn_find(p->h, bev);

        bufferevent_set_timeouts(bev, NULL, &write_tv);
        bufferevent_setwatermark(bev, EV_READ, 0, 4096);
        if (c != NULL && c->evcon == conn) {
            c->stream = req;
            c->deadline_us = 0;
            if (!c->l->admin && !c->in_streams) {
                c->in_streams = 1; /* from max_connections to max_streams */
                p->h->nconns--;
            }
        } else {
            p->stream_conn = conn;
            evhttp_connection_set_closecb(conn, http_stream_close_cb, req);
        }
    }
    return 0;
}

void
http_stream_write(struct http_req *req, const void *data, size_t len)
{
    struct evbuffer *buf = evbuffer_new();

    if (buf == NULL)
        return;
    evbuffer_add(buf, data, len);
    evhttp_send_reply_chunk(req->ev, buf);
    evbuffer_free(buf);
}

size_t
http_stream_pending(struct http_req *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);

    if (conn == NULL)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(evhttp_connection_get_bufferevent(conn)));
}

void
http_stream_end(struct http_req *req)
{
    struct http_req_priv *p = http_priv(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
    struct evhttp_request *ev = req->ev;
    struct http_conn *c;

    if (conn != NULL && p->stream_conn == conn)
        evhttp_connection_set_closecb(conn, NULL, NULL);
    else if (conn != NULL &&
             (c = http_conn_find(p->h, evhttp_connection_get_bufferevent(conn))) != NULL &&
             c->stream == req) {
        c->stream = NULL;
        if (c->in_streams) { /* the connection may carry requests again */
            c->in_streams = 0;
            p->h->nconns++;
        }
    }
    http_stream_release(p);
    http_finish(req, 200);
    evhttp_send_reply_end(ev);
}

const char *
http_header(struct http_req *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const char *
http_query(struct http_req *req, const char *name)
{
    struct http_req_priv *p = http_priv(req);

    if (!p->query_parsed) {
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req->ev));

        p->query.tqh_first = NULL;
        p->query.tqh_last = &p->query.tqh_first;
        if (q != NULL && evhttp_parse_query_str(q, &p->query) != 0)
            evhttp_clear_headers(&p->query);
        p->query_parsed = 1;
    }
    return evhttp_find_header(&p->query, name);
}

/* The body the route takes, parsed once: bounded before jansson allocates
 * (size by limits.max_body, already checked, and nesting depth, on the raw
 * text), then held to the route's field table. 0 with req->body set, or -1
 * (answered invalid_request, req gone). */
static int
http_body_parse(struct http_req *req, const struct body_shape *shape)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
    size_t len = evbuffer_get_length(in);
    const char *ctype = http_header(req, "Content-Type"), *errstr = NULL;
    char why[160];

    if (len == 0 && shape->optional) {
        req->body = json_object();
        if (req->body == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
            return -1;
        }
        return 0;
    }
    if (ctype != NULL && strncasecmp(ctype, "application/json", 16) != 0) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "Content-Type must be application/json");
        return -1;
    }
    if (len == 0) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "a JSON object body is required");
        return -1;
    }
    req->body = jsonlim_load_object((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len,
                                    (size_t)req->env->cfg->max_body, HTTP_JSON_DEPTH, &errstr);
    if (req->body == NULL) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "body is not a JSON object nested at most %d deep: %s", HTTP_JSON_DEPTH,
                           errstr);
        return -1;
    }
    if (body_check(req->body, shape->fields, shape->n, why, sizeof(why)) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s", why);
        return -1;
    }
    return 0;
}

static enum route_method
http_method(struct evhttp_request *ev, int *ok)
{
    *ok = 1;
    switch (evhttp_request_get_command(ev)) {
    case EVHTTP_REQ_GET:
        return ROUTE_GET;
    case EVHTTP_REQ_POST:
        return ROUTE_POST;
    case EVHTTP_REQ_DELETE:
        return ROUTE_DELETE;
    default:
        *ok = 0;
        return ROUTE_GET;
    }
}

static uid_t
http_peer_uid(struct evhttp_request *ev)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(ev);
    struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (bev == NULL ||
        getsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
        return (uid_t)-1;
    return cred.uid;
}

/* The per-address budgets, before any work: public reads spend one unit;
 * an MP route is refused while its address is over its budget of failed
 * authentications (http_reply_problem spends it). 0, or -1 (answered). */
static int
http_admit_address(struct http_req *req, const struct route *r)
{
    struct http_req_priv *p = http_priv(req);
    int retry = 0;
    char ra[16];

    if (!p->has_addr)
        return 0;
    if (!r->mp && r->scope == ROUTE_PUBLIC &&
        addrlimit_take(p->h->addrlimit, ADDRLIMIT_PUBLIC, &p->addr, clock_mono_us(), &retry) ==
            -1) {
        snprintf(ra, sizeof(ra), "%d", retry);
        http_add_header(req, "Retry-After", ra);
        http_reply_problem(req, ERRCODE_RATE_LIMITED, "too many public requests from this address");
        return -1;
    }
    if (r->mp && addrlimit_check(p->h->addrlimit, ADDRLIMIT_FAILED_AUTH, &p->addr, clock_mono_us(),
                                 &retry) == -1) {
        snprintf(ra, sizeof(ra), "%d", retry);
        http_add_header(req, "Retry-After", ra);
        http_reply_problem(req, ERRCODE_RATE_LIMITED,
                           "too many failed authentications from this address");
        return -1;
    }
    return 0;
}

static void
http_dispatch_cb(struct evhttp_request *ev, void *arg)
{
    struct http_listener *l = arg;
    struct http *h = l->h;
    struct http_req_priv *p;
    struct http_req *req;
    struct http_conn *c = http_conn_bind(h, ev);
    const char *path;
    enum route_method method;
    int ok, route;

    if ((p = calloc(1, sizeof(*p))) == NULL) {
        evhttp_send_error(ev, 503, NULL);
        return;
    }
    req = &p->pub;
    p->h = h;
    h->inflight++;
    req->env = h->env;
    req->ev = ev;
    req->admin = l->admin;
    req->started_us = clock_mono_us();
    req->id = atomic_fetch_add(&h->next_id, 1) + 1;
    req->route = routes_not_found_id();
    req->peer_uid = (uid_t)-1;
    if (l->admin) {
        req->peer_uid = http_peer_uid(ev);
        snprintf(req->actor_buf, sizeof(req->actor_buf), "admin:%ld", (long)req->peer_uid);
        req->actor = req->actor_buf;
    } else {
        req->actor = "public";
    }
    if (c != NULL)
        memcpy(req->cert_sha256, c->cert_sha256, sizeof(req->cert_sha256));
    if (!l->admin && evhttp_request_get_connection(ev) != NULL)
        p->has_addr =
            addrlimit_addr_from(evhttp_connection_get_addr(evhttp_request_get_connection(ev)),
                                &p->addr) == 0;

    path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ev));
    method = http_method(ev, &ok);
    if (path == NULL) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "request has no path");
        return;
    }
    /* Over TCP the admin paths do not exist, whatever the method. */
    route = routes_lookup(ok ? method : ROUTE_OTHER, path, req->params, HTTP_MAX_PARAMS, l->admin);
    if (route == -1) {
        http_reply_problem(req, ERRCODE_NOT_FOUND, "no such resource");
        return;
    }
    if (route == -2) {
        char allow[64];

        routes_allow(path, l->admin, allow, sizeof(allow));
        http_add_header(req, "Allow", allow);
        http_reply_problem(req, ERRCODE_METHOD_NOT_ALLOWED, "method not allowed on this path");
        return;
    }
    req->route = route;
    if (http_admit_address(req, &routes_table[route]) == -1)
        return;
    if ((int64_t)evbuffer_get_length(evhttp_request_get_input_buffer(ev)) > h->env->cfg->max_body) {
        http_reply_problem(req, ERRCODE_PAYLOAD_TOO_LARGE, "body exceeds %lld bytes",
                           (long long)h->env->cfg->max_body);
        return;
    }
    /* The gate: what the route declares it needs, before its handler. */
    if (routes_table[route].mp && auth_mp_presented(req) == -1)
        return;
    if (routes_table[route].body != NULL && http_body_parse(req, routes_table[route].body) == -1)
        return;
    routes_table[route].handler(req);
}

static struct evhttp *
http_evhttp_new(struct http *h, struct http_listener *l)
{
    struct config *cfg = h->env->cfg;
    struct evhttp *evh = evhttp_new(h->env->base);
    struct timeval tv;

    if (evh == NULL)
        return NULL;
    evhttp_set_max_body_size(
        evh, (ev_ssize_t)(cfg->max_body > HTTP_HARD_BODY_CAP ? cfg->max_body : HTTP_HARD_BODY_CAP));
    evhttp_set_max_headers_size(evh, (ev_ssize_t)cfg->max_header_size);
    tv.tv_sec = cfg->read_timeout_ms / 1000;
    tv.tv_usec = (cfg->read_timeout_ms % 1000) * 1000;
    evhttp_set_timeout_tv(evh, &tv);
    evhttp_set_allowed_methods(evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                        EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                        EVHTTP_REQ_OPTIONS);
    evhttp_set_default_content_type(evh, "application/json");
    evhttp_set_bevcb(evh, http_conn_new_cb, l);
    return evh;
}

static void http_describe_add(struct http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
http_describe_add(struct http *h, const char *fmt, ...)
{
    size_t len = strlen(h->describe);
    va_list ap;

    if (len > 0 && len < sizeof(h->describe) - 2) {
        strcat(h->describe, ", ");
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(h->describe + len, sizeof(h->describe) - len, fmt, ap);
    va_end(ap);
}

/* Binds the admin socket: refuses to take over a live one, replaces a stale
 * one, and leaves the file at mode 0600. */
static int
http_bind_admin(struct http *h, const char *path, const char **errstr)
{
    static char err[512];
    struct sockaddr_un sun;
    struct evconnlistener *lev;
    struct http_listener *l;
    int fd = -1;
    mode_t old;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, sizeof(err), "admin_socket %s: path too long", path);
        goto fail;
    }
    strcpy(sun.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        goto syserr;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
        snprintf(err, sizeof(err), "admin_socket %s: another sitetokend is serving it", path);
        goto fail;
    }
    unlink(path);
    old = umask(0177);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
        umask(old);
        goto syserr;
    }
    umask(old);
    /* The umask made it 0600 already; never follow a link planted in its
     * place (fchmodat may not support that flag: then the umask stands). */
    if (fchmodat(AT_FDCWD, path, 0600, AT_SYMLINK_NOFOLLOW) == -1 && errno != ENOTSUP &&
        errno != EOPNOTSUPP)
        goto syserr;
    evutil_make_socket_nonblocking(fd);
    if ((lev = evconnlistener_new(h->env->base, NULL, NULL,
                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd)) == NULL)
        goto syserr;
    fd = -1;
    l = &h->listeners[h->nlisteners];
    l->h = h;
    l->admin = 1;
    if ((l->evh = http_evhttp_new(h, l)) == NULL ||
        (l->bound = evhttp_bind_listener(l->evh, lev)) == NULL) {
        snprintf(err, sizeof(err), "admin_socket %s: cannot listen", path);
        goto fail;
    }
    evhttp_set_gencb(l->evh, http_dispatch_cb, l);
    h->nlisteners++;
    h->admin_path = strdup(path);
    http_describe_add(h, "admin %s", path);
    return 0;
syserr:
    snprintf(err, sizeof(err), "admin_socket %s: %s", path, strerror(errno));
fail:
    if (fd != -1)
        close(fd);
    *errstr = err;
    return -1;
}

static int
http_bind_tcp(struct http *h, const struct config_listen *cl, const char **errstr)
{
    static char err[512];
    struct http_listener *l = &h->listeners[h->nlisteners];
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = cl->port;

    l->h = h;
    if (cl->tls_certificate != NULL &&
        (l->tls = tls_new(cl->tls_certificate, cl->tls_key, cl->tls_client_ca, errstr)) == NULL)
        return -1;
    if ((l->evh = http_evhttp_new(h, l)) == NULL) {
        tls_free(l->tls);
        l->tls = NULL;
        *errstr = "out of memory";
        return -1;
    }
    evhttp_set_gencb(l->evh, http_dispatch_cb, l);
    h->nlisteners++; /* freed with the others even when the bind fails */
    if ((l->bound = evhttp_bind_socket_with_handle(l->evh, cl->address, (ev_uint16_t)cl->port)) ==
        NULL) {
        snprintf(err, sizeof(err), "listen %s port %d: %s", cl->address, cl->port, strerror(errno));
        *errstr = err;
        return -1;
    }
    if (getsockname(evhttp_bound_socket_get_fd(l->bound), (struct sockaddr *)&ss, &sslen) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
            port = ntohs(sin6->sin6_port);
        }
    }
    if (strchr(host, ':') != NULL)
        http_describe_add(h, "%s://[%s]:%d", l->tls ? "https" : "http", host, port);
    else
        http_describe_add(h, "%s://%s:%d", l->tls ? "https" : "http", host, port);
    return 0;
}

struct http *
http_start(struct sitetokend *env, const char **errstr)
{
    struct http *h = calloc(1, sizeof(*h));
    struct config *cfg = env->cfg;

    if (h == NULL) {
        *errstr = "out of memory";
        return NULL;
    }
    h->env = env;
    h->sweep = event_new(env->base, -1, EV_PERSIST, http_sweep_cb, h);
    h->ratelimit =
        ratelimit_new(HTTP_RATELIMIT_BUCKETS, cfg->mp_rate, cfg->failed_exchanges_per_minute);
    h->addrlimit = addrlimit_new(HTTP_ADDRLIMIT_SLOTS);
    if (h->addrlimit != NULL) {
        addrlimit_set_rate(h->addrlimit, ADDRLIMIT_PUBLIC, (double)cfg->public_rate,
                           (double)cfg->public_burst);
        addrlimit_set_rate(h->addrlimit, ADDRLIMIT_FAILED_AUTH, (double)cfg->failed_auth_per_minute,
                           (double)cfg->failed_auth_per_minute);
        addrlimit_set_count(h->addrlimit, ADDRLIMIT_STREAMS, cfg->max_streams_per_address);
    }
    if (h->sweep == NULL || h->ratelimit == NULL || h->addrlimit == NULL ||
        event_add(h->sweep, &(struct timeval){.tv_usec = HTTP_SWEEP_MS * 1000}) == -1) {
        *errstr = "out of memory";
        goto fail;
    }
    env->ratelimit = h->ratelimit;
    for (size_t i = 0; i < cfg->nlisten && i < HTTP_MAX_LISTENERS - 1; i++) {
        if (http_bind_tcp(h, &cfg->listen[i], errstr) == -1)
            goto fail;
    }
    if (http_bind_admin(h, cfg->admin_socket, errstr) == -1)
        goto fail;
    return h;
fail:
    http_free(h);
    return NULL;
}

void
http_stop_accepting(struct http *h)
{
    for (int i = 0; i < h->nlisteners; i++) {
        struct http_listener *l = &h->listeners[i];

        if (l->bound != NULL) {
            evhttp_del_accept_socket(l->evh, l->bound);
            l->bound = NULL;
        }
    }
    if (h->admin_path != NULL)
        unlink(h->admin_path);
}

void
http_free(struct http *h)
{
    if (h == NULL)
        return;
    http_stop_accepting(h);
    for (int i = 0; i < h->nlisteners; i++)
        if (h->listeners[i].evh != NULL)
            evhttp_free(h->listeners[i].evh);
    while (h->conns != NULL) /* pending ones evhttp has not told us about */
        http_conn_drop(h->conns);
    for (int i = 0; i < h->nlisteners; i++)
        tls_free(h->listeners[i].tls);
    if (h->sweep != NULL)
        event_free(h->sweep);
    if (h->env->ratelimit == h->ratelimit)
        h->env->ratelimit = NULL;
    ratelimit_free(h->ratelimit);
    addrlimit_free(h->addrlimit);
    free(h->admin_path);
    free(h);
}

int
http_reload_tls(struct http *h)
{
    const char *errstr = NULL;
    int rc = 0;

    for (int i = 0; i < h->nlisteners; i++) {
        struct http_listener *l = &h->listeners[i];

        if (l->tls == NULL)
            continue;
        if (tls_reload(l->tls, &errstr) == -1) {
            log_warn("event=tls_reload listener=%d error=%s", i,
                     log_quote(errstr, (char[512]){0}, 512));
            rc = -1;
        } else {
            log_info("event=tls_reload listener=%d", i);
        }
    }
    return rc;
}

int
http_inflight(const struct http *h)
{
    return h->inflight;
}

const char *
http_describe(const struct http *h)
{
    return h->describe;
}
