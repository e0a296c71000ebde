/* The HTTP front of sitetokend on libevent's evhttp: the per-request context,
 * the request gate that maps a request to its route and enforces what the
 * route declares (address budgets, body size, MP credential, body shape),
 * and the replies (JSON, RFC 9457 problems, text). Connections are in
 * http_conn.c, listeners in http_listen.c. */
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

/* The one place a request context is freed. */
void
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
        log_info("event=refused rid=%llx actor=%s route=%s status=%d code=%s detail=%s",
                 (unsigned long long)req->id, req->actor, routes_names()[req->route], status,
                 errcode_name(code), log_detail(detail, (char[600]){0}, 600));
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

void
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
    if (h->draining) {
        /* Shutting down: a keep-alive client's next request must not reach
         * the workers or the writer, which are being stopped and freed. */
        evhttp_add_header(evhttp_request_get_output_headers(ev), "Connection", "close");
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "%s", "the server is shutting down");
        return;
    }
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
    /* With metrics.listen, /metrics lives there alone (http_listen.c). */
    if (route != -1 && !l->admin && h->env->cfg->metrics_listen != NULL &&
        (route == h->metrics_route ||
         (route == -2 && strcmp(path, routes_table[h->metrics_route].pattern) == 0)) != l->metrics)
        route = -1;
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

int
http_inflight(const struct http *h)
{
    return h->inflight;
}
