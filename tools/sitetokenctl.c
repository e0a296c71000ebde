/* sitetokenctl: the administrator's tool. Each command maps to one admin route
 * on the admin Unix socket; --json prints the route's document, otherwise a
 * table for people. Exit 0 ok, 1 the server refused (its code on stderr),
 * 2 usage, 3 the server cannot be reached, 4 `audit verify` found a break. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "console.h"
#include "httpc.h"

/* The admin socket when neither -s nor SITETOKEN_ADMIN_SOCKET says: a build
 * setting (CMake SITETOKEN_ADMIN_SOCKET_DEFAULT; the Debian package's is
 * /run/sitetoken/admin.sock). */
#ifndef CTL_DEFAULT_SOCKET
#define CTL_DEFAULT_SOCKET "var/admin.sock"
#endif

/* Exit codes (docs/api.md): a cron job tells tampering from a stopped server. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_REFUSED = 1,
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_UNREACHABLE = 3,
    CTL_EXIT_AUDIT_BROKEN = 4,
};

struct ctl {
    struct httpc_target target;
    const char *socket_from; /* where target.unix_path came from, for messages */
    int json;
};

struct ctl_command {
    const char *name;
    const char *usage;
    int (*run)(struct ctl *ctl, int argc, char **argv);
};

/* Calls the admin route; on success returns 0 and the parsed document in *out;
 * on a server error prints its code and returns 1; when the server cannot be
 * reached says which socket was tried and returns 3. */
static int
ctl_call(struct ctl *ctl, const char *method, const char *path, json_t *body, json_t **out)
{
    struct httpc_response resp;
    const char *errstr = NULL;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_t *doc;
    int rc;

    rc = httpc_request(&ctl->target, method, path, NULL, text, text ? strlen(text) : 0, &resp,
                       &errstr);
    free(text);
    if (rc == -1) {
        fprintf(stderr,
                "sitetokenctl: cannot reach sitetokend at %s (%s): %s\n"
                "sitetokenctl: the admin socket is " CTL_DEFAULT_SOCKET
                " relative to the current directory; set -s or SITETOKEN_ADMIN_SOCKET\n",
                ctl->target.unix_path, ctl->socket_from, errstr);
        httpc_response_free(&resp);
        return CTL_EXIT_UNREACHABLE;
    }
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (resp.status >= 400) {
        const char *code = doc ? json_string_value(json_object_get(doc, "code")) : NULL;
        const char *detail = doc ? json_string_value(json_object_get(doc, "detail")) : NULL;

        fprintf(stderr, "%s: %s\n", code ? code : "error", detail ? detail : resp.body);
        json_decref(doc);
        httpc_response_free(&resp);
        return 1;
    }
    httpc_response_free(&resp);
    if (doc == NULL) {
        fprintf(stderr, "sitetokenctl: the server answered something that is not JSON\n");
        return 1;
    }
    *out = doc;
    return 0;
}

static void
ctl_print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

/* Prints "label   value" rows for a document, in the order of fields[]. */
static void
ctl_print_fields(const json_t *doc, const char *const fields[][2])
{
    for (size_t i = 0; fields[i][0] != NULL; i++) {
        const json_t *v = json_object_get(doc, fields[i][0]);
        char *text;

        if (v == NULL || json_is_null(v)) {
            printf("%-16s -\n", fields[i][1]);
        } else if (json_is_string(v)) {
            printf("%-16s %s\n", fields[i][1], json_string_value(v));
        } else {
            text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%-16s %s\n", fields[i][1], text ? text : "?");
            free(text);
        }
    }
}

static int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
    static const char *const fields[][2] = {
        {"version", "version"},
        {"started_at", "started"},
        {"uptime_seconds", "uptime (s)"},
        {"site_code", "site code"},
        {"issuer", "issuer"},
        {"database", "database"},
        {"schema_version", "schema"},
        {"config", "config"},
        {"pid", "pid"},
        {NULL, NULL},
    };
    json_t *doc = NULL;
    int rc;

    if (argc != 0)
        return 2;
    if ((rc = ctl_call(ctl, "GET", "/v1/admin/status", NULL, &doc)) != 0)
        return rc;
    if (ctl->json)
        ctl_print_json(doc);
    else
        ctl_print_fields(doc, fields);
    json_decref(doc);
    return 0;
}

/* Prints a list document's items as a table of the given columns. */
static void
ctl_print_table(const json_t *items, const char *const cols[][2], int ncols)
{
    size_t i;
    json_t *row;

    for (int c = 0; c < ncols; c++)
        printf("%s%s", c ? "  " : "", cols[c][1]);
    printf("\n");
    json_array_foreach(items, i, row)
    {
        for (int c = 0; c < ncols; c++) {
            const json_t *v = json_object_get(row, cols[c][0]);
            char *text = NULL;

            if (v == NULL || json_is_null(v))
                printf("%s-", c ? "  " : "");
            else if (json_is_string(v))
                printf("%s%s", c ? "  " : "", json_string_value(v));
            else if ((text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) != NULL)
                printf("%s%s", c ? "  " : "", text);
            free(text);
        }
        printf("\n");
    }
}

