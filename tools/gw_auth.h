/* The forward-auth decisions: /auth (access token + DPoP proof) and
 * /auth/enrol (bulk token pre-screen), on the loop thread. */
#ifndef SITETOKEN_GW_AUTH_H
#define SITETOKEN_GW_AUTH_H

#include <event2/http.h>

#include "errcode.h"
#include "labels.h"

struct gw;

struct gw_answer {
    enum errcode code;
    const char *detail;
    const char *www_error; /* "invalid_token", "invalid_dpop_proof" or NULL */
    int retry_after;       /* seconds; 0: none */
    char device_id[64], token_id[65], site[16];
    char labels[LABELS_TEXT_MAX + LABELS_MAX]; /* "k=v, k=v": X-Sitetoken-Labels */
};

/* Decide one /auth request (any method; path already known to be /auth or
 * /auth/...). */
void gw_auth_check(struct gw *g, struct evhttp_request *req, struct gw_answer *out);
/* Decide one /auth/enrol request. */
void gw_auth_enrol(struct gw *g, struct evhttp_request *req, struct gw_answer *out);

#endif
