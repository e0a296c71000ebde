/* The console's admin reads (see admin_stats.h). Query parameters are
 * checked against bounds on the loop before the store is asked anything; the
 * store is read on a worker through the admin op (admin_op_read), like every
 * other admin read; each answer is one JSON document, lists paged as
 * {items, next} like the other admin lists. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_op.h"
#include "admin_stats.h"
#include "audit.h"
#include "clock.h"
#include "devices.h"
#include "feed.h"
#include "http.h"
#include "ids.h"
#include "keys.h"
#include "metrics.h"
#include "revocations.h"
#include "sitetokend.h"
#include "stats.h"

#define STATS_LIMIT_DEFAULT 100
#define STATS_LIMIT_MAX 1000
#define STATS_HOURS_DEFAULT 6
#define STATS_HOURS_MAX 24 /* the refusal ring's length (METRICS_MINUTES) */
#define STATS_QUERY_MAX 256

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

/* Worker: the counts and the issuance series, minutes [now/60 - n + 1,
 * now/60], the current one last. */
static enum errcode
stats_overview_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct store_stats_counts c;
    struct stats_series s = {.n = a->hours * 60};
    const char *errstr = NULL;
    int64_t now = a->page.now;

    if (store_stats_counts(ctx->store, now, &c, &errstr) == -1)
        return commit_op_store_fail(&a->op, errstr);
    s.first_minute = now / 60 - s.n + 1;
    s.client = json_array();
    s.access = json_array();
    for (int i = 0; s.client != NULL && s.access != NULL && i < s.n; i++) {
        json_array_append_new(s.client, json_integer(0));
        json_array_append_new(s.access, json_integer(0));
    }
    if (s.client == NULL || s.access == NULL) {
        json_decref(s.client);
        json_decref(s.access);
        return commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
    }
    if (store_stats_issued(ctx->store, s.first_minute * 60, (now / 60 + 1) * 60, stats_issued_cb,
                           &s, &errstr) == -1) {
        json_decref(s.client);
        json_decref(s.access);
        return commit_op_store_fail(&a->op, errstr);
    }
    a->reply = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I}, s:{s:o, s:i, s:o, s:o}}",
                         "now", admin_time(now), "counts", "devices", (json_int_t)c.devices,
                         "devices_blocked", (json_int_t)c.devices_blocked, "bulk_tokens",
                         (json_int_t)c.bulk_tokens, "bulk_live", (json_int_t)c.bulk_live, "mps",
                         (json_int_t)c.mps, "tokens_unexpired", (json_int_t)c.tokens_live, "feed",
                         "serial", (json_int_t)store_revocation_serial(ctx->store), "per_minute",
                         "start", admin_time(s.first_minute * 60), "minutes", s.n, "issued_client",
                         s.client, "issued_access", s.access);
    return a->reply != NULL ? ERRCODE_OK
                            : commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
}

/* Loop: what only the loop holds, the feed's subscribers and the refusals
 * (counted in memory on the real clock, metrics.c). */
static void
stats_overview_after(struct admin_op *a)
{
    json_t *feed = json_object_get(a->reply, "feed"),
           *per_minute = json_object_get(a->reply, "per_minute"), *refusals = json_array();
    int64_t now_real = (int64_t)time(NULL);
    int n = a->hours * 60;

    if (feed == NULL || per_minute == NULL || refusals == NULL) {
        json_decref(refusals);
        commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++)
        json_array_append_new(refusals, json_integer((json_int_t)metrics_refusals_in_minute(
                                            a->env->metrics, now_real / 60 - n + 1 + i)));
    json_object_set_new(feed, "subscribers", json_integer(feed_subscribers(a->env->feed)));
    json_object_set_new(per_minute, "refusals", refusals);
}

void
admin_stats_overview(struct http_req *req)
{
    struct admin_op *a;
    long long hours;

    if (stats_query_int(req, "hours", 1, STATS_HOURS_MAX, STATS_HOURS_DEFAULT, &hours) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "hours must be 1 to %d", STATS_HOURS_MAX);
        return;
    }
    if ((a = admin_op_new(req)) == NULL)
        return;
    a->hours = (int)hours;
    a->page.now = clock_now(req->env);
    a->after = stats_overview_after;
    admin_op_read(a, stats_overview_read);
}