/* Runs one admin call and prints its document (--json) or, via show, for people. */
static int
ctl_do(struct ctl *ctl, const char *method, const char *path, json_t *body,
       void (*show)(const json_t *doc))
{
    json_t *doc = NULL;
    int rc = ctl_call(ctl, method, path, body, &doc);

    json_decref(body);
    if (rc != 0)
        return rc;
    if (ctl->json || show == NULL)
        ctl_print_json(doc);
    else
        show(doc);
    json_decref(doc);
    return 0;
}

/* Parses "--name VALUE" options of a command against a table. */
struct ctl_opt {
    const char *name;
    const char *value; /* NULL when absent; "" for a flag present */
    int flag;
};

static int
ctl_parse_opts(int argc, char **argv, struct ctl_opt *opts, int nopts, char **pos, int npos)
{
    int got = 0;

    for (int i = 0; i < argc; i++) {
        int o;

        if (strncmp(argv[i], "--", 2) != 0) {
            if (got >= npos)
                return -1;
            pos[got++] = argv[i];
            continue;
        }
        for (o = 0; o < nopts && strcmp(argv[i] + 2, opts[o].name) != 0; o++)
            ;
        if (o == nopts)
            return -1;
        if (opts[o].flag) {
            opts[o].value = "";
        } else {
            if (i + 1 >= argc)
                return -1;
            opts[o].value = argv[++i];
        }
    }
    return got == npos ? 0 : -1;
}

/* Takes every "--label KEY=VALUE" out of argv (it may repeat) into
 * *labels, a new object (NULL when none); -1 on one without '=' or a key
 * given twice. The server checks the rest. */
static int
ctl_take_labels(int *argc, char **argv, json_t **labels)
{
    int out = 0;

    *labels = NULL;
    for (int i = 0; i < *argc; i++) {
        char *eq;

        if (strcmp(argv[i], "--label") != 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc || (eq = strchr(argv[i + 1], '=')) == NULL || eq == argv[i + 1])
            goto fail;
        if (*labels == NULL)
            *labels = json_object();
        *eq = '\0';
        if (json_object_get(*labels, argv[i + 1]) != NULL ||
            json_object_set_new(*labels, argv[i + 1], json_string(eq + 1)) == -1) {
            *eq = '=';
            goto fail;
        }
        *eq = '=';
        i++;
    }
    *argc = out;
    return 0;
fail:
    json_decref(*labels);
    *labels = NULL;
    return -1;
}

static int
ctl_int_arg(const char *s, long long min, long long max, json_int_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static void
ctl_show_bulk_new(const json_t *doc)
{
    printf("Bulk token %s\n", json_string_value(json_object_get(doc, "id")));
    printf("valid until %s\n", json_string_value(json_object_get(doc, "expires_at")));
    printf("%s\n", json_string_value(json_object_get(doc, "token")));
}

static int
ctl_bulk_new(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "lifetime"},
                             {.name = "max-uses"},
                             {.name = "note"},
                             {.name = "cidr"},
                             {.name = "rate"}};
    json_t *body = json_object(), *labels = NULL;
    json_int_t v;
    char *end;

    if (ctl_take_labels(&argc, argv, &labels) == -1 ||
        ctl_parse_opts(argc, argv, opts, 5, NULL, 0) == -1)
        goto usage;
    if (opts[3].value != NULL) { /* --cidr 10.1.0.0/16,2001:db8::/32 */
        json_t *arr = json_array();
        char buf[1024], *save = NULL;

        snprintf(buf, sizeof(buf), "%s", opts[3].value);
        for (char *c = strtok_r(buf, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save))
            json_array_append_new(arr, json_string(c));
        json_object_set_new(body, "cidrs", arr);
    }
    if (opts[4].value != NULL) { /* --rate N/s (or N) */
        v = strtoll(opts[4].value, &end, 10);
        if (end == opts[4].value || (*end != '\0' && strcmp(end, "/s") != 0) || v < 1 ||
            v > 1000000)
            goto usage;
        json_object_set_new(body, "rate_per_second", json_integer(v));
    }
    if (labels != NULL)
        json_object_set_new(body, "labels", labels);
    if (opts[0].value != NULL) {
        if (ctl_int_arg(opts[0].value, 1, 1000000, &v) == -1)
            goto usage;
        json_object_set_new(body, "lifetime_minutes", json_integer(v));
    }
    if (opts[1].value != NULL) {
        if (ctl_int_arg(opts[1].value, 1, 1000000000, &v) == -1)
            goto usage;
        json_object_set_new(body, "max_uses", json_integer(v));
    }
    if (opts[2].value != NULL)
        json_object_set_new(body, "note", json_string(opts[2].value));
    return ctl_do(ctl, "POST", "/v1/admin/bulk-tokens", body, ctl_show_bulk_new);
usage:
    json_decref(body);
    return 2;
}

static void
ctl_show_mp_add(const json_t *doc)
{
    printf("MP %s (%s)\n", json_string_value(json_object_get(doc, "name")),
           json_string_value(json_object_get(doc, "id")));
    printf("API key (shown once): %s\n", json_string_value(json_object_get(doc, "api_key")));
}

/* mp add NAME [--cert FILE]: FILE is the MP's PEM client certificate,
 * sent as is; the server keeps only its SHA-256 fingerprint. */
