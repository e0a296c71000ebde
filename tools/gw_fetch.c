/* The gateway's follower: one thread running a libcurl multi handle that
 * holds up to four transfers to the authority: the metadata
 * (GET /.well-known/sitetoken, once: the issuer, the audience cross-check
 * and the URIs of the other three), the JWKS (at start, on
 * its Cache-Control max-age, on every `event: keys`, and when the loop asks
 * after an unknown kid), the full revocation reload (GET
 * /v1/revocations?since=0 with If-None-Match, at start, every
 * max_staleness / 3 and on `event: reset`), and the event stream
 * (GET /v1/events with Last-Event-ID, parsed in the write callback,
 * reconnected after a second when it ends). With authority.feed_format
 * jws the reload asks for ?format=jws and only a verified document whose
 * exp is still ahead confirms (stream events are still applied: they only
 * ever add revocations).
 *
 * Ownership: this thread owns every curl handle and its buffers. The
 * verifier and the revocation cache in struct gw are shared with the loop
 * under gw->lock (the loop takes it to read, this thread to load: loads are
 * the only writers). Confirmation time, flags and counters are atomics. The
 * loop wakes this thread with curl_multi_wakeup (gw_fetch_want_keys,
 * gw_fetch_reload).
 *
 * systemd (Type=notify): this thread sends READY=1 the first time the
 * gateway is fresh (keys loaded and revocations confirmed: the listener is
 * bound before the thread starts, so it serves then), and again when the
 * fetches a reload asked for are over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "gw.h"
#include "gw_fetch.h"

#define GW_BODY_MAX (64u * 1024 * 1024)
#define GW_SSE_LINE_MAX (64u * 1024)
#define GW_URI_MAX 1024

enum gw_job { GW_META, GW_KEYS, GW_REVS, GW_STREAM, GW_NJOBS };

struct gw_xfer {
    CURL *h;
    struct curl_slist *hdrs;
    char *buf; /* body (or the stream's partial line) */
    size_t len, cap;
    int busy;
    int64_t due_ms; /* monotonic; when to start next */
    long max_age;   /* from Cache-Control, -1 none */
    char etag[128];
    int too_big;
    /* stream only: the event being gathered */
    char event[32];
    char *data;
    size_t dlen;
};

struct gw_fetch {
    struct gw *g;
    CURLM *multi;
    pthread_t thread;
    _Atomic int stop, want_keys, want_reload;
    int ready_sent;               /* READY=1 sent once fresh */
    int reloading;                /* RELOADING=1 sent; READY=1 owed when both below are 0 */
    int reload_keys, reload_revs; /* fetches of the reload still to finish */
    struct gw_xfer x[GW_NJOBS];
    char base[GW_URI_MAX - 64];     /* authority.url is at most 900 bytes */
    char uri[GW_NJOBS][GW_URI_MAX]; /* [GW_META] from base; the rest discovered */
    int64_t last_stream_byte_ms;
};

static const char *const gw_job_names[] = {
    [GW_META] = "metadata", [GW_KEYS] = "keys", [GW_REVS] = "revocations", [GW_STREAM] = "events"};

static void
gw_confirm(struct gw *g)
{
    atomic_store(&g->confirmed_ms, gw_mono_ms());
    if (atomic_exchange(&g->stale_logged, 0))
        gw_log("info", "event=fresh msg=\"revocations confirmed again\"");
}

static int
gw_append(struct gw_xfer *x, const char *p, size_t n)
{
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        char *nb;

        while (cap < x->len + n + 1)
            cap *= 2;
        if ((nb = realloc(x->buf, cap)) == NULL)
            return -1;
        x->buf = nb;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return 0;
}

static size_t
gw_body_cb(char *p, size_t size, size_t n, void *arg)
{
    struct gw_xfer *x = arg;

    if (x->len + size * n > GW_BODY_MAX || gw_append(x, p, size * n) == -1) {
        x->too_big = 1;
        return 0;
    }
    return size * n;
}

static size_t
gw_header_cb(char *p, size_t size, size_t n, void *arg)
{
    struct gw_xfer *x = arg;
    size_t len = size * n;
    char line[512];

    if (len >= sizeof(line))
        return len;
    memcpy(line, p, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "etag:", 5) == 0) {
        const char *v = line + 5 + strspn(line + 5, " ");

        if (strlen(v) < sizeof(x->etag))
            strcpy(x->etag, v);
    } else if (strncasecmp(line, "cache-control:", 14) == 0) {
        const char *m = strstr(line, "max-age=");

        if (m != NULL)
            x->max_age = strtol(m + 8, NULL, 10);
    }
    return len;
}

