/* Event-stream subscribers (see stream.h): one doubly linked list owned by
 * the loop. A subscriber whose unsent backlog passes STREAM_MAX_BACKLOG is
 * dropped: it reconnects with Last-Event-ID and loses nothing. The budgets
 * that decide who may open a stream are http.c's (limits.max_streams and
 * limits.max_streams_per_address). */
#include <stdlib.h>

#include "http.h"
#include "log.h"
#include "stream.h"

#define STREAM_MAX_BACKLOG (256 * 1024)

struct stream_sub {
    struct http_req *req;
    struct stream *st;
    int64_t last_sent; /* highest serial this subscriber has */
    struct stream_sub *prev, *next;
};

struct stream {
    struct stream_sub *subs; /* head insertion */
    int nsubs;
};

struct stream *
stream_new(void)
{
    return calloc(1, sizeof(struct stream));
}

static void
stream_unlink(struct stream_sub *s)
{
    struct stream *st = s->st;

    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        st->subs = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    st->nsubs--;
}

/* The client went away (http.c frees req right after). */
static void
stream_closed_cb(struct http_req *req, void *arg)
{
    struct stream_sub *s = arg;

    log_debug("event=events_closed rid=%llx last=%lld", (unsigned long long)req->id,
              (long long)s->last_sent);
    stream_unlink(s);
    free(s);
}

static void
stream_end(struct stream_sub *s)
{
    stream_unlink(s);
    http_stream_end(s->req);
    free(s);
}

/* Writes msg to s; drops s (returns -1) when its backlog is over the bound. */
static int
stream_write(struct stream_sub *s, const char *msg, size_t len)
{
    if (http_stream_pending(s->req) > STREAM_MAX_BACKLOG) {
        log_info("event=events_dropped rid=%llx reason=backlog last=%lld",
                 (unsigned long long)s->req->id, (long long)s->last_sent);
        stream_end(s);
        return -1;
    }
    http_stream_write(s->req, msg, len);
    return 0;
}

struct stream_sub *
stream_open(struct stream *st, struct http_req *req, int64_t last_sent, const char *hello,
            size_t len)
{
    struct stream_sub *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return NULL;
    }
    s->req = req;
    s->st = st;
    s->last_sent = last_sent;
    http_add_header(req, "Cache-Control", "no-store");
    http_add_header(req, "X-Accel-Buffering", "no");
    if (http_stream_start(req, "text/event-stream", stream_closed_cb, s) == -1) {
        free(s);
        return NULL;
    }
    s->next = st->subs;
    if (st->subs != NULL)
        st->subs->prev = s;
    st->subs = s;
    st->nsubs++;
    http_stream_write(req, hello, len);
    return s;
}

int
stream_send(struct stream *st, struct stream_sub *only, int64_t serial, const char *msg, size_t len)
{
    struct stream_sub *s, *next;

    for (s = only != NULL ? only : st->subs; s != NULL; s = next) {
        next = only != NULL ? NULL : s->next;
        if (s->last_sent >= serial)
            continue;
        if (stream_write(s, msg, len) == 0)
            s->last_sent = serial;
        else if (only != NULL)
            return -1;
    }
    return 0;
}

void
stream_broadcast(struct stream *st, const char *msg, size_t len)
{
    struct stream_sub *s, *next;

    for (s = st->subs; s != NULL; s = next) {
        next = s->next;
        stream_write(s, msg, len);
    }
}

void
stream_sub_set_last(struct stream_sub *s, int64_t last)
{
    s->last_sent = last;
}

void
stream_close_all(struct stream *st)
{
    if (st == NULL)
        return;
    while (st->subs != NULL)
        stream_end(st->subs);
}

int
stream_subscribers(const struct stream *st)
{
    return st != NULL ? st->nsubs : 0;
}

void
stream_free(struct stream *st)
{
    stream_close_all(st);
    free(st);
}
