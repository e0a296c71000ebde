/* The revocation feed and the event stream (see feed.h).
 *
 * Design: the loop keeps every unexpired entry in memory, in serial order
 * (f->v), each with its JSON text, loaded once at start and kept in step
 * with commits by the writer's hand-over (feed_sync.c: the entries
 * and removals a commit made durable, posted to the loop ahead of the ops
 * of that batch), with a poll on a worker as the heartbeat's backstop.
 * Neither a request nor a commit reads the store on the loop:
 *
 * - JSON, any since: the entries after `since` are a suffix of the list, so
 *   the answer is a small header, then a slice of one shared text blob
 *   ("e1,e2,...") added by reference (evbuffer_add_reference: one copy in
 *   memory however many connections are sending it), then "]}". The blob is
 *   built on the first request after a change; its ETag is the hash of the
 *   whole list and serial plus the suffix's start, so If-None-Match is
 *   answered (binary search, compare) before any work.
 * - JWS: signed documents are cached by suffix start in FEED_JWS_SLOTS
 *   slots, each one shared blob; ETag = hash of the signed bytes. A slot is
 *   re-signed once it is feed.max_age / 2 old, when the list or the keys
 *   change, or when an entry in it expires; exp = iat + feed.max_age.
 * - Shared blobs count the bytes queued by reference and not yet sent
 *   (f->meter, counted whole until the last byte leaves); once that
 *   reaches limits.max_queued_bytes a new answer over FEED_BIG_ANSWER bytes
 *   gets 503 unavailable with Retry-After, so slow readers pin at most the
 *   bound plus one answer (and each blob once in memory).
 *
 * The subscribers are stream.c's. feed_sync_merge sends each new entry,
 * formatted once, to every subscriber that has not had it (one that resumed
 * with Last-Event-ID may have it from its replay, which is also served from
 * memory). A Last-Event-ID beyond every serial issued, or a
 * removal (an unblock: no event says "no longer revoked"), gets `event:
 * reset`: the subscriber reloads since=0. `event: keys` goes out whenever
 * the published key set (its ETag) changes, checked on every heartbeat. */
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
#include "clock.h"
#include "committer.h"
#include "etag.h"
#include "config.h"
#include "feed.h"
#include "feed_int.h"
#include "http.h"
#include "log.h"
#include "revdoc.h"
#include "revocations.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"
#include "stream.h"
#include "timefmt.h"
#include "workers.h"

#define FEED_HEARTBEAT_SECONDS 15
#define FEED_MAX_SUBSCRIBERS 20000
/* Answers at least this big count against limits.max_queued_bytes. */
#define FEED_BIG_ANSWER (64 * 1024)
#define FEED_QUEUED_RETRY "5"

/* struct feed and its parts: feed_int.h */

/* Blobs -------------------------------------------------------------------- */

static struct feed_blob *
feed_blob_new(struct feed_meter *m, size_t len)
{
    struct feed_blob *b = malloc(sizeof(*b) + len + 1);

    if (b == NULL)
        return NULL;
    b->meter = m;
    m->refs++;
    b->refs = 1;
    b->len = len;
    b->data[len] = '\0';
    return b;
}

static void
feed_meter_put(struct feed_meter *m)
{
    if (m != NULL && --m->refs == 0)
        free(m);
}

static void
feed_blob_put(struct feed_blob *b)
{
    if (b == NULL || --b->refs > 0)
        return;
    feed_meter_put(b->meter);
    free(b);
}

static void
feed_blob_sent_cb(const void *data, size_t len, void *arg)
{
    struct feed_blob *b = arg;

    (void)data;
    b->meter->queued -= (int64_t)len;
    feed_blob_put(b);
}