static int
ctl_mp_add(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "cert"}};
    json_t *body, *labels = NULL;
    char *name, pem[16384];
    size_t n;
    FILE *f;

    if (ctl_take_labels(&argc, argv, &labels) == -1 ||
        ctl_parse_opts(argc, argv, opts, 1, &name, 1) == -1) {
        json_decref(labels);
        return 2;
    }
    body = json_pack("{s:s}", "name", name);
    if (labels != NULL)
        json_object_set_new(body, "labels", labels);
    if (opts[0].value != NULL) {
        if ((f = fopen(opts[0].value, "r")) == NULL) {
            fprintf(stderr, "sitetokenctl: %s: %s\n", opts[0].value, strerror(errno));
            json_decref(body);
            return 2;
        }
        n = fread(pem, 1, sizeof(pem) - 1, f);
        fclose(f);
        pem[n] = '\0';
        if (json_object_set_new(body, "certificate", json_string(pem)) == -1) {
            fprintf(stderr, "sitetokenctl: %s: not a PEM text file\n", opts[0].value);
            json_decref(body);
            return 2;
        }
    }
    return ctl_do(ctl, "POST", "/v1/admin/mps", body, ctl_show_mp_add);
}

static void
ctl_show_mp_list(const json_t *doc)
{
    static const char *const cols[][2] = {
        {"id", "ID"}, {"name", "NAME"}, {"created_at", "CREATED"}};

    ctl_print_table(json_object_get(doc, "items"), cols, 3);
}

static int
ctl_mp_list(struct ctl *ctl, int argc, char **argv)
{
    if (argc != 0)
        return 2;
    return ctl_do(ctl, "GET", "/v1/admin/mps", NULL, ctl_show_mp_list);
}

static int ctl_dry_run(struct ctl *ctl, const char *key, const char *id);

static void
ctl_show_removed(const json_t *doc)
{
    printf("removed %s\n", json_string_value(json_object_get(doc, "id")));
}

static int
ctl_mp_remove(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "dry-run", .flag = 1}};
    char path[256], *id;

    if (ctl_parse_opts(argc, argv, opts, 1, &id, 1) == -1 || strlen(id) > 64)
        return 2;
    if (opts[0].value != NULL)
        return ctl_dry_run(ctl, "mp_id", id);
    snprintf(path, sizeof(path), "/v1/admin/mps/%s", id);
    return ctl_do(ctl, "DELETE", path, NULL, ctl_show_removed);
}

static void
ctl_show_keys(const json_t *doc)
{
    static const char *const cols[][2] = {
        {"kid", "KID"},
        {"alg", "ALG"},
        {"status", "STATUS"},
        {"created_at", "CREATED"},
        {"activates_at", "ACTIVATES"},
        {"retired_at", "RETIRED"},
        {"removed_after", "REMOVED_AFTER"}, /* unpublished once nothing it signed is valid */
    };
    const char *changed = json_string_value(json_object_get(doc, "changed"));

    ctl_print_table(json_object_get(doc, "items"), cols, 7);
    if (changed != NULL)
        printf("changed: %s\n", *changed ? changed : "nothing");
}

static int
ctl_key_list(struct ctl *ctl, int argc, char **argv)
{
    if (argc != 0)
        return 2;
    return ctl_do(ctl, "GET", "/v1/admin/keys", NULL, ctl_show_keys);
}

static int
ctl_key_rotate(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "now", .flag = 1}};

    if (ctl_parse_opts(argc, argv, opts, 1, NULL, 0) == -1)
        return 2;
    return ctl_do(ctl, "POST", "/v1/admin/keys/rotate",
                  json_pack("{s:b}", "now", opts[0].value != NULL), ctl_show_keys);
}

/* key taint KID, key revoke KID [--dry-run]: the answer is the key list,
 * what changed, and how many devices and live tokens the key signed for. */
static void
ctl_show_key_change(const json_t *doc)
{
    ctl_show_keys(doc);
    printf("key %s signed live tokens: %lld device(s), %lld token(s)\n",
           json_string_value(json_object_get(doc, "kid")),
           (long long)json_integer_value(json_object_get(doc, "devices")),
           (long long)json_integer_value(json_object_get(doc, "live_tokens")));
}

static int
ctl_key_change(struct ctl *ctl, int argc, char **argv, const char *verb)
{
    struct ctl_opt opts[] = {{.name = "dry-run", .flag = 1}};
    char path[256], *id;

    if (ctl_parse_opts(argc, argv, opts, 1, &id, 1) == -1 || strlen(id) > 64 ||
        strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            strlen(id))
        return 2;
    if (opts[0].value != NULL)
        return ctl_dry_run(ctl, "kid", id);
    snprintf(path, sizeof(path), "/v1/admin/keys/%s/%s", id, verb);
    return ctl_do(ctl, "POST", path, NULL, ctl_show_key_change);
}

static int
ctl_key_taint(struct ctl *ctl, int argc, char **argv)
{
    return ctl_key_change(ctl, argc, argv, "taint");
}

static int
ctl_key_revoke(struct ctl *ctl, int argc, char **argv)
{
    return ctl_key_change(ctl, argc, argv, "revoke");
}

