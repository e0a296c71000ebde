/* The connections of the HTTP front and their limits: how many
 * (limits.max_connections), how long the next request may take to arrive
 * (limits.read_timeout, a sweep closes slow or idle clients), and the
 * streamed replies that lift a connection out of that count into the stream
 * budgets (limits.max_streams, per address). */
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

#include "http_int.h"

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
void
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
struct bufferevent *
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
        /* A flood faster than the closes: stop accepting (the kernel's
         * backlog holds the rest) until the sweep has caught up, so the
         * descriptors stay bounded. */
        if (h->nconns > h->env->cfg->max_connections + HTTP_OVER_LIMIT_MAX)
            http_conn_accepting(h, 0);
    }
    return bev;
}

void
http_conn_accepting(struct http *h, int on)
{
    if (h->accept_paused == !on || h->draining)
        return;
    for (int i = 0; i < h->nlisteners; i++) {
        struct http_listener *l = &h->listeners[i];
        struct evconnlistener *lev;

        if (l->admin || l->bound == NULL ||
            (lev = evhttp_bound_socket_get_listener(l->bound)) == NULL)
            continue;
        if (on)
            evconnlistener_enable(lev);
        else
            evconnlistener_disable(lev);
    }
    h->accept_paused = !on;
    log_debug("event=accepting on=%d conns=%d", on, h->nconns);
}

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
void
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
    if (h->accept_paused && h->nconns <= h->env->cfg->max_connections)
        http_conn_accepting(h, 1);
}

/* The first request on c arrived: from now on evhttp's close callback
 * tells us when the connection goes. */
struct http_conn *
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
void
http_conn_idle(struct http *h, struct evhttp_request *ev)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
    struct http_conn *c;

    if (evcon != NULL &&
        (c = http_conn_find(h, evhttp_connection_get_bufferevent(evcon))) != NULL &&
        c->stream == NULL)
        c->deadline_us = clock_mono_us() + http_read_timeout_us(h);
}

/* Streams (see http.h). A streamed request stays in evhttp's hands until
 * evhttp_send_reply_end; when the client closes first, evhttp detaches the
 * request from the dying connection (req->ev stays valid, its connection is
 * NULL) and then calls the connection's close callback. */
/* A stream ends (either way): it gives back its place in the budgets. */
void
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
void
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