/* One complete SSE event (RFC: text/event-stream). */
static void
gw_sse_dispatch(struct gw_fetch *f)
{
    struct gw_xfer *x = &f->x[GW_STREAM];
    struct gw *g = f->g;
    const char *errstr = NULL;

    atomic_fetch_add(&g->n_events, 1);
    if (strcmp(x->event, "revocation") == 0 && x->data != NULL) {
        int rc;

        pthread_rwlock_wrlock(&g->lock);
        rc = sitetoken_revocations_add_event(g->revs, x->data, x->dlen, &errstr);
        pthread_rwlock_unlock(&g->lock);
        if (rc == -1)
            gw_log("warn", "event=bad_event msg=\"%s\"", errstr);
    } else if (strcmp(x->event, "keys") == 0) {
        f->x[GW_KEYS].due_ms = 0;
    } else if (strcmp(x->event, "reset") == 0) {
        f->x[GW_REVS].due_ms = 0;
    } /* other events: ignored */
    free(x->data);
    x->data = NULL;
    x->dlen = 0;
    x->event[0] = '\0';
}

static void
gw_sse_line(struct gw_fetch *f, char *line)
{
    struct gw_xfer *x = &f->x[GW_STREAM];
    char *v;

    if (*line == '\0') {
        if (x->event[0] != '\0' || x->data != NULL)
            gw_sse_dispatch(f);
        return;
    }
    if (*line == ':')
        return; /* a comment: the heartbeat */
    if ((v = strchr(line, ':')) != NULL) {
        *v++ = '\0';
        if (*v == ' ')
            v++;
    } else
        v = line + strlen(line);
    if (strcmp(line, "event") == 0)
        snprintf(x->event, sizeof(x->event), "%s", v);
    else if (strcmp(line, "data") == 0) {
        size_t n = strlen(v);
        char *nd = realloc(x->data, x->dlen + n + 2);

        if (nd == NULL)
            return;
        x->data = nd;
        if (x->dlen > 0)
            x->data[x->dlen++] = '\n';
        memcpy(x->data + x->dlen, v, n + 1);
        x->dlen += n;
    }
    /* id: and retry: need nothing here: the cache's serial is the resume point. */
}

static size_t
gw_stream_cb(char *p, size_t size, size_t n, void *arg)
{
    struct gw_fetch *f = arg;
    struct gw_xfer *x = &f->x[GW_STREAM];
    size_t len = size * n, start = 0;

    f->last_stream_byte_ms = gw_mono_ms();
    if (!f->g->jws_mode)
        gw_confirm(f->g); /* bytes of a live stream, heartbeats included */
    if (gw_append(x, p, len) == -1)
        return 0;
    for (size_t i = 0; i < x->len; i++)
        if (x->buf[i] == '\n') {
            x->buf[i] = '\0';
            if (i > start && x->buf[i - 1] == '\r')
                x->buf[i - 1] = '\0';
            gw_sse_line(f, x->buf + start);
            start = i + 1;
        }
    memmove(x->buf, x->buf + start, x->len - start);
    x->len -= start;
    if (x->len > GW_SSE_LINE_MAX)
        return 0; /* a line past the bound: drop the stream */
    return len;
}

static int
gw_stream_progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct gw_fetch *f = arg;

    /* Silent past max_staleness (heartbeats stopped): drop and reconnect. */
    return gw_mono_ms() - f->last_stream_byte_ms > f->g->cfg.max_staleness * 1000 ? 1 : 0;
}

