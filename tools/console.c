/* `sitetokenctl ui`: the administrators' web console. An evhttp server on
 * 127.0.0.1 serves the pages embedded in the binary and relays `/api/...` to
 * the admin socket's `/v1/admin/...`. Whoever can use the admin socket can
 * use the console, nobody else: the printed URL's one-time secret is traded
 * for a session cookie and a per-session token (console_session.c) that
 * every API call carries in X-Console-Token; a foreign Host (DNS rebinding)
 * or a foreign Origin is refused, and every answer carries a CSP that forbids
 * inline script and any other origin. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>

#include "console.h"
#include "console_assets.h"
#include "console_relay.h"
#include "console_session.h"

#define CONSOLE_BODY_MAX (64 * 1024)
#define CONSOLE_URI_MAX 4096
#define CONSOLE_IDLE_DEFAULT 1800
#define CONSOLE_MAX_AGE (12 * 3600)
#define CONSOLE_TOKEN_HEADER "X-Console-Token"
#define CONSOLE_TOKEN_MARK "__CONSOLE_TOKEN__"

struct console {
    struct event_base *base;
    struct evhttp *http;
    struct console_session *session;
    const char *socket_path;
    int port;
    int inflight;         /* relays started and not yet answered */
    char cookie_name[32]; /* stconsole_<port>: consoles on other ports keep theirs */
};

/* Headers every answer carries. */
static const char *const console_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
     "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
     "frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"Cache-Control", "no-store"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

static const struct {
    const char *code, *title;
    int status;
} console_problems[] = {
    {"invalid_request", "Invalid request", 400},
    {"unauthenticated", "No console session", 401},
    {"forbidden", "Forbidden", 403},
    {"not_found", "Not found", 404},
    {"method_not_allowed", "Method not allowed", 405},
    {"unavailable", "Admin socket unavailable", 503},
};

static int64_t
console_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void
console_reply(struct evhttp_request *req, int status, const char *ctype, const void *data,
              size_t len)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();

    evhttp_remove_header(out, "Content-Type");
    evhttp_add_header(out, "Content-Type", ctype);
    if (buf != NULL)
        evbuffer_add(buf, data, len);
    evhttp_send_reply(req, status, NULL, buf);
    if (buf != NULL)
        evbuffer_free(buf);
}

/* An RFC 9457 problem document with our code. */
static void
console_problem(struct evhttp_request *req, const char *code, const char *detail)
{
    size_t i = 0, n = sizeof(console_problems) / sizeof(console_problems[0]);
    json_t *doc;
    char *text, type[96];

    while (i < n - 1 && strcmp(console_problems[i].code, code) != 0)
        i++;
    snprintf(type, sizeof(type), "urn:sitetoken:error:%s", console_problems[i].code);
    doc = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", console_problems[i].title,
                    "status", console_problems[i].status, "detail", detail, "code",
                    console_problems[i].code);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (strcmp(code, "method_not_allowed") == 0)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST, DELETE");
    console_reply(req, console_problems[i].status, "application/problem+json", text ? text : "{}",
                  text ? strlen(text) : 2);
    free(text);
    json_decref(doc);
}

/* Host must name this machine's loopback: 127.0.0.1, localhost or [::1],
 * with any port (ssh -L may forward from another), so a DNS name rebound to
 * 127.0.0.1 by a foreign page never reaches the console. */
static int
console_host_ok(const char *host)
{
    static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
    const char *port;
    size_t len;

    if (host == NULL)
        return 0;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');

        if (end == NULL)
            return 0;
        port = end + 1;
    } else {
        port = strchr(host, ':');
        if (port == NULL)
            port = host + strlen(host);
    }
    len = (size_t)(port - host);
    if (*port == ':') {
        if (port[1] == '\0' || strlen(port + 1) > 5)
            return 0;
        for (const char *p = port + 1; *p != '\0'; p++)
            if (*p < '0' || *p > '9')
                return 0;
    } else if (*port != '\0') {
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncasecmp(host, names[i], len) == 0)
            return 1;
    return 0;
}

/* The value of cookie `name` in a Cookie header, copied into out. */
static const char *
console_cookie(const char *header, const char *name, char *out, size_t n)
{
    size_t nlen = strlen(name);
    const char *p = header;

    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1, *end = strchr(v, ';');
            size_t vlen = end != NULL ? (size_t)(end - v) : strlen(v);

            if (vlen >= n)
                return NULL;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        p = strchr(p, ';');
    }
    return NULL;
}

/* The first visit: the secret in ?s= becomes the session, and the browser
 * is sent on to a URL without it. */