/* Adds b[off, off+len) to buf by reference. 0 or -1. */
static int
feed_blob_add(struct evbuffer *buf, struct feed_blob *b, size_t off, size_t len)
{
    if (len == 0)
        return 0;
    b->refs++;
    b->meter->queued += (int64_t)len;
    if (evbuffer_add_reference(buf, b->data + off, len, feed_blob_sent_cb, b) == -1) {
        b->meter->queued -= (int64_t)len;
        b->refs--;
        return -1;
    }
    return 0;
}

/* The entry list ----------------------------------------------------------- */

/* proto/revdoc.c owns the entry's wire format. */
static json_t *
feed_entry_json(const struct store_revocation *r)
{
    return revdoc_entry_json(r->serial, r->kind, r->id, r->revoked_at, r->expires_at, r->reason);
}

static void
feed_list_clear(struct feed *f)
{
    for (size_t i = 0; i < f->n; i++)
        json_decref(f->v[i].j);
    f->n = 0;
    f->valid_until = INT64_MAX;
    f->gen++;
}

void
feed_valid_until(struct feed *f)
{
    f->valid_until = INT64_MAX;
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].expires_at < f->valid_until)
            f->valid_until = f->v[i].expires_at;
}

/* Appends r (serials only grow). 0 or -1 (out of memory). */
int
feed_list_add(struct feed *f, const struct store_revocation *r)
{
    json_t *j;

    if (f->n > 0 && r->serial <= f->v[f->n - 1].serial)
        return 0; /* already held */
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        struct feed_entry *v = realloc(f->v, cap * sizeof(*v));

        if (v == NULL)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    if ((j = feed_entry_json(r)) == NULL)
        return -1;
    f->v[f->n++] = (struct feed_entry){.serial = r->serial, .expires_at = r->expires_at, .j = j};
    if (r->expires_at < f->valid_until)
        f->valid_until = r->expires_at;
    f->gen++;
    return 0;
}

/* Drops the entries expired at now (in memory; the store prunes its own). */
void
feed_list_expire(struct feed *f, int64_t now)
{
    size_t w = 0;

    if (now < f->valid_until)
        return;
    for (size_t i = 0; i < f->n; i++) {
        if (f->v[i].expires_at > now)
            f->v[w++] = f->v[i];
        else
            json_decref(f->v[i].j);
    }
    f->n = w;
    feed_valid_until(f);
    f->gen++;
}

