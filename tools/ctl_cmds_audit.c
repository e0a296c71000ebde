/* sitetokenctl's audit commands: the trail oldest first (pages, --tail N,
 * filters by action, actor, subject and time, --follow), the newest-first
 * view of the console, and the hash-chain check (exit 4 when broken). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "duration.h"
#include "timefmt.h"

#define AUDIT_FOLLOW_POLL_MS 1000
#define AUDIT_FOLLOW_TAIL 10
#define AUDIT_MAX 100000

static const struct ctl_col ctl_audit_cols[] = {
    {"seq", "SEQ"},       {"time", "TIME"},       {"actor", "ACTOR"},
    {"action", "ACTION"}, {"subject", "SUBJECT"}, {"detail", "DETAIL"},
};

static void
ctl_show_audit(const json_t *doc)
{
    ctl_print_table(json_object_get(doc, "items"), ctl_audit_cols, 6);
    ctl_print_next(doc);
}

/* --since/--until: an RFC 3339 time as it is, or a duration ago. 0 with the
 * time in out ("" when absent), 2 on a bad value. */
static int
ctl_audit_when(const struct ctl_args *a, const char *name, char out[TIMEFMT_LEN + 1])
{
    const char *v = ctl_val(a, name), *why = NULL;
    int64_t ms;

    out[0] = '\0';
    if (v == NULL)
        return 0;
    if (strchr(v, 'T') != NULL) {
        int y, mo, d, h, mi, s;
        char z;

        if (strlen(v) != TIMEFMT_LEN ||
            sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z')
            return ctl_usage_error(a->cmd,
                                   "--%s: %s is not an RFC 3339 UTC time "
                                   "(2026-11-28T15:04:05Z)",
                                   name, v);
        snprintf(out, TIMEFMT_LEN + 1, "%s", v);
        return 0;
    }
    if (duration_parse(v, &ms, &why) == -1)
        return ctl_usage_error(a->cmd, "--%s: %s: %s (a duration ago, or an RFC 3339 time)", name,
                               v, why);
    timefmt_rfc3339((int64_t)time(NULL) - ms / 1000, out);
    return 0;
}

struct ctl_audit_filter {
    const char *action, *actor, *subject;
    char since[TIMEFMT_LEN + 1], until[TIMEFMT_LEN + 1];
};

static int
ctl_audit_match(const struct ctl_audit_filter *f, const json_t *row)
{
    const char *action = json_string_value(json_object_get(row, "action"));
    const char *actor = json_string_value(json_object_get(row, "actor"));
    const char *subject = json_string_value(json_object_get(row, "subject"));
    const char *t = json_string_value(json_object_get(row, "time"));
    size_t alen = f->action != NULL ? strlen(f->action) : 0;

    if (f->action != NULL && (action == NULL || (alen > 0 && f->action[alen - 1] == '.'
                                                     ? strncmp(action, f->action, alen) != 0
                                                     : strcmp(action, f->action) != 0)))
        return 0;
    if (f->actor != NULL && (actor == NULL || strcmp(actor, f->actor) != 0))
        return 0;
    if (f->subject != NULL && (subject == NULL || strcmp(subject, f->subject) != 0))
        return 0;
    if (f->since[0] != '\0' && (t == NULL || strcmp(t, f->since) < 0))
        return 0;
    if (f->until[0] != '\0' && (t == NULL || strcmp(t, f->until) > 0))
        return 0;
    return 1;
}

/* The last `want` matching records, oldest first, from the newest-first
 * route (which filters action, actor and subject itself). */
static int
ctl_audit_collect(struct ctl *ctl, const struct ctl_audit_filter *f, long long want, json_t **out)
{
    json_t *newest = json_array(), *items = json_array();
    long long before = 0;
    int rc = 0, done = 0;

    while (!done && (long long)json_array_size(newest) < want) {
        char q[800] = "", path[1000], num[24];
        json_t *doc = NULL, *row;
        size_t i;

        snprintf(num, sizeof(num), "%lld",
                 want - (long long)json_array_size(newest) > 1000
                     ? 1000LL
                     : want - (long long)json_array_size(newest));
        ctl_query_add(q, sizeof(q), "limit", num);
        ctl_query_add(q, sizeof(q), "action", f->action);
        ctl_query_add(q, sizeof(q), "actor", f->actor);
        ctl_query_add(q, sizeof(q), "subject", f->subject);
        if (before > 0) {
            snprintf(num, sizeof(num), "%lld", before);
            ctl_query_add(q, sizeof(q), "before", num);
        }
        snprintf(path, sizeof(path), "/v1/admin/audit/recent?%s", q);
        if ((rc = ctl_call(ctl, "GET", path, NULL, &doc)) != 0)
            break;
        json_array_foreach(json_object_get(doc, "items"), i, row)
        {
            const char *t = json_string_value(json_object_get(row, "time"));

            before = (long long)json_integer_value(json_object_get(row, "seq"));
            if (f->since[0] != '\0' && t != NULL && strcmp(t, f->since) < 0) {
                done = 1; /* older than --since: so is everything after it */
                break;
            }
            if (ctl_audit_match(f, row))
                json_array_append(newest, row);
        }
        if (json_is_null(json_object_get(doc, "next")) ||
            json_array_size(json_object_get(doc, "items")) == 0)
            done = 1;
        json_decref(doc);
    }
    for (size_t i = json_array_size(newest); i > 0; i--)
        json_array_append(items, json_array_get(newest, i - 1));
    json_decref(newest);
    if (rc != 0) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:o, s:n}", "items", items, "next");
    return 0;
}