/* Lists: limit and the items array set on the loop; 0, or -1 answered. */
static int
stats_page_init(struct admin_op *a, long long limit)
{
    a->page.limit = (int)limit;
    if ((a->page.items = json_array()) == NULL) {
        http_reply_problem(a->req, ERRCODE_UNAVAILABLE, "out of memory");
        admin_op_free(a);
        return -1;
    }
    return 0;
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

#define STATS_NFIELDS (sizeof(stats_search_fields) / sizeof(stats_search_fields[0]))

/* A search on a worker: each id found is fetched on the same connection. */
struct stats_search {
    struct admin_page *page;
    struct store *store;
    const char *errstr; /* a fetch's failure */
};

static int
stats_search_cb(const char *id, void *arg)
{
    struct stats_search *s = arg;
    struct store_device d;

    if (s->page->n >= s->page->limit)
        return admin_page_add(s->page, NULL, NULL);
    /* Search and fetch share the connection but not a statement. */
    if (store_device_get(s->store, id, &d, &s->errstr) != 0) {
        if (s->errstr == NULL)
            s->errstr = "device vanished during the search";
        return 1;
    }
    return admin_page_add(s->page, admin_device_json(&d), d.id);
}

static enum errcode
stats_search_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    struct stats_search s = {.page = p, .store = ctx->store};
    const char *errstr = NULL;
    int rc = store_device_search(ctx->store, stats_search_fields[a->which].field, p->filter[0],
                                 p->after, p->limit + 1, stats_search_cb, &s, &errstr);

    if (rc == 0 && s.errstr != NULL)
        return admin_page_done(a, -1, s.errstr);
    return admin_page_done(a, rc, errstr);
}

void
admin_stats_device_search(struct http_req *req)
{
    struct admin_op *a;
    const char *by = stats_query_text(req, "by", 16), *q = stats_query_text(req, "q", 256),
               *after = stats_query_text(req, "after", 64);
    long long limit;
    size_t f;

    for (f = 0; by != NULL && f < STATS_NFIELDS; f++)
        if (strcmp(by, stats_search_fields[f].name) == 0)
            break;
    if (by == NULL || f == STATS_NFIELDS) {
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
    if ((a = admin_op_new(req)) == NULL || stats_page_init(a, limit) == -1)
        return;
    a->which = (int)f;
    snprintf(a->page.filter[0], sizeof(a->page.filter[0]), "%s", q);
    snprintf(a->page.after, sizeof(a->page.after), "%s", after);
    admin_op_read(a, stats_search_read);
}

/* Audit, newest first -------------------------------------------------------- */

static int
stats_audit_cb(const struct store_audit *r, void *arg)
{
    return admin_audit_page_add(arg, r);
}

static enum errcode
stats_audit_read(struct admin_op *a, struct worker_ctx *ctx)
{
    struct admin_page *p = &a->page;
    const char *errstr = NULL;
    int rc = store_audit_recent(ctx->store, p->after_seq, p->filter[0], p->filter[1], p->filter[2],
                                p->limit + 1, stats_audit_cb, p, &errstr);

    return admin_page_done(a, rc, errstr);
}

void
admin_stats_audit_recent(struct http_req *req)
{
    struct admin_op *a;
    const char *text[3] = {stats_query_text(req, "action", 48),
                           stats_query_text(req, "subject", 128),
                           stats_query_text(req, "actor", 96)};
    static const char *const names[3] = {"action", "subject", "actor"};
    long long limit, before;

    for (int i = 0; i < 3; i++)
        if (text[i] == NULL) {
            http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s: too long or not text", names[i]);
            return;
        }
    if (stats_query_int(req, "limit", 1, STATS_LIMIT_MAX, STATS_LIMIT_DEFAULT, &limit) == -1 ||
        stats_query_int(req, "before", 1, INT64_MAX, 0, &before) == -1) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "limit must be 1 to %d, before a sequence number", STATS_LIMIT_MAX);
        return;
    }
    if ((a = admin_op_new(req)) == NULL || stats_page_init(a, limit) == -1)
        return;
    for (int i = 0; i < 3; i++)
        snprintf(a->page.filter[i], sizeof(a->page.filter[i]), "%s", text[i]);
    a->page.after_seq = before;
    admin_op_read(a, stats_audit_read);
}