/* Index of the first entry with serial > since. */
size_t
feed_list_find(const struct feed *f, int64_t since)
{
    size_t lo = 0, hi = f->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (f->v[mid].serial <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int
feed_load_cb(const struct store_revocation *r, void *arg)
{
    struct feed *f = arg;

    if (feed_list_add(f, r) == -1) {
        f->oom = 1;
        return 1;
    }
    return 0;
}

/* Reads the whole list again (start, and after a removal). 0, or -1 with
 * the list as it was (a failed read never empties the feed). */
static int
feed_list_load(struct feed *f, const char **errstr)
{
    int64_t serial = store_revocation_serial(f->env->store);
    struct feed_entry *old = f->v;
    size_t old_n = f->n, old_cap = f->cap;
    int64_t old_valid = f->valid_until;

    f->v = NULL;
    f->n = f->cap = 0;
    f->valid_until = INT64_MAX;
    f->oom = 0;
    if (store_revocation_list(f->env->store, 0, clock_now(f->env), 0, feed_load_cb, f, errstr) ==
            -1 ||
        f->oom || (old_n > 0 && f->n == 0 && serial == 0)) {
        if (*errstr == NULL)
            *errstr = f->oom ? "out of memory" : "the store answered nothing";
        feed_list_clear(f);
        free(f->v);
        f->v = old;
        f->n = old_n;
        f->cap = old_cap;
        f->valid_until = old_valid;
        return -1;
    }
    for (size_t i = 0; i < old_n; i++)
        json_decref(old[i].j);
    free(old);
    f->gen++;
    if (serial > f->published)
        f->published = serial;
    if (f->n > 0 && f->v[f->n - 1].serial > f->published)
        f->published = f->v[f->n - 1].serial;
    return 0;
}

/* The entries blob of the current generation, built when stale. */
static struct feed_blob *
feed_entries(struct feed *f, const char **errstr)
{
    struct feed_blob *b;
    char **texts = NULL;
    size_t len = 0, pos = 0;
    uint8_t md[SHA256_DIGEST_LENGTH];
    char head[32 + SHA256_DIGEST_LENGTH];

    if (f->entries != NULL && f->blob_gen == f->gen)
        return f->entries;
    if (f->n > 0 && (texts = calloc(f->n, sizeof(*texts))) == NULL)
        goto oom;
    for (size_t i = 0; i < f->n; i++) {
        if ((texts[i] = json_dumps(f->v[i].j, JSON_COMPACT)) == NULL)
            goto oom;
        len += strlen(texts[i]) + 1;
    }
    if ((b = feed_blob_new(f->meter, len)) == NULL)
        goto oom;
    for (size_t i = 0; i < f->n; i++) {
        size_t l = strlen(texts[i]);

        f->v[i].off = pos;
        memcpy(b->data + pos, texts[i], l);
        pos += l;
        b->data[pos++] = ',';
        free(texts[i]);
    }
    free(texts);
    /* b->len counts a trailing comma that is never sent */
    feed_blob_put(f->entries);
    f->entries = b;
    f->blob_gen = f->gen;
    /* names the serial and every entry: hash(serial ":" hash(entries)) */
    SHA256((const uint8_t *)b->data, b->len, md);
    pos = (size_t)snprintf(head, sizeof(head), "%" PRId64 ":", f->published);
    memcpy(head + pos, md, sizeof(md));
    SHA256((const uint8_t *)head, pos + sizeof(md), md);
    b64url_encode_buf(md, 12, f->hash, sizeof(f->hash));
    return b;
oom:
    if (texts != NULL)
        for (size_t i = 0; i < f->n; i++)
            free(texts[i]);
    free(texts);
    *errstr = "out of memory";
    return NULL;
}

/* The JSON answer for the suffix from start: "{serial, entries:[" + slice + "]}". */
static int
feed_json_answer(struct feed *f, struct feed_blob *b, size_t start, struct evbuffer *buf)
{
    char head[64];
    int n = snprintf(head, sizeof(head), "{\"serial\":%" PRId64 ",\"entries\":[", f->published);

    if (evbuffer_add(buf, head, (size_t)n) == -1)
        return -1;
    if (start < f->n && feed_blob_add(buf, b, f->v[start].off, b->len - f->v[start].off - 1) == -1)
        return -1;
    return evbuffer_add(buf, "]}", 2);
}

/* The claims of the signed document beside serial and entries (DESIGN.md,
 * "For gateways"): proto/revdoc.c owns the wire format. */
static int
feed_jws_claims(struct feed *f, json_t *doc, int64_t now)
{
    const struct config *cfg = f->env->cfg;

    return revdoc_set_claims(doc, cfg->issuer, cfg->audience, now, cfg->feed_max_age_ms / 1000);
}

static void
feed_jws_clear(struct feed *f)
{
    for (int i = 0; i < FEED_JWS_SLOTS; i++) {
        feed_blob_put(f->jws[i].blob);
        f->jws[i].blob = NULL;
    }
}

/* The cached signed suffix from start, if still good at now. */
static struct feed_jws *
feed_jws_find(struct feed *f, size_t start, int64_t now)
{
    for (int i = 0; i < FEED_JWS_SLOTS; i++) {
        struct feed_jws *j = &f->jws[i];

        if (j->blob == NULL)
            continue;
        if (j->gen != f->gen || now >= j->resign_at) {
            feed_blob_put(j->blob);
            j->blob = NULL;
            continue;
        }
        if (j->start == start) {
            j->used = ++f->jws_clock;
            return j;
        }
    }
    return NULL;
}

/* Signs the suffix from start into a slot (the least recently used). */
static struct feed_jws *
feed_jws_make(struct feed *f, size_t start, int64_t now, const char **errstr)
{
    struct feed_jws *slot = &f->jws[0];
    json_t *doc, *entries = json_array();
    char *text = NULL, kid[65];
    struct feed_blob *b;
    int64_t half = f->env->cfg->feed_max_age_ms / 2000;

    for (int i = 1; i < FEED_JWS_SLOTS; i++)
        if (f->jws[i].blob == NULL || (slot->blob != NULL && f->jws[i].used < slot->used))
            slot = &f->jws[i];
    for (size_t i = start; entries != NULL && i < f->n; i++)
        json_array_append(entries, f->v[i].j);
    doc = json_pack("{s:I, s:o}", "serial", (json_int_t)f->published, "entries", entries);
    if (doc == NULL) {
        *errstr = "out of memory";
        return NULL;
    }
    if (feed_jws_claims(f, doc, now) == -1 ||
        signer_sign_typ(f->env->signer, REVDOC_TYP, doc, &text, kid) != ERRCODE_OK) {
        json_decref(doc);
        *errstr = "cannot sign";
        return NULL;
    }
    json_decref(doc);
    if ((b = feed_blob_new(f->meter, strlen(text))) == NULL) {
        free(text);
        *errstr = "out of memory";
        return NULL;
    }
    memcpy(b->data, text, b->len);
    free(text);
    feed_blob_put(slot->blob);
    slot->blob = b;
    slot->start = start;
    slot->gen = f->gen;
    slot->resign_at = now + (half > 0 ? half : 1);
    for (size_t i = start; i < f->n; i++) /* an entry inside expires: sign again */
        if (f->v[i].expires_at < slot->resign_at)
            slot->resign_at = f->v[i].expires_at;
    slot->used = ++f->jws_clock;
    etag_of("j", b->data, b->len, slot->etag);
    return slot;
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

/* Once limits.max_queued_bytes are queued, a big answer waits (1: answered
 * 503). One answer always goes out: the bound is passed by at most one. */
static int
feed_over_queue(struct feed *f, struct http_req *req, size_t len)
{
    if (len < FEED_BIG_ANSWER || f->meter->queued < f->env->cfg->max_queued_bytes)
        return 0;
    log_info("event=feed_queue_full rid=%llx queued=%lld", (unsigned long long)req->id,
             (long long)f->meter->queued);
    http_add_header(req, "Retry-After", FEED_QUEUED_RETRY);
    http_reply_problem(req, ERRCODE_UNAVAILABLE, "too many answers queued to slow readers");
    return 1;
}

void
feed_revocations(struct http_req *req)
{
    struct feed *f = req->env->feed;
    const char *since_s = http_query(req, "since"), *format = http_query(req, "format");
    const char *errstr = NULL;
    int64_t since = 0, now = clock_now(req->env);
    struct feed_blob *b;
    struct evbuffer *buf;
    size_t start, len;
    char etag[48];
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
    feed_list_expire(f, now);
    start = feed_list_find(f, since);
    http_add_header(req, "Cache-Control", "no-cache");
    if (jws) {
        struct feed_jws *j = feed_jws_find(f, start, now);

        if (j == NULL && (j = feed_jws_make(f, start, now, &errstr)) == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "revocations: %s", errstr);
            return;
        }
        if (http_reply_not_modified(req, j->etag))
            return;
        b = j->blob;
        snprintf(etag, sizeof(etag), "%s", j->etag);
        len = b->len;
    } else {
        if ((b = feed_entries(f, &errstr)) == NULL) {
            http_reply_problem(req, ERRCODE_UNAVAILABLE, "revocations: %s", errstr);
            return;
        }
        snprintf(etag, sizeof(etag), "\"%s.%zu\"", f->hash, start);
        if (http_reply_not_modified(req, etag))
            return;
        len = start < f->n ? b->len - f->v[start].off : 0;
    }
    if (feed_over_queue(f, req, len))
        return;
    if ((buf = evbuffer_new()) == NULL ||
        (jws ? feed_blob_add(buf, b, 0, b->len) : feed_json_answer(f, b, start, buf)) == -1) {
        if (buf != NULL)
            evbuffer_free(buf);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    http_add_header(req, "ETag", etag);
    http_reply_buffer(req, 200, jws ? "application/jwt" : "application/json", buf);
    evbuffer_free(buf);
}

/* Subscribers -------------------------------------------------------------- */

/* "id: N\nevent: revocation\ndata: {...}\n\n", malloc'd. */
static char *
feed_event_text(const struct feed_entry *e, size_t *len)
{
    char *data = json_dumps(e->j, JSON_COMPACT), *msg = NULL;
    int n;

    if (data == NULL)
        return NULL;
    n = asprintf(&msg, "id: %" PRId64 "\nevent: revocation\ndata: %s\n\n", e->serial, data);
    free(data);
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return msg;
}

/* Sends entries [from, n), each formatted once, to one subscriber (only) or
 * to all. -1 when the one subscriber was dropped. */
int
feed_push(struct feed *f, size_t from, struct stream_sub *only)
{
    for (size_t i = from; i < f->n; i++) {
        size_t len = 0;
        char *msg = feed_event_text(&f->v[i], &len);
        int rc;

        if (msg == NULL)
            continue;
        rc = stream_send(f->stream, only, f->v[i].serial, msg, len);
        free(msg);
        if (rc == -1)
            return -1;
    }
    return 0;
}

/* "event: reset": what the subscriber holds may be wrong; reload since=0. */
void
feed_reset_text(struct feed *f, char *buf, size_t n, size_t *len)
{
    *len =
        (size_t)snprintf(buf, n, "event: reset\ndata: {\"serial\":%" PRId64 "}\n\n", f->published);
}

/* Announces the key set when its ETag differs from the last announced. */
void
feed_keys_check(struct feed *f)
{
    struct signer_keys *k = signer_keys_get(f->env->signer);
    char msg[160];
    int n;

    if (k == NULL)
        return;
    if (strcmp(k->etag, f->keys_etag) == 0) {
        signer_keys_put(k);
        return;
    }
    snprintf(f->keys_etag, sizeof(f->keys_etag), "%s", k->etag);
    signer_keys_put(k);
    feed_jws_clear(f); /* signed by a key that may have changed */
    /* No id: a keys event is not part of the serial sequence. The ETag is
     * a quoted string; as JSON it needs its quotes escaped. */
    json_t *data = json_pack("{s:s}", "etag", f->keys_etag);
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;

    json_decref(data);
    if (text == NULL)
        return;
    n = snprintf(msg, sizeof(msg), "event: keys\ndata: %s\n\n", text);
    free(text);
    if (n > 0 && (size_t)n < sizeof(msg))
        stream_broadcast(f->stream, msg, (size_t)n);
}

void
feed_keys_changed(struct feed *f)
{
    if (f == NULL)
        return;
    feed_jws_clear(f);
    f->keys_etag[0] = '\0'; /* always announce an explicit change */
    feed_keys_check(f);
}

static void
feed_heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    struct feed *f = arg;
    static const char beat[] = ": heartbeat\n\n";

    /* A backstop: changes no hand-over brought (and a key that changed on
     * the lifecycle timer) would otherwise wait. */
    feed_sync_request(f);
    feed_keys_check(f);
    stream_broadcast(f->stream, beat, sizeof(beat) - 1);
}

void
feed_events(struct http_req *req)
{
    struct feed *f = req->env->feed;
    const char *last = http_header(req, "Last-Event-ID"), *since_s = http_query(req, "since");
    struct stream_sub *s;
    int64_t since = -1;
    char hello[160];
    size_t n;

    if (last != NULL && *last != '\0' && feed_parse_serial(last, &since) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "Last-Event-ID must be a serial");
        return;
    }
    if (since < 0 && since_s != NULL && feed_parse_serial(since_s, &since) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "since must be a serial (0 or more)");
        return;
    }
    if (stream_subscribers(f->stream) >= FEED_MAX_SUBSCRIBERS) {
        http_add_header(req, "Retry-After", "10");
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "too many event stream subscribers");
        return;
    }
    if (http_stream_admit(req) == -1)
        return;
    n = (size_t)snprintf(hello, sizeof(hello), "retry: 1000\n: serial %lld\n\n",
                         (long long)f->published);
    if ((s = stream_open(f->stream, req, f->published, hello, n)) == NULL)
        return;
    if (since > f->published) {
        /* A serial this authority never issued: nothing to replay from. */
        feed_reset_text(f, hello, sizeof(hello), &n);
        http_stream_write(req, hello, n);
    } else if (since >= 0) {
        /* Replay what the subscriber missed, from memory. */
        feed_list_expire(f, clock_now(f->env));
        stream_sub_set_last(s, since);
        if (feed_push(f, feed_list_find(f, since), s) == -1)
            return; /* dropped */
        stream_sub_set_last(s, f->published);
    }
    log_debug("event=events_open rid=%llx since=%lld subscribers=%d", (unsigned long long)req->id,
              (long long)since, stream_subscribers(f->stream));
}