static void
gw_start(struct gw_fetch *f, enum gw_job job)
{
    struct gw_xfer *x = &f->x[job];
    const struct gw_config *c = &f->g->cfg;
    char url[GW_URI_MAX + 32], hdr[200];

    x->h = curl_easy_init();
    if (x->h == NULL)
        return;
    if (job == GW_REVS)
        snprintf(url, sizeof(url), "%s%ssince=0%s", f->uri[job],
                 strchr(f->uri[job], '?') != NULL ? "&" : "?", f->g->jws_mode ? "&format=jws" : "");
    else
        snprintf(url, sizeof(url), "%s", f->uri[job]);
    curl_easy_setopt(x->h, CURLOPT_URL, url);
    curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT, (long)c->connect_timeout);
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    if (*c->ca_file != '\0')
        curl_easy_setopt(x->h, CURLOPT_CAINFO, c->ca_file);
    if (*c->client_cert != '\0') {
        curl_easy_setopt(x->h, CURLOPT_SSLCERT, c->client_cert);
        curl_easy_setopt(x->h, CURLOPT_SSLKEY, c->client_key);
    }
    curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, gw_header_cb);
    curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
    x->len = 0;
    x->too_big = 0;
    x->max_age = -1;
    if (job == GW_STREAM) {
        int64_t serial;

        pthread_rwlock_rdlock(&f->g->lock);
        serial = sitetoken_revocations_serial(f->g->revs);
        pthread_rwlock_unlock(&f->g->lock);
        snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld", (long long)serial);
        x->hdrs = curl_slist_append(NULL, hdr);
        x->hdrs = curl_slist_append(x->hdrs, "Accept: text/event-stream");
        curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, gw_stream_cb);
        curl_easy_setopt(x->h, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, gw_stream_progress_cb);
        curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, f);
        f->last_stream_byte_ms = gw_mono_ms();
        atomic_fetch_add(&f->g->n_stream_connects, 1);
    } else {
        curl_easy_setopt(x->h, CURLOPT_TIMEOUT, (long)c->request_timeout);
        curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, gw_body_cb);
        curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
        if (job == GW_REVS && x->etag[0] != '\0') {
            snprintf(hdr, sizeof(hdr), "If-None-Match: %s", x->etag);
            x->hdrs = curl_slist_append(NULL, hdr);
        }
        if (job == GW_KEYS)
            atomic_fetch_add(&f->g->n_keys_fetches, 1);
        if (job == GW_REVS)
            atomic_fetch_add(&f->g->n_revs_fetches, 1);
    }
    if (x->hdrs != NULL)
        curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
    if (job == GW_REVS)
        x->etag[0] = x->etag[0]; /* kept: overwritten by the answer's ETag */
    curl_multi_add_handle(f->multi, x->h);
    x->busy = 1;
}

/* One discovered URI: http(s), and https when the authority is reached over
 * https (a metadata document never downgrades the transport). */
static int
gw_meta_uri(struct gw_fetch *f, json_t *doc, const char *name, enum gw_job job)
{
    const char *u = json_string_value(json_object_get(doc, name));
    int tls = strncmp(f->base, "https://", 8) == 0;

    if (u == NULL || strlen(u) >= GW_URI_MAX ||
        !(strncmp(u, "https://", 8) == 0 || (!tls && strncmp(u, "http://", 7) == 0))) {
        gw_log("error", "event=discovery_failed msg=\"%s missing, too long or not %s\"", name,
               tls ? "https" : "http(s)");
        return -1;
    }
    snprintf(f->uri[job], GW_URI_MAX, "%s", u);
    return 0;
}

/* The metadata: issuer (cross-checked with authority.issuer when set), the
 * audience (must be ours: otherwise no token could ever verify), the URIs.
 * There is no fallback without it: every authority serves it. 0 when the
 * verifier exists. */
static int
gw_meta_done(struct gw_fetch *f, long status)
{
    struct gw *g = f->g;
    struct gw_xfer *x = &f->x[GW_META];
    const char *issuer = NULL, *aud;
    json_t *doc = NULL;
    int rc = -1;

    if (status != 200 || (doc = json_loadb(x->buf, x->len, 0, NULL)) == NULL ||
        !json_is_object(doc)) {
        gw_log("warn", "event=discovery_failed status=%ld msg=\"no metadata document\"", status);
        goto done;
    }
    issuer = json_string_value(json_object_get(doc, "issuer"));
    aud = json_string_value(json_object_get(doc, "gateway_audience"));
    if (aud == NULL || strcmp(aud, g->cfg.audience) != 0) {
        gw_log("error", "event=audience_mismatch configured=%s authority=%s", g->cfg.audience,
               aud != NULL ? aud : "(none)");
        goto done;
    }
    if (issuer != NULL && *g->cfg.issuer != '\0' && strcmp(issuer, g->cfg.issuer) != 0) {
        gw_log("error", "event=issuer_mismatch configured=%s authority=%s", g->cfg.issuer, issuer);
        goto done;
    }
    if (issuer == NULL || *issuer == '\0' || strlen(issuer) >= sizeof(g->issuer)) {
        gw_log("warn", "event=discovery_failed msg=\"no issuer in the metadata\"");
        goto done;
    }
    if (gw_meta_uri(f, doc, "jwks_uri", GW_KEYS) == -1 ||
        gw_meta_uri(f, doc, "revocations_uri", GW_REVS) == -1 ||
        gw_meta_uri(f, doc, "events_uri", GW_STREAM) == -1)
        goto done;
    pthread_rwlock_wrlock(&g->lock);
    snprintf(g->issuer, sizeof(g->issuer), "%s", issuer);
    g->v = sitetoken_verifier_new(issuer, g->cfg.audience, g->cfg.clock_skew);
    rc = g->v != NULL ? 0 : -1;
    pthread_rwlock_unlock(&g->lock);
    gw_log("info", "event=discovered issuer=%s jwks_uri=%s revocations_uri=%s events_uri=%s",
           issuer, f->uri[GW_KEYS], f->uri[GW_REVS], f->uri[GW_STREAM]);
done:
    json_decref(doc);
    return rc;
}

