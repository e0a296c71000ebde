/* The tools' blocking HTTP client, on libcurl: one request at a time over a
 * Unix socket (the admin socket), http or https (CA file, optional client
 * certificate), with a total and a connect timeout and a bounded response.
 * A failure says what failed (enum httpc_fail) so a tool can pick its exit
 * code. httpc_url_parse is the tools' one URL parser. Needs nothing from
 * proto/ (sitetoken-gateway compiles it in). */
#ifndef SITETOKEN_HTTPC_H
#define SITETOKEN_HTTPC_H

#include <stddef.h>

#define HTTPC_MAX_RESPONSE (64u * 1024 * 1024)
#define HTTPC_DEFAULT_TIMEOUT_MS 10000L

/* An absolute http or https URL, split. host is without IPv6 brackets. */
struct httpc_url {
    int tls;          /* https */
    char host[256];   /* lower case */
    int port;         /* explicit, or 80/443 */
    char path[4096];  /* path and query, "/" when empty; no fragment */
    char origin[320]; /* scheme://host[:port], the port only when not the default */
    char htu[4400];   /* origin + path without query: RFC 9449 htu */
};

/* 0, or -1 with a static message in *errstr (not http/https, no host, bad
 * port, too long). */
int httpc_url_parse(const char *url, struct httpc_url *out, const char **errstr);

/* Where requests go and how. Strings are borrowed for the call. */
struct httpc_target {
    const char *unix_path;   /* HTTP over this Unix socket (Host: localhost), or NULL */
    const char *base_url;    /* "http[s]://host[:port]", prefixed to relative paths */
    const char *ca_file;     /* trusted CAs for https; NULL: the system's */
    const char *cert_file;   /* client certificate (PEM), or NULL */
    const char *key_file;    /* its key (PEM); NULL: in cert_file */
    long timeout_ms;         /* the whole request; 0: HTTPC_DEFAULT_TIMEOUT_MS */
    long connect_timeout_ms; /* 0: the same as timeout_ms */
};

enum httpc_fail {
    HTTPC_FAIL_NONE = 0,
    HTTPC_FAIL_USAGE,     /* a bad URL or option: the caller's mistake */
    HTTPC_FAIL_CONNECT,   /* no such socket, refused, unreachable, unknown host */
    HTTPC_FAIL_TIMEOUT,   /* connect or whole-request timeout */
    HTTPC_FAIL_TLS,       /* handshake, certificate verification, client certificate */
    HTTPC_FAIL_TOO_LARGE, /* the response passed HTTPC_MAX_RESPONSE */
    HTTPC_FAIL_PROTOCOL,  /* the peer closed early or answered something not HTTP */
    HTTPC_FAIL_NOMEM,
};

struct httpc_response {
    int status;
    char content_type[128];
    char etag[128];
    long retry_after; /* seconds; -1 when absent or not delta-seconds */
    char *body;       /* NUL-terminated, malloc'd; free with httpc_response_free */
    size_t body_len;
    enum httpc_fail fail; /* why the request failed, when it returned -1 */
    char error[512];      /* the message *errstr points at */
};

/* Sends method to path (relative to base_url or the socket, or an absolute
 * http[s] URL) with extra headers (a NULL-terminated array of "Name: value",
 * or NULL) and an optional JSON body, and reads the whole response. Any
 * status is a success. Returns 0, or -1 with resp->fail set and *errstr
 * pointing at resp->error. resp is always initialised: call
 * httpc_response_free whatever the result. Thread-safe (no shared state). */
int httpc_request(const struct httpc_target *t, const char *method, const char *path,
                  const char *const *headers, const char *body, size_t body_len,
                  struct httpc_response *resp, const char **errstr);
void httpc_response_free(struct httpc_response *resp);

/* A short name for a failure ("connection", "timeout", "TLS", ...). */
const char *httpc_fail_name(enum httpc_fail fail);

#endif
