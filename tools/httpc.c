/* The tools' HTTP client on libcurl (httpc.h): one easy handle a request,
 * no redirects, http and https only, TLS 1.2 or later, responses bounded by
 * HTTPC_MAX_RESPONSE, and every failure classified for the caller's exit
 * code. Also the tools' URL parser, on curl's. HTTP proxies follow curl's
 * environment variables (https_proxy, no_proxy) for TCP, never for the Unix
 * socket. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "httpc.h"

/* How curl's errors map to what the tools tell their users. Not listed:
 * HTTPC_FAIL_PROTOCOL. */
static const struct {
    CURLcode code;
    enum httpc_fail fail;
} httpc_curl_fails[] = {
    /* not CURLE_UNSUPPORTED_PROTOCOL: curl also says it of an HTTP/0.9 answer */
    {CURLE_URL_MALFORMAT, HTTPC_FAIL_USAGE},
    {CURLE_COULDNT_RESOLVE_PROXY, HTTPC_FAIL_CONNECT},
    {CURLE_COULDNT_RESOLVE_HOST, HTTPC_FAIL_CONNECT},
    {CURLE_COULDNT_CONNECT, HTTPC_FAIL_CONNECT},
    {CURLE_OPERATION_TIMEDOUT, HTTPC_FAIL_TIMEOUT},
    {CURLE_SSL_CONNECT_ERROR, HTTPC_FAIL_TLS},
    {CURLE_PEER_FAILED_VERIFICATION, HTTPC_FAIL_TLS},
    {CURLE_SSL_ENGINE_NOTFOUND, HTTPC_FAIL_TLS},
    {CURLE_SSL_ENGINE_SETFAILED, HTTPC_FAIL_TLS},
    {CURLE_SSL_CERTPROBLEM, HTTPC_FAIL_TLS},
    {CURLE_SSL_CIPHER, HTTPC_FAIL_TLS},
    {CURLE_SSL_ENGINE_INITFAILED, HTTPC_FAIL_TLS},
    {CURLE_SSL_CACERT_BADFILE, HTTPC_FAIL_TLS},
    {CURLE_SSL_SHUTDOWN_FAILED, HTTPC_FAIL_TLS},
    {CURLE_SSL_CRL_BADFILE, HTTPC_FAIL_TLS},
    {CURLE_SSL_ISSUER_ERROR, HTTPC_FAIL_TLS},
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, HTTPC_FAIL_TLS},
    {CURLE_SSL_INVALIDCERTSTATUS, HTTPC_FAIL_TLS},
    {CURLE_SSL_CLIENTCERT, HTTPC_FAIL_TLS},
    {CURLE_USE_SSL_FAILED, HTTPC_FAIL_TLS},
    {CURLE_FILESIZE_EXCEEDED, HTTPC_FAIL_TOO_LARGE},
    {CURLE_OUT_OF_MEMORY, HTTPC_FAIL_NOMEM},
};

static const char *const httpc_fail_names[] = {
    [HTTPC_FAIL_NONE] = "ok",
    [HTTPC_FAIL_USAGE] = "bad request",
    [HTTPC_FAIL_CONNECT] = "cannot connect",
    [HTTPC_FAIL_TIMEOUT] = "timed out",
    [HTTPC_FAIL_TLS] = "TLS failed",
    [HTTPC_FAIL_TOO_LARGE] = "response too large",
    [HTTPC_FAIL_PROTOCOL] = "bad HTTP exchange",
    [HTTPC_FAIL_NOMEM] = "out of memory",
};

/* The response headers kept, by name. */
static const struct {
    const char *name;
    size_t off, size;
} httpc_kept_headers[] = {
    {"Content-Type", offsetof(struct httpc_response, content_type),
     sizeof(((struct httpc_response *)0)->content_type)},
    {"ETag", offsetof(struct httpc_response, etag), sizeof(((struct httpc_response *)0)->etag)},
};

struct httpc_sink {
    struct httpc_response *resp;
    size_t cap;
    int too_large;
};

const char *
httpc_fail_name(enum httpc_fail fail)
{
    if ((size_t)fail >= sizeof(httpc_fail_names) / sizeof(httpc_fail_names[0]))
        return "failed";
    return httpc_fail_names[fail];
}

/* Copies curl's part into buf (size n); -1 when missing or too long. */
static int
httpc_url_part(CURLU *h, CURLUPart part, unsigned flags, char *buf, size_t n)
{
    char *v = NULL;
    int rc = -1;

    if (curl_url_get(h, part, &v, flags) == CURLUE_OK && strlen(v) < n) {
        strcpy(buf, v);
        rc = 0;
    }
    curl_free(v);
    return rc;
}

