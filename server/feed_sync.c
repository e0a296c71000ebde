/* How the feed (and the keys, and the MP credential cache) follow commits
 * (see feed.c): the writer's hand-over of each commit's revocation entries
 * and removals (feed_sync_hook, on the writer thread, posted to the loop),
 * merged on the loop (feed_sync_merge); and a sync on a worker
 * (feed_sync_request) that reads the store's marker (store.h: the highest
 * serial and the counters of removals, key and MP changes) and then what it
 * says changed. On a shared database the sync is how another node's
 * commits arrive: every cluster.poll (the path that must be correct), and
 * at once when a notification (feed_listen.c) wakes it.
 *
 * Order: every entry up to f->published is in the list. A read of the
 * store is always a prefix (serials commit in order: the serial's row lock
 * on PostgreSQL, one writer on SQLite), so merging one keeps that. A
 * hand-over carries each entry's predecessor (store_rev_change.prev): when
 * that is above f->published (another node committed in between, not read
 * yet) the hand-over waits in f->pending until a sync has read the store,
 * so no reader ever sees serial N+1 while N is invisible. Nothing here
 * reads the store on the loop (but feed_sync_init, at start). */
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
#include "auth.h"
#include "signer.h"
#include "config.h"

/* The feed now holds its first w entries (a filter kept them, in order):
 * how many went; the list's validity and generation move when any did. */
static size_t
feed_sync_keep(struct feed *f, size_t w)
{
    size_t gone = f->n - w;

    if (gone > 0) {
        f->n = w;
        feed_valid_until(f);
        f->gen++;
    }
    return gone;
}

/* Drops every entry of kind/id (an unblock); how many went. */
static size_t
feed_sync_remove(struct feed *f, const char *kind, const char *id)
{
    size_t w = 0;

    for (size_t i = 0; i < f->n; i++) {
        const char *k = json_string_value(json_object_get(f->v[i].j, "kind"));
        const char *e = json_string_value(json_object_get(f->v[i].j, "id"));

        if (k != NULL && e != NULL && strcmp(k, kind) == 0 && strcmp(e, id) == 0)
            json_decref(f->v[i].j);
        else
            f->v[w++] = f->v[i];
    }
    return feed_sync_keep(f, w);
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
    struct feed_sync_handover *next; /* in f->pending */
};

/* Whether every entry of c follows what the feed holds (no serial between
 * f->published and it unread). */
static int
feed_sync_follows(const struct feed *f, const struct store_rev_changes *c)
{
    int64_t top = f->published;

    for (size_t i = 0; c != NULL && i < c->n; i++) {
        if (c->v[i].removed)
            continue;
        if (c->v[i].prev > top)
            return 0;
        if (c->v[i].r.serial > top)
            top = c->v[i].r.serial;
    }
    return 1;
}

static void
feed_sync_handover_apply(struct feed_sync_handover *h)
{
    feed_sync_merge(h->f, h->changes, 0);
    if (h->lost)
        feed_sync_request(h->f); /* the journal lost some: read them on a worker */
    store_rev_changes_free(h->changes);
    free(h);
}

/* The hand-overs held, in commit order, as far as they follow. */
static void
feed_sync_pending_run(struct feed *f)
{
    while (f->pending != NULL && feed_sync_follows(f, f->pending->changes)) {
        struct feed_sync_handover *h = f->pending;

        if ((f->pending = h->next) == NULL)
            f->pending_tail = NULL;
        feed_sync_handover_apply(h);
    }
    if (f->pending != NULL)
        feed_sync_request(f);
}

static void
feed_sync_handover_cb(evutil_socket_t fd, short what, void *arg)
{
    struct feed_sync_handover *h = arg;
    struct feed *f = h->f;

    (void)fd;
    (void)what;
    if (f->pending == NULL && feed_sync_follows(f, h->changes)) {
        feed_sync_handover_apply(h);
        return;
    }
    /* another node's serial comes first: read it, then this */
    h->next = NULL;
    if (f->pending_tail != NULL)
        f->pending_tail->next = h;
    else
        f->pending = h;
    f->pending_tail = h;
    feed_sync_request(f);
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
        return; /* the next sync finds them */
    }
    h->f = f;
    h->changes = changes;
    h->lost = lost;
    if (event_base_once(f->env->base, -1, EV_TIMEOUT, feed_sync_handover_cb, h, &now) == -1) {
        store_rev_changes_free(changes);
        free(h);
    }
}

/* The sync: read on a worker's connection, merged on the loop. */
#define FEED_KEYS_RELOAD_MS (60 * 1000)

struct feed_sync_job {
    struct work work; /* first */
    struct feed *f;
    struct store_marker known, m;
    int64_t since, now;
    int reload_keys; /* due by the timer */
    int full;        /* removals: the whole list was read */
    int keys;        /* 1 reloaded, -1 the reload failed or lost a race: again next time */
    struct store_rev_changes changes;
    int failed;
    char err[192];
};

static int
feed_sync_list_cb(const struct store_revocation *r, void *arg)
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
    memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
    c->v[c->n++].r = *r;
    return 0;
}

/* Drops the entries up to top that a whole list read (c) no longer has:
 * removed on another node. How many went. */
static size_t
feed_sync_drop_missing(struct feed *f, const struct store_rev_changes *c, int64_t top)
{
    size_t w = 0, j = 0;

    for (size_t i = 0; i < f->n; i++) {
        while (j < c->n && c->v[j].r.serial < f->v[i].serial)
            j++;
        if (f->v[i].serial > top || (j < c->n && c->v[j].r.serial == f->v[i].serial))
            f->v[w++] = f->v[i];
        else
            json_decref(f->v[i].j);
    }
    return feed_sync_keep(f, w);
}

