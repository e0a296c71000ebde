/* The console's admin reads (see admin_stats.h). Query parameters are
 * checked against bounds before the store is asked anything; each answer is
 * one JSON document, lists paged as {items, next} like the other admin lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_stats.h"
#include "audit.h"
#include "clock.h"
#include "devices.h"
#include "feed.h"
#include "http.h"
#include "keys.h"
#include "ids.h"
#include "metrics.h"
#include "revocations.h"
#include "sitetokend.h"
#include "stats.h"
#include "timefmt.h"

#define STATS_LIMIT_DEFAULT 100
#define STATS_LIMIT_MAX 1000
#define STATS_HOURS_DEFAULT 6
#define STATS_HOURS_MAX 24 /* the refusal ring's length (METRICS_MINUTES) */
#define STATS_QUERY_MAX 256

static json_t *
stats_time(int64_t t)
{
    char buf[TIMEFMT_LEN + 1];

    if (t == 0)
        return json_null();
    timefmt_rfc3339(t, buf);
    return json_string(buf);
}

/* An integer query parameter in [min, max], def when absent; -1 when bad. */
static int
stats_query_int(struct http_req *req, const char *name, long long min, long long max, long long def,
                long long *out)
{
    const char *s = http_query(req, name);
    char *end;
    long long v;

    if (s == NULL || *s == '\0') {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A text query parameter of at most max bytes with no control characters;
 * "" when absent, NULL when bad. */
static const char *
stats_query_text(struct http_req *req, const char *name, size_t max)
{
    const char *s = http_query(req, name);

    if (s == NULL)
        return "";
    if (strlen(s) > max)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f)
            return NULL;
    return s;
}

/* Overview ---------------------------------------------------------------- */

struct stats_series {
    int64_t first_minute;
    int n;
    json_t *client, *access;
};

static int
stats_issued_cb(int64_t minute, int64_t client, int64_t access, void *arg)
{
    struct stats_series *s = arg;
    int64_t i = minute - s->first_minute;

    if (i >= 0 && i < s->n) {
        json_array_set_new(s->client, (size_t)i, json_integer(client));
        json_array_set_new(s->access, (size_t)i, json_integer(access));
    }
    return 0;
}

void
admin_stats_overview(struct http_req *req)
{
    struct sitetokend *env = req->env;
    struct store_stats_counts c;
    struct stats_series s = {0};
    const char *errstr = NULL;
    json_t *refusals = NULL, *doc;
    long long hours;
    int64_t now = clock_now(env), now_real = (int64_t)time(NULL);

    if (stats_query_int(req, "hours", 1, STATS_HOURS_MAX, STATS_HOURS_DEFAULT, &hours) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "hours must be 1 to %d", STATS_HOURS_MAX);
        return;
    }
    if (store_stats_counts(env->store, now, &c, &errstr) == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    /* Minutes [now/60 - n + 1, now/60], the current one last. */
    s.n = (int)hours * 60;
    s.first_minute = now / 60 - s.n + 1;
    s.client = json_array();
    s.access = json_array();
    refusals = json_array();
    if (s.client == NULL || s.access == NULL || refusals == NULL)
        goto nomem;
    for (int i = 0; i < s.n; i++) {
        /* Refusals are counted in memory on the real clock (metrics.c). */
        int64_t real_minute = now_real / 60 - s.n + 1 + i;

        json_array_append_new(s.client, json_integer(0));
        json_array_append_new(s.access, json_integer(0));
        json_array_append_new(refusals, json_integer((json_int_t)metrics_refusals_in_minute(
                                            env->metrics, real_minute)));
    }
    if (store_stats_issued(env->store, s.first_minute * 60, (now / 60 + 1) * 60, stats_issued_cb,
                           &s, &errstr) == -1) {
        json_decref(s.client);
        json_decref(s.access);
        json_decref(refusals);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    doc = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:i},"
                    " s:{s:o, s:i, s:o, s:o, s:o}}",
                    "now", stats_time(now), "counts", "devices", (json_int_t)c.devices,
                    "devices_blocked", (json_int_t)c.devices_blocked, "bulk_tokens",
                    (json_int_t)c.bulk_tokens, "bulk_live", (json_int_t)c.bulk_live, "mps",
                    (json_int_t)c.mps, "tokens_unexpired", (json_int_t)c.tokens_live, "feed",
                    "serial", (json_int_t)store_revocation_serial(env->store), "subscribers",
                    feed_subscribers(env->feed), "per_minute", "start",
                    stats_time(s.first_minute * 60), "minutes", s.n, "issued_client", s.client,
                    "issued_access", s.access, "refusals", refusals);
    if (doc == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    http_reply_json(req, 200, doc);
    return;
nomem:
    json_decref(s.client);
    json_decref(s.access);
    json_decref(refusals);
    http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
}

/* Device search ------------------------------------------------------------ */

static const struct {
    const char *name;
    enum store_search_field field;
} stats_search_fields[] = {
    {"name", STORE_SEARCH_NAME},
    {"hardware_id", STORE_SEARCH_HARDWARE_ID},
    {"id", STORE_SEARCH_ID},
};

struct stats_page {
    struct sitetokend *env;
    json_t *items;
    int limit, n, more, failed;
    char next[72];
    const char *errstr;
};

static json_t *
stats_device_json(const struct store_device *d)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o, s:o}", "id", d->id, "name",
                     d->name, "hardware_id", d->hardware_id, "status",
                     d->blocked ? "blocked" : "active", "reg", d->reg, "bulk_id",
                     d->bulk_id[0] ? json_string(d->bulk_id) : json_null(), "mp_id",
                     d->mp_id[0] ? json_string(d->mp_id) : json_null(), "jkt", d->jkt, "created_at",
                     stats_time(d->created_at), "last_seen_at", stats_time(d->last_seen_at));
}

