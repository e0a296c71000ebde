/* sitetoken-openapi-gen: turns docs/openapi.yaml into the public OpenAPI
 * document that GET /v1/openapi.json serves, at build time. It drops the
 * /v1/admin/... paths, then every component, tag and security scheme that only
 * they used, and writes a C file with the compact JSON as a byte array and
 * its ETag. Not installed; links only libyaml, jansson and OpenSSL.
 *
 *   sitetoken-openapi-gen IN.yaml OUT.c [OUT.json]
 *
 * YAML plain scalars become JSON true/false/null/integers/reals as YAML 1.2's
 * core schema says; quoted and block scalars stay strings. Anchors and tags
 * are not used by the document and are refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>
#include <yaml.h>

#define GEN_ADMIN_PREFIX "/v1/admin/"
#define GEN_MAX_DEPTH 64

static json_t *gen_node(yaml_document_t *d, yaml_node_t *n, int depth, const char **errstr);

/* A plain scalar as the core schema reads it. */
static json_t *
gen_plain(const char *s, size_t len)
{
    char *end;
    long long i;
    double r;

    if (len == 0 || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
        return json_null();
    if (strcmp(s, "true") == 0)
        return json_true();
    if (strcmp(s, "false") == 0)
        return json_false();
    if ((s[0] >= '0' && s[0] <= '9') || ((s[0] == '-' || s[0] == '+') && len > 1)) {
        errno = 0;
        i = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer(i);
    }
    if (strspn(s, "-+0123456789.eE") == len && strchr(s, '.') != NULL) {
        r = strtod(s, &end);
        if (*end == '\0')
            return json_real(r);
    }
    return json_stringn(s, len);
}

static json_t *
gen_node(yaml_document_t *d, yaml_node_t *n, int depth, const char **errstr)
{
    json_t *out = NULL, *v;

    if (n == NULL || depth > GEN_MAX_DEPTH) {
        *errstr = "document nested too deep";
        return NULL;
    }
    switch (n->type) {
    case YAML_SCALAR_NODE:
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return gen_plain((const char *)n->data.scalar.value, n->data.scalar.length);
        return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             out != NULL && it < n->data.sequence.items.top; it++) {
            if ((v = gen_node(d, yaml_document_get_node(d, *it), depth + 1, errstr)) == NULL)
                goto fail;
            json_array_append_new(out, v);
        }
        return out;
    case YAML_MAPPING_NODE:
        out = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             out != NULL && p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(d, p->key);

            if (k == NULL || k->type != YAML_SCALAR_NODE) {
                *errstr = "a mapping key that is not a scalar";
                goto fail;
            }
            if (json_object_get(out, (const char *)k->data.scalar.value) != NULL) {
                *errstr = "a duplicate mapping key";
                goto fail;
            }
            if ((v = gen_node(d, yaml_document_get_node(d, p->value), depth + 1, errstr)) == NULL)
                goto fail;
            json_object_set_new(out, (const char *)k->data.scalar.value, v);
        }
        return out;
    default:
        *errstr = "an empty node";
        return NULL;
    }
fail:
    json_decref(out);
    return NULL;
}

/* Adds every "#/components/<kind>/<name>" that node refers to into used
 * (a set: object of "<kind>/<name>" -> true). Returns how many were new. */
static int
gen_collect_refs(const json_t *node, json_t *used)
{
    const char *key;
    json_t *v;
    size_t i;
    int added = 0;

    if (json_is_array(node)) {
        json_array_foreach(node, i, v) added += gen_collect_refs(v, used);
        return added;
    }
    if (!json_is_object(node))
        return 0;
    json_object_foreach((json_t *)node, key, v)
    {
        if (strcmp(key, "$ref") == 0 && json_is_string(v) &&
            strncmp(json_string_value(v), "#/components/", 13) == 0) {
            const char *name = json_string_value(v) + 13;

            if (json_object_get(used, name) == NULL) {
                json_object_set_new(used, name, json_true());
                added++;
            }
        } else {
            added += gen_collect_refs(v, used);
        }
    }
    return added;
}

/* Security scheme and tag names the remaining operations use. */
static void
gen_collect_names(const json_t *doc, json_t *schemes, json_t *tags)
{
    const char *path, *method, *name;
    json_t *item, *op, *req, *t, *x;
    size_t i, j;

    json_array_foreach(json_object_get(doc, "security"), i, req) json_object_foreach(req, name, x)
        json_object_set_new(schemes, name, json_true());
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        json_object_foreach(item, method, op)
        {
            json_array_foreach(json_object_get(op, "security"), i, req)
                json_object_foreach(req, name, x) json_object_set_new(schemes, name, json_true());
            json_array_foreach(json_object_get(op, "tags"), j, t) if (json_is_string(t))
                json_object_set_new(tags, json_string_value(t), json_true());
        }
    }
}