static void
gw_done(struct gw_fetch *f, struct gw_xfer *x, CURLcode res)
{
    enum gw_job job = (enum gw_job)(x - f->x);
    struct gw *g = f->g;
    const char *errstr = NULL;
    int64_t now = gw_mono_ms();
    long status = 0;
    int rc;

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(f->multi, x->h);
    curl_easy_cleanup(x->h);
    x->h = NULL;
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    x->busy = 0;
    if (job == GW_KEYS)
        f->reload_keys = 0;
    if (job == GW_REVS)
        f->reload_revs = 0;
    if (res != CURLE_OK && job != GW_STREAM) {
        gw_log("warn", "event=fetch_failed what=%s msg=\"%s\"", gw_job_names[job],
               curl_easy_strerror(res));
        x->due_ms = now + 1000;
        return;
    }
    switch (job) {
    case GW_META:
        x->due_ms = gw_meta_done(f, status) == 0 ? INT64_MAX : now + 1000;
        break;
    case GW_KEYS:
        if (status != 200) {
            gw_log("warn", "event=fetch_failed what=keys status=%ld", status);
            x->due_ms = now + 1000;
            break;
        }
        pthread_rwlock_wrlock(&g->lock);
        rc = sitetoken_verifier_load_jwks(g->v, x->buf, x->len, &errstr);
        pthread_rwlock_unlock(&g->lock);
        if (rc == -1) {
            gw_log("warn", "event=bad_keys msg=\"%s\"", errstr);
            x->due_ms = now + 1000;
            break;
        }
        atomic_store(&g->keys_loaded, 1);
        x->due_ms = now + 1000 * (x->max_age > 0 ? x->max_age : g->cfg.keys_refresh);
        gw_log("debug", "event=keys_loaded count=%zu", sitetoken_verifier_key_count(g->v));
        break;
    case GW_REVS:
        x->due_ms = now + g->cfg.max_staleness * 1000 / 3;
        if (status == 304) {
            /* JWS mode: the held document is the authority's current one;
             * it confirms only while its exp is ahead. */
            if (!g->jws_mode || gw_now(g) < atomic_load(&g->jws_exp))
                gw_confirm(g);
            else
                x->etag[0] = '\0';
            break;
        }
        if (status != 200) {
            gw_log("warn", "event=fetch_failed what=revocations status=%ld", status);
            x->due_ms = now + 1000;
            x->etag[0] = '\0';
            break;
        }
        pthread_rwlock_wrlock(&g->lock);
        rc = g->jws_mode
                 ? sitetoken_revocations_load_jws_at(g->revs, g->v, x->buf, x->len, 1, gw_now(g),
                                                     &errstr)
                 : sitetoken_revocations_load_at(g->revs, x->buf, x->len, 1, gw_now(g), &errstr);
        if (rc == 0)
            atomic_store(&g->jws_exp, sitetoken_revocations_jws_exp(g->revs));
        pthread_rwlock_unlock(&g->lock);
        if (rc == -1) {
            gw_log("warn", "event=bad_revocations msg=\"%s\"", errstr);
            x->etag[0] = '\0';
            x->due_ms = now + 1000;
            break;
        }
        atomic_store(&g->revs_loaded, 1);
        gw_confirm(g);
        break;
    case GW_STREAM:
        gw_log("info", "event=stream_ended status=%ld msg=\"%s\"", status, curl_easy_strerror(res));
        x->due_ms = now + 1000;
        x->len = 0;
        free(x->data);
        x->data = NULL;
        x->dlen = 0;
        x->event[0] = '\0';
        break;
    default:
        break;
    }
}

