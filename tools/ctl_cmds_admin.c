/* sitetokenctl's commands for the server itself: status, management points,
 * signing keys, the console's reads (overview, impact) and the console. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "ctl.h"
#include "ids.h"

/* Status -------------------------------------------------------------------- */

static void
ctl_show_status(const json_t *doc)
{
    static const struct ctl_col fields[] = {
        {"version", "version"},
        {"started_at", "started"},
        {"uptime_seconds", "uptime (s)"},
        {"site_code", "site code"},
        {"issuer", "issuer"},
        {"database", "database"},
        {"schema_version", "schema"},
        {"config", "config"},
        {"pid", "pid"},
        {"listeners", "listeners"},
        {"admin_socket", "admin socket"},
        {"devices", "devices"},
        {"devices_blocked", "blocked devices"},
        {"tokens_live", "live tokens"},
        {"bulk_active", "active bulk"},
        {"mps", "MPs"},
        {"active_kid", "active key"},
        {"next_rotation_at", "next rotation"},
        {NULL, NULL},
    };

    ctl_print_fields(doc, fields);
}

int
ctl_status(struct ctl *ctl, const struct ctl_args *a)
{
    json_t *doc = NULL, *summary = NULL;
    int rc;

    if ((rc = ctl_call(ctl, "GET", "/v1/admin/status", NULL, &doc)) != 0)
        return rc;
    if ((rc = ctl_call(ctl, "GET", "/v1/admin/summary", NULL, &summary)) != 0) {
        json_decref(doc);
        return rc;
    }
    json_object_update(doc, summary);
    json_decref(summary);
    ctl_output(ctl, a, doc, ctl_show_status);
    json_decref(doc);
    return 0;
}

/* MPs ----------------------------------------------------------------------- */

static void
ctl_show_mp_key(const json_t *doc)
{
    printf("MP %s (%s)\n", json_string_value(json_object_get(doc, "name")),
           json_string_value(json_object_get(doc, "id")));
    printf("API key (shown once): %s\n", json_string_value(json_object_get(doc, "api_key")));
}

int
ctl_mp_add(struct ctl *ctl, const struct ctl_args *a)
{
    const char *file = ctl_val(a, "cert");
    json_t *body, *labels;
    char pem[16384];
    size_t n;
    FILE *f;
    int rc;

    labels = ctl_pairs(a, &rc);
    if (rc != 0)
        return rc;
    body = json_pack("{s:s}", "name", a->pos);
    if (labels != NULL)
        json_object_set_new(body, "labels", labels);

    if (file != NULL) {
        if ((f = fopen(file, "r")) == NULL) {
            fprintf(stderr, "sitetokenctl: %s: %s\n", file, strerror(errno));
            json_decref(body);
            return CTL_EXIT_USAGE;
        }
        n = fread(pem, 1, sizeof(pem) - 1, f);
        fclose(f);
        pem[n] = '\0';
        if (json_object_set_new(body, "certificate", json_string(pem)) == -1) {
            fprintf(stderr, "sitetokenctl: %s: not a PEM text file\n", file);
            json_decref(body);
            return CTL_EXIT_USAGE;
        }
    }
    return ctl_do(ctl, a, "POST", "/v1/admin/mps", body, ctl_show_mp_key);
}

static void
ctl_show_mp_list(const json_t *doc)
{
    static const struct ctl_col cols[] = {{"id", "ID"},
                                          {"name", "NAME"},
                                          {"created_at", "CREATED"},
                                          {"cert_sha256", "CERTIFICATE SHA-256"},
                                          {"last_used_at", "LAST USED"}};

    ctl_print_table(json_object_get(doc, "items"), cols, 5);
}

/* The list, each MP with its last use and devices (GET /v1/admin/mps/{id}). */
int
ctl_mp_list(struct ctl *ctl, const struct ctl_args *a)
{
    json_t *doc = NULL, *row, *one;
    char path[256];
    size_t i;
    int rc;

    if ((rc = ctl_call(ctl, "GET", "/v1/admin/mps", NULL, &doc)) != 0)
        return rc;
    json_array_foreach(json_object_get(doc, "items"), i, row)
    {
        const char *id = json_string_value(json_object_get(row, "id"));

        if (ctl->quiet || id == NULL)
            break;
        ctl_path_id(path, sizeof(path), "/v1/admin/mps", id, NULL);
        if ((rc = ctl_call(ctl, "GET", path, NULL, &one)) != 0) {
            json_decref(doc);
            return rc;
        }
        json_object_update_missing(row, one);
        json_object_set(row, "last_used_at", json_object_get(one, "last_used_at"));
        json_decref(one);
    }
    ctl_output(ctl, a, doc, ctl_show_mp_list);
    json_decref(doc);
    return 0;
}

/* An MP's id from NAME|ID: an id as it is, a name looked up in the list. */
static int
ctl_mp_id(struct ctl *ctl, const char *name_or_id, char id[64])
{
    json_t *doc = NULL, *row;
    size_t i;
    int rc;

    if (ids_is_uuid(name_or_id)) {
        snprintf(id, 64, "%s", name_or_id);
        return 0;
    }
    if ((rc = ctl_call(ctl, "GET", "/v1/admin/mps", NULL, &doc)) != 0)
        return rc;
    id[0] = '\0';
    json_array_foreach(json_object_get(doc, "items"), i, row)
    {
        const char *name = json_string_value(json_object_get(row, "name"));

        if (name != NULL && strcmp(name, name_or_id) == 0)
            snprintf(id, 64, "%s", json_string_value(json_object_get(row, "id")));
    }
    json_decref(doc);
    if (id[0] == '\0') {
        fprintf(stderr, "not_found: no MP named %s\n", name_or_id);
        return CTL_EXIT_REFUSED;
    }
    return 0;
}