static void
console_redeem(struct console *c, struct evhttp_request *req, const char *secret)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *cookie = NULL;
    char set[256];

    if (console_session_redeem(c->session, secret, console_now(), &cookie) == -1) {
        console_problem(req, "forbidden",
                        "this one-time URL is wrong or was used already: run sitetokenctl ui "
                        "again for a new one");
        return;
    }
    snprintf(set, sizeof(set), "%s=%s; Path=/; HttpOnly; SameSite=Strict", c->cookie_name, cookie);
    evhttp_add_header(out, "Set-Cookie", set);
    evhttp_add_header(out, "Location", "/");
    console_reply(req, 303, "text/plain; charset=utf-8", "see /\n", 6);
}

/* index.html with the per-session token in its <meta> the first time it is
 * served to the session, and an empty one after (the page keeps the token in
 * sessionStorage, which other origins, other ports included, cannot read). */
static void
console_index(struct console *c, struct evhttp_request *req)
{
    const struct console_asset *a = console_asset_find("/index.html");
    const char *token = console_session_take_token(c->session), *mark;
    struct evbuffer *buf;
    size_t before;

    if (a == NULL || (mark = strstr((const char *)a->data, CONSOLE_TOKEN_MARK)) == NULL ||
        (buf = evbuffer_new()) == NULL) {
        console_problem(req, "not_found", "no page");
        return;
    }
    before = (size_t)(mark - (const char *)a->data);
    evbuffer_add(buf, a->data, before);
    if (token != NULL)
        evbuffer_add(buf, token, strlen(token));
    evbuffer_add(buf, mark + strlen(CONSOLE_TOKEN_MARK),
                 a->len - before - strlen(CONSOLE_TOKEN_MARK));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", a->content_type);
    evhttp_send_reply(req, 200, NULL, buf);
    evbuffer_free(buf);
}

struct console_call {
    struct console *c;
    struct evhttp_request *req;
};

static void
console_relay_done(struct console_relay_result *r, void *arg)
{
    struct console_call *call = arg;
    struct evhttp_request *req = call->req;

    call->c->inflight--;
    free(call);
    if (r->status == 0) {
        console_problem(req, "unavailable", r->error);
        return;
    }
    console_reply(req, r->status, r->ctype, r->body, r->body_len);
}

/* A state-changing call must come from our own page: an Origin, when the
 * browser sends one, is exactly http://<Host>; a Sec-Fetch-Site other than
 * same-origin (or none: typed by the user) is another site's page. */
static int
console_origin_ok(struct evhttp_request *req, const char *host)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *origin = evhttp_find_header(in, "Origin");
    const char *site = evhttp_find_header(in, "Sec-Fetch-Site");

    if (site != NULL && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
        return 0;
    if (origin == NULL)
        return 1; /* not a browser, or a same-origin GET: the token still decides */
    return strncmp(origin, "http://", 7) == 0 && strcmp(origin + 7, host) == 0;
}

static void
console_api(struct console *c, struct evhttp_request *req, const char *uri, const char *host)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *method = cmd == EVHTTP_REQ_GET ? "GET" : cmd == EVHTTP_REQ_POST ? "POST" : "DELETE";
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(body);
    char path[CONSOLE_URI_MAX + 16];
    struct console_call *call;

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_DELETE) {
        console_problem(req, "method_not_allowed", "GET, POST or DELETE");
        return;
    }
    if (console_session_check_token(c->session, evhttp_find_header(in, CONSOLE_TOKEN_HEADER)) ==
        -1) {
        console_problem(req, "forbidden", "missing or wrong " CONSOLE_TOKEN_HEADER);
        return;
    }
    if (cmd != EVHTTP_REQ_GET && !console_origin_ok(req, host)) {
        console_problem(req, "forbidden", "a request from another origin");
        return;
    }
    /* /api/REST -> /v1/admin/REST, query kept; dot segments never relayed */
    if (strstr(uri, "/./") != NULL || strstr(uri, "/../") != NULL || strstr(uri, "%2e") != NULL ||
        strstr(uri, "%2E") != NULL || strlen(uri) > CONSOLE_URI_MAX) {
        console_problem(req, "invalid_request", "not a console API path");
        return;
    }
    snprintf(path, sizeof(path), "/v1/admin/%s", uri + strlen("/api/"));
    if ((call = malloc(sizeof(*call))) == NULL) {
        console_problem(req, "unavailable", "out of memory");
        return;
    }
    call->c = c;
    call->req = req;
    if (console_relay_start(c->base, c->socket_path, method, path,
                            len > 0 ? (const char *)evbuffer_pullup(body, -1) : NULL, len,
                            console_relay_done, call) == -1) {
        free(call);
        console_problem(req, "unavailable", "cannot start the relay");
        return;
    }
    c->inflight++;
}