void
feed_close_all(struct feed *f)
{
    if (f == NULL)
        return;
    feed_sync_stop(f); /* no more syncs: the workers are stopping */
    stream_close_all(f->stream);
}

int
feed_subscribers(const struct feed *f)
{
    return f != NULL ? stream_subscribers(f->stream) : 0;
}

int64_t
feed_queued_bytes(const struct feed *f)
{
    return f != NULL ? f->meter->queued : 0;
}

struct feed *
feed_new(struct sitetokend *env)
{
    struct feed *f = calloc(1, sizeof(*f));
    struct timeval tv = {.tv_sec = FEED_HEARTBEAT_SECONDS};
    const char *errstr = NULL;
    struct signer_keys *k;

    if (f == NULL)
        return NULL;
    f->env = env;
    f->valid_until = INT64_MAX;
    if ((f->meter = calloc(1, sizeof(*f->meter))) == NULL) {
        free(f);
        return NULL;
    }
    f->meter->refs = 1;
    if ((f->stream = stream_new()) == NULL) {
        feed_free(f);
        return NULL;
    }
    /* The hand-over first, then the load: a commit in between is in both
     * (merged once: serials only grow). The load is the one read on the
     * loop's thread, before it serves anything. */
    committer_set_revocation_hook(env->committer, feed_sync_hook, f);
    if (feed_sync_init(f, &errstr) == -1 || feed_list_load(f, &errstr) == -1) {
        log_warn("event=feed error=%s", log_quote(errstr, (char[256]){0}, 256));
        goto fail;
    }
    if ((k = signer_keys_get(env->signer)) != NULL) {
        snprintf(f->keys_etag, sizeof(f->keys_etag), "%s", k->etag);
        signer_keys_put(k);
    }
    if ((f->heartbeat = event_new(env->base, -1, EV_PERSIST, feed_heartbeat_cb, f)) == NULL ||
        event_add(f->heartbeat, &tv) == -1 || feed_sync_start(f) == -1)
        goto fail;
    return f;
fail:
    /* At shutdown the committer goes first (and calls no hook any more);
     * here it lives on. */
    committer_set_revocation_hook(env->committer, NULL, NULL);
    feed_free(f);
    return NULL;
}

void
feed_free(struct feed *f)
{
    if (f == NULL)
        return;
    feed_sync_stop(f);
    stream_free(f->stream);
    if (f->heartbeat != NULL)
        event_free(f->heartbeat);
    feed_jws_clear(f);
    feed_blob_put(f->entries);
    feed_list_clear(f);
    free(f->v);
    feed_meter_put(f->meter);
    free(f);
}
