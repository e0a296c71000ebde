/* The revocation feed and the event stream (see feed.h).
 *
 * The document for since=0 (what a gateway fetches at start and to
 * resynchronise) is built once and served from memory until an entry is
 * added or removed, its earliest entry expires, or (for the JWS) the keys
 * change. Other `since` values are read from the store: an indexed range.
 *
 * Subscribers live in one list owned by the loop. After a commit,
 * feed_changed reads the entries newer than `published` from the store and
 * sends each, formatted once, to every subscriber that has not had it yet
 * (a subscriber that resumed with Last-Event-ID may already have it from its
 * replay). A subscriber whose unsent backlog passes FEED_MAX_BACKLOG is
 * dropped: it reconnects with Last-Event-ID and loses nothing. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "b64url.h"
#include "config.h"
#include "feed.h"
#include "http.h"
#include "log.h"
#include "revdoc.h"
#include "revocations.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"
#include "timefmt.h"

#define FEED_HEARTBEAT_SECONDS 15
#define FEED_MAX_BACKLOG (256 * 1024)
#define FEED_MAX_SUBSCRIBERS 20000
#define FEED_JWS_TYP "sitetoken-revocations+jwt"

struct feed_sub {
    struct http_req *req;
    struct feed *f;
    int64_t last_sent; /* highest serial this subscriber has */
    struct feed_sub *prev, *next;
};

/* One cached serialisation of the since=0 document. */
struct feed_cached {
    char *text; /* NULL when not built (or invalidated) */
    size_t len;
    char etag[48];
    int64_t valid_until; /* rebuild once now >= this (earliest expiry inside) */
};

struct feed {
    struct sitetokend *env;
    struct event *heartbeat;
    struct feed_sub *subs; /* doubly linked, head insertion */
    int nsubs;
    int64_t published; /* every entry up to here has been sent to subscribers */
    struct feed_cached json, jws;
};

static void
feed_cached_clear(struct feed_cached *c)
{
    free(c->text);
    c->text = NULL;
    c->len = 0;
}

static void
feed_etag(const char *text, size_t len, const char *prefix, char out[48])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hash[32];

    SHA256((const uint8_t *)text, len, md);
    b64url_encode_buf(md, 16, hash, sizeof(hash));
    snprintf(out, 48, "\"%s%s\"", prefix, hash);
}

static json_t *
feed_entry_json(const struct store_revocation *r)
{
    char revoked[TIMEFMT_LEN + 1], expires[TIMEFMT_LEN + 1];

    timefmt_rfc3339(r->revoked_at, revoked);
    timefmt_rfc3339(r->expires_at, expires);
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "serial", (json_int_t)r->serial, "kind",
                     r->kind, "id", r->id, "revoked_at", revoked, "expires_at", expires, "reason",
                     r->reason);
}

struct feed_list {
    json_t *entries;
    int64_t max_serial, valid_until;
};

static int
feed_list_cb(const struct store_revocation *r, void *arg)
{
    struct feed_list *l = arg;

    json_array_append_new(l->entries, feed_entry_json(r));
    if (r->serial > l->max_serial)
        l->max_serial = r->serial;
    if (r->expires_at < l->valid_until)
        l->valid_until = r->expires_at;
    return 0;
}

/* {serial, entries} for since at now. The serial is read before the list:
 * everything up to it was committed before the list began, so a client that
 * resumes from the document's serial misses nothing. */
static json_t *
feed_document(struct feed *f, int64_t since, int64_t now, int64_t *valid_until, const char **errstr)
{
    struct store *st = f->env->store;
    struct feed_list l = {.max_serial = 0, .valid_until = INT64_MAX};
    int64_t serial = store_revocation_serial(st);

    if ((l.entries = json_array()) == NULL) {
        *errstr = "out of memory";
        return NULL;
    }
    if (store_revocation_list(st, since, now, 0, feed_list_cb, &l, errstr) == -1) {
        json_decref(l.entries);
        return NULL;
    }
    if (l.max_serial > serial)
        serial = l.max_serial;
    *valid_until = l.valid_until;
    return json_pack("{s:I, s:o}", "serial", (json_int_t)serial, "entries", l.entries);
}