/* Impact -------------------------------------------------------------------- */

/* Each counts what a block or revoke of one id would affect. */
static int
stats_impact_bulk(struct store *st, const char *id, int64_t now, int64_t *devices, int64_t *tokens,
                  const char **errstr)
{
    return store_impact_bulk(st, id, now, devices, tokens, errstr);
}

static int
stats_impact_device(struct store *st, const char *id, int64_t now, int64_t *devices,
                    int64_t *tokens, const char **errstr)
{
    *devices = 1;
    return store_impact_device(st, id, now, tokens, errstr);
}

static int
stats_impact_token(struct store *st, const char *id, int64_t now, int64_t *devices, int64_t *tokens,
                   const char **errstr)
{
    int rc = store_impact_token(st, id, now, tokens, errstr);

    *devices = *tokens > 0 ? 1 : 0;
    return rc;
}

static int
stats_impact_mp(struct store *st, const char *id, int64_t now, int64_t *devices, int64_t *tokens,
                const char **errstr)
{
    return store_impact_mp(st, id, devices, errstr);
}

static const struct {
    const char *kind;             /* the query parameter */
    int (*valid)(const char *id); /* NULL: any id of at most 64 bytes */
    int (*count)(struct store *st, const char *id, int64_t now, int64_t *devices, int64_t *tokens,
                 const char **errstr);
    const char *effect;
} stats_impacts[] = {
    {"bulk_id", NULL, stats_impact_bulk,
     "new exchanges with this bulk token are refused; the devices registered with it keep their "
     "tokens"},
    {"device_id", ids_is_device_id, stats_impact_device,
     "every token of the device is refused and it cannot register again with its key"},
    {"jti", NULL, stats_impact_token, "the token and every live member of its family are revoked"},
    {"mp_id", NULL, stats_impact_mp,
     "the MP's key stops working at once; the devices it registered keep their tokens"},
    {"kid", NULL, store_key_impact,
     "the key leaves the JWKS: every token it signed is refused (token_revoked); taint it first "
     "and let its devices renew"},
};

#define STATS_NIMPACTS (sizeof(stats_impacts) / sizeof(stats_impacts[0]))

static enum errcode
stats_impact_read(struct admin_op *a, struct worker_ctx *ctx)
{
    int64_t devices = 0, tokens = 0;
    const char *errstr = NULL;

    if (stats_impacts[a->which].count(ctx->store, a->id, a->page.now, &devices, &tokens, &errstr) ==
        -1)
        return commit_op_store_fail(&a->op, errstr);
    a->reply = json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind", stats_impacts[a->which].kind, "id",
                         a->id, "devices", (json_int_t)devices, "live_tokens", (json_int_t)tokens,
                         "effect", stats_impacts[a->which].effect);
    return a->reply != NULL ? ERRCODE_OK
                            : commit_op_fail(&a->op, ERRCODE_UNAVAILABLE, "out of memory");
}

void
admin_stats_impact(struct http_req *req)
{
    struct admin_op *a;
    const char *id = NULL;
    size_t which = 0;
    int given = 0;

    for (size_t k = 0; k < STATS_NIMPACTS; k++)
        if (http_query(req, stats_impacts[k].kind) != NULL) {
            given++;
            which = k;
            id = http_query(req, stats_impacts[k].kind);
        }
    if (given != 1 || id == NULL || *id == '\0' || strlen(id) > 64) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST,
                           "exactly one of bulk_id, device_id, jti, mp_id, kid is required");
        return;
    }
    if (stats_impacts[which].valid != NULL && !stats_impacts[which].valid(id)) {
        http_reply_problem(req, ERRCODE_INVALID_REQUEST, "%s: not a device id",
                           stats_impacts[which].kind);
        return;
    }
    if ((a = admin_op_new(req)) == NULL)
        return;
    a->which = (int)which;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->page.now = clock_now(req->env);
    admin_op_read(a, stats_impact_read);
}