int
httpc_url_parse(const char *url, struct httpc_url *out, const char **errstr)
{
    CURLU *h = curl_url();
    char scheme[8], port[8], query[4096] = "", *user = NULL;
    size_t hl;
    int n;

    memset(out, 0, sizeof(*out));
    *errstr = "not an absolute http:// or https:// URL";
    if (h == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    if (strlen(url) >= sizeof(out->path) || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        httpc_url_part(h, CURLUPART_SCHEME, 0, scheme, sizeof(scheme)) == -1)
        goto fail;
    for (char *p = scheme; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        goto fail;
    out->tls = scheme[4] == 's';
    if (curl_url_get(h, CURLUPART_USER, &user, 0) != CURLUE_NO_USER) {
        curl_free(user);
        *errstr = "a URL with user:password is not accepted";
        goto fail;
    }
    if (httpc_url_part(h, CURLUPART_HOST, 0, out->host, sizeof(out->host)) == -1 ||
        out->host[0] == '\0') {
        *errstr = "the URL has no host";
        goto fail;
    }
    if (httpc_url_part(h, CURLUPART_PORT, CURLU_DEFAULT_PORT, port, sizeof(port)) == -1 ||
        (out->port = atoi(port)) <= 0 || out->port > 65535) {
        *errstr = "the URL's port is not 1..65535";
        goto fail;
    }
    if (httpc_url_part(h, CURLUPART_PATH, 0, out->path, sizeof(out->path)) == -1)
        goto fail;
    if (out->path[0] == '\0')
        strcpy(out->path, "/");
    httpc_url_part(h, CURLUPART_QUERY, 0, query, sizeof(query)); /* absent: stays "" */
    for (char *p = out->host; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    n = (out->port == (out->tls ? 443 : 80))
            ? snprintf(out->origin, sizeof(out->origin), "%s://%s", scheme, out->host)
            : snprintf(out->origin, sizeof(out->origin), "%s://%s:%d", scheme, out->host,
                       out->port);
    if (n < 0 || (size_t)n >= sizeof(out->origin))
        goto toolong;
    n = snprintf(out->htu, sizeof(out->htu), "%s%s", out->origin, out->path);
    if (n < 0 || (size_t)n >= sizeof(out->htu))
        goto toolong;
    if (query[0] != '\0') {
        size_t pl = strlen(out->path);

        if (pl + 1 + strlen(query) >= sizeof(out->path))
            goto toolong;
        out->path[pl] = '?';
        strcpy(out->path + pl + 1, query);
    }
    /* curl keeps IPv6 brackets in the host; the origin wants them, host not */
    hl = strlen(out->host);
    if (hl >= 2 && out->host[0] == '[' && out->host[hl - 1] == ']') {
        memmove(out->host, out->host + 1, hl - 2);
        out->host[hl - 2] = '\0';
    }
    curl_url_cleanup(h);
    return 0;
toolong:
    *errstr = "the URL is too long";
fail:
    curl_url_cleanup(h);
    return -1;
}

static size_t
httpc_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct httpc_sink *s = arg;
    struct httpc_response *r = s->resp;
    size_t n = size * nmemb;

    if (n > HTTPC_MAX_RESPONSE - r->body_len) {
        s->too_large = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    if (r->body_len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        char *nb;

        while (cap < r->body_len + n + 1)
            cap *= 2;
        if ((nb = realloc(r->body, cap)) == NULL)
            return 0;
        r->body = nb;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* One header line (or a status line: a new response, after 1xx, starts
 * the headers over). */
static size_t
httpc_header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
    struct httpc_response *r = arg;
    size_t n = size * nmemb, nl, vl;
    const char *colon, *v;

    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        r->content_type[0] = r->etag[0] = '\0';
        r->retry_after = -1;
        return n;
    }
    if ((colon = memchr(line, ':', n)) == NULL)
        return n;
    nl = (size_t)(colon - line);
    for (v = colon + 1; v < line + n && (*v == ' ' || *v == '\t'); v++)
        ;
    for (vl = (size_t)(line + n - v); vl > 0 && strchr(" \t\r\n", v[vl - 1]) != NULL; vl--)
        ;
    for (size_t i = 0; i < sizeof(httpc_kept_headers) / sizeof(httpc_kept_headers[0]); i++) {
        size_t cap = httpc_kept_headers[i].size;

        if (strlen(httpc_kept_headers[i].name) == nl &&
            strncasecmp(line, httpc_kept_headers[i].name, nl) == 0 && vl < cap) {
            char *dst = (char *)r + httpc_kept_headers[i].off;

            memcpy(dst, v, vl);
            dst[vl] = '\0';
        }
    }
    if (nl == 11 && strncasecmp(line, "Retry-After", 11) == 0) {
        long secs = 0;
        size_t i;

        for (i = 0; i < vl && i < 9 && isdigit((unsigned char)v[i]); i++)
            secs = secs * 10 + (v[i] - '0');
        r->retry_after = (i == vl && vl > 0) ? secs : -1;
    }
    return n;
}

static int
httpc_has_header(const char *const *headers, const char *name)
{
    size_t nl = strlen(name);

    for (; headers != NULL && *headers != NULL; headers++)
        if (strncasecmp(*headers, name, nl) == 0 && (*headers)[nl] == ':')
            return 1;
    return 0;
}

/* Sets resp->fail and resp->error from curl's result. */
static void
httpc_explain(CURL *curl, CURLcode rc, const struct httpc_target *t, const struct httpc_sink *sink,
              const char *errbuf, struct httpc_response *resp)
{
    long os_errno = 0, header_size = 0;
    const char *detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

    resp->fail = HTTPC_FAIL_PROTOCOL;
    for (size_t i = 0; i < sizeof(httpc_curl_fails) / sizeof(httpc_curl_fails[0]); i++)
        if (httpc_curl_fails[i].code == rc)
            resp->fail = httpc_curl_fails[i].fail;
    /* TLS 1.3 delivers a server's refusal of the client certificate as an
     * alert on the first read, after the handshake: curl says recv error,
     * in OpenSSL's words, or (when the server's close came first) in the
     * socket's. A connection that presented a certificate and is dropped
     * before any answer is that refusal. */
    curl_easy_getinfo(curl, CURLINFO_HEADER_SIZE, &header_size);
    if ((rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING) &&
        (strncmp(errbuf, "OpenSSL SSL_", 12) == 0 ||
         (t->cert_file != NULL && header_size == 0 && t->unix_path == NULL)))
        resp->fail = HTTPC_FAIL_TLS;
    if (sink->too_large)
        resp->fail = HTTPC_FAIL_TOO_LARGE;
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    if (resp->fail == HTTPC_FAIL_TOO_LARGE)
        snprintf(resp->error, sizeof(resp->error), "response larger than %u bytes",
                 HTTPC_MAX_RESPONSE);
    else if (resp->fail == HTTPC_FAIL_CONNECT && os_errno != 0)
        snprintf(resp->error, sizeof(resp->error), "cannot connect: %s", strerror((int)os_errno));
    else
        snprintf(resp->error, sizeof(resp->error), "%s: %s", httpc_fail_name(resp->fail), detail);
}

int
httpc_request(const struct httpc_target *t, const char *method, const char *path,
              const char *const *headers, const char *body, size_t body_len,
              struct httpc_response *resp, const char **errstr)
{
    char url[8192], errbuf[CURL_ERROR_SIZE] = "";
    struct httpc_sink sink = {.resp = resp};
    struct curl_slist *hl = NULL, *nh;
    long timeout = t->timeout_ms > 0 ? t->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS;
    CURL *curl = NULL;
    CURLcode rc;
    int n;

    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    *errstr = resp->error;
    if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0)
        n = snprintf(url, sizeof(url), "%s", path);
    else if (t->unix_path != NULL)
        n = snprintf(url, sizeof(url), "http://localhost%s", path);
    else if (t->base_url != NULL)
        n = snprintf(url, sizeof(url), "%s%s", t->base_url, path);
    else
        n = -1;
    if (n < 0 || (size_t)n >= sizeof(url) || path[0] == '\0') {
        resp->fail = HTTPC_FAIL_USAGE;
        snprintf(resp->error, sizeof(resp->error), "no URL, or a URL too long");
        return -1;
    }
    if ((curl = curl_easy_init()) == NULL)
        goto nomem;
    for (const char *const *h = headers; h != NULL && *h != NULL; h++) {
        if ((nh = curl_slist_append(hl, *h)) == NULL)
            goto nomem;
        hl = nh;
    }
    if (body != NULL && !httpc_has_header(headers, "Content-Type")) {
        if ((nh = curl_slist_append(hl, "Content-Type: application/json")) == NULL)
            goto nomem;
        hl = nh;
    }
    if ((nh = curl_slist_append(hl, "Expect:")) == NULL)
        goto nomem;
    hl = nh;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     t->connect_timeout_ms > 0 ? t->connect_timeout_ms : timeout);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTPC_MAX_RESPONSE);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, httpc_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, httpc_header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (t->unix_path != NULL) {
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, t->unix_path);
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
    }
    if (t->ca_file != NULL)
        curl_easy_setopt(curl, CURLOPT_CAINFO, t->ca_file);
    if (t->cert_file != NULL) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, t->cert_file);
        curl_easy_setopt(curl, CURLOPT_SSLKEY, t->key_file != NULL ? t->key_file : t->cert_file);
    }
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
            strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body != NULL ? body : "");
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(body != NULL ? body_len : 0));
        }
    }
    if ((rc = curl_easy_perform(curl)) != CURLE_OK) {
        httpc_explain(curl, rc, t, &sink, errbuf, resp);
        goto fail;
    }
    {
        long status = 0;

        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        resp->status = (int)status;
    }
    if (resp->body == NULL && (resp->body = calloc(1, 1)) == NULL)
        goto nomem;
    curl_slist_free_all(hl);
    curl_easy_cleanup(curl);
    return 0;
nomem:
    resp->fail = HTTPC_FAIL_NOMEM;
    snprintf(resp->error, sizeof(resp->error), "out of memory");
fail:
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    curl_slist_free_all(hl);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    return -1;
}

void
httpc_response_free(struct httpc_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