/* Percent-encodes s for a path segment or a query value. */
static void
ctl_urlenc(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (; *s != '\0' && o + 4 < n; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* Appends "&name=value" (value encoded) to a query being built in q. */
static void
ctl_query_add(char *q, size_t n, const char *name, const char *value)
{
    char enc[800];
    size_t len = strlen(q);

    if (value == NULL)
        return;
    ctl_urlenc(value, enc, sizeof(enc));
    if (len >= n)
        return;
    int w = snprintf(q + len, n - len, "%s%s=%s", len ? "&" : "", name, enc);
    if (w < 0 || (size_t)w >= n - len)
        q[len] = '\0'; /* never send a cut-off parameter */
}

/* A paged list: GET base?query[&after=..&limit=..]; with --all every page,
 * merged into one document whose next is null. */
static int
ctl_list(struct ctl *ctl, const char *base, const char *query, const char *after, const char *limit,
         int all, void (*show)(const json_t *doc))
{
    json_t *merged = NULL, *doc = NULL;
    char cursor[128], path[2048], q[1600];
    json_int_t v;

    if (limit != NULL && ctl_int_arg(limit, 1, 1000, &v) == -1)
        return 2;
    if (after != NULL && strlen(after) >= sizeof(cursor))
        return 2;
    snprintf(cursor, sizeof(cursor), "%s", after != NULL ? after : "");
    for (;;) {
        const char *next;
        int rc;

        snprintf(q, sizeof(q), "%s", query);
        ctl_query_add(q, sizeof(q), "after", cursor[0] ? cursor : NULL);
        ctl_query_add(q, sizeof(q), "limit", limit);
        snprintf(path, sizeof(path), "%s%s%s", base, q[0] ? "?" : "", q);
        if ((rc = ctl_call(ctl, "GET", path, NULL, &doc)) != 0) {
            json_decref(merged);
            return rc;
        }
        if (merged == NULL)
            merged = doc;
        else {
            json_array_extend(json_object_get(merged, "items"), json_object_get(doc, "items"));
            json_object_set(merged, "next", json_object_get(doc, "next"));
            json_decref(doc);
        }
        next = json_string_value(json_object_get(merged, "next"));
        if (!all || next == NULL || strlen(next) >= sizeof(cursor))
            break;
        snprintf(cursor, sizeof(cursor), "%s", next);
    }
    if (ctl->json || show == NULL)
        ctl_print_json(merged);
    else
        show(merged);
    json_decref(merged);
    return 0;
}

static void
ctl_print_next(const json_t *doc)
{
    const char *next = json_string_value(json_object_get(doc, "next"));

    if (next != NULL)
        printf("(more: --after %s)\n", next);
}

static void
ctl_show_bulk_list(const json_t *doc)
{
    static const char *const cols[][2] = {
        {"id", "ID"},
        {"status", "STATUS"},
        {"uses", "USES"},
        {"max_uses", "MAX"},
        {"created_at", "CREATED"},
        {"expires_at", "EXPIRES"},
        {"last_used_at", "LAST USED"},
        {"note", "NOTE"},
    };

    ctl_print_table(json_object_get(doc, "items"), cols, 8);
    ctl_print_next(doc);
}

static int
ctl_bulk_list(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "after"}, {.name = "limit"}, {.name = "all", .flag = 1}};

    if (ctl_parse_opts(argc, argv, opts, 3, NULL, 0) == -1)
        return 2;
    return ctl_list(ctl, "/v1/admin/bulk-tokens", "", opts[0].value, opts[1].value,
                    opts[2].value != NULL, ctl_show_bulk_list);
}

static void
ctl_show_changed(const json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *jti = json_string_value(json_object_get(doc, "jti"));
    const json_t *serial = json_object_get(doc, "serial");

    printf("%s %s", id != NULL ? id : jti, json_string_value(json_object_get(doc, "status")));
    if (json_is_integer(serial))
        printf(" (revocation serial %lld)", (long long)json_integer_value(serial));
    printf("\n");
}

/* --dry-run: what the change would affect, from GET /v1/admin/impact (the
 * console's numbers), and nothing changed. */
static void
ctl_show_impact(const json_t *doc)
{
    printf("dry run: nothing changed\nwould affect %lld device(s), %lld live token(s)\n%s\n",
           (long long)json_integer_value(json_object_get(doc, "devices")),
           (long long)json_integer_value(json_object_get(doc, "live_tokens")),
           json_string_value(json_object_get(doc, "effect")));
}

static int
ctl_dry_run(struct ctl *ctl, const char *key, const char *id)
{
    char q[300] = "", path[400];

    ctl_query_add(q, sizeof(q), key, id);
    snprintf(path, sizeof(path), "/v1/admin/impact?%s", q);
    return ctl_do(ctl, "GET", path, NULL, ctl_show_impact);
}

/* POST base/ID/verb with an optional --reason and, where impact_key names
 * the impact query, --dry-run. */
