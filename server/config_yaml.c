/* The YAML walker of the config loader: a prescan of the events that bounds what libyaml will
 * build, then a walk of the document's maps against the schema, with a suggestion for each
 * unknown key and a message for each value that does not fit its entry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "config_int.h"

/* A printable, bounded copy of bytes from the file, for messages. */
static const char *
printable(const char *s, size_t len, char *buf, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 8 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 12 >= n || i >= 60) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
    }
    buf[o] = '\0';
    return buf;
}

static const char *
node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a map";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    default:
        return "a scalar";
    }
}

static bool
is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    const char *s = (const char *)n->data.scalar.value;

    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp(s, nulls[i]) == 0)
            return true;
    return false;
}

static int
parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static const char *
expected(const struct schema_entry *e, char *buf, size_t n)
{
    size_t o;

    switch (e->type) {
    case CT_INT:
        return "an integer";
    case CT_BOOL:
        return "true or false";
    case CT_DURATION:
        return "a duration like 30d, 8h or 5m";
    case CT_ENUM:
        o = (size_t)snprintf(buf, n, "one of");
        for (size_t i = 0; e->choices[i] != NULL && o < n; i++)
            o += (size_t)snprintf(buf + o, n - o, "%s %s", i > 0 ? "," : "", e->choices[i]);
        return buf;
    case CT_PATH:
        return "a path";
    default:
        return "a string";
    }
}

/* Parses one scalar into base's field; reports and returns -1 when it does not fit. */
static int
set_value(struct config_loader *ld, const struct schema_entry *e, void *base, yaml_node_t *v,
          const char *key)
{
    unsigned line = (unsigned)v->start_mark.line + 1;
    const char *s = (const char *)v->data.scalar.value, *why = NULL;
    char exp[64], shown[96], lo[32], hi[32];
    int64_t x;
    size_t len;

    if (v->type != YAML_SCALAR_NODE || is_null(v)) {
        config_report(ld, line, key, "expected %s, got %s", expected(e, exp, sizeof(exp)),
                      v->type == YAML_SCALAR_NODE ? "nothing" : node_kind(v));
        return -1;
    }
    len = v->data.scalar.length;
    printable(s, len, shown, sizeof(shown));
    if (strlen(s) != len) {
        config_report(ld, line, key, "\"%s\" contains a NUL byte", shown);
        return -1;
    }
    switch (e->type) {
    case CT_STRING:
    case CT_PATH:
        if (e->check != NULL && e->check(s, &why) == -1) {
            config_report(ld, line, key, "\"%s\": %s", shown, why);
            return -1;
        }
        if ((int64_t)len < e->min || (int64_t)len > e->max) {
            config_report(ld, line, key, "\"%s\" must be %lld to %lld bytes long", shown,
                          (long long)e->min, (long long)e->max);
            return -1;
        }
        if (config_field_set_str(base, e, s) == -1) {
            config_report(ld, line, key, "out of memory");
            return -1;
        }
        return 0;
    case CT_ENUM:
        for (x = 0; e->choices[x] != NULL; x++)
            if (strcasecmp(s, e->choices[x]) == 0)
                break;
        if (e->choices[x] == NULL) {
            config_report(ld, line, key, "expected %s, got \"%s\"", expected(e, exp, sizeof(exp)),
                          shown);
            return -1;
        }
        if (!e->as_string) {
            config_field_set_int(base, e, x);
        } else if (config_field_set_str(base, e, e->choices[x]) == -1) {
            config_report(ld, line, key, "out of memory");
            return -1;
        }
        return 0;
    case CT_BOOL:
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
            x = 1;
        else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
            x = 0;
        else {
            config_report(ld, line, key, "expected true or false, got \"%s\"", shown);
            return -1;
        }
        config_field_set_int(base, e, x);
        return 0;
    case CT_INT:
        if (parse_int(s, &x) == -1) {
            config_report(ld, line, key, "expected an integer, got \"%s\"", shown);
            return -1;
        }
        if (x < e->min || x > e->max) {
            config_report(ld, line, key, "%lld is out of range (%lld..%lld)", (long long)x,
                          (long long)e->min, (long long)e->max);
            return -1;
        }
        config_field_set_int(base, e, x);
        return 0;
    case CT_DURATION:
        if (config_parse_duration(s, &x, &why) == -1) {
            if (strspn(s, "0123456789") == len && len <= 18)
                config_report(ld, line, key, "\"%s\" has no unit (did you mean %s%s?)", shown,
                              shown, e->unit);
            else
                config_report(ld, line, key, "\"%s\": %s", shown, why);
            return -1;
        }
        if (x < e->min || x > e->max) {
            config_format_duration(e->min, lo, sizeof(lo));
            config_format_duration(e->max, hi, sizeof(hi));
            config_report(ld, line, key, "%s is out of range (%s..%s)", shown, lo, hi);
            return -1;
        }
        config_field_set_int(base, e, x);
        return 0;
    default:
        return -1;
    }
}

