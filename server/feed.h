/* What gateways follow to refuse revoked tokens: the revocation feed
 * (GET /v1/revocations, JSON or a signed JWS) and the event stream
 * (GET /v1/events, Server-Sent Events). Everything here runs on the main
 * loop; the store is the one source of truth, mirrored in memory and read
 * on env->store only after a commit that may have changed it, never to
 * answer a request. */
#ifndef SITETOKEN_FEED_H
#define SITETOKEN_FEED_H

#include <stdint.h>

struct feed;
struct http_req;
struct sitetokend;

/* Needs env->base and env->store; starts the heartbeat timer. NULL when out
 * of memory. */
struct feed *feed_new(struct sitetokend *env);
/* Ends the streams still open, stops the timer, frees. */
void feed_free(struct feed *f);

/* A commit may have added or removed revocation entries: read the new ones
 * (or, when there are none, the whole list again), send them to the
 * subscribers, and `event: reset` when entries went away. */
void feed_changed(struct feed *f);
/* A commit only added revocation entries (a renewal's superseded tokens):
 * read the new ones, never the whole list. Several ops of one batch each
 * call it; the first reads the batch's entries, the others find none and
 * cost one indexed seek (feed_changed would reload the list for each). */
void feed_added(struct feed *f);
/* The published keys changed: a keys event to every subscriber. */
void feed_keys_changed(struct feed *f);
/* Ends every stream (shutdown: streams would otherwise never finish). */
void feed_close_all(struct feed *f);
/* Bytes of shared answers queued to clients and not yet sent. */
int64_t feed_queued_bytes(const struct feed *f);
/* Open event-stream subscribers (the console's overview). */
int feed_subscribers(const struct feed *f);

/* GET /v1/revocations?since=N[&format=jws] */
void feed_revocations(struct http_req *req);
/* GET /v1/events (Last-Event-ID or ?since=N to resume) */
void feed_events(struct http_req *req);

#endif
