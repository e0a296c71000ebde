/* sitetoken-gateway: the gateway kit's agent and example. It keeps the
 * site's keys (GET /v1/keys) and revocations (GET /v1/revocations, then the
 * event stream GET /v1/events) fresh in libsitetoken, and answers "is this
 * token good" locally, one token a line on stdin:
 *
 *     ok <client|access> <device id> <jti>
 *     refused <code>
 *
 * It links only the public libsitetoken (<sitetoken.h>). Threads: main
 * answers stdin; one follower thread holds the event stream. The verifier
 * and the cache are guarded by one rwlock (checks read, loads write). An
 * unknown kid makes main refetch the keys, at most once per --kid-cooldown,
 * so a flood of forged kids is not a flood of fetches. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>

#include "httpc.h"
#include "sitetoken.h"

#define GW_LINE_MAX 16384

struct gw {
    struct httpc_target target;
    char host[256];
    char port[8];
    int64_t refresh_s, kid_cooldown_s;
    pthread_rwlock_t lock; /* guards v, revs, last_keys_fetch */
    struct sitetoken_verifier *v;
    struct sitetoken_revocations *revs;
    int64_t last_keys_fetch; /* monotonic seconds */
    int64_t last_full;       /* monotonic seconds, follower thread only */
};

static int64_t
gw_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
gw_log(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sitetoken-gateway: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* GET path -> the body (malloc'd) on 200; NULL otherwise. */
static char *
gw_get(struct gw *g, const char *path, size_t *len)
{
    struct httpc_response resp;
    const char *errstr = NULL;
    char *body;

    if (httpc_request(&g->target, "GET", path, NULL, NULL, 0, &resp, &errstr) == -1) {
        gw_log("GET failed: %s", errstr);
        return NULL;
    }
    if (resp.status != 200) {
        gw_log("GET %s: not 200", path);
        httpc_response_free(&resp);
        return NULL;
    }
    body = resp.body;
    *len = resp.body_len;
    return body;
}

/* Refetches the keys; the caller holds the write lock. 0 or -1. */
static int
gw_fetch_keys(struct gw *g)
{
    size_t len = 0;
    char *doc = gw_get(g, "/v1/keys", &len);
    const char *errstr = NULL;
    int rc;

    g->last_keys_fetch = gw_mono();
    if (doc == NULL)
        return -1;
    rc = sitetoken_verifier_load_jwks(g->v, doc, len, &errstr);
    if (rc == -1)
        gw_log("keys refused: %s", errstr);
    free(doc);
    return rc;
}

/* The whole feed, signed, replacing the cache. Takes the write lock. */
static int
gw_fetch_revocations(struct gw *g)
{
    size_t len = 0;
    char *doc = gw_get(g, "/v1/revocations?format=jws", &len);
    const char *errstr = NULL;
    int rc;

    if (doc == NULL)
        return -1;
    while (len > 0 && (doc[len - 1] == '\n' || doc[len - 1] == '\r'))
        doc[--len] = '\0';
    pthread_rwlock_wrlock(&g->lock);
    rc = sitetoken_revocations_load_jws(g->revs, g->v, doc, len, 1, &errstr);
    if (rc == -1 && gw_fetch_keys(g) == 0) /* signed by a key we do not know yet */
        rc = sitetoken_revocations_load_jws(g->revs, g->v, doc, len, 1, &errstr);
    pthread_rwlock_unlock(&g->lock);
    if (rc == -1)
        gw_log("revocations refused: %s", errstr);
    free(doc);
    g->last_full = gw_mono();
    return rc;
}

/* Opens the event stream from the cache's serial (HTTP/1.0: the body is the
 * stream). Returns a FILE for reading lines, or NULL. */
static FILE *
gw_open_events(struct gw *g)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    /* A read times out (and the follower checks the refresh period) after
     * at most refresh_s, and after 20 s even with a heartbeat every 15 s. */
    struct timeval tv = {.tv_sec = g->refresh_s < 20 ? g->refresh_s : 20};
    char req[512], line[512];
    long long serial;
    FILE *f;
    int fd;

    if (getaddrinfo(g->host, g->port, &hints, &res) != 0)
        return NULL;
    fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd == -1 || connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
        if (fd != -1)
            close(fd);
        freeaddrinfo(res);
        return NULL;
    }
    freeaddrinfo(res);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    pthread_rwlock_rdlock(&g->lock);
    serial = (long long)sitetoken_revocations_serial(g->revs);
    pthread_rwlock_unlock(&g->lock);
    snprintf(req, sizeof(req),
             "GET /v1/events HTTP/1.0\r\nHost: %s\r\nAccept: text/event-stream\r\n"
             "Last-Event-ID: %lld\r\n\r\n",
             g->host, serial);
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) || (f = fdopen(fd, "r")) == NULL) {
        close(fd);
        return NULL;
    }
    if (fgets(line, sizeof(line), f) == NULL || strstr(line, " 200 ") == NULL) {
        fclose(f);
        return NULL;
    }
    while (fgets(line, sizeof(line), f) != NULL && strcmp(line, "\r\n") != 0 &&
           strcmp(line, "\n") != 0)
        ; /* headers */
    return f;
}

