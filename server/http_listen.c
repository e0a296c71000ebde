/* The listeners of the HTTP front: TCP (plain or TLS) from the config, the
 * admin listener on a Unix socket (mode 0600), start and stop, and the TLS
 * certificate reload on SIGHUP. */
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

/* label prefixes the listener in the ready line ("" or "metrics "). */
static int
http_bind_tcp(struct http *h, const struct config_listen *cl, const char *label,
              const char **errstr)
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
        http_describe_add(h, "%s%s://[%s]:%d", label, l->tls ? "https" : "http", host, port);
    else
        http_describe_add(h, "%s%s://%s:%d", label, l->tls ? "https" : "http", host, port);
    return 0;
}

/* metrics.listen: a plain HTTP listener that answers /metrics and nothing
 * else (the gate in http.c then hides /metrics from the public ones). */
static int
http_bind_metrics(struct http *h, const char *spec, const char **errstr)
{
    static char err[300];
    char address[260];
    const char *colon;
    struct config_listen cl = {.address = address};

    h->metrics_route = -1;
    for (int i = 0; i < routes_count; i++)
        if (strcmp(routes_names()[i], "metrics") == 0)
            h->metrics_route = i;
    if (spec == NULL)
        return 0;
    if ((colon = strrchr(spec, ':')) == NULL || h->metrics_route == -1) {
        snprintf(err, sizeof(err), "metrics.listen %s: not ADDRESS:PORT", spec);
        *errstr = err;
        return -1;
    }
    /* The schema checked the shape: [v6]:port or v4/name:port. */
    snprintf(address, sizeof(address), "%.*s", (int)(colon - spec) - (spec[0] == '[' ? 2 : 0),
             spec + (spec[0] == '['));
    cl.port = atoi(colon + 1);
    if (http_bind_tcp(h, &cl, "metrics ", errstr) == -1)
        return -1;
    h->listeners[h->nlisteners - 1].metrics = 1;
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
    for (size_t i = 0; i < cfg->nlisten && i < HTTP_MAX_LISTENERS - 2; i++) {
        if (http_bind_tcp(h, &cfg->listen[i], "", errstr) == -1)
            goto fail;
    }
    if (http_bind_metrics(h, cfg->metrics_listen, errstr) == -1)
        goto fail;
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
    h->draining = 1;
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

const char *
http_describe(const struct http *h)
{
    return h->describe;
}
