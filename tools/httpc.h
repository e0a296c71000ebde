/* A small blocking HTTP/1.1 client for the tools: one request a connection,
 * over a Unix socket (the admin socket) or TCP. */
#ifndef SITETOKEN_HTTPC_H
#define SITETOKEN_HTTPC_H

#include <stddef.h>

#define HTTPC_MAX_RESPONSE (64u * 1024 * 1024)

struct httpc_target {
    const char *unix_path; /* when set, host and port are ignored */
    const char *host;
    int port;
};

struct httpc_response {
    int status;
    char content_type[128];
    char *body; /* NUL-terminated, malloc'd; free with httpc_response_free */
    size_t body_len;
};

/* Sends method path with an optional JSON body and extra header lines
 * ("Authorization: Bearer x\r\n"), and reads the whole response.
 * Returns 0, or -1 with a static message in *errstr. */
int httpc_request(const struct httpc_target *t, const char *method, const char *path,
                  const char *extra_headers, const char *body, size_t body_len,
                  struct httpc_response *resp, const char **errstr);
void httpc_response_free(struct httpc_response *resp);

#endif