/* The follower: event stream, with a full refetch every refresh_s and after
 * every reconnect (which is also how an unblock reaches us). */
static void *
gw_follow(void *arg)
{
    struct gw *g = arg;
    char *line = malloc(GW_LINE_MAX), event[32] = "";

    for (;;) {
        FILE *f = gw_open_events(g);

        while (f != NULL) {
            size_t n;

            if (fgets(line, GW_LINE_MAX, f) == NULL) {
                if (!ferror(f) || (errno != EAGAIN && errno != EWOULDBLOCK))
                    break;   /* the stream ended: reconnect */
                clearerr(f); /* quiet for a while: only time to refresh? */
                if (gw_mono() - g->last_full >= g->refresh_s)
                    gw_fetch_revocations(g);
                continue;
            }
            n = strcspn(line, "\r\n");

            line[n] = '\0';
            if (strncmp(line, "event: ", 7) == 0) {
                snprintf(event, sizeof(event), "%s", line + 7);
            } else if (strncmp(line, "data: ", 6) == 0 && strcmp(event, "revocation") == 0) {
                const char *errstr = NULL;

                pthread_rwlock_wrlock(&g->lock);
                if (sitetoken_revocations_add_event(g->revs, line + 6, n - 6, &errstr) == -1)
                    gw_log("event refused: %s", errstr);
                pthread_rwlock_unlock(&g->lock);
            } else if (strncmp(line, "data: ", 6) == 0 && strcmp(event, "keys") == 0) {
                pthread_rwlock_wrlock(&g->lock);
                gw_fetch_keys(g);
                pthread_rwlock_unlock(&g->lock);
            } else if (n == 0) {
                event[0] = '\0';
            }
            if (gw_mono() - g->last_full >= g->refresh_s)
                gw_fetch_revocations(g);
        }
        if (f != NULL)
            fclose(f);
        sleep(1);
        gw_fetch_revocations(g);
    }
    free(line);
    return NULL;
}

/* Verifies one token: access first, then client. */
static int
gw_check(struct gw *g, const char *tok, struct sitetoken_claims *c)
{
    int64_t now = (int64_t)time(NULL);
    int rc;

    rc = sitetoken_verify(g->v, tok, strlen(tok), SITETOKEN_KIND_ACCESS, now, c);
    if (rc == SITETOKEN_E_WRONG_TOKEN_TYPE)
        rc = sitetoken_verify(g->v, tok, strlen(tok), SITETOKEN_KIND_CLIENT, now, c);
    if (rc == SITETOKEN_OK)
        rc = sitetoken_revocations_check(g->revs, c, now);
    return rc;
}