static int
ctl_change_dry(struct ctl *ctl, int argc, char **argv, const char *base, const char *verb,
               int takes_reason, const char *impact_key)
{
    struct ctl_opt opts[] = {{.name = "dry-run", .flag = 1}, {.name = "reason"}};
    char path[512], enc[300], *id;
    json_t *body = NULL;

    if (ctl_parse_opts(argc, argv, opts, impact_key != NULL ? 1 + (takes_reason != 0) : 0, &id,
                       1) == -1 ||
        strlen(id) > 64)
        return 2;
    if (opts[0].value != NULL)
        return ctl_dry_run(ctl, impact_key, id);
    ctl_urlenc(id, enc, sizeof(enc));
    snprintf(path, sizeof(path), "%s/%s/%s", base, enc, verb);
    if (opts[1].value != NULL)
        body = json_pack("{s:s}", "reason", opts[1].value);
    return ctl_do(ctl, "POST", path, body, ctl_show_changed);
}

static int
ctl_change(struct ctl *ctl, int argc, char **argv, const char *base, const char *verb,
           int takes_reason)
{
    struct ctl_opt opts[] = {{.name = "reason"}};
    char path[512], enc[300], *id;
    json_t *body = NULL;

    if (ctl_parse_opts(argc, argv, opts, takes_reason ? 1 : 0, &id, 1) == -1 || strlen(id) > 64)
        return 2;
    ctl_urlenc(id, enc, sizeof(enc));
    snprintf(path, sizeof(path), "%s/%s/%s", base, enc, verb);
    if (opts[0].value != NULL)
        body = json_pack("{s:s}", "reason", opts[0].value);
    return ctl_do(ctl, "POST", path, body, ctl_show_changed);
}

static int
ctl_bulk_block(struct ctl *ctl, int argc, char **argv)
{
    return ctl_change_dry(ctl, argc, argv, "/v1/admin/bulk-tokens", "block", 1, "bulk_id");
}

static int
ctl_bulk_unblock(struct ctl *ctl, int argc, char **argv)
{
    return ctl_change(ctl, argc, argv, "/v1/admin/bulk-tokens", "unblock", 0);
}

static void
ctl_show_device_list(const json_t *doc)
{
    static const char *const cols[][2] = {
        {"id", "ID"},     {"status", "STATUS"},          {"reg", "REG"},
        {"name", "NAME"}, {"last_seen_at", "LAST SEEN"}, {"jkt", "KEY"},
    };

    ctl_print_table(json_object_get(doc, "items"), cols, 6);
    ctl_print_next(doc);
}

static int
ctl_device_list(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "status"}, {.name = "name"},           {.name = "after"},
                             {.name = "limit"},  {.name = "all", .flag = 1}, {.name = "label"}};
    char q[800] = "";

    if (ctl_parse_opts(argc, argv, opts, 6, NULL, 0) == -1)
        return 2;
    if (opts[5].value != NULL && strlen(opts[5].value) > 129)
        return 2;
    ctl_query_add(q, sizeof(q), "label", opts[5].value);
    if (opts[0].value != NULL && strcmp(opts[0].value, "active") != 0 &&
        strcmp(opts[0].value, "blocked") != 0)
        return 2;
    if (opts[1].value != NULL && strlen(opts[1].value) > 256)
        return 2;
    ctl_query_add(q, sizeof(q), "status", opts[0].value);
    ctl_query_add(q, sizeof(q), "name", opts[1].value);
    return ctl_list(ctl, "/v1/admin/devices", q, opts[2].value, opts[3].value,
                    opts[4].value != NULL, ctl_show_device_list);
}

static const char *const ctl_token_cols[][2] = {
    {"jti", "JTI"},          {"kind", "KIND"},          {"status", "STATUS"},    {"gen", "GEN"},
    {"issued_at", "ISSUED"}, {"expires_at", "EXPIRES"}, {"device_id", "DEVICE"},
};

static void
ctl_show_device(const json_t *doc)
{
    static const char *const fields[][2] = {
        {"id", "device"},
        {"name", "name"},
        {"hardware_id", "hardware id"},
        {"status", "status"},
        {"reg", "registration"},
        {"bulk_id", "bulk token"},
        {"mp_id", "MP"},
        {"jkt", "key thumbprint"},
        {"created_at", "created"},
        {"last_seen_at", "last seen"},
        {NULL, NULL},
    };
    const char *more = json_string_value(json_object_get(doc, "tokens_next"));

    ctl_print_fields(doc, fields);
    printf("\n");
    ctl_print_table(json_object_get(doc, "tokens"), ctl_token_cols, 6);
    if (more != NULL)
        printf("(more: token list --device %s --after %s)\n",
               json_string_value(json_object_get(doc, "id")), more);
}

