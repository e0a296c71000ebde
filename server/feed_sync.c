/* How the feed learns of commits (see feed.c): the writer's hand-over of
 * each commit's revocation entries and removals (feed_sync_hook, on the
 * writer thread, posted to the loop), merged on the loop (feed_sync_merge),
 * and the heartbeat's backstop poll on a worker (feed_sync_poll). Nothing
 * here reads the store on the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "feed_int.h"
#include "log.h"
#include "revocations.h"
#include "sitetokend.h"
#include "store.h"
#include "stream.h"
#include "workers.h"

/* Drops every entry of kind/id (an unblock); how many went. */
static size_t
feed_sync_remove(struct feed *f, const char *kind, const char *id)
{
    size_t w = 0, gone;

    for (size_t i = 0; i < f->n; i++) {
        const char *k = json_string_value(json_object_get(f->v[i].j, "kind"));
        const char *e = json_string_value(json_object_get(f->v[i].j, "id"));

        if (k != NULL && e != NULL && strcmp(k, kind) == 0 && strcmp(e, id) == 0)
            json_decref(f->v[i].j);
        else
            f->v[w++] = f->v[i];
    }
    gone = f->n - w;
    if (gone > 0) {
        f->n = w;
        feed_valid_until(f);
        f->gen++;
    }
    return gone;
}

/* Merges committed changes, in commit order, and sends what is new: entries
 * appended (those held already skipped, and those expired), the entries of
 * an unblock dropped with `event: reset` to the subscribers (no event says
 * "no longer revoked"). serial: the highest the store had issued when the
 * changes were read (a poll), or 0. */
static void
feed_sync_merge(struct feed *f, const struct store_rev_changes *c, int64_t serial)
{
    int64_t old_published = f->published, now = clock_now(f->env), top = serial;
    size_t removed = 0;
    char reset[96];
    size_t rlen;

    feed_list_expire(f, now);
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        const struct store_rev_change *ch = &c->v[i];

        if (ch->removed) {
            removed += feed_sync_remove(f, ch->r.kind, ch->r.id);
            continue;
        }
        if (ch->r.serial <= f->published || ch->r.expires_at <= now) {
            if (ch->r.serial > top)
                top = ch->r.serial;
            continue;
        }
        if (feed_list_add(f, &ch->r) == -1) {
            /* published stays below what is missing: the next poll retries */
            log_warn("event=feed error=\"out of memory\"");
            top = f->n > 0 ? f->v[f->n - 1].serial : f->published;
            break;
        }
        if (ch->r.serial > top)
            top = ch->r.serial;
    }
    if (top > f->published)
        f->published = top;
    if (f->published != old_published)
        f->gen++; /* the documents' serial moved */
    /* (subscribers skip what they have) */
    feed_push(f, feed_list_find(f, old_published), NULL);
    if (removed > 0) {
        feed_reset_text(f, reset, sizeof(reset), &rlen);
        stream_broadcast(f->stream, reset, rlen);
    }
}

/* A commit's changes on their way from the writer to the loop. */
struct feed_sync_handover {
    struct feed *f;
    struct store_rev_changes *changes;
    int lost;
};

static void
feed_sync_handover_cb(evutil_socket_t fd, short what, void *arg)
{
    struct feed_sync_handover *h = arg;

    (void)fd;
    (void)what;
    feed_sync_merge(h->f, h->changes, 0);
    if (h->lost)
        feed_sync_poll(h->f); /* the journal lost some: read them on a worker */
    store_rev_changes_free(h->changes);
    free(h);
}

/* Writer thread (committer_set_revocation_hook): posts the changes to the
 * loop ahead of the ops of the same batch, so that the feed holds an entry
 * before the reply of the request that made it leaves. */
void
feed_sync_hook(struct store_rev_changes *changes, int lost, void *arg)
{
    static const struct timeval now = {0, 0};
    struct feed *f = arg;
    struct feed_sync_handover *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        store_rev_changes_free(changes);
        return; /* the heartbeat's poll finds them */
    }
    h->f = f;
    h->changes = changes;
    h->lost = lost;
    if (event_base_once(f->env->base, -1, EV_TIMEOUT, feed_sync_handover_cb, h, &now) == -1) {
        store_rev_changes_free(changes);
        free(h);
    }
}

/* The poll: a backstop for changes no hand-over brought (the journal out of
 * memory; on a shared database, another node's), read on a worker's
 * connection, merged on the loop. One at a time. */
struct feed_sync_pollwork {
    struct work work; /* first */
    struct feed *f;
    int64_t since, now, serial;
    struct store_rev_changes changes;
    int failed;
    char err[192];
};

static int
feed_sync_poll_cb(const struct store_revocation *r, void *arg)
{
    struct store_rev_changes *c = arg;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct store_rev_change *v = realloc(c->v, cap * sizeof(*v));

        if (v == NULL)
            return 1;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n].removed = 0;
    c->v[c->n++].r = *r;
    return 0;
}

static void
feed_sync_poll_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct feed_sync_pollwork *p = arg;
    struct feed *f = p->f;

    (void)fd;
    (void)what;
    f->polling = 0;
    if (p->failed)
        log_warn("event=feed error=%s", log_quote(p->err, (char[256]){0}, 256));
    else
        feed_sync_merge(f, &p->changes, p->serial);
    free(p->changes.v);
    free(p);
}

/* Worker thread: the serial first, then the entries: whatever commits in
 * between is in the list too (serials only grow), never missing from it. */
static void
feed_sync_poll_run(struct work *w, struct worker_ctx *ctx)
{
    static const struct timeval now = {0, 0};
    struct feed_sync_pollwork *p = (struct feed_sync_pollwork *)w;
    const char *errstr = NULL;

    p->serial = store_revocation_serial(ctx->store);
    if (store_revocation_list(ctx->store, p->since, p->now, 0, feed_sync_poll_cb, &p->changes,
                              &errstr) == -1) {
        p->failed = 1;
        snprintf(p->err, sizeof(p->err), "%s", errstr != NULL ? errstr : "store error");
    }
    if (event_base_once(p->f->env->base, -1, EV_TIMEOUT, feed_sync_poll_done_cb, p, &now) == -1) {
        free(p->changes.v); /* the loop is gone */
        free(p);
    }
}

void
feed_sync_poll(struct feed *f)
{
    struct feed_sync_pollwork *p;

    if (f->polling || f->env->workers == NULL || (p = calloc(1, sizeof(*p))) == NULL)
        return;
    p->work.run = feed_sync_poll_run;
    p->f = f;
    p->since = f->published;
    p->now = clock_now(f->env);
    f->polling = 1;
    workers_submit(f->env->workers, &p->work);
}