static void
console_request_cb(struct evhttp_request *req, void *arg)
{
    struct console *c = arg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req),
                     *out = evhttp_request_get_output_headers(req);
    const char *host = evhttp_find_header(in, "Host"), *uri = evhttp_request_get_uri(req);
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
    const char *query = u != NULL ? evhttp_uri_get_query(u) : NULL;
    char cookie[128];
    const struct console_asset *a;

    for (size_t i = 0; i < sizeof(console_headers) / sizeof(console_headers[0]); i++)
        evhttp_add_header(out, console_headers[i][0], console_headers[i][1]);
    if (!console_host_ok(host)) {
        console_problem(req, "forbidden", "Host must be 127.0.0.1, localhost or [::1]");
        return;
    }
    if (path == NULL || uri == NULL) {
        console_problem(req, "invalid_request", "no path");
        return;
    }
    if (strcmp(path, "/") == 0 && query != NULL && strncmp(query, "s=", 2) == 0) {
        if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
            console_problem(req, "method_not_allowed", "GET");
            return;
        }
        console_redeem(c, req, query + 2);
        return;
    }
    if (console_session_check(c->session,
                              console_cookie(evhttp_find_header(in, "Cookie"), c->cookie_name,
                                             cookie, sizeof(cookie)),
                              console_now()) == -1) {
        console_problem(req, "unauthenticated",
                        "no console session (or it expired): open the URL sitetokenctl ui "
                        "printed, or run it again");
        return;
    }
    if (strncmp(path, "/api/", 5) == 0) {
        console_api(c, req, uri, host);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        console_problem(req, "method_not_allowed", "GET");
        return;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        console_index(c, req);
        return;
    }
    if ((a = console_asset_find(path)) == NULL) {
        console_problem(req, "not_found", "no such page");
        return;
    }
    console_reply(req, 200, a->content_type, a->data, a->len);
}

static void
console_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopexit(arg, NULL);
}

static int
console_parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
console_run(const char *admin_socket, int argc, char **argv)
{
    struct console c = {.socket_path = admin_socket};
    struct evhttp_bound_socket *bound;
    struct event *sigint = NULL, *sigterm = NULL;
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    long port = 0, idle = CONSOLE_IDLE_DEFAULT;
    int rc = 1;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc &&
            console_parse_int(argv[i + 1], 0, 65535, &port) == 0)
            i++;
        else if (strcmp(argv[i], "--session-idle") == 0 && i + 1 < argc &&
                 console_parse_int(argv[i + 1], 1, CONSOLE_MAX_AGE, &idle) == 0)
            i++;
        else
            return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() == -1 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        (c.base = event_base_new()) == NULL || (c.http = evhttp_new(c.base)) == NULL ||
        (c.session = console_session_new(idle, CONSOLE_MAX_AGE)) == NULL) {
        fprintf(stderr, "sitetokenctl: ui: cannot start\n");
        goto done;
    }
    evhttp_set_max_body_size(c.http, CONSOLE_BODY_MAX);
    evhttp_set_max_headers_size(c.http, 16384);
    evhttp_set_timeout(c.http, 120);
    evhttp_set_allowed_methods(c.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD |
                                           EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(c.http, console_request_cb, &c);
    if ((bound = evhttp_bind_socket_with_handle(c.http, "127.0.0.1", (ev_uint16_t)port)) == NULL ||
        getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &slen) == -1) {
        fprintf(stderr, "sitetokenctl: ui: cannot listen on 127.0.0.1:%ld: %s\n", port,
                strerror(errno));
        goto done;
    }
    c.port = ntohs(sin.sin_port);
    snprintf(c.cookie_name, sizeof(c.cookie_name), "stconsole_%d", c.port);
    sigint = evsignal_new(c.base, SIGINT, console_signal_cb, c.base);
    sigterm = evsignal_new(c.base, SIGTERM, console_signal_cb, c.base);
    if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) == -1 ||
        event_add(sigterm, NULL) == -1)
        goto done;
    printf("console: http://127.0.0.1:%d/?s=%s\n", c.port, console_session_secret(c.session));
    printf("(the URL works once; the session ends after %ld s idle; Ctrl-C stops the console)\n",
           idle);
    fflush(stdout);
    event_base_dispatch(c.base);
    rc = 0;
done:
    if (sigint != NULL)
        event_free(sigint);
    if (sigterm != NULL)
        event_free(sigterm);
    if (c.http != NULL)
        evhttp_free(c.http);
    console_session_free(c.session);
    /* A relay thread still running will hand its answer to the base: leave
     * it to the exit that follows. */
    if (c.base != NULL && c.inflight == 0)
        event_base_free(c.base);
    return rc;
}