static int
gw_parse_url(struct gw *g, const char *url)
{
    const char *p = url, *colon;

    if (strncmp(p, "http://", 7) != 0)
        return -1;
    p += 7;
    if ((colon = strrchr(p, ':')) == NULL || (size_t)(colon - p) >= sizeof(g->host) ||
        strlen(colon + 1) >= sizeof(g->port) || strchr(colon + 1, '/') != NULL)
        return -1;
    memcpy(g->host, p, (size_t)(colon - p));
    g->host[colon - p] = '\0';
    snprintf(g->port, sizeof(g->port), "%s", colon + 1);
    g->target.host = g->host;
    g->target.port = atoi(g->port);
    return g->target.port > 0 ? 0 : -1;
}

static void
usage(FILE *out)
{
    fprintf(out, "usage: sitetoken-gateway --url http://HOST:PORT [--issuer ISS] [--audience AUD]\n"
                 "         [--skew SECONDS] [--refresh SECONDS] [--kid-cooldown SECONDS]\n"
                 "Reads one token a line on stdin; answers \"ok KIND DEVICE JTI\" or\n"
                 "\"refused CODE\" on stdout.\n");
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"issuer", required_argument, NULL, 'i'},
        {"audience", required_argument, NULL, 'a'},
        {"skew", required_argument, NULL, 's'},
        {"refresh", required_argument, NULL, 'r'},
        {"kid-cooldown", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct gw g;
    const char *url = NULL, *issuer = "urn:sitetoken:PS1", *audience = "urn:sitetoken:gateway";
    int64_t skew = 300;
    char *line;
    pthread_t follower;
    int ch;

    memset(&g, 0, sizeof(g));
    g.refresh_s = 60;
    g.kid_cooldown_s = 30;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u':
            url = optarg;
            break;
        case 'i':
            issuer = optarg;
            break;
        case 'a':
            audience = optarg;
            break;
        case 's':
            skew = atoll(optarg);
            break;
        case 'r':
            g.refresh_s = atoll(optarg) > 0 ? atoll(optarg) : 60;
            break;
        case 'k':
            g.kid_cooldown_s = atoll(optarg) >= 0 ? atoll(optarg) : 30;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sitetoken-gateway %s\n", SITETOKEN_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (url == NULL || optind != argc || gw_parse_url(&g, url) == -1) {
        usage(stderr);
        return 2;
    }
    pthread_rwlock_init(&g.lock, NULL);
    if ((g.v = sitetoken_verifier_new(issuer, audience, skew)) == NULL ||
        (g.revs = sitetoken_revocations_new()) == NULL || (line = malloc(GW_LINE_MAX)) == NULL) {
        gw_log("%s", "out of memory");
        return 1;
    }
    if (gw_fetch_keys(&g) == -1 || gw_fetch_revocations(&g) == -1) {
        gw_log("%s", "cannot reach the authority");
        return 1;
    }
    if (pthread_create(&follower, NULL, gw_follow, &g) != 0) {
        gw_log("%s", "cannot start the follower thread");
        return 1;
    }
    fprintf(stderr, "ready: %zu keys, revocation serial %lld\n", sitetoken_verifier_key_count(g.v),
            (long long)sitetoken_revocations_serial(g.revs));
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, GW_LINE_MAX, stdin) != NULL) {
        struct sitetoken_claims c;
        int rc;

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        pthread_rwlock_rdlock(&g.lock);
        rc = gw_check(&g, line, &c);
        pthread_rwlock_unlock(&g.lock);
        if (rc == SITETOKEN_E_UNKNOWN_KEY) {
            pthread_rwlock_wrlock(&g.lock);
            if (gw_mono() - g.last_keys_fetch >= g.kid_cooldown_s)
                gw_fetch_keys(&g);
            rc = gw_check(&g, line, &c);
            pthread_rwlock_unlock(&g.lock);
        }
        if (rc == SITETOKEN_OK)
            printf("ok %s %s %s\n", c.kind == SITETOKEN_KIND_ACCESS ? "access" : "client", c.sub,
                   c.jti);
        else
            printf("refused %s\n", sitetoken_error_name(rc));
    }
    /* stdin closed: the follower thread (blocked on the event stream, still
     * using the verifier and the cache) dies with the process. */
    free(line);
    return 0;
}