/* The document as text, JSON or (jws) signed; malloc'd. */
static char *
feed_render(struct feed *f, int64_t since, int64_t now, int jws, int64_t *valid_until,
            const char **errstr)
{
    struct sitetokend *env = f->env;
    json_t *doc = feed_document(f, since, now, valid_until, errstr);
    char *text = NULL, kid[65];

    if (doc == NULL)
        return NULL;
    if (!jws) {
        if ((text = json_dumps(doc, JSON_COMPACT)) == NULL)
            *errstr = "out of memory";
    } else {
        if (revdoc_set_claims(doc, env->cfg->issuer, env->cfg->audience, now,
                              REVDOC_MAX_AGE_DEFAULT) == -1 ||
            signer_sign_typ(env->signer, FEED_JWS_TYP, doc, &text, kid) != ERRCODE_OK) {
            *errstr = "cannot sign";
            text = NULL;
        }
    }
    json_decref(doc);
    return text;
}

/* The cached since=0 document, rebuilt when stale. NULL with *errstr. */
static struct feed_cached *
feed_full(struct feed *f, int jws, int64_t now, const char **errstr)
{
    struct feed_cached *c = jws ? &f->jws : &f->json;

    if (c->text != NULL && now < c->valid_until)
        return c;
    feed_cached_clear(c);
    if ((c->text = feed_render(f, 0, now, jws, &c->valid_until, errstr)) == NULL)
        return NULL;
    c->len = strlen(c->text);
    /* A JWS of the same content may differ (ES256 is randomised): the ETag
     * names the content, the prefix the format. */
    if (jws) {
        int64_t ignored;
        char *plain = feed_render(f, 0, now, 0, &ignored, errstr);

        if (plain == NULL) {
            feed_cached_clear(c);
            return NULL;
        }
        feed_etag(plain, strlen(plain), "j", c->etag);
        free(plain);
    } else {
        feed_etag(c->text, c->len, "", c->etag);
    }
    return c;
}

/* Parses a decimal serial (0 .. 2^62); -1 when malformed. */
static int
feed_parse_serial(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 19)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > (1LL << 62))
        return -1;
    *out = v;
    return 0;
}

void
feed_revocations(struct http_req *req)
{
    struct feed *f = req->env->feed;
    const char *since_s = http_query(req, "since"), *format = http_query(req, "format");
    const char *errstr = NULL, *ctype;
    int64_t since = 0, now = sitetokend_now(req->env), valid_until;
    struct evbuffer *buf;
    char *text = NULL, etag[48];
    int jws;

    if (since_s != NULL && feed_parse_serial(since_s, &since) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "since must be a serial (0 or more)");
        return;
    }
    if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "jws") != 0) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "format must be json or jws");
        return;
    }
    jws = format != NULL && strcmp(format, "jws") == 0;
    ctype = jws ? "application/jwt" : "application/json";
    http_add_header(req, "Cache-Control", "no-cache");
    if (since == 0) {
        struct feed_cached *c = feed_full(f, jws, now, &errstr);

        if (c == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "revocations: %s", errstr);
            return;
        }
        if (http_reply_not_modified(req, c->etag))
            return;
        http_add_header(req, "ETag", c->etag);
        if ((buf = evbuffer_new()) == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
            return;
        }
        evbuffer_add(buf, c->text, c->len);
        http_reply_buffer(req, 200, ctype, buf);
        evbuffer_free(buf);
        return;
    }
    if ((text = feed_render(f, since, now, 0, &valid_until, &errstr)) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "revocations: %s", errstr);
        return;
    }
    feed_etag(text, strlen(text), jws ? "j" : "", etag);
    if (http_reply_not_modified(req, etag)) {
        free(text);
        return;
    }
    if (jws) {
        free(text);
        if ((text = feed_render(f, since, now, 1, &valid_until, &errstr)) == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "revocations: %s", errstr);
            return;
        }
    }
    http_add_header(req, "ETag", etag);
    if ((buf = evbuffer_new()) == NULL) {
        free(text);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    evbuffer_add(buf, text, strlen(text));
    free(text);
    http_reply_buffer(req, 200, ctype, buf);
    evbuffer_free(buf);
}

