/* What gateways follow to refuse revoked tokens: the revocation feed
 * (GET /v1/revocations, JSON or a signed JWS) and the event stream
 * (GET /v1/events, Server-Sent Events). Everything here runs on the main
 * loop; the store is the one source of truth, mirrored in memory. The loop
 * reads it once, at start (feed_new); after that the writer hands each
 * commit's entries over (committer_set_revocation_hook) and a worker polls
 * as a backstop: no store read on the loop (on PostgreSQL each would be a
 * network round trip). */
#ifndef SITETOKEN_FEED_H
#define SITETOKEN_FEED_H

#include <stdint.h>

struct feed;
struct http_req;
struct sitetokend;

/* Needs env->base, env->store, env->committer (whose revocation hook it
 * takes) and env->workers; starts the heartbeat timer. NULL when out of
 * memory. */
struct feed *feed_new(struct sitetokend *env);
/* Ends the streams still open, stops the timer, frees. */
void feed_free(struct feed *f);

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
