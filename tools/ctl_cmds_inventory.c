/* sitetokenctl's inventory commands: bulk tokens, devices and issued tokens
 * (lists, show, block and unblock, revoke). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const struct ctl_col ctl_token_cols[] = {
    {"jti", "JTI"},          {"kind", "KIND"},          {"status", "STATUS"},    {"gen", "GEN"},
    {"issued_at", "ISSUED"}, {"expires_at", "EXPIRES"}, {"device_id", "DEVICE"},
};

static const struct ctl_col ctl_device_cols[] = {
    {"id", "ID"},     {"status", "STATUS"},          {"reg", "REG"},
    {"name", "NAME"}, {"last_seen_at", "LAST SEEN"}, {"jkt", "KEY"},
};

/* Bulk tokens --------------------------------------------------------------- */

static void
ctl_show_bulk_new(const json_t *doc)
{
    printf("Bulk token %s\n", json_string_value(json_object_get(doc, "id")));
    printf("valid until %s\n", json_string_value(json_object_get(doc, "expires_at")));
    printf("%s\n", json_string_value(json_object_get(doc, "token")));
}

/* "a,b" -> ["a", "b"]; the server checks each range. */
static json_t *
ctl_split_list(const char *list)
{
    json_t *arr = json_array();

    for (const char *p = list; arr != NULL && *p != '\0';) {
        size_t n = strcspn(p, ",");

        if (n > 0)
            json_array_append_new(arr, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return arr;
}

int
ctl_bulk_new(struct ctl *ctl, const struct ctl_args *a)
{
    json_t *body, *labels, *allow = NULL;
    int rc;

    labels = ctl_pairs(a, &rc);
    if (rc != 0)
        return rc;
    if (ctl_has(a, "allow-file") &&
        (rc = ctl_allow_read(a, ctl_val(a, "allow-file"), &allow)) != 0) {
        json_decref(labels);
        return rc;
    }
    body = json_object();
    if (labels != NULL)
        json_object_set_new(body, "labels", labels);
    if (ctl_has(a, "cidr"))
        json_object_set_new(body, "cidrs", ctl_split_list(ctl_val(a, "cidr")));
    if (ctl_has(a, "rate"))
        json_object_set_new(body, "rate_per_second", json_integer(ctl_num(a, "rate", 0)));
    if (ctl_has(a, "lifetime"))
        json_object_set_new(body, "lifetime_minutes", json_integer(ctl_num(a, "lifetime", 0) / 60));
    if (ctl_has(a, "max-uses"))
        json_object_set_new(body, "max_uses", json_integer(ctl_num(a, "max-uses", 0)));
    if (ctl_has(a, "note"))
        json_object_set_new(body, "note", json_string(ctl_val(a, "note")));
    if (allow != NULL)
        return ctl_bulk_new_allow(ctl, a, body, allow, ctl_show_bulk_new);
    return ctl_do(ctl, a, "POST", "/v1/admin/bulk-tokens", body, ctl_show_bulk_new);
}

static const struct ctl_col ctl_bulk_cols[] = {
    {"id", "ID"},
    {"status", "STATUS"},
    {"uses", "USES"},
    {"max_uses", "MAX"},
    {"created_at", "CREATED"},
    {"expires_at", "EXPIRES"},
    {"last_used_at", "LAST USED"},
    {"note", "NOTE"},
};

static void
ctl_show_bulk_list(const json_t *doc)
{
    ctl_print_table(json_object_get(doc, "items"), ctl_bulk_cols, 8);
    ctl_print_next(doc);
}

int
ctl_bulk_list(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_list(ctl, a, "/v1/admin/bulk-tokens", "", ctl_show_bulk_list);
}

static void
ctl_show_bulk(const json_t *doc)
{
    static const struct ctl_col fields[] = {
        {"id", "bulk token"},
        {"status", "status"},
        {"uses", "uses"},
        {"max_uses", "max uses"},
        {"created_at", "created"},
        {"not_before", "not before"},
        {"expires_at", "expires"},
        {"last_used_at", "last used"},
        {"note", "note"},
        {"created_by", "created by"},
        {NULL, NULL},
    };
    const char *more = json_string_value(json_object_get(doc, "devices_next"));

    static const struct ctl_col allow_cols[] = {{"hardware_id", "HARDWARE ID"},
                                                {"used", "USED"},
                                                {"device_id", "DEVICE"},
                                                {"used_at", "AT"}};
    const json_t *total = json_object_get(doc, "allow_total");

    ctl_print_fields(doc, fields);
    printf("\ndevices enrolled with it:\n");
    ctl_print_table(json_object_get(doc, "devices"), ctl_device_cols, 6);
    if (more != NULL)
        printf("(more: the first %zu shown)\n", json_array_size(json_object_get(doc, "devices")));
    if (!json_is_integer(total))
        return;
    printf("\nallow-list: %lld hardware ids, %lld used\n", (long long)json_integer_value(total),
           (long long)json_integer_value(json_object_get(doc, "allow_used")));
    ctl_print_table(json_object_get(doc, "allow"), allow_cols, 4);
    if (json_is_string(json_object_get(doc, "allow_next")))
        printf("(more: GET /v1/admin/bulk-tokens/%s/allow?after=%s)\n",
               json_string_value(json_object_get(doc, "id")),
               json_string_value(json_object_get(doc, "allow_next")));
}

int
ctl_bulk_show(struct ctl *ctl, const struct ctl_args *a)
{
    char path[512];

    ctl_path_id(path, sizeof(path), "/v1/admin/bulk-tokens", a->pos, NULL);
    return ctl_do(ctl, a, "GET", path, NULL, ctl_show_bulk);
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

/* POST base/ID/verb with an optional --reason; --dry-run asks impact_key. */
static int
ctl_change(struct ctl *ctl, const struct ctl_args *a, const char *base, const char *verb,
           const char *impact_key)
{
    char path[512], suffix[32];
    json_t *body = NULL;

    if (impact_key != NULL && ctl_has(a, "dry-run"))
        return ctl_dry_run(ctl, a, impact_key, a->pos);
    snprintf(suffix, sizeof(suffix), "/%s", verb);
    ctl_path_id(path, sizeof(path), base, a->pos, suffix);
    if (ctl_has(a, "reason"))
        body = json_pack("{s:s}", "reason", ctl_val(a, "reason"));
    return ctl_do(ctl, a, "POST", path, body, ctl_show_changed);
}

int
ctl_bulk_block(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_change(ctl, a, "/v1/admin/bulk-tokens", "block", "bulk_id");
}

int
ctl_bulk_unblock(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_change(ctl, a, "/v1/admin/bulk-tokens", "unblock", NULL);
}

/* Devices ------------------------------------------------------------------- */

static void
ctl_show_device_list(const json_t *doc)
{
    ctl_print_table(json_object_get(doc, "items"), ctl_device_cols, 6);
    ctl_print_next(doc);
}

int
ctl_device_list(struct ctl *ctl, const struct ctl_args *a)
{
    char q[800] = "";

    if (ctl_has(a, "hardware-id")) {
        /* the search route's hardware id index answers this one */
        if (ctl_has(a, "status") || ctl_has(a, "name"))
            return ctl_usage_error(a->cmd, "--hardware-id goes with neither --status nor --name");
        ctl_query_add(q, sizeof(q), "by", "hardware_id");
        ctl_query_add(q, sizeof(q), "q", ctl_val(a, "hardware-id"));
        return ctl_list(ctl, a, "/v1/admin/search/devices", q, ctl_show_device_list);
    }
    if (ctl_has(a, "label") && (ctl_has(a, "status") || ctl_has(a, "name")))
        return ctl_usage_error(a->cmd, "--label goes with neither --status nor --name");
    ctl_query_add(q, sizeof(q), "label", ctl_val(a, "label"));
    ctl_query_add(q, sizeof(q), "status", ctl_val(a, "status"));
    ctl_query_add(q, sizeof(q), "name", ctl_val(a, "name"));
    return ctl_list(ctl, a, "/v1/admin/devices", q, ctl_show_device_list);
}

int
ctl_device_search(struct ctl *ctl, const struct ctl_args *a)
{
    char q[800] = "";

    ctl_query_add(q, sizeof(q), "by", ctl_has(a, "by") ? ctl_val(a, "by") : "name");
    ctl_query_add(q, sizeof(q), "q", a->pos);
    return ctl_list(ctl, a, "/v1/admin/search/devices", q, ctl_show_device_list);
}

static void
ctl_show_device(const json_t *doc)
{
    static const struct ctl_col fields[] = {
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

int
ctl_device_show(struct ctl *ctl, const struct ctl_args *a)
{
    char path[512];

    ctl_path_id(path, sizeof(path), "/v1/admin/devices", a->pos, NULL);
    return ctl_do(ctl, a, "GET", path, NULL, ctl_show_device);
}

int
ctl_device_block(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_change(ctl, a, "/v1/admin/devices", "block", "device_id");
}

int
ctl_device_unblock(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_change(ctl, a, "/v1/admin/devices", "unblock", NULL);
}

/* Tokens -------------------------------------------------------------------- */

static void
ctl_show_token_list(const json_t *doc)
{
    ctl_print_table(json_object_get(doc, "items"), ctl_token_cols, 7);
    ctl_print_next(doc);
}

int
ctl_token_list(struct ctl *ctl, const struct ctl_args *a)
{
    char q[300] = "";

    ctl_query_add(q, sizeof(q), "device_id", ctl_val(a, "device"));
    return ctl_list(ctl, a, "/v1/admin/tokens", q, ctl_show_token_list);
}

static void
ctl_show_token(const json_t *doc)
{
    static const struct ctl_col fields[] = {
        {"jti", "token"},          {"kind", "kind"},          {"status", "status"},
        {"device_id", "device"},   {"gen", "generation"},     {"family", "family"},
        {"prev_jti", "renews"},    {"kid", "signing key"},    {"issued_at", "issued"},
        {"expires_at", "expires"}, {"revoked_at", "revoked"}, {"revoke_reason", "reason"},
        {"bulk_id", "bulk token"}, {"mp_id", "MP"},           {NULL, NULL},
    };

    ctl_print_fields(doc, fields);
}

int
ctl_token_show(struct ctl *ctl, const struct ctl_args *a)
{
    char path[512];

    ctl_path_id(path, sizeof(path), "/v1/admin/tokens", a->pos, NULL);
    return ctl_do(ctl, a, "GET", path, NULL, ctl_show_token);
}

int
ctl_token_revoke(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_change(ctl, a, "/v1/admin/tokens", "revoke", "jti");
}

/* Purge and prune ---------------------------------------------------------- */

static void
ctl_show_purged(const json_t *doc)
{
    const json_t *ids = json_object_get(doc, "ids"), *id;
    int dry = json_is_true(json_object_get(doc, "dry_run"));
    long long tomb = (long long)json_integer_value(json_object_get(doc, "tombstones"));
    size_t i;

    printf("%s %lld", dry ? "would remove" : "removed",
           (long long)json_integer_value(json_object_get(doc, "count")));
    if (tomb > 0)
        printf(" (%lld blocked, leaving tombstones)", tomb);
    printf("%s\n", dry ? " (dry run: nothing changed)" : "");
    json_array_foreach(ids, i, id) printf("  %s\n", json_string_value(id));
    if (json_is_true(json_object_get(doc, "more")))
        printf("(more match: run it again)\n");
}

static int
ctl_purge(struct ctl *ctl, const struct ctl_args *a, const char *path)
{
    json_t *body;

    if (!ctl_has(a, "older-than"))
        return ctl_usage_error(a->cmd, "%s needs --older-than DURATION", a->cmd->name);
    body = json_pack("{s:I, s:b}", "older_than_seconds", (json_int_t)ctl_num(a, "older-than", 0),
                     "dry_run", ctl_has(a, "dry-run"));
    if (ctl_has(a, "limit"))
        json_object_set_new(body, "limit", json_integer(ctl_num(a, "limit", 0)));
    return ctl_do(ctl, a, "POST", path, body, ctl_show_purged);
}

int
ctl_device_purge(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_purge(ctl, a, "/v1/admin/devices/purge");
}

int
ctl_bulk_prune(struct ctl *ctl, const struct ctl_args *a)
{
    return ctl_purge(ctl, a, "/v1/admin/bulk-tokens/prune");
}