/* The public part: no admin paths, nothing only they used. */
static void
gen_filter(json_t *doc)
{
    json_t *paths = json_object_get(doc, "paths");
    json_t *comps = json_object_get(doc, "components");
    json_t *used = json_object(), *schemes = json_object(), *tags = json_object();
    json_t *kinds, *group, *rest, *t;
    const char *path, *kind, *name;
    void *tmp;
    size_t i;

    json_object_foreach_safe(paths, tmp, path, t)
    {
        if (strncmp(path, GEN_ADMIN_PREFIX, strlen(GEN_ADMIN_PREFIX)) == 0)
            json_object_del(paths, path);
    }
    /* References from everything but the components, then their closure. */
    rest = json_deep_copy(doc);
    json_object_del(rest, "components");
    gen_collect_refs(rest, used);
    json_decref(rest);
    while (comps != NULL) {
        json_t *round = json_copy(used); /* used grows while we walk it */
        int added = 0;

        json_object_foreach(round, name, t)
        {
            char k[64];
            const char *slash = strchr(name, '/');
            json_t *c;

            if (slash == NULL || (size_t)(slash - name) >= sizeof(k))
                continue;
            memcpy(k, name, (size_t)(slash - name));
            k[slash - name] = '\0';
            if ((c = json_object_get(json_object_get(comps, k), slash + 1)) != NULL)
                added += gen_collect_refs(c, used);
        }
        json_decref(round);
        if (added == 0)
            break;
    }
    gen_collect_names(doc, schemes, tags);
    kinds = comps;
    json_object_foreach(kinds, kind, group)
    {
        json_object_foreach_safe(group, tmp, name, t)
        {
            char full[256];
            const json_t *keep = strcmp(kind, "securitySchemes") == 0 ? schemes : used;

            snprintf(full, sizeof(full), "%s/%s", kind, name);
            if (json_object_get(keep, strcmp(kind, "securitySchemes") == 0 ? name : full) == NULL)
                json_object_del(group, name);
        }
    }
    if ((group = json_object_get(doc, "tags")) != NULL) {
        for (i = json_array_size(group); i-- > 0;) {
            t = json_object_get(json_array_get(group, i), "name");
            if (!json_is_string(t) || json_object_get(tags, json_string_value(t)) == NULL)
                json_array_remove(group, i);
        }
    }
    json_decref(used);
    json_decref(schemes);
    json_decref(tags);
}

static int
gen_write_c(const char *out_path, const char *text, size_t len)
{
    FILE *f = fopen(out_path, "w");
    uint8_t md[SHA256_DIGEST_LENGTH];

    if (f == NULL)
        return -1;
    SHA256((const uint8_t *)text, len, md);
    fputs("/* Generated by sitetoken-openapi-gen from docs/openapi.yaml; do not edit. */\n"
          "#include <stddef.h>\n\nconst unsigned char openapi_doc_json[] = {",
          f);
    for (size_t i = 0; i < len; i++)
        fprintf(f, "%s0x%02x,", i % 16 == 0 ? "\n    " : " ", (unsigned char)text[i]);
    fprintf(
        f,
        "\n    0x00};\nconst size_t openapi_doc_len = %zu;\nconst char openapi_doc_etag[] = \"\\\"",
        len);
    for (int i = 0; i < 16; i++)
        fprintf(f, "%02x", md[i]);
    fputs("\\\"\";\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    yaml_parser_t parser;
    yaml_document_t ydoc;
    FILE *in;
    json_t *doc = NULL;
    char *text = NULL;
    const char *errstr = "cannot read the YAML";
    int rc = 1;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: sitetoken-openapi-gen IN.yaml OUT.c [OUT.json]\n");
        return 2;
    }
    if ((in = fopen(argv[1], "r")) == NULL) {
        fprintf(stderr, "sitetoken-openapi-gen: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, in);
    if (!yaml_parser_load(&parser, &ydoc)) {
        fprintf(stderr, "sitetoken-openapi-gen: %s:%zu: %s\n", argv[1],
                parser.problem_mark.line + 1, parser.problem != NULL ? parser.problem : "error");
        goto done_parser;
    }
    doc = gen_node(&ydoc, yaml_document_get_root_node(&ydoc), 0, &errstr);
    yaml_document_delete(&ydoc);
    if (doc == NULL || !json_is_object(json_object_get(doc, "paths"))) {
        fprintf(stderr, "sitetoken-openapi-gen: %s: %s\n", argv[1],
                doc == NULL ? errstr : "no paths");
        goto done_parser;
    }
    gen_filter(doc);
    if ((text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
        gen_write_c(argv[2], text, strlen(text)) == -1) {
        fprintf(stderr, "sitetoken-openapi-gen: cannot write %s\n", argv[2]);
        goto done_parser;
    }
    if (argc == 4 && json_dump_file(doc, argv[3], JSON_INDENT(2) | JSON_SORT_KEYS) == -1) {
        fprintf(stderr, "sitetoken-openapi-gen: cannot write %s\n", argv[3]);
        goto done_parser;
    }
    rc = 0;
done_parser:
    yaml_parser_delete(&parser);
    fclose(in);
    free(text);
    json_decref(doc);
    return rc;
}
