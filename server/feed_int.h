/* Internals shared by feed.c (the documents and the stream) and
 * feed_sync.c (how the list follows commits); included by nothing else.
 * Everything here is the loop thread's. */
#ifndef SITETOKEN_FEED_INT_H
#define SITETOKEN_FEED_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

struct sitetokend;
struct store_rev_changes;
struct store_revocation;
struct stream_sub;
struct feed_listen;
struct feed_sync_handover;

#define FEED_JWS_SLOTS 8

/* Bytes handed to evbuffers by reference and not yet sent. Shared by the
 * feed and every blob, freed with the last of them (blobs may outlive the
 * feed at shutdown, while evhttp frees the connections). */
struct feed_meter {
    int refs;
    int64_t queued;
};

/* An immutable shared text: freed when the last holder (the cache, or an
 * evbuffer reference) lets go. Loop thread only. */
struct feed_blob {
    struct feed_meter *meter;
    int refs;
    size_t len;
    char data[];
};

struct feed_entry {
    int64_t serial, expires_at;
    json_t *j;  /* the entry as JSON (the JWS form is built from these) */
    size_t off; /* where its text starts in the entries blob */
};

struct feed_jws {
    struct feed_blob *blob; /* NULL: empty slot */
    size_t start;           /* index of the first entry in it */
    uint64_t gen;           /* list generation it was made from */
    int64_t resign_at;      /* now >= this: sign again */
    char etag[48];
    uint64_t used; /* for eviction: the least recently used goes */
};

struct feed {
    struct sitetokend *env;
    struct event *heartbeat;
    struct stream *stream; /* the event stream's subscribers */
    int64_t published;     /* every entry up to here is in v and was sent */
    struct feed_entry *v;
    size_t n, cap;
    uint64_t gen;        /* bumped whenever v changes */
    int64_t valid_until; /* earliest expires_at in v */
    int oom;             /* a load ran out of memory */
    struct feed_meter *meter;
    /* the entries blob of generation blob_gen: "e1,e2,...", and its ETag base */
    struct feed_blob *entries;
    uint64_t blob_gen;
    char hash[32];
    struct feed_jws jws[FEED_JWS_SLOTS];
    uint64_t jws_clock;
    char keys_etag[48]; /* last key set announced */
    /* Following the store (feed_sync.c): one sync on a worker at a time
     * (another asked for while it runs: again), the marker last acted on,
     * hand-overs held until what precedes them is read, the poll timer (on
     * a shared database: cluster.poll) and the notification thread
     * (feed_listen.c), when the keys were last reloaded by a sync. */
    int syncing, sync_again, sync_failing;
    struct store_marker known;
    struct feed_sync_handover *pending, *pending_tail;
    struct event *poll_timer;
    struct feed_listen *listen;
    int64_t keys_reloaded_at;
};

/* feed.c: the in-memory list. */
void feed_valid_until(struct feed *f);
/* Appends r (serial order); -1 when out of memory. */
int feed_list_add(struct feed *f, const struct store_revocation *r);
/* Drops the entries expired at now. */
void feed_list_expire(struct feed *f, int64_t now);
/* Index of the first entry with a serial above since. */
size_t feed_list_find(const struct feed *f, int64_t since);
/* Sends entries [from, n) to one subscriber (only) or to all; -1 when the
 * one subscriber was dropped. */
int feed_push(struct feed *f, size_t from, struct stream_sub *only);
/* "event: reset" text into buf of n bytes. */
void feed_reset_text(struct feed *f, char *buf, size_t n, size_t *len);
/* Announces the key set when its ETag differs from the last announced. */
void feed_keys_check(struct feed *f);

/* feed_sync.c */
/* Writer thread (committer_set_revocation_hook): takes changes (and frees
 * them), posted to the loop ahead of the batch's ops. */
void feed_sync_hook(struct store_rev_changes *changes, int lost, void *arg);
/* Loop: a sync on a worker (one at a time: asked for while one runs, it
 * runs again after): the marker read, then what it says changed: entries
 * above f->published, the whole list after a removal, the keys reloaded,
 * the MP credential cache flushed. */
void feed_sync_request(struct feed *f);
/* Loop, at start, before the list is loaded: the marker as it is. */
int feed_sync_init(struct feed *f, const char **errstr);
/* Loop, after the load: the poll timer and the notification thread (a
 * shared database only). 0 or -1. */
int feed_sync_start(struct feed *f);
/* Loop: stops the timer and the thread (shutdown); frees what is held. */
void feed_sync_stop(struct feed *f);

/* feed_listen.c: a thread of its own on a connection of its own that
 * LISTENs and wakes the loop (feed_sync_request) on every notification
 * and after every reconnection. */
struct feed_listen *feed_listen_start(struct feed *f);
void feed_listen_stop(struct feed_listen *l);

#endif