static int
ctl_device_show(struct ctl *ctl, int argc, char **argv)
{
    char path[512], enc[300], *id;

    if (ctl_parse_opts(argc, argv, NULL, 0, &id, 1) == -1 || strlen(id) > 64)
        return 2;
    ctl_urlenc(id, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/v1/admin/devices/%s", enc);
    return ctl_do(ctl, "GET", path, NULL, ctl_show_device);
}

static int
ctl_device_block(struct ctl *ctl, int argc, char **argv)
{
    return ctl_change_dry(ctl, argc, argv, "/v1/admin/devices", "block", 1, "device_id");
}

static int
ctl_device_unblock(struct ctl *ctl, int argc, char **argv)
{
    return ctl_change(ctl, argc, argv, "/v1/admin/devices", "unblock", 0);
}

static void
ctl_show_token_list(const json_t *doc)
{
    ctl_print_table(json_object_get(doc, "items"), ctl_token_cols, 7);
    ctl_print_next(doc);
}

static int
ctl_token_list(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {
        {.name = "device"}, {.name = "after"}, {.name = "limit"}, {.name = "all", .flag = 1}};
    char q[300] = "";

    if (ctl_parse_opts(argc, argv, opts, 4, NULL, 0) == -1 ||
        (opts[0].value != NULL && strlen(opts[0].value) > 64))
        return 2;
    ctl_query_add(q, sizeof(q), "device_id", opts[0].value);
    return ctl_list(ctl, "/v1/admin/tokens", q, opts[1].value, opts[2].value, opts[3].value != NULL,
                    ctl_show_token_list);
}

static int
ctl_token_revoke(struct ctl *ctl, int argc, char **argv)
{
    return ctl_change_dry(ctl, argc, argv, "/v1/admin/tokens", "revoke", 1, "jti");
}

static void
ctl_show_audit(const json_t *doc)
{
    static const char *const cols[][2] = {
        {"seq", "SEQ"},       {"time", "TIME"},       {"actor", "ACTOR"},
        {"action", "ACTION"}, {"subject", "SUBJECT"}, {"detail", "DETAIL"},
    };

    ctl_print_table(json_object_get(doc, "items"), cols, 6);
    ctl_print_next(doc);
}

static int
ctl_audit(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "after"}, {.name = "limit"}, {.name = "all", .flag = 1}};
    json_int_t v;

    if (ctl_parse_opts(argc, argv, opts, 3, NULL, 0) == -1 ||
        (opts[0].value != NULL && ctl_int_arg(opts[0].value, 0, INT64_MAX, &v) == -1))
        return 2;
    return ctl_list(ctl, "/v1/admin/audit", "", opts[0].value, opts[1].value, opts[2].value != NULL,
                    ctl_show_audit);
}

/* Exit 4 (and a code on stderr) when the chain is broken, also with --json. */
static int
ctl_audit_verify(struct ctl *ctl, int argc, char **argv)
{
    json_t *doc = NULL;
    int ok, rc;

    if (argc != 0)
        return 2;
    if ((rc = ctl_call(ctl, "GET", "/v1/admin/audit/verify", NULL, &doc)) != 0)
        return rc;
    ok = json_is_true(json_object_get(doc, "ok"));
    if (ctl->json)
        ctl_print_json(doc);
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

/* The console's reads (server/admin_stats.c), printed as their JSON. */
static int
ctl_overview(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "hours"}};
    char path[64];
    json_int_t h = 6;

    if (ctl_parse_opts(argc, argv, opts, 1, NULL, 0) == -1 ||
        (opts[0].value != NULL && ctl_int_arg(opts[0].value, 1, 24, &h) == -1))
        return 2;
    snprintf(path, sizeof(path), "/v1/admin/overview?hours=%lld", (long long)h);
    return ctl_do(ctl, "GET", path, NULL, NULL);
}

static int
ctl_device_search(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {
        {.name = "by"}, {.name = "after"}, {.name = "limit"}, {.name = "all", .flag = 1}};
    char q[800] = "", *prefix;

    if (ctl_parse_opts(argc, argv, opts, 4, &prefix, 1) == -1 || strlen(prefix) > 256)
        return 2;
    ctl_query_add(q, sizeof(q), "by", opts[0].value != NULL ? opts[0].value : "name");
    ctl_query_add(q, sizeof(q), "q", prefix);
    return ctl_list(ctl, "/v1/admin/search/devices", q, opts[1].value, opts[2].value,
                    opts[3].value != NULL, ctl_show_device_list);
}

static int
ctl_audit_recent(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {{.name = "action"},
                             {.name = "subject"},
                             {.name = "actor"},
                             {.name = "before"},
                             {.name = "limit"}};
    char q[1200] = "", path[1400];

    if (ctl_parse_opts(argc, argv, opts, 5, NULL, 0) == -1)
        return 2;
    for (int i = 0; i < 5; i++)
        if (opts[i].value != NULL && strlen(opts[i].value) > 128)
            return 2;
    for (int i = 0; i < 5; i++)
        ctl_query_add(q, sizeof(q), opts[i].name, opts[i].value);
    snprintf(path, sizeof(path), "/v1/admin/audit/recent%s%s", q[0] ? "?" : "", q);
    return ctl_do(ctl, "GET", path, NULL, ctl_show_audit);
}

static int
ctl_impact(struct ctl *ctl, int argc, char **argv)
{
    struct ctl_opt opts[] = {
        {.name = "bulk"}, {.name = "device"}, {.name = "token"}, {.name = "mp"}, {.name = "key"}};
    static const char *const keys[] = {"bulk_id", "device_id", "jti", "mp_id", "kid"};
    char q[400] = "", path[512];

    if (ctl_parse_opts(argc, argv, opts, 5, NULL, 0) == -1)
        return 2;
    for (int i = 0; i < 5; i++)
        if (opts[i].value != NULL && strlen(opts[i].value) <= 64)
            ctl_query_add(q, sizeof(q), keys[i], opts[i].value);
    snprintf(path, sizeof(path), "/v1/admin/impact?%s", q);
    return ctl_do(ctl, "GET", path, NULL, NULL);
}