static void
ctl_audit_line(struct ctl *ctl, const json_t *row)
{
    char *text;

    if (ctl->json) {
        text = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
    } else if (ctl->quiet) {
        text = ctl_cell(json_object_get(row, "seq"));
    } else {
        char *cells[6];
        size_t n = 0;

        for (int c = 0; c < 6; c++) {
            cells[c] = ctl_cell(json_object_get(row, ctl_audit_cols[c].key));
            n += strlen(cells[c] != NULL ? cells[c] : "") + 2;
        }
        if ((text = malloc(n + 1)) != NULL) {
            text[0] = '\0';
            for (int c = 0; c < 6; c++) {
                strcat(text, cells[c] != NULL ? cells[c] : "");
                if (c < 5)
                    strcat(text, "  ");
            }
        }
        for (int c = 0; c < 6; c++)
            free(cells[c]);
    }
    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

/* --follow: print what was collected, then poll for records after the last
 * one until the server goes away (exit 3) or the user stops it. */
static int
ctl_audit_follow(struct ctl *ctl, const struct ctl_audit_filter *f, json_t *first)
{
    long long last = 0;
    json_t *row, *doc = NULL;
    size_t i;
    int rc;

    json_array_foreach(json_object_get(first, "items"), i, row)
    {
        ctl_audit_line(ctl, row);
        last = (long long)json_integer_value(json_object_get(row, "seq"));
    }
    if (last == 0) { /* nothing matched yet: start at the head */
        if ((rc = ctl_call(ctl, "GET", "/v1/admin/audit/recent?limit=1", NULL, &doc)) != 0)
            return rc;
        last = (long long)json_integer_value(
            json_object_get(json_array_get(json_object_get(doc, "items"), 0), "seq"));
        json_decref(doc);
    }
    fflush(stdout);
    for (;;) {
        char path[128];
        size_t n;

        snprintf(path, sizeof(path), "/v1/admin/audit?after=%lld&limit=1000", last);
        if ((rc = ctl_call(ctl, "GET", path, NULL, &doc)) != 0)
            return rc;
        n = json_array_size(json_object_get(doc, "items"));
        json_array_foreach(json_object_get(doc, "items"), i, row)
        {
            last = (long long)json_integer_value(json_object_get(row, "seq"));
            if (ctl_audit_match(f, row))
                ctl_audit_line(ctl, row);
        }
        json_decref(doc);
        fflush(stdout);
        if (n == 0) {
            struct timespec ts = {.tv_sec = AUDIT_FOLLOW_POLL_MS / 1000,
                                  .tv_nsec = (AUDIT_FOLLOW_POLL_MS % 1000) * 1000000L};

            nanosleep(&ts, NULL); /* a poll interval, not a wait for an event */
        }
    }
}

int
ctl_audit(struct ctl *ctl, const struct ctl_args *a)
{
    struct ctl_audit_filter f = {.action = ctl_val(a, "action"),
                                 .actor = ctl_val(a, "actor"),
                                 .subject = ctl_val(a, "subject")};
    int filtered = f.action != NULL || f.actor != NULL || f.subject != NULL ||
                   ctl_has(a, "since") || ctl_has(a, "until");
    long long want;
    json_t *doc = NULL;
    int rc;

    if (ctl_has(a, "after") || ctl_has(a, "limit") || ctl_has(a, "all")) {
        if (filtered || ctl_has(a, "tail") || ctl_has(a, "follow"))
            return ctl_usage_error(a->cmd, "--after, --limit and --all page the whole trail; "
                                           "use --tail N with filters or --follow");
        for (const char *p = ctl_val(a, "after"); p != NULL && *p != '\0'; p++)
            if (*p < '0' || *p > '9')
                return ctl_usage_error(a->cmd, "--after: %s is not a sequence number",
                                       ctl_val(a, "after"));
        return ctl_list(ctl, a, "/v1/admin/audit", "", ctl_show_audit);
    }
    if (!filtered && !ctl_has(a, "tail") && !ctl_has(a, "follow"))
        return ctl_list(ctl, a, "/v1/admin/audit", "", ctl_show_audit);
    if (ctl_audit_when(a, "since", f.since) != 0 || ctl_audit_when(a, "until", f.until) != 0)
        return CTL_EXIT_USAGE;
    /* like tail -f: the last few, then what comes */
    want = ctl_num(a, "tail", ctl_has(a, "follow") ? AUDIT_FOLLOW_TAIL : AUDIT_MAX);
    if ((rc = ctl_audit_collect(ctl, &f, want, &doc)) != 0)
        return rc;
    if (ctl_has(a, "follow")) {
        if (!ctl->json && !ctl->quiet)
            printf("SEQ  TIME  ACTOR  ACTION  SUBJECT  DETAIL\n");
        rc = ctl_audit_follow(ctl, &f, doc);
    } else {
        ctl_output(ctl, a, doc, ctl_show_audit);
    }
    json_decref(doc);
    return rc;
}

int
ctl_audit_recent(struct ctl *ctl, const struct ctl_args *a)
{
    static const char *const names[] = {"action", "subject", "actor"};
    char q[1200] = "", path[1400], num[24];

    for (int i = 0; i < 3; i++)
        ctl_query_add(q, sizeof(q), names[i], ctl_val(a, names[i]));
    if (ctl_has(a, "before")) {
        snprintf(num, sizeof(num), "%lld", ctl_num(a, "before", 0));
        ctl_query_add(q, sizeof(q), "before", num);
    }
    if (ctl_has(a, "limit")) {
        snprintf(num, sizeof(num), "%lld", ctl_num(a, "limit", 0));
        ctl_query_add(q, sizeof(q), "limit", num);
    }
    snprintf(path, sizeof(path), "/v1/admin/audit/recent%s%s", q[0] ? "?" : "", q);
    return ctl_do(ctl, a, "GET", path, NULL, ctl_show_audit);
}

int
ctl_audit_verify(struct ctl *ctl, const struct ctl_args *a)
{
    json_t *doc = NULL;
    int ok, rc;

    (void)a;
    if ((rc = ctl_call(ctl, "GET", "/v1/admin/audit/verify", NULL, &doc)) != 0)
        return rc;
    ok = json_is_true(json_object_get(doc, "ok"));
    if (ctl->json)
        ctl_print_json(doc);
    else if (ctl->quiet)
        ;
    else if (ok)
        printf("audit trail intact: %lld records, head %s\n",
               (long long)json_integer_value(json_object_get(doc, "records")),
               json_string_value(json_object_get(doc, "head")));
    else
        printf("audit trail BROKEN at seq %lld (%lld records)\n",
               (long long)json_integer_value(json_object_get(doc, "first_bad_seq")),
               (long long)json_integer_value(json_object_get(doc, "records")));
    if (!ok)
        fprintf(stderr, "audit_broken: the hash chain breaks at seq %lld\n",
                (long long)json_integer_value(json_object_get(doc, "first_bad_seq")));
    json_decref(doc);
    return ok ? CTL_EXIT_OK : CTL_EXIT_AUDIT_BROKEN;
}