/* Subscribers -------------------------------------------------------------- */

static void
feed_unlink(struct feed_sub *s)
{
    struct feed *f = s->f;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        f->subs = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    f->nsubs--;
}

/* The client went away (http.c frees req right after). */
static void
feed_sub_closed_cb(struct http_req *req, void *arg)
{
    struct feed_sub *s = arg;

    log_debug("event=events_closed rid=%llx last=%lld", (unsigned long long)req->id,
              (long long)s->last_sent);
    feed_unlink(s);
    free(s);
}

static void
feed_sub_end(struct feed_sub *s)
{
    feed_unlink(s);
    http_stream_end(s->req);
    free(s);
}

/* Writes msg to s; drops s (returns -1) when its backlog is over the bound. */
static int
feed_sub_write(struct feed_sub *s, const char *msg, size_t len)
{
    if (http_stream_pending(s->req) > FEED_MAX_BACKLOG) {
        log_info("event=events_dropped rid=%llx reason=backlog last=%lld",
                 (unsigned long long)s->req->id, (long long)s->last_sent);
        feed_sub_end(s);
        return -1;
    }
    http_stream_write(s->req, msg, len);
    return 0;
}

/* "id: N\nevent: revocation\ndata: {...}\n\n", malloc'd. */
static char *
feed_event_text(const struct store_revocation *r, size_t *len)
{
    json_t *e = feed_entry_json(r);
    char *data = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL, *msg = NULL;
    int n;

    json_decref(e);
    if (data == NULL)
        return NULL;
    n = asprintf(&msg, "id: %" PRId64 "\nevent: revocation\ndata: %s\n\n", r->serial, data);
    free(data);
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return msg;
}

struct feed_push {
    struct feed *f;
    struct feed_sub *only; /* a replay to one subscriber, else NULL: all */
    int64_t max_serial;
};

static int
feed_push_cb(const struct store_revocation *r, void *arg)
{
    struct feed_push *p = arg;
    struct feed_sub *s, *next;
    size_t len = 0;
    char *msg = feed_event_text(r, &len);

    if (r->serial > p->max_serial)
        p->max_serial = r->serial;
    if (msg == NULL)
        return 0;
    for (s = p->only != NULL ? p->only : p->f->subs; s != NULL; s = next) {
        next = p->only != NULL ? NULL : s->next;
        if (s->last_sent >= r->serial)
            continue;
        if (feed_sub_write(s, msg, len) == 0)
            s->last_sent = r->serial;
        else if (p->only != NULL) {
            free(msg);
            return 1; /* the one subscriber is gone */
        }
    }
    free(msg);
    return 0;
}

void
feed_changed(struct feed *f)
{
    struct feed_push p = {.f = f, .only = NULL, .max_serial = 0};
    const char *errstr = NULL;
    int64_t serial;

    if (f == NULL)
        return;
    feed_cached_clear(&f->json);
    feed_cached_clear(&f->jws);
    serial = store_revocation_serial(f->env->store);
    if (store_revocation_list(f->env->store, f->published, sitetokend_now(f->env), 0, feed_push_cb,
                              &p, &errstr) == -1) {
        log_warn("event=feed error=%s", log_quote(errstr, (char[256]){0}, 256));
        return;
    }
    /* Entries already expired when written were never worth sending. */
    if (p.max_serial > f->published)
        f->published = p.max_serial;
    if (serial > f->published)
        f->published = serial;
}

static void
feed_broadcast(struct feed *f, const char *msg, size_t len)
{
    struct feed_sub *s, *next;

    for (s = f->subs; s != NULL; s = next) {
        next = s->next;
        feed_sub_write(s, msg, len);
    }
}

