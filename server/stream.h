/* The subscribers of the event stream (GET /v1/events, Server-Sent Events):
 * who is listening, what each has had, and how far behind each may fall.
 * feed.c decides what to send; this module sends it. Loop thread only. */
#ifndef SITETOKEN_STREAM_H
#define SITETOKEN_STREAM_H

#include <stddef.h>
#include <stdint.h>

struct http_req;
struct stream;
struct stream_sub;

/* NULL when out of memory. */
struct stream *stream_new(void);
/* Ends the streams still open, frees. */
void stream_free(struct stream *st);
/* Ends every stream (shutdown: streams would otherwise never finish). */
void stream_close_all(struct stream *st);
int stream_subscribers(const struct stream *st);

/* Starts the stream of req (which has passed http_stream_admit) with its
 * hello text; the subscriber has had every serial up to last_sent. NULL when
 * it could not start (req answered and gone). */
struct stream_sub *stream_open(struct stream *st, struct http_req *req, int64_t last_sent,
                               const char *hello, size_t len);
/* Sends msg (the event of serial) to one subscriber (only) or, when only is
 * NULL, to every subscriber that has not had serial. -1 when only was
 * dropped for its backlog (it is gone). */
int stream_send(struct stream *st, struct stream_sub *only, int64_t serial, const char *msg,
                size_t len);
/* msg to everyone, whatever they have had (keys, reset, heartbeats). */
void stream_broadcast(struct stream *st, const char *msg, size_t len);
/* The subscriber has had every serial up to last. */
void stream_sub_set_last(struct stream_sub *s, int64_t last);

#endif