static size_t
edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[128], cur[128];

    if (lb >= 128)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
    }
    return prev[lb];
}

/* The known key closest to the unknown `full` (within edit distance 2, and at most half the
 * length of the key as typed, so that "tls" does not suggest "log"), or else one in the same
 * scope with the same last component ("tokens.algorithm" -> "keys.algorithm"); NULL if none. */
static const struct schema_entry *
suggest(const char *full, const char *key, bool listen_scope)
{
    const struct schema_entry *best = NULL;
    size_t bestd = 3;

    for (size_t i = 0; i < config_schema_n; i++) {
        size_t d;
        if (config_in_listen(&config_schema[i]) != listen_scope)
            continue;
        if ((d = edit_distance(full, config_schema[i].name)) < bestd && 2 * d <= strlen(key)) {
            bestd = d;
            best = &config_schema[i];
        }
    }
    for (size_t i = 0; i < config_schema_n && best == NULL; i++) {
        const char *last = strrchr(config_schema[i].name, '.');
        if (config_in_listen(&config_schema[i]) == listen_scope && last != NULL &&
            strcmp(last + 1, key) == 0)
            best = &config_schema[i];
    }
    return best;
}

static void load_listen(struct config_loader *ld, yaml_node_t *v, const char *key);

/* Walks one map. prefix is its schema path ("", "site.", "listen[].tls."), path the one shown
 * in messages ("", "site.", "listen[1].tls."); lines records where each key was given, bad
 * which ones were refused. */