void
feed_keys_changed(struct feed *f)
{
    struct signer_keys *k;
    json_t *data;
    char *text = NULL, *msg = NULL;
    int n = -1;

    if (f == NULL)
        return;
    feed_cached_clear(&f->jws);
    if ((k = signer_keys_get(f->env->signer)) == NULL)
        return;
    /* No id: a keys event is not part of the serial sequence. */
    data = json_pack("{s:s}", "etag", k->etag);
    signer_keys_put(k);
    if (data != NULL && (text = json_dumps(data, JSON_COMPACT)) != NULL)
        n = asprintf(&msg, "event: keys\ndata: %s\n\n", text);
    if (n > 0)
        feed_broadcast(f, msg, (size_t)n);
    json_decref(data);
    free(text);
    if (n > 0)
        free(msg);
}

static void
feed_heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    struct feed *f = arg;
    static const char beat[] = ": heartbeat\n\n";

    /* A backstop: nothing should be left unsent, but a commit whose done()
     * did not call feed_changed would otherwise wait for the next one. */
    feed_changed(f);
    feed_broadcast(f, beat, sizeof(beat) - 1);
}

void
feed_events(struct http_req *req)
{
    struct feed *f = req->env->feed;
    const char *last = http_header(req, "Last-Event-ID"), *since_s = http_query(req, "since");
    struct feed_sub *s;
    int64_t since = -1;
    char hello[96];
    int n;

    if (last != NULL && *last != '\0' && feed_parse_serial(last, &since) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "Last-Event-ID must be a serial");
        return;
    }
    if (since < 0 && since_s != NULL && feed_parse_serial(since_s, &since) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "since must be a serial (0 or more)");
        return;
    }
    if (f->nsubs >= FEED_MAX_SUBSCRIBERS) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "too many event stream subscribers");
        return;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    s->req = req;
    s->f = f;
    s->last_sent = f->published;
    s->next = f->subs;
    if (f->subs != NULL)
        f->subs->prev = s;
    f->subs = s;
    f->nsubs++;
    http_add_header(req, "Cache-Control", "no-store");
    http_add_header(req, "X-Accel-Buffering", "no");
    http_stream_start(req, "text/event-stream", feed_sub_closed_cb, s);
    n = snprintf(hello, sizeof(hello), "retry: 1000\n: serial %lld\n\n", (long long)f->published);
    http_stream_write(req, hello, (size_t)n);
    if (since >= 0) {
        /* Replay what the subscriber missed, from the store. */
        struct feed_push p = {.f = f, .only = s, .max_serial = 0};
        const char *errstr = NULL;

        s->last_sent = since;
        if (store_revocation_list(f->env->store, since, sitetokend_now(f->env), 0, feed_push_cb, &p,
                                  &errstr) == -1) {
            log_warn("event=events_replay error=%s", log_quote(errstr, (char[256]){0}, 256));
            feed_sub_end(s);
            return;
        }
        /* (s may be gone: feed_push_cb stopped the list when it dropped it) */
    }
    log_debug("event=events_open rid=%llx since=%lld subscribers=%d", (unsigned long long)req->id,
              (long long)since, f->nsubs);
}

void
feed_close_all(struct feed *f)
{
    if (f == NULL)
        return;
    while (f->subs != NULL)
        feed_sub_end(f->subs);
}

int
feed_subscribers(const struct feed *f)
{
    return f != NULL ? f->nsubs : 0;
}

struct feed *
feed_new(struct sitetokend *env)
{
    struct feed *f = calloc(1, sizeof(*f));
    struct timeval tv = {.tv_sec = FEED_HEARTBEAT_SECONDS};

    if (f == NULL)
        return NULL;
    f->env = env;
    f->published = store_revocation_serial(env->store);
    if ((f->heartbeat = event_new(env->base, -1, EV_PERSIST, feed_heartbeat_cb, f)) == NULL ||
        event_add(f->heartbeat, &tv) == -1) {
        feed_free(f);
        return NULL;
    }
    return f;
}

void
feed_free(struct feed *f)
{
    if (f == NULL)
        return;
    feed_close_all(f);
    if (f->heartbeat != NULL)
        event_free(f->heartbeat);
    feed_cached_clear(&f->json);
    feed_cached_clear(&f->jws);
    free(f);
}