static void
ctl_show_removed(const json_t *doc)
{
    printf("removed %s\n", json_string_value(json_object_get(doc, "id")));
}

int
ctl_mp_remove(struct ctl *ctl, const struct ctl_args *a)
{
    char path[256], id[64];
    int rc;

    if ((rc = ctl_mp_id(ctl, a->pos, id)) != 0)
        return rc;
    if (ctl_has(a, "dry-run"))
        return ctl_dry_run(ctl, a, "mp_id", id);
    ctl_path_id(path, sizeof(path), "/v1/admin/mps", id, NULL);
    return ctl_do(ctl, a, "DELETE", path, NULL, ctl_show_removed);
}

int
ctl_mp_rotate_key(struct ctl *ctl, const struct ctl_args *a)
{
    char path[256], id[64];
    int rc;

    if ((rc = ctl_mp_id(ctl, a->pos, id)) != 0)
        return rc;
    ctl_path_id(path, sizeof(path), "/v1/admin/mps", id, "/rotate-key");
    return ctl_do(ctl, a, "POST", path, NULL, ctl_show_mp_key);
}

/* Keys ---------------------------------------------------------------------- */

static const struct ctl_col ctl_key_cols[] = {
    {"kid", "KID"},
    {"alg", "ALG"},
    {"status", "STATUS"},
    {"created_at", "CREATED"},
    {"activates_at", "ACTIVATES"},
    {"retired_at", "RETIRED"},
    {"removed_after", "REMOVED_AFTER"}, /* unpublished once nothing it signed is valid */
};

/* Why a rotation changed nothing, from the key list it answered. */
static void
ctl_explain_no_change(const json_t *doc)
{
    const json_t *row;
    size_t i;

    json_array_foreach(json_object_get(doc, "items"), i, row)
    {
        const char *status = json_string_value(json_object_get(row, "status"));

        if (status != NULL && strcmp(status, "next") == 0) {
            printf("changed: nothing: key %s is already waiting as next and activates at %s; "
                   "key rotate --now activates it at once\n",
                   json_string_value(json_object_get(row, "kid")),
                   json_string_value(json_object_get(row, "activates_at")));
            return;
        }
    }
    printf("changed: nothing: the keys are already as a rotation would leave them\n");
}

static void
ctl_show_keys(const json_t *doc)
{
    const char *changed = json_string_value(json_object_get(doc, "changed"));

    ctl_print_table(json_object_get(doc, "items"), ctl_key_cols, 7);
    if (changed != NULL && *changed != '\0')
        printf("changed: %s\n", changed);
    else if (changed != NULL)
        ctl_explain_no_change(doc);
}

int
ctl_key_list(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_do(ctl, a, "GET", "/v1/admin/keys", NULL, ctl_show_keys);
}

int
ctl_key_rotate(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_do(ctl, a, "POST", "/v1/admin/keys/rotate",
                  json_pack("{s:b}", "now", ctl_has(a, "now")), ctl_show_keys);
}

/* key taint KID, key revoke KID [--dry-run]: the key list, what changed, and
 * how many devices and live tokens the key signed for. */
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
ctl_key_change(struct ctl *ctl, const struct ctl_args *a, const char *verb)
{
    char path[256], suffix[32];

    if (strlen(a->pos) > 64 ||
        strspn(a->pos, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
            strlen(a->pos))
        return ctl_usage_error(a->cmd, "%s: not a key id", a->pos);
    if (ctl_has(a, "dry-run"))
        return ctl_dry_run(ctl, a, "kid", a->pos);
    snprintf(suffix, sizeof(suffix), "/%s", verb);
    ctl_path_id(path, sizeof(path), "/v1/admin/keys", a->pos, suffix);
    return ctl_do(ctl, a, "POST", path, NULL, ctl_show_key_change);
}

int
ctl_key_taint(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_key_change(ctl, a, "taint");
}

int
ctl_key_revoke(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_key_change(ctl, a, "revoke");
}

/* The console's reads ---------------------------------------------------------- */

int
ctl_overview(struct ctl *ctl, const struct ctl_args *a)
{
    char path[64];

    snprintf(path, sizeof(path), "/v1/admin/overview?hours=%lld", ctl_num(a, "hours", 6));
    return ctl_do(ctl, a, "GET", path, NULL, NULL);
}

int
ctl_impact(struct ctl *ctl, const struct ctl_args *a)
{
    static const char *const opts[] = {"bulk", "device", "token", "mp", "key"};
    static const char *const keys[] = {"bulk_id", "device_id", "jti", "mp_id", "kid"};
    char q[400] = "", path[512];
    int given = 0;

    for (int i = 0; i < 5; i++)
        if (ctl_has(a, opts[i])) {
            ctl_query_add(q, sizeof(q), keys[i], ctl_val(a, opts[i]));
            given++;
        }
    if (given != 1)
        return ctl_usage_error(
            a->cmd, "impact takes exactly one of --bulk, --device, --token, --mp, --key");
    snprintf(path, sizeof(path), "/v1/admin/impact?%s", q);
    return ctl_do(ctl, a, "GET", path, NULL, NULL);
}

int
ctl_ui(struct ctl *ctl, const struct ctl_args *a)
{
    return console_run(ctl->target.unix_path, a->raw_argc, a->raw_argv);
}