static void
walk_map(struct config_loader *ld, yaml_node_t *map, const char *prefix, const char *path,
         void *base, unsigned *lines, bool *bad)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(ld->doc, p->value);
        const struct schema_entry *e = NULL, *alt;
        char full[MAX_KEY_LEN + 32] = "", key[256], shown[96], sub[sizeof(key) + 1];
        const char *kstr;
        unsigned line;
        size_t idx, klen;
        bool lookable;

        if (k == NULL || v == NULL)
            continue;
        line = (unsigned)k->start_mark.line + 1;
        if (k->type != YAML_SCALAR_NODE) {
            config_report(ld, line, *path != '\0' ? path : "(top level)",
                          "a key must be a string, not %s", node_kind(k));
            continue;
        }
        kstr = (const char *)k->data.scalar.value;
        klen = k->data.scalar.length;
        snprintf(key, sizeof(key), "%s%s", path, printable(kstr, klen, shown, sizeof(shown)));
        /* a key is one name: "site.code" or "listen[].port" as a key must not reach the
         * table, whose "listen[]." entries are fields of another struct */
        lookable = klen <= MAX_KEY_LEN && strlen(kstr) == klen && strcspn(kstr, ".[") == klen;
        if (strcspn(kstr, ".[") < strlen(kstr)) {
            config_report(ld, line, key,
                          "unknown key (nest keys in their section, as in `site: {code: "
                          "PS1}`, rather than joining them with dots)");
            continue;
        }
        if (lookable) {
            snprintf(full, sizeof(full), "%s%s", prefix, kstr);
            e = config_schema_find(full);
        }
        if (e == NULL) {
            if (ld->nerr >= CONFIG_MAX_ERRORS || !lookable ||
                (alt = suggest(full, kstr, base != ld->cfg)) == NULL)
                config_report(ld, line, key, "unknown key");
            else
                config_report(ld, line, key, "unknown key (did you mean %s%s?)",
                              config_in_listen(alt) ? ld->item : "",
                              alt->name + (config_in_listen(alt) ? strlen(LISTEN_SCOPE) : 0));
            continue;
        }
        idx = (size_t)(e - config_schema);
        if (lines[idx] != 0) {
            config_report(ld, line, key, "duplicate key (first given on line %u)", lines[idx]);
            continue;
        }
        lines[idx] = line;
        if (e->type == CT_SECTION) {
            if (is_null(v))
                continue; /* an empty section: every key keeps its default */
            if (v->type != YAML_MAPPING_NODE) {
                config_report(ld, (unsigned)v->start_mark.line + 1, key, "expected a map, got %s",
                              node_kind(v));
                bad[idx] = true;
                continue;
            }
            snprintf(full + strlen(full), sizeof(full) - strlen(full), ".");
            snprintf(sub, sizeof(sub), "%s.", key);
            walk_map(ld, v, full, sub, base, lines, bad);
        } else if (e->type == CT_LISTEN) {
            load_listen(ld, v, key);
        } else if (set_value(ld, e, base, v, key) == -1) {
            bad[idx] = true;
        }
    }
}

/* The checks on one listen item that need all of its keys. */
static void
check_listen(struct config_loader *ld, size_t i, unsigned item_line)
{
    struct config_listen *l = &ld->cfg->listen[i];
    unsigned *lines = ld->listen_line[i];
    bool *bad = ld->listen_bad[i];
    size_t tls = config_schema_index(LISTEN_SCOPE "tls"),
           addr = config_schema_index(LISTEN_SCOPE "address");
    char key[64];

    for (size_t j = 0; j < config_schema_n; j++)
        if (config_schema[j].required && lines[j] == 0) {
            snprintf(key, sizeof(key), "listen[%zu]", i);
            config_report(ld, item_line, key, "missing %s",
                          config_schema[j].name + strlen(LISTEN_SCOPE));
        }
    if (bad[tls] || bad[addr]) {
        /* already reported */
    } else if (lines[tls] != 0 && (l->tls_certificate == NULL || l->tls_key == NULL)) {
        snprintf(key, sizeof(key), "listen[%zu].tls", i);
        config_report(ld, lines[tls], key, "needs both certificate and key");
    } else if (lines[tls] == 0 && l->address != NULL && !config_is_loopback(l->address)) {
        snprintf(key, sizeof(key), "listen[%zu].address", i);
        config_report(ld, lines[addr], key,
                      "plain HTTP is allowed only on loopback addresses; configure listen[%zu].tls",
                      i);
    }
    for (size_t j = 0; j < i && l->address != NULL && l->port != 0; j++)
        if (ld->cfg->listen[j].address != NULL && ld->cfg->listen[j].port == l->port &&
            strcmp(ld->cfg->listen[j].address, l->address) == 0) {
            snprintf(key, sizeof(key), "listen[%zu]", i);
            config_report(ld, item_line, key, "same address and port as listen[%zu]", j);
        }
}

