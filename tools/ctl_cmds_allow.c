/* sitetokenctl's bulk token allow-lists: `bulk new --allow-file FILE` and
 * `bulk allow ID --file FILE` read hardware ids one a line and send them in
 * pages (the request body is bounded; the list may hold 100,000). A list
 * longer than --max-uses is refused before anything is sent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define ALLOW_MAX 100000       /* the server's cap (docs/api.md) */
#define ALLOW_PAGE_ITEMS 1000  /* the server's page bound */
#define ALLOW_PAGE_BYTES 12000 /* well inside limits.max_body (16 KiB) */
#define ALLOW_ENTRY_MAX 256

/* The hardware ids of path, one a line (blank lines and "#" comments
 * skipped, surrounding blanks trimmed): a JSON array, or the usage code. */
int
ctl_allow_read(const struct ctl_args *a, const char *path, json_t **out)
{
    char line[ALLOW_ENTRY_MAX + 64];
    long lineno = 0;
    FILE *f = fopen(path, "r");
    json_t *arr;

    *out = NULL;
    if (f == NULL)
        return ctl_usage_error(a->cmd, "%s: %s", path, strerror(errno));
    if ((arr = json_array()) == NULL)
        goto fail;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        char *s = line;

        lineno++;
        if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
            ctl_usage_error(a->cmd, "%s:%ld: longer than %d bytes", path, lineno, ALLOW_ENTRY_MAX);
            goto fail;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                         line[n - 1] == '\t'))
            line[--n] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        if (strlen(s) > ALLOW_ENTRY_MAX) {
            ctl_usage_error(a->cmd, "%s:%ld: longer than %d bytes", path, lineno, ALLOW_ENTRY_MAX);
            goto fail;
        }
        if (json_array_size(arr) >= ALLOW_MAX) {
            ctl_usage_error(a->cmd, "%s: more than %d hardware ids (the most a list holds)", path,
                            ALLOW_MAX);
            goto fail;
        }
        if (json_array_append_new(arr, json_string(s)) == -1) {
            ctl_usage_error(a->cmd, "%s:%ld: not UTF-8 text", path, lineno);
            goto fail;
        }
    }
    fclose(f);
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return ctl_usage_error(a->cmd, "%s: no hardware ids", path);
    }
    *out = arr;
    return 0;
fail:
    fclose(f);
    json_decref(arr);
    return CTL_EXIT_USAGE;
}

/* The entries of all from *next on that fit one page; *next moves past them. */
static json_t *
ctl_allow_page(const json_t *all, size_t *next)
{
    json_t *page = json_array();
    size_t bytes = 0;

    while (page != NULL && *next < json_array_size(all) &&
           json_array_size(page) < ALLOW_PAGE_ITEMS) {
        json_t *e = json_array_get(all, *next);
        size_t cost = 2 * json_string_length(e) + 3; /* escaped, quoted, comma */

        if (bytes + cost > ALLOW_PAGE_BYTES && json_array_size(page) > 0)
            break;
        json_array_append(page, e);
        bytes += cost;
        (*next)++;
    }
    return page;
}

/* Sends all[*next..] to POST /v1/admin/bulk-tokens/ID/allow in pages; adds
 * up added/duplicates into sum (the last answer's total and used). */
static int
ctl_allow_send(struct ctl *ctl, const char *id, const json_t *all, size_t *next, json_t *sum)
{
    char path[512];
    int rc = 0;

    ctl_path_id(path, sizeof(path), "/v1/admin/bulk-tokens", id, "/allow");
    while (rc == 0 && *next < json_array_size(all)) {
        size_t from = *next;
        json_t *doc = NULL, *body = json_pack("{s:o}", "hardware_ids", ctl_allow_page(all, next));

        rc = ctl_call(ctl, "POST", path, body, &doc);
        json_decref(body);
        if (rc != 0) {
            *next = from;
            break;
        }
        json_object_set_new(sum, "added",
                            json_integer(json_integer_value(json_object_get(sum, "added")) +
                                         json_integer_value(json_object_get(doc, "added"))));
        json_object_set_new(sum, "duplicates",
                            json_integer(json_integer_value(json_object_get(sum, "duplicates")) +
                                         json_integer_value(json_object_get(doc, "duplicates"))));
        json_object_set(sum, "total", json_object_get(doc, "total"));
        json_object_set(sum, "used", json_object_get(doc, "used"));
        json_decref(doc);
    }
    return rc;
}

static int
ctl_allow_check(const struct ctl_args *a, const json_t *all)
{
    if (ctl_has(a, "max-uses") && ctl_num(a, "max-uses", 0) < (long long)json_array_size(all))
        return ctl_usage_error(a->cmd,
                               "--max-uses %lld is less than the %zu hardware ids of --allow-file "
                               "(each may enrol once): raise --max-uses or leave it out",
                               ctl_num(a, "max-uses", 0), json_array_size(all));
    return 0;
}

int
ctl_bulk_new_allow(struct ctl *ctl, const struct ctl_args *a, json_t *body, json_t *all,
                   void (*show)(const json_t *doc))
{
    json_t *doc = NULL, *sum = json_object();
    const char *id;
    size_t next = 0;
    int rc;

    if ((rc = ctl_allow_check(a, all)) != 0)
        goto out;
    /* the first page makes the token allow-listed from its first commit */
    json_object_set_new(body, "allow", ctl_allow_page(all, &next));
    if ((rc = ctl_call(ctl, "POST", "/v1/admin/bulk-tokens", body, &doc)) != 0)
        goto out;
    id = json_string_value(json_object_get(doc, "id"));
    if ((rc = ctl_allow_send(ctl, id, all, &next, sum)) != 0) {
        fprintf(stderr,
                "sitetokenctl: bulk token %s: the allow-list is incomplete (%zu of %zu sent); "
                "add the rest with `bulk allow %s --file` or block it\n",
                id, next, json_array_size(all), id);
        goto out;
    }
    if (json_object_get(sum, "total") != NULL)
        json_object_set(doc, "allow_total", json_object_get(sum, "total"));
    ctl_output(ctl, a, doc, show);
out:
    json_decref(body);
    json_decref(all);
    json_decref(doc);
    json_decref(sum);
    return rc;
}

static void
ctl_show_allowed(const json_t *doc)
{
    printf(
        "bulk token %s: %lld added, %lld already listed; the allow-list holds %lld (%lld used)\n",
        json_string_value(json_object_get(doc, "id")),
        (long long)json_integer_value(json_object_get(doc, "added")),
        (long long)json_integer_value(json_object_get(doc, "duplicates")),
        (long long)json_integer_value(json_object_get(doc, "total")),
        (long long)json_integer_value(json_object_get(doc, "used")));
}

int
ctl_bulk_allow(struct ctl *ctl, const struct ctl_args *a)
{
    json_t *all = NULL, *sum;
    size_t next = 0;
    int rc;

    if (!ctl_has(a, "file"))
        return ctl_usage_error(a->cmd, "bulk allow needs --file FILE");
    if ((rc = ctl_allow_read(a, ctl_val(a, "file"), &all)) != 0)
        return rc;
    sum = json_pack("{s:s, s:i, s:i}", "id", a->pos, "added", 0, "duplicates", 0);
    if ((rc = ctl_allow_send(ctl, a->pos, all, &next, sum)) == 0)
        ctl_output(ctl, a, sum, ctl_show_allowed);
    else if (next > 0)
        fprintf(stderr, "sitetokenctl: %zu of %zu sent before the refusal\n", next,
                json_array_size(all));
    json_decref(all);
    json_decref(sum);
    return rc;
}
