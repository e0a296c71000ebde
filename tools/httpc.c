/* Blocking HTTP/1.1 client used by sitetokenctl and the device client: it
 * sends one request with "Connection: close", reads to EOF, and decodes a
 * Content-Length or chunked body. Sizes are bounded by HTTPC_MAX_RESPONSE. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "httpc.h"

static char httpc_err[512];

static int
httpc_connect(const struct httpc_target *t, const char **errstr)
{
    int fd = -1;

    if (t->unix_path != NULL) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};

        if (strlen(t->unix_path) >= sizeof(sun.sun_path)) {
            *errstr = "socket path too long";
            return -1;
        }
        strcpy(sun.sun_path, t->unix_path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
            connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
            snprintf(httpc_err, sizeof(httpc_err), "connect %s: %s", t->unix_path, strerror(errno));
            goto fail;
        }
        return fd;
    } else {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
        char port[16];
        int gai;

        snprintf(port, sizeof(port), "%d", t->port);
        if ((gai = getaddrinfo(t->host, port, &hints, &res)) != 0) {
            snprintf(httpc_err, sizeof(httpc_err), "%s: %s", t->host, gai_strerror(gai));
            *errstr = httpc_err;
            return -1;
        }
        for (ai = res; ai != NULL; ai = ai->ai_next) {
            if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) == -1)
                continue;
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                break;
            close(fd);
            fd = -1;
        }
        freeaddrinfo(res);
        if (fd == -1) {
            snprintf(httpc_err, sizeof(httpc_err), "connect %s:%d: %s", t->host, t->port,
                     strerror(errno));
            goto fail;
        }
        return fd;
    }
fail:
    if (fd != -1)
        close(fd);
    *errstr = httpc_err;
    return -1;
}

static int
httpc_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long
httpc_dechunk(char *body, size_t len)
{
    size_t in = 0, out = 0;

    for (;;) {
        char *end;
        unsigned long n;

        if (in >= len)
            return -1;
        n = strtoul(body + in, &end, 16);
        if (end == body + in || (end = strstr(end, "\r\n")) == NULL)
            return -1;
        in = (size_t)(end - body) + 2;
        if (n == 0)
            return (long)out;
        if (n > len - in)
            return -1;
        memmove(body + out, body + in, n);
        out += n;
        in += n + 2;
    }
}

int
httpc_request(const struct httpc_target *t, const char *method, const char *path,
              const char *extra_headers, const char *body, size_t body_len,
              struct httpc_response *resp, const char **errstr)
{
    char head[8192], *buf = NULL, *hend, *p;
    size_t cap = 65536, len = 0;
    int fd, n;

    memset(resp, 0, sizeof(*resp));
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nAccept: application/json\r\n"
                 "%s%s%s",
                 method, path, t->unix_path != NULL ? "localhost" : t->host,
                 extra_headers != NULL ? extra_headers : "",
                 body != NULL ? "Content-Type: application/json\r\n" : "", "");
    if (n < 0 || (size_t)n >= sizeof(head) - 64) {
        *errstr = "request head too long";
        return -1;
    }
    n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n\r\n",
                  body != NULL ? body_len : 0);
    if ((fd = httpc_connect(t, errstr)) == -1)
        return -1;
    if (httpc_write_all(fd, head, (size_t)n) == -1 ||
        (body != NULL && httpc_write_all(fd, body, body_len) == -1)) {
        snprintf(httpc_err, sizeof(httpc_err), "write: %s", strerror(errno));
        goto fail;
    }
    if ((buf = malloc(cap + 1)) == NULL)
        goto oom;
    for (;;) {
        ssize_t r;

        if (len == cap) {
            char *nb;

            if (cap >= HTTPC_MAX_RESPONSE) {
                snprintf(httpc_err, sizeof(httpc_err), "response larger than %u bytes",
                         HTTPC_MAX_RESPONSE);
                goto fail;
            }
            cap *= 2;
            if ((nb = realloc(buf, cap + 1)) == NULL)
                goto oom;
            buf = nb;
        }
        r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(httpc_err, sizeof(httpc_err), "read: %s", strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &resp->status) != 1 ||
        (hend = strstr(buf, "\r\n\r\n")) == NULL) {
        snprintf(httpc_err, sizeof(httpc_err), "malformed HTTP response");
        goto fail;
    }
    *hend = '\0';
    resp->body_len = len - (size_t)(hend + 4 - buf);
    for (p = strstr(buf, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, "Content-Type:", 13) == 0) {
            char *v = p + 15, *e = strstr(v, "\r\n");
            size_t vl = e != NULL ? (size_t)(e - v) : strlen(v);

            while (*v == ' ' && vl > 0) {
                v++;
                vl--;
            }
            snprintf(resp->content_type, sizeof(resp->content_type), "%.*s", (int)vl, v);
        }
        if (strncasecmp(p + 2, "Transfer-Encoding:", 18) == 0 && strstr(p + 2, "chunked")) {
            long dl = httpc_dechunk(hend + 4, resp->body_len);

            if (dl < 0) {
                snprintf(httpc_err, sizeof(httpc_err), "malformed chunked body");
                goto fail;
            }
            resp->body_len = (size_t)dl;
        }
    }
    if ((resp->body = malloc(resp->body_len + 1)) == NULL)
        goto oom;
    memcpy(resp->body, hend + 4, resp->body_len);
    resp->body[resp->body_len] = '\0';
    free(buf);
    close(fd);
    return 0;
oom:
    snprintf(httpc_err, sizeof(httpc_err), "out of memory");
fail:
    free(buf);
    close(fd);
    *errstr = httpc_err;
    return -1;
}

void
httpc_response_free(struct httpc_response *resp)
{
    free(resp->body);
    resp->body = NULL;
}