static void
load_listen(struct config_loader *ld, yaml_node_t *v, const char *key)
{
    unsigned line = (unsigned)v->start_mark.line + 1;
    size_t n;
    char path[32];

    if (v->type != YAML_SEQUENCE_NODE) {
        config_report(ld, line, key, "expected a sequence of {address, port, tls}, got %s",
                      is_null(v) ? "nothing" : node_kind(v));
        return;
    }
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 1 || n > CONFIG_MAX_LISTEN) {
        config_report(ld, line, key, "needs 1 to %d entries, got %zu", CONFIG_MAX_LISTEN, n);
        return;
    }
    if ((ld->cfg->listen = calloc(n, sizeof(*ld->cfg->listen))) == NULL) {
        config_report(ld, line, key, "out of memory");
        return;
    }
    ld->cfg->nlisten = n;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(ld->doc, v->data.sequence.items.start[i]);
        if (item == NULL)
            continue;
        snprintf(path, sizeof(path), "listen[%zu].", i);
        if (item->type != YAML_MAPPING_NODE) {
            path[strlen(path) - 1] = '\0';
            config_report(ld, (unsigned)item->start_mark.line + 1, path,
                          "expected a map with address and port, got %s", node_kind(item));
            continue;
        }
        ld->item = path;
        walk_map(ld, item, LISTEN_SCOPE, path, &ld->cfg->listen[i], ld->listen_line[i],
                 ld->listen_bad[i]);
        check_listen(ld, i, (unsigned)item->start_mark.line + 1);
    }
}

static void
yaml_error(struct config_loader *ld, const yaml_parser_t *parser, const char *text, size_t len)
{
    unsigned line = (unsigned)parser->problem_mark.line + 1;

    if (parser->error == YAML_MEMORY_ERROR) {
        config_report(ld, 1, "yaml", "out of memory");
        return;
    }
    if (parser->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < parser->problem_offset && i < len; i++)
            line += text[i] == '\n';
    }
    config_report(
        ld, line, "yaml", "%s%s%s", parser->problem != NULL ? parser->problem : "syntax error",
        parser->context != NULL ? " " : "", parser->context != NULL ? parser->context : "");
}

/* A first pass over the events, before libyaml builds a document: finds syntax errors, nesting
 * deeper than CONFIG_MAX_DEPTH, too many anchors and more than one document. This keeps the
 * loader's costs linear: libyaml's scanner does work proportional to the flow nesting for
 * every token, and its loader looks anchors up one by one. 0 when the text may be loaded. */
int
config_yaml_prescan(struct config_loader *ld, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, anchors = 0, docs = 0, rc = 1;

    if (!yaml_parser_initialize(&parser)) {
        config_report(ld, 1, "yaml", "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    while (rc == 1) {
        const yaml_char_t *anchor = NULL;
        unsigned line;

        if (!yaml_parser_parse(&parser, &ev)) {
            yaml_error(ld, &parser, yaml, len);
            rc = -1;
            break;
        }
        line = (unsigned)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                config_report(ld, line, "yaml", "more than one document");
                rc = -1;
            }
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            anchor = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor
                                                         : ev.data.sequence_start.anchor;
            if (++depth > CONFIG_MAX_DEPTH) {
                config_report(ld, line, "yaml", "nested deeper than %d levels", CONFIG_MAX_DEPTH);
                rc = -1;
            }
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_SCALAR_EVENT:
            anchor = ev.data.scalar.anchor;
            break;
        case YAML_STREAM_END_EVENT:
            rc = 0;
            break;
        default:
            break;
        }
        if (anchor != NULL && ++anchors > CONFIG_MAX_ANCHORS) {
            config_report(ld, line, "yaml", "more than %d anchors", CONFIG_MAX_ANCHORS);
            rc = -1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

static void
load_document(struct config_loader *ld, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        config_report(ld, (unsigned)root->start_mark.line + 1, "(top level)",
                      "expected a map, got %s", node_kind(root));
        return;
    }
    walk_map(ld, root, "", "", ld->cfg, ld->line, ld->bad);
}

int
config_yaml_load(struct config_loader *ld, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;

    if (!yaml_parser_initialize(&parser)) {
        config_report(ld, 1, "yaml", "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_error(ld, &parser, yaml, len);
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        ld->doc = &doc;
        if (root != NULL && !is_null(root))
            load_document(ld, root);
        ld->doc = NULL;
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return 0;
}
