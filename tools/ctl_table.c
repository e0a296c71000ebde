/* sitetokenctl's calls to the admin socket and its output: --json prints the
 * route's document, -q the one value a script wants, otherwise tables with
 * aligned columns and "label  value" lines for people. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int
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
        return CTL_EXIT_REFUSED;
    }
    httpc_response_free(&resp);
    if (doc == NULL) {
        fprintf(stderr, "sitetokenctl: the server answered something that is not JSON\n");
        return CTL_EXIT_REFUSED;
    }
    *out = doc;
    return CTL_EXIT_OK;
}

void
ctl_print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

static void
ctl_print_quiet(const json_t *v)
{
    char *text = ctl_cell(v);

    if (text != NULL && strcmp(text, "-") != 0)
        printf("%s\n", text);
    free(text);
}

void
ctl_output(struct ctl *ctl, const struct ctl_args *a, const json_t *doc,
           void (*show)(const json_t *doc))
{
    const char *quiet = a != NULL && a->cmd != NULL ? a->cmd->quiet : NULL;
    const json_t *items = json_object_get(doc, "items");

    if (ctl->json || (show == NULL && !ctl->quiet)) {
        ctl_print_json(doc);
    } else if (ctl->quiet) {
        size_t i;
        const json_t *row;

        if (quiet == NULL)
            return; /* nothing a script needs: the exit status says it all */
        if (json_is_array(items) && json_object_get(doc, quiet) == NULL) {
            json_array_foreach(items, i, row) ctl_print_quiet(json_object_get(row, quiet));
        } else if (json_is_array(json_object_get(doc, quiet))) {
            json_array_foreach(json_object_get(doc, quiet), i, row) ctl_print_quiet(row);
        } else {
            ctl_print_quiet(json_object_get(doc, quiet));
        }
    } else {
        show(doc);
    }
}

int
ctl_do(struct ctl *ctl, const struct ctl_args *a, const char *method, const char *path,
       json_t *body, void (*show)(const json_t *doc))
{
    json_t *doc = NULL;
    int rc = ctl_call(ctl, method, path, body, &doc);

    json_decref(body);
    if (rc != 0)
        return rc;
    ctl_output(ctl, a, doc, show);
    json_decref(doc);
    return 0;
}

int
ctl_list(struct ctl *ctl, const struct ctl_args *a, const char *base, const char *query,
         void (*show)(const json_t *doc))
{
    json_t *merged = NULL, *doc = NULL;
    char cursor[128], path[2048], q[1600], limit[24] = "";
    const char *after = ctl_val(a, "after");
    int all = ctl_has(a, "all");

    if (ctl_has(a, "limit"))
        snprintf(limit, sizeof(limit), "%lld", ctl_num(a, "limit", 0));
    snprintf(cursor, sizeof(cursor), "%s", after != NULL ? after : "");
    for (;;) {
        const char *next;
        int rc;

        snprintf(q, sizeof(q), "%s", query);
        ctl_query_add(q, sizeof(q), "after", cursor[0] ? cursor : NULL);
        ctl_query_add(q, sizeof(q), "limit", limit[0] ? limit : NULL);
        snprintf(path, sizeof(path), "%s%s%s", base, q[0] ? "?" : "", q);
        if ((rc = ctl_call(ctl, "GET", path, NULL, &doc)) != 0) {
            json_decref(merged);
            return rc;
        }
        if (merged == NULL) {
            merged = doc;
        } else {
            json_array_extend(json_object_get(merged, "items"), json_object_get(doc, "items"));
            json_object_set(merged, "next", json_object_get(doc, "next"));
            json_decref(doc);
        }
        next = json_string_value(json_object_get(merged, "next"));
        if (!all || next == NULL || strlen(next) >= sizeof(cursor))
            break;
        snprintf(cursor, sizeof(cursor), "%s", next);
    }
    ctl_output(ctl, a, merged, show);
    json_decref(merged);
    return 0;
}