static void
feed_sync_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct feed_sync_job *p = arg;
    struct feed *f = p->f;
    char reset[96];
    size_t rlen;

    (void)fd;
    (void)what;
    f->syncing = 0;
    if (p->failed) {
        if (!f->sync_failing) /* once a failure, not every poll */
            log_warn("event=feed_sync error=%s", log_quote(p->err, (char[256]){0}, 256));
        f->sync_failing = 1;
    } else {
        int64_t top = p->m.serial;

        if (f->sync_failing)
            log_info("event=feed_sync recovered=1");
        f->sync_failing = 0;
        if (p->full) {
            if (p->changes.n > 0 && p->changes.v[p->changes.n - 1].r.serial > top)
                top = p->changes.v[p->changes.n - 1].r.serial;
            feed_list_expire(f, clock_now(f->env));
            if (feed_sync_drop_missing(f, &p->changes, top) > 0) {
                feed_sync_merge(f, &p->changes, p->m.serial);
                feed_reset_text(f, reset, sizeof(reset), &rlen);
                stream_broadcast(f->stream, reset, rlen);
            } else {
                feed_sync_merge(f, &p->changes, p->m.serial);
            }
        } else {
            feed_sync_merge(f, &p->changes, p->m.serial);
        }
        f->known.serial = p->m.serial;
        f->known.removals = p->m.removals;
        f->known.mps = p->m.mps;
        if (p->keys >= 0)
            f->known.keys = p->m.keys;
        if (p->keys == 1) {
            f->keys_reloaded_at = p->now;
            feed_keys_check(f); /* event: keys when the set changed */
        }
    }
    free(p->changes.v);
    free(p);
    feed_sync_pending_run(f);
    if (f->sync_again) {
        f->sync_again = 0;
        feed_sync_request(f);
    }
}

/* Worker thread: the marker first, then what it says changed: whatever
 * commits in between is read too (serials only grow), never missed. */
static void
feed_sync_run(struct work *w, struct worker_ctx *ctx)
{
    static const struct timeval now = {0, 0};
    struct feed_sync_job *p = (struct feed_sync_job *)w;
    struct sitetokend *env = p->f->env;
    const char *errstr = NULL;

    if (store_marker_read(ctx->store, &p->m, &errstr) == -1)
        goto fail;
    p->full = p->m.removals != p->known.removals;
    if ((p->full || p->m.serial > p->since) &&
        store_revocation_list(ctx->store, p->full ? 0 : p->since, p->now, 0, feed_sync_list_cb,
                              &p->changes, &errstr) == -1)
        goto fail;
    if (p->m.mps != p->known.mps)
        auth_mp_changed(env->authcache); /* an MP removed or re-keyed elsewhere */
    if (p->m.keys != p->known.keys || p->reload_keys) {
        uint64_t gen = signer_generation(env->signer);
        int rc = signer_reload_since(env->signer, ctx->store, gen, &errstr);

        if (rc == -1)
            log_warn("event=keys_reload error=%s", log_quote(errstr, (char[256]){0}, 256));
        p->keys = rc == 0 ? 1 : -1;
    }
    goto post;
fail:
    p->failed = 1;
    snprintf(p->err, sizeof(p->err), "%s", errstr != NULL ? errstr : "store error");
post:
    if (event_base_once(env->base, -1, EV_TIMEOUT, feed_sync_done_cb, p, &now) == -1) {
        free(p->changes.v); /* the loop is gone */
        free(p);
    }
}

void
feed_sync_request(struct feed *f)
{
    struct feed_sync_job *p;

    if (f->env->shutting_down || f->env->workers == NULL)
        return;
    if (f->syncing) {
        f->sync_again = 1;
        return;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return;
    p->work.run = feed_sync_run;
    p->f = f;
    p->known = f->known;
    p->since = f->published;
    p->now = clock_now(f->env);
    p->reload_keys = (p->now - f->keys_reloaded_at) * 1000 >= FEED_KEYS_RELOAD_MS;
    f->syncing = 1;
    workers_submit(f->env->workers, &p->work);
}

int
feed_sync_init(struct feed *f, const char **errstr)
{
    f->keys_reloaded_at = clock_now(f->env);
    return store_marker_read(f->env->store, &f->known, errstr);
}

static void
feed_sync_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    feed_sync_request(arg);
}

int
feed_sync_start(struct feed *f)
{
    int64_t ms = f->env->cfg->cluster_poll_ms > 0 ? f->env->cfg->cluster_poll_ms : 1000;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    /* One node alone on its file learns everything by the hand-over (and
     * the heartbeat); a shared database is polled, and listened to. */
    if (store_is_local_file(f->env->cfg->database) ||
        strcmp(f->env->cfg->database, ":memory:") == 0)
        return 0;
    if ((f->poll_timer = event_new(f->env->base, -1, EV_PERSIST, feed_sync_poll_cb, f)) == NULL ||
        event_add(f->poll_timer, &tv) == -1)
        return -1;
    if (store_has_notify(f->env->store) && (f->listen = feed_listen_start(f)) == NULL)
        log_warn("event=feed_listen error=\"cannot start the thread: polling only\"");
    return 0;
}

void
feed_sync_stop(struct feed *f)
{
    feed_listen_stop(f->listen);
    f->listen = NULL;
    if (f->poll_timer != NULL)
        event_free(f->poll_timer);
    f->poll_timer = NULL;
    while (f->pending != NULL) {
        struct feed_sync_handover *h = f->pending;

        f->pending = h->next;
        store_rev_changes_free(h->changes);
        free(h);
    }
    f->pending_tail = NULL;
}