static int
ctl_ui(struct ctl *ctl, int argc, char **argv)
{
    return console_run(ctl->target.unix_path, argc, argv);
}

static const struct ctl_command ctl_commands[] = {
    {.name = "status", .usage = "status", .run = ctl_status},
    {.name = "bulk new",
     .usage = "bulk new [--lifetime MIN] [--max-uses N] [--note TEXT] [--label KEY=VALUE ...] "
              "[--cidr RANGE,...] [--rate N/s]",
     .run = ctl_bulk_new},
    {.name = "bulk list",
     .usage = "bulk list [--after ID] [--limit N] [--all]",
     .run = ctl_bulk_list},
    {.name = "bulk block",
     .usage = "bulk block ID [--reason TEXT] [--dry-run]",
     .run = ctl_bulk_block},
    {.name = "bulk unblock", .usage = "bulk unblock ID", .run = ctl_bulk_unblock},
    {.name = "device list",
     .usage = "device list [--status active|blocked] [--name PREFIX] [--label KEY=VALUE] "
              "[--after ID] [--limit N] [--all]",
     .run = ctl_device_list},
    {.name = "device show", .usage = "device show ID", .run = ctl_device_show},
    {.name = "device block",
     .usage = "device block ID [--reason TEXT] [--dry-run]",
     .run = ctl_device_block},
    {.name = "device unblock", .usage = "device unblock ID", .run = ctl_device_unblock},
    {.name = "token list",
     .usage = "token list [--device ID] [--after JTI] [--limit N] [--all]",
     .run = ctl_token_list},
    {.name = "token revoke",
     .usage = "token revoke JTI [--reason TEXT] [--dry-run]",
     .run = ctl_token_revoke},
    {.name = "mp add",
     .usage = "mp add NAME [--cert FILE] [--label KEY=VALUE ...]",
     .run = ctl_mp_add},
    {.name = "mp list", .usage = "mp list", .run = ctl_mp_list},
    {.name = "mp remove", .usage = "mp remove ID [--dry-run]", .run = ctl_mp_remove},
    {.name = "key list", .usage = "key list", .run = ctl_key_list},
    {.name = "key rotate", .usage = "key rotate [--now]", .run = ctl_key_rotate},
    {.name = "key taint", .usage = "key taint KID [--dry-run]", .run = ctl_key_taint},
    {.name = "key revoke", .usage = "key revoke KID [--dry-run]", .run = ctl_key_revoke},
    /* "audit verify" and "audit recent" before "audit": the first match wins */
    {.name = "audit recent",
     .usage = "audit recent [--action A] [--subject S] [--actor X] [--before SEQ] [--limit N]",
     .run = ctl_audit_recent},
    {.name = "audit verify", .usage = "audit verify", .run = ctl_audit_verify},
    {.name = "audit", .usage = "audit [--after SEQ] [--limit N] [--all]", .run = ctl_audit},
    {.name = "overview", .usage = "overview [--hours N]", .run = ctl_overview},
    {.name = "device search",
     .usage = "device search PREFIX [--by name|hardware_id|id] [--after ID] [--limit N] [--all]",
     .run = ctl_device_search},
    {.name = "impact",
     .usage = "impact --bulk ID | --device ID | --token JTI | --mp ID | --key KID",
     .run = ctl_impact},
    {.name = "ui", .usage = "ui [--port N] [--session-idle SECONDS]", .run = ctl_ui},
};

static void
ctl_usage(FILE *out)
{
    fprintf(out, "usage: sitetokenctl [-s SOCKET] [--timeout SECONDS] [--json] COMMAND ...\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
        fprintf(out, "  %s\n", ctl_commands[i].usage);
}

/* mdoc for one usage line: words as Cm, NAMEs as Ar, --opts as Fl, [...] as Oo/Oc. */
static void
ctl_man_usage(FILE *out, const char *usage)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", usage);
    for (char *w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        size_t n;
        int close = 0;

        if (*w == '[') {
            fputs(" Oo", out);
            w++;
        }
        n = strlen(w);
        if (n > 0 && w[n - 1] == ']') {
            w[--n] = '\0';
            close = 1;
        }
        if (strcmp(w, "|") == 0)
            fputs(" |", out); /* a delimiter: it closes the macro before it */
        else if (strncmp(w, "--", 2) == 0)
            fprintf(out, " Fl \\-%s", w + 2);
        else if (*w >= 'A' && *w <= 'Z')
            fprintf(out, " Ar %s", w);
        else
            fprintf(out, " Cm %s", w);
        if (close)
            fputs(" Oc", out);
    }
    fputc('\n', out);
}