char *
ctl_cell(const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

void
ctl_print_table(const json_t *items, const struct ctl_col *cols, int ncols)
{
    size_t nrows = json_array_size(items), width[16] = {0};
    char **cells;

    if (ncols > 16)
        ncols = 16;
    if ((cells = calloc((nrows + 1) * (size_t)ncols, sizeof(*cells))) == NULL)
        return;
    for (int c = 0; c < ncols; c++)
        cells[c] = strdup(cols[c].title);
    for (size_t r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            cells[(r + 1) * (size_t)ncols + (size_t)c] =
                ctl_cell(json_object_get(json_array_get(items, r), cols[c].key));
    for (size_t r = 0; r <= nrows; r++)
        for (int c = 0; c < ncols; c++) {
            const char *s = cells[r * (size_t)ncols + (size_t)c];
            size_t n = s != NULL ? strlen(s) : 1;

            if (n > width[c])
                width[c] = n;
        }
    for (size_t r = 0; r <= nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *s = cells[r * (size_t)ncols + (size_t)c];

            if (c == ncols - 1)
                printf("%s", s != NULL ? s : "?");
            else
                printf("%-*s  ", (int)width[c], s != NULL ? s : "?");
        }
        printf("\n");
    }
    for (size_t i = 0; i < (nrows + 1) * (size_t)ncols; i++)
        free(cells[i]);
    free(cells);
}

void
ctl_print_fields(const json_t *doc, const struct ctl_col *fields)
{
    int w = 0;

    for (size_t i = 0; fields[i].key != NULL; i++)
        if ((int)strlen(fields[i].title) > w)
            w = (int)strlen(fields[i].title);
    for (size_t i = 0; fields[i].key != NULL; i++) {
        char *text = ctl_cell(json_object_get(doc, fields[i].key));

        printf("%-*s  %s\n", w, fields[i].title, text != NULL ? text : "?");
        free(text);
    }
}

void
ctl_print_next(const json_t *doc)
{
    const char *next = json_string_value(json_object_get(doc, "next"));

    if (next != NULL)
        printf("(more: --after %s)\n", next);
}

void
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

void
ctl_query_add(char *q, size_t n, const char *name, const char *value)
{
    char enc[800];
    size_t len = strlen(q);
    int w;

    if (value == NULL || len >= n)
        return;
    ctl_urlenc(value, enc, sizeof(enc));
    w = snprintf(q + len, n - len, "%s%s=%s", len ? "&" : "", name, enc);
    if (w < 0 || (size_t)w >= n - len)
        q[len] = '\0'; /* never send a cut-off parameter */
}

void
ctl_path_id(char *path, size_t n, const char *base, const char *id, const char *suffix)
{
    char enc[300];

    ctl_urlenc(id, enc, sizeof(enc));
    snprintf(path, n, "%s/%s%s", base, enc, suffix != NULL ? suffix : "");
}

json_t *
ctl_pairs(const struct ctl_args *a, int *rc)
{
    json_t *obj = NULL;

    *rc = 0;
    for (int i = 0; i < a->nmulti; i++) {
        const char *eq = strchr(a->multi[i], '=');
        char key[256];

        snprintf(key, sizeof(key), "%.*s", (int)(eq - a->multi[i]), a->multi[i]);
        if (obj == NULL && (obj = json_object()) == NULL)
            break;
        if (json_object_get(obj, key) != NULL) {
            json_decref(obj);
            *rc = ctl_usage_error(a->cmd, "%s is given twice", key);
            return NULL;
        }
        json_object_set_new(obj, key, json_string(eq + 1));
    }
    return obj;
}

static void
ctl_show_impact(const json_t *doc)
{
    printf("dry run: nothing changed\nwould affect %lld device(s), %lld live token(s)\n%s\n",
           (long long)json_integer_value(json_object_get(doc, "devices")),
           (long long)json_integer_value(json_object_get(doc, "live_tokens")),
           json_string_value(json_object_get(doc, "effect")));
}

int
ctl_dry_run(struct ctl *ctl, const struct ctl_args *a, const char *key, const char *id)
{
    char q[400] = "", path[512];

    ctl_query_add(q, sizeof(q), key, id);
    snprintf(path, sizeof(path), "/v1/admin/impact?%s", q);
    return ctl_do(ctl, a, "GET", path, NULL, ctl_show_impact);
}