static int
stats_search_cb(const char *id, void *arg)
{
    struct stats_page *p = arg;
    struct store_device d;

    if (p->n >= p->limit) {
        p->more = 1;
        return 1;
    }
    /* Search and fetch share the connection but not a statement. */
    if (store_device_get(p->env->store, id, &d, &p->errstr) != 0) {
        p->failed = 1;
        return 1;
    }
    json_array_append_new(p->items, stats_device_json(&d));
    snprintf(p->next, sizeof(p->next), "%s", d.id);
    p->n++;
    return 0;
}

static void
stats_page_reply(struct http_req *req, struct stats_page *p)
{
    http_reply_json(req, 200,
                    json_pack("{s:o, s:o}", "items", p->items, "next",
                              p->more ? json_string(p->next) : json_null()));
}

void
admin_stats_device_search(struct http_req *req)
{
    struct stats_page p = {.env = req->env};
    const char *by = stats_query_text(req, "by", 16), *q = stats_query_text(req, "q", 256),
               *after = stats_query_text(req, "after", 64), *errstr = NULL;
    long long limit;
    size_t f;

    for (f = 0; by != NULL && f < sizeof(stats_search_fields) / sizeof(stats_search_fields[0]); f++)
        if (strcmp(by, stats_search_fields[f].name) == 0)
            break;
    if (by == NULL || f == sizeof(stats_search_fields) / sizeof(stats_search_fields[0])) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "by must be name, hardware_id or id");
        return;
    }
    if (q == NULL || after == NULL) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s: too long or not text",
                           q == NULL ? "q" : "after");
        return;
    }
    if (stats_query_int(req, "limit", 1, STATS_LIMIT_MAX, STATS_LIMIT_DEFAULT, &limit) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "limit must be 1 to %d", STATS_LIMIT_MAX);
        return;
    }
    p.limit = (int)limit;
    if ((p.items = json_array()) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    if (store_device_search(req->env->store, stats_search_fields[f].field, q, after, p.limit + 1,
                            stats_search_cb, &p, &errstr) == -1 ||
        p.failed) {
        json_decref(p.items);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s",
                           errstr != NULL ? errstr : p.errstr);
        return;
    }
    stats_page_reply(req, &p);
}

/* Audit, newest first -------------------------------------------------------- */

