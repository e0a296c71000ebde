/* The route table: every endpoint of the HTTP API in one place, with its
 * method, path pattern ({} is one captured segment), scope, what it needs
 * (MP credentials, a body of a given shape) and handler. The request gate
 * (http.c) enforces the needs before the handler runs, like tmux's
 * cmd_entry.args: a handler finds req->body parsed and checked. */
#ifndef SITETOKEN_ROUTES_H
#define SITETOKEN_ROUTES_H

#include "http.h"

struct body_shape;

enum route_scope {
    ROUTE_PUBLIC, /* any TCP client: gateways, monitoring, MPs */
    ROUTE_ADMIN,  /* the admin socket only; elsewhere not_found */
};

/* ROUTE_OTHER is any method evhttp knows but no route takes (HEAD, PUT...). */
enum route_method { ROUTE_GET, ROUTE_POST, ROUTE_DELETE, ROUTE_OTHER };

struct route {
    const char *name; /* metrics label */
    enum route_method method;
    const char *pattern;
    enum route_scope scope;
    /* An MP route: the gate refuses a missing or malformed credential; the
     * handler's worker authenticates it against the store and admits it by
     * the MP's budgets. Failed authentications spend the address's budget. */
    int mp;
    /* The body the route takes (body.c), parsed once through jsonlim and
     * checked by body_check into req->body; NULL: the body is not read. */
    const struct body_shape *body;
    void (*handler)(struct http_req *req);
};

extern const struct route routes_table[];
extern const int routes_count;
/* Names of all routes plus "not_found" last (the metrics label for misses). */
const char *const *routes_names(void);
int routes_not_found_id(void);

/* Finds the route for method and path, filling params. Returns its index, or
 * -1 (no path matches) or -2 (path matches, method does not). */
int routes_match(enum route_method method, const char *path, char params[][HTTP_MAX_PARAM_LEN],
                 int nparams);
/* The same as a listener sees it: with admin 0 (a TCP listener) the admin
 * routes do not exist at all, for every method, so that their paths answer
 * not_found and never reveal themselves with a 405. */
int routes_lookup(enum route_method method, const char *path, char params[][HTTP_MAX_PARAM_LEN],
                  int nparams, int admin);
/* The Allow header value for a path ("GET, POST"), as routes_lookup sees it;
 * "" when no route has that path. */
void routes_allow(const char *path, int admin, char *buf, size_t n);

#endif