/* sitetokenctl(8), generated at build time from the command table. */
static void
ctl_man(FILE *out)
{
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    time_t now = epoch != NULL ? (time_t)strtoll(epoch, NULL, 10) : time(NULL);
    char date[64];

    strftime(date, sizeof(date), "%B %e, %Y", gmtime(&now));
    fprintf(out,
            ".\\\" Generated by sitetokenctl --man from its command table; do not edit.\n"
            ".Dd %s\n.Dt SITETOKENCTL 8\n.Os sitetoken %s\n.Sh NAME\n.Nm sitetokenctl\n"
            ".Nd administer a sitetoken site token authority\n.Sh SYNOPSIS\n.Nm\n"
            ".Op Fl s Ar socket\n.Op Fl \\-json\n.Ar command\n.Op Ar argument ...\n"
            ".Nm\n.Fl \\-version | Fl h\n.Sh DESCRIPTION\n.Nm\n"
            "drives a running\n.Xr sitetokend 8\nover its admin Unix socket: each command "
            "maps to one admin route of the HTTP API.\nWithout\n.Fl \\-json\n"
            "it prints tables for people; with it, the route's JSON document and nothing "
            "else.\n.Pp\nThe options are:\n.Bl -tag -width Ds\n.It Fl s Ar socket , "
            "Fl \\-socket Ar socket\nthe admin socket (default\n.Pa %s ,\n"
            "or\n.Ev SITETOKEN_ADMIN_SOCKET ) .\n.It Fl \\-json\n"
            "print the server's JSON document.\n.It Fl \\-version\n"
            "print the version and exit.\n.It Fl h , Fl \\-help\n"
            "print the usage and exit.\n.El\n.Sh COMMANDS\n.Bl -tag -width Ds\n",
            date, SITETOKEN_VERSION, CTL_DEFAULT_SOCKET);
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
        fputs(".It", out);
        ctl_man_usage(out, ctl_commands[i].usage);
    }
    fprintf(out,
            ".El\n.Sh ENVIRONMENT\n.Bl -tag -width Ds\n.It Ev SITETOKEN_ADMIN_SOCKET\n"
            "the admin socket when\n.Fl s\nis not given.\n.El\n.Sh FILES\n.Bl -tag -width Ds\n"
            ".It Pa %s\nthe default admin socket; its mode is 0600, or 0660 for the group "
            "named by\n.Cm admin_socket_group\nin\n.Xr sitetokend.yaml 5 .\n.El\n"
            ".Sh EXIT STATUS\n.Bl -tag -width Ds -compact\n.It 0\nsuccess\n.It 1\n"
            "the server refused (its error code on standard error)\n.It 2\na usage error\n"
            ".It 3\nthe server could not be reached (the message names the socket tried)\n"
            ".It 4\n.Cm audit verify\nfound a break in the audit chain\n.El\n.Sh EXAMPLES\nA bulk "
            "registration token "
            "for 100 devices:\n.Bd -literal -offset indent\n"
            "sitetokenctl bulk new \\-\\-max\\-uses 100 \\-\\-note \"lab 4\"\n.Ed\n"
            ".Sh SEE ALSO\n.Xr sitetokend.yaml 5 ,\n.Xr sitetoken-gateway 8 ,\n"
            ".Xr sitetokend 8\n",
            CTL_DEFAULT_SOCKET);
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"man", no_argument, NULL, 'M'}, /* hidden: sitetokenctl(8) for the build */
        {NULL, 0, NULL, 0},
    };
    struct ctl ctl = {
        .target = {.unix_path = CTL_DEFAULT_SOCKET, .timeout_ms = HTTPC_DEFAULT_TIMEOUT_MS},
        .socket_from = "the default"};
    const char *env_socket = getenv("SITETOKEN_ADMIN_SOCKET");
    char *end;
    double secs;
    int ch;

    if (env_socket != NULL && *env_socket != '\0') {
        ctl.target.unix_path = env_socket;
        ctl.socket_from = "from SITETOKEN_ADMIN_SOCKET";
    }
    while ((ch = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            ctl.target.unix_path = optarg;
            ctl.socket_from = "from -s";
            break;
        case 'T':
            secs = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(secs >= 0.001 && secs <= 86400)) {
                fprintf(stderr, "sitetokenctl: --timeout takes seconds, 0.001 to 86400\n");
                return 2;
            }
            ctl.target.timeout_ms = (long)(secs * 1000 + 0.5);
            break;
        case 'j':
            ctl.json = 1;
            break;
        case 'h':
            ctl_usage(stdout);
            return 0;
        case 'V':
            printf("sitetokenctl %s\n", SITETOKEN_VERSION);
            return 0;
        case 'M':
            ctl_man(stdout);
            return 0;
        default:
            ctl_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        ctl_usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
        const char *name = ctl_commands[i].name, *sp = strchr(name, ' ');
        int words = sp != NULL ? 2 : 1;

        if (optind + words > argc)
            continue;
        if (sp != NULL ? (strncmp(argv[optind], name, (size_t)(sp - name)) != 0 ||
                          argv[optind][sp - name] != '\0' || strcmp(argv[optind + 1], sp + 1) != 0)
                       : strcmp(argv[optind], name) != 0)
            continue;
        {
            int rc = ctl_commands[i].run(&ctl, argc - optind - words, argv + optind + words);

            if (rc == 2)
                fprintf(stderr, "usage: sitetokenctl [-s SOCKET] [--json] %s\n",
                        ctl_commands[i].usage);
            return rc;
        }
    }
    fprintf(stderr, "sitetokenctl: unknown command %s\n", argv[optind]);
    ctl_usage(stderr);
    return 2;
}