static int
stats_audit_cb(const struct store_audit *a, void *arg)
{
    struct stats_page *p = arg;
    json_t *detail;

    if (p->n >= p->limit) {
        p->more = 1;
        return 1;
    }
    detail = json_loads(a->detail != NULL ? a->detail : "{}", 0, NULL);
    json_array_append_new(p->items,
                          json_pack("{s:I, s:o, s:s, s:s, s:s, s:o, s:s, s:s}", "seq",
                                    (json_int_t)a->seq, "time", stats_time(a->time), "actor",
                                    a->actor, "action", a->action, "subject", a->subject, "detail",
                                    detail != NULL ? detail : json_object(), "prev_hash",
                                    a->prev_hash, "hash", a->hash));
    snprintf(p->next, sizeof(p->next), "%lld", (long long)a->seq);
    p->n++;
    return 0;
}

void
admin_stats_audit_recent(struct http_req *req)
{
    struct stats_page p = {.env = req->env};
    const char *action = stats_query_text(req, "action", 48),
               *subject = stats_query_text(req, "subject", 128),
               *actor = stats_query_text(req, "actor", 96), *errstr = NULL;
    long long limit, before;

    if (action == NULL || subject == NULL || actor == NULL) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s: too long or not text",
                           action == NULL    ? "action"
                           : subject == NULL ? "subject"
                                             : "actor");
        return;
    }
    if (stats_query_int(req, "limit", 1, STATS_LIMIT_MAX, STATS_LIMIT_DEFAULT, &limit) == -1 ||
        stats_query_int(req, "before", 1, INT64_MAX, 0, &before) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "limit must be 1 to %d, before a sequence number", STATS_LIMIT_MAX);
        return;
    }
    p.limit = (int)limit;
    if ((p.items = json_array()) == NULL) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    if (store_audit_recent(req->env->store, before, action, subject, actor, p.limit + 1,
                           stats_audit_cb, &p, &errstr) == -1) {
        json_decref(p.items);
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    stats_page_reply(req, &p);
}

/* Impact -------------------------------------------------------------------- */

void
admin_stats_impact(struct http_req *req)
{
    static const char *const kinds[] = {"bulk_id", "device_id", "jti", "mp_id", "kid"};
    struct sitetokend *env = req->env;
    const char *id = NULL, *kind = NULL, *errstr = NULL, *effect;
    int64_t devices = 0, tokens = 0, now = clock_now(env);
    int given = 0, rc;

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (http_query(req, kinds[k]) != NULL) {
            given++;
            kind = kinds[k];
            id = http_query(req, kinds[k]);
        }
    if (given != 1 || id == NULL || *id == '\0' || strlen(id) > 64) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "exactly one of bulk_id, device_id, jti, mp_id, kid is required");
        return;
    }
    if (strcmp(kind, "bulk_id") == 0) {
        rc = store_impact_bulk(env->store, id, now, &devices, &tokens, &errstr);
        effect = "new exchanges with this bulk token are refused; the devices registered with "
                 "it keep their tokens";
    } else if (strcmp(kind, "device_id") == 0) {
        if (!ids_is_device_id(id)) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "device_id: not a device id");
            return;
        }
        devices = 1;
        rc = store_impact_device(env->store, id, now, &tokens, &errstr);
        effect = "every token of the device is refused and it cannot register again with its key";
    } else if (strcmp(kind, "jti") == 0) {
        rc = store_impact_token(env->store, id, now, &tokens, &errstr);
        devices = tokens > 0 ? 1 : 0;
        effect = "the token and every live member of its family are revoked";
    } else if (strcmp(kind, "kid") == 0) {
        rc = store_key_impact(env->store, id, now, &devices, &tokens, &errstr);
        effect = "the key leaves the JWKS: every token it signed is refused (token_revoked); "
                 "taint it first and let its devices renew";
    } else {
        rc = store_impact_mp(env->store, id, &devices, &errstr);
        effect = "the MP's key stops working at once; the devices it registered keep their tokens";
    }
    if (rc == -1) {
        http_reply_problem(req, ERRCODE_UNAVAILABLE, "store: %s", errstr);
        return;
    }
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind", kind, "id", id, "devices",
                              (json_int_t)devices, "live_tokens", (json_int_t)tokens, "effect",
                              effect));
}