static void *
gw_fetch_main(void *arg)
{
    struct gw_fetch *f = arg;
    struct gw *g = f->g;

    while (!atomic_load(&f->stop)) {
        int64_t now = gw_mono_ms(), next = now + 1000;
        int running, left, progressed = 0;
        CURLMsg *msg;

        if (atomic_exchange(&f->want_keys, 0))
            f->x[GW_KEYS].due_ms = 0;
        if (atomic_exchange(&f->want_reload, 0)) {
            /* Fetches that cannot run yet (no metadata, no keys) are part of
             * the start-up, whose READY=1 answers the reload as well. */
            f->reloading = 1;
            f->reload_keys = g->v != NULL;
            f->reload_revs = g->v != NULL && atomic_load(&g->keys_loaded);
            f->x[GW_KEYS].due_ms = f->x[GW_REVS].due_ms = 0;
        }
        for (int j = 0; j < GW_NJOBS; j++) {
            struct gw_xfer *x = &f->x[j];
            int can =
                j == GW_META || (g->v != NULL && (j == GW_KEYS || atomic_load(&g->keys_loaded)) &&
                                 (j != GW_STREAM || atomic_load(&g->revs_loaded)));

            if (x->busy || !can)
                continue;
            if (x->due_ms <= now)
                gw_start(f, (enum gw_job)j);
            else if (x->due_ms < next)
                next = x->due_ms;
        }
        curl_multi_perform(f->multi, &running);
        while ((msg = curl_multi_info_read(f->multi, &left)) != NULL)
            if (msg->msg == CURLMSG_DONE) {
                progressed = 1;
                struct gw_xfer *x;

                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                gw_done(f, x, msg->data.result);
            }
        if (!f->ready_sent && gw_fresh(g)) {
            f->ready_sent = 1;
            f->reloading = 0;
            gw_log("info", "event=ready msg=\"keys loaded, revocations confirmed\"");
            gw_notify("READY=1");
        } else if (f->ready_sent && f->reloading && !f->reload_keys && !f->reload_revs) {
            f->reloading = 0;
            gw_log("info", "event=reloaded fresh=%d", gw_fresh(g));
            gw_notify("READY=1");
        }
        if (!gw_fresh(g) && atomic_load(&g->revs_loaded) && !atomic_exchange(&g->stale_logged, 1))
            gw_log("warn", "event=stale msg=\"revocations unconfirmed for max_staleness: "
                           "answering 503 unavailable\"");
        now = gw_mono_ms();
        /* an `event: keys` read just now made the keys due: fetch them at
         * once rather than after this poll (up to a second) */
        if (f->x[GW_KEYS].due_ms == 0 && !f->x[GW_KEYS].busy && g->v != NULL)
            progressed = 1;
        if (!progressed)
            curl_multi_poll(f->multi, NULL, 0,
                            next > now ? (int)(next - now > 1000 ? 1000 : next - now) : 0, NULL);
    }
    for (int j = 0; j < GW_NJOBS; j++) {
        struct gw_xfer *x = &f->x[j];

        if (x->h != NULL) {
            curl_multi_remove_handle(f->multi, x->h);
            curl_easy_cleanup(x->h);
        }
        curl_slist_free_all(x->hdrs);
        free(x->buf);
        free(x->data);
    }
    return NULL;
}

int
gw_fetch_start(struct gw *g, const char **errstr)
{
    struct gw_fetch *f;
    size_t n;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (f = calloc(1, sizeof(*f))) == NULL) {
        *errstr = "cannot initialise libcurl";
        return -1;
    }
    f->g = g;
    snprintf(f->base, sizeof(f->base), "%s", g->cfg.authority_url);
    n = strlen(f->base);
    while (n > 0 && f->base[n - 1] == '/')
        f->base[--n] = '\0';
    snprintf(f->uri[GW_META], GW_URI_MAX, "%s/.well-known/sitetoken", f->base);
    if ((f->multi = curl_multi_init()) == NULL) {
        free(f);
        *errstr = "cannot initialise libcurl";
        return -1;
    }
    g->fetch = f;
    if (pthread_create(&f->thread, NULL, gw_fetch_main, f) != 0) {
        curl_multi_cleanup(f->multi);
        free(f);
        g->fetch = NULL;
        *errstr = "cannot start the follower thread";
        return -1;
    }
    return 0;
}

void
gw_fetch_want_keys(struct gw *g)
{
    if (g->fetch == NULL)
        return;
    atomic_store(&g->fetch->want_keys, 1);
    curl_multi_wakeup(g->fetch->multi);
}

void
gw_fetch_reload(struct gw *g)
{
    if (g->fetch == NULL)
        return;
    atomic_store(&g->fetch->want_reload, 1);
    curl_multi_wakeup(g->fetch->multi);
}

void
gw_fetch_stop(struct gw *g)
{
    struct gw_fetch *f = g->fetch;

    if (f == NULL)
        return;
    atomic_store(&f->stop, 1);
    curl_multi_wakeup(f->multi);
    pthread_join(f->thread, NULL);
    curl_multi_cleanup(f->multi);
    free(f);
    g->fetch = NULL;
    curl_global_cleanup();
}
