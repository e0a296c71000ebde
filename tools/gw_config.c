/* sitetoken-gateway's config: a schema table (name, type, bounds, default,
 * help) drives defaults, parsing, checking and the reference; the YAML is
 * read with libyaml's document API so every error can name its line. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <yaml.h>

#include "gw_config.h"
#include "httpc.h"

enum gw_type { GW_STR, GW_INT, GW_DUR, GW_BOOL, GW_CIDRS };

struct gw_key {
    const char *name;
    enum gw_type type;
    size_t off;
    int64_t min, max;
    const char *def;
    const char *help;
};

#define OFF(f) offsetof(struct gw_config, f)
static const struct gw_key gw_keys[] = {
    {"authority.url", GW_STR, OFF(authority_url), 1, 900, "http://127.0.0.1:8080",
     "the authority, http:// (loopback) or https://"},
    {"authority.ca_file", GW_STR, OFF(ca_file), 0, 4096, "",
     "trust anchors for https (default: the system's)"},
    {"authority.client_certificate", GW_STR, OFF(client_cert), 0, 4096, "",
     "PEM client certificate for the authority (optional)"},
    {"authority.client_key", GW_STR, OFF(client_key), 0, 4096, "",
     "PEM key of the client certificate"},
    {"authority.issuer", GW_STR, OFF(issuer), 0, 255, "",
     "expected issuer; empty: from GET /.well-known/sitetoken (required if that is absent)"},
    {"authority.feed_format", GW_STR, OFF(feed_format), 3, 4, "json",
     "json | jws: jws loads ?format=jws, and only a verified unexpired document confirms"},
    {"authority.connect_timeout", GW_DUR, OFF(connect_timeout), 1, 300, "5s",
     "connect timeout of every fetch"},
    {"authority.request_timeout", GW_DUR, OFF(request_timeout), 1, 600, "10s",
     "whole-request timeout of every fetch but the event stream"},
    {"authority.keys_refresh", GW_DUR, OFF(keys_refresh), 1, 86400, "5m",
     "JWKS refetch period when the answer has no Cache-Control max-age"},
    {"listen.address", GW_STR, OFF(listen_address), 1, 255, "127.0.0.1",
     "address of the forward-auth listener"},
    {"listen.port", GW_INT, OFF(listen_port), 0, 65535, "9180", "its port (0: any free one)"},
    {"listen.threads", GW_INT, OFF(listen_threads), 0, 64, "0",
     "event loops answering /auth, sharing the port (SO_REUSEPORT); 0: one per CPU"},
    {"public_origin", GW_STR, OFF(public_origin), 0, 1024, "",
     "scheme://host[:port] to rebuild htu (wins over X-Forwarded-*)"},
    {"audience", GW_STR, OFF(audience), 1, 255, "urn:sitetoken:gateway",
     "aud of the access tokens this gateway accepts"},
    {"clock_skew", GW_DUR, OFF(clock_skew), 0, 86400, "60s",
     "tolerance on token and proof times; proof jtis are held this long"},
    {"max_staleness", GW_DUR, OFF(max_staleness), 3, 86400, "60s",
     "revocations unconfirmed this long: answer 503 unavailable"},
    {"kid_cooldown", GW_DUR, OFF(kid_cooldown), 0, 86400, "30s",
     "at most one JWKS refetch per this long for unknown kids"},
    {"trusted_proxies", GW_CIDRS, 0, 0, GW_TRUSTED_MAX, "127.0.0.0/8 ::1/128",
     "proxies whose X-Forwarded-For last hop names the source address"},
    {"enrol.refusals_per_minute", GW_INT, OFF(enrol_refusals), 1, 1000000, "30",
     "enrolment refusals per source address per minute before 429"},
    {"replay.max_entries", GW_INT, OFF(replay_max), 1000, 1 << 26, "1000000",
     "DPoP proof jtis held at once; when full, new proofs get 429"},
    {"log.level", GW_STR, OFF(log_level), 1, 8, "info", "error | warn | info | debug"},
    {"debug.clock_override", GW_BOOL, OFF(clock_override), 0, 1, "false",
     "test-only: POST /debug/clock {offset_seconds} moves the gateway's clock"},
};
#define GW_NKEYS (sizeof(gw_keys) / sizeof(gw_keys[0]))

static int
gw_parse_dur(const char *s, int64_t *out)
{
    static const struct {
        char unit;
        int64_t mul;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end == s || v < 0)
        return -1;
    if (*end == '\0') {
        *out = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (end[0] == units[i].unit && end[1] == '\0') {
            *out = v * units[i].mul;
            return 0;
        }
    return -1;
}

static int
gw_parse_cidr(const char *s, struct gw_cidr *c)
{
    char buf[64], *slash;
    int max;

    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    if ((slash = strchr(buf, '/')) != NULL)
        *slash++ = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, buf, c->addr) == 1)
        c->family = AF_INET, max = 32;
    else if (inet_pton(AF_INET6, buf, c->addr) == 1)
        c->family = AF_INET6, max = 128;
    else
        return -1;
    c->prefix = max;
    if (slash != NULL) {
        char *end;
        long p = strtol(slash, &end, 10);

        if (end == slash || *end != '\0' || p < 0 || p > max)
            return -1;
        c->prefix = (int)p;
    }
    return 0;
}

/* Set one key from text; NULL or a message. */
static const char *
gw_set(struct gw_config *cfg, const struct gw_key *k, const char *val)
{
    char *p = (char *)cfg + k->off;
    int64_t n;

    switch (k->type) {
    case GW_STR:
        if ((int64_t)strlen(val) < k->min || (int64_t)strlen(val) > k->max)
            return "string length out of bounds";
        free(*(char **)p);
        *(char **)p = strdup(val);
        return NULL;
    case GW_INT:
    case GW_DUR: {
        char *end;

        if (k->type == GW_DUR) {
            if (gw_parse_dur(val, &n) == -1)
                return "not a duration (N, Ns, Nm, Nh, Nd)";
        } else if ((n = strtoll(val, &end, 10)), end == val || *end != '\0')
            return "not an integer";
        if (n < k->min || n > k->max)
            return "out of bounds";
        *(int64_t *)p = n;
        return NULL;
    }
    case GW_BOOL:
        if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0) {
            *(int *)p = val[0] == 't';
            return NULL;
        }
        return "not true or false";
    case GW_CIDRS: {
        /* A space-separated default, or one list item at a time (appended). */
        char buf[512], *save = NULL;

        if (strlen(val) >= sizeof(buf))
            return "too long";
        strcpy(buf, val);
        for (char *t = strtok_r(buf, " ,", &save); t != NULL; t = strtok_r(NULL, " ,", &save)) {
            if (cfg->ntrusted >= GW_TRUSTED_MAX)
                return "too many entries (16 at most)";
            if (gw_parse_cidr(t, &cfg->trusted[cfg->ntrusted]) == -1)
                return "not an address or address/prefix";
            cfg->ntrusted++;
        }
        return NULL;
    }
    }
    return "bad type";
}

static const struct gw_key *
gw_find(const char *name)
{
    for (size_t i = 0; i < GW_NKEYS; i++)
        if (strcmp(gw_keys[i].name, name) == 0)
            return &gw_keys[i];
    return NULL;
}

/* Walk a mapping node, keys joined with '.'; errors to err. */
static int
gw_walk(struct gw_config *cfg, yaml_document_t *doc, yaml_node_t *node, const char *prefix,
        const char *file, FILE *err)
{
    int bad = 0;

    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn = yaml_document_get_node(doc, pr->key);
        yaml_node_t *vn = yaml_document_get_node(doc, pr->value);
        const struct gw_key *k;
        const char *msg = NULL;
        char name[128];

        if (kn == NULL || vn == NULL || kn->type != YAML_SCALAR_NODE) {
            fprintf(err, "%s:%zu: %s: keys must be scalars\n", file,
                    kn ? kn->start_mark.line + 1 : 0, prefix);
            bad = 1;
            continue;
        }
        snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "." : "",
                 (const char *)kn->data.scalar.value);
        k = gw_find(name);
        if (vn->type == YAML_MAPPING_NODE && k == NULL) {
            bad |= gw_walk(cfg, doc, vn, name, file, err) == -1;
            continue;
        }
        if (k == NULL)
            msg = "unknown key";
        else if (k->type == GW_CIDRS && vn->type == YAML_SEQUENCE_NODE) {
            cfg->ntrusted = 0;
            for (yaml_node_item_t *it = vn->data.sequence.items.start;
                 msg == NULL && it < vn->data.sequence.items.top; it++) {
                yaml_node_t *in = yaml_document_get_node(doc, *it);

                msg = in == NULL || in->type != YAML_SCALAR_NODE
                          ? "list items must be scalars"
                          : gw_set(cfg, k, (const char *)in->data.scalar.value);
            }
        } else if (vn->type != YAML_SCALAR_NODE)
            msg = "must be a scalar";
        else {
            if (k->type == GW_CIDRS)
                cfg->ntrusted = 0;
            msg = gw_set(cfg, k, (const char *)vn->data.scalar.value);
        }
        if (msg != NULL) {
            fprintf(err, "%s:%zu: %s: %s\n", file, kn->start_mark.line + 1, name, msg);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

/* Checks across keys. */
static int
gw_check(const struct gw_config *cfg, const char *file, FILE *err)
{
    struct httpc_url u;
    const char *why;
    int bad = 0;

    /* httpc_url_parse: the tools' one URL parser. */
    if (httpc_url_parse(cfg->authority_url, &u, &why) == -1) {
        fprintf(err, "%s:0: authority.url: must be an http:// or https:// URL (%s)\n", file, why);
        bad = 1;
    }
    if (*cfg->client_cert != '\0' && *cfg->client_key == '\0') {
        fprintf(err, "%s:0: authority.client_key: needed with authority.client_certificate\n",
                file);
        bad = 1;
    }
    if (strcmp(cfg->feed_format, "json") != 0 && strcmp(cfg->feed_format, "jws") != 0) {
        fprintf(err, "%s:0: authority.feed_format: must be json or jws\n", file);
        bad = 1;
    }
    if (*cfg->public_origin != '\0' && httpc_url_parse(cfg->public_origin, &u, &why) == -1) {
        fprintf(err, "%s:0: public_origin: must be scheme://host[:port]\n", file);
        bad = 1;
    }
    return bad ? -1 : 0;
}

int
gw_config_load(struct gw_config *cfg, const char *file, FILE *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    FILE *f;
    int rc = 0;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < GW_NKEYS; i++)
        if (gw_set(cfg, &gw_keys[i], gw_keys[i].def) != NULL)
            return -1;
    if (file == NULL)
        return gw_check(cfg, "(defaults)", err);
    if ((f = fopen(file, "r")) == NULL) {
        fprintf(err, "%s:0: cannot open\n", file);
        return -1;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(err, "%s:%zu: yaml: %s\n", file, parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL && root->type == YAML_MAPPING_NODE)
        rc = gw_walk(cfg, &doc, root, "", file, err);
    else if (root != NULL && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
        fprintf(err, "%s:%zu: (top): must be a mapping\n", file, root->start_mark.line + 1);
        rc = -1;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (gw_check(cfg, file, err) == -1)
        rc = -1;
    return rc;
}

void
gw_config_free(struct gw_config *cfg)
{
    for (size_t i = 0; i < GW_NKEYS; i++)
        if (gw_keys[i].type == GW_STR) {
            free(*(char **)((char *)cfg + gw_keys[i].off));
            *(char **)((char *)cfg + gw_keys[i].off) = NULL;
        }
}

int
gw_config_trusted(const struct gw_config *cfg, const char *addr)
{
    unsigned char a[16];
    int fam;

    if (inet_pton(AF_INET, addr, a) == 1)
        fam = AF_INET;
    else if (inet_pton(AF_INET6, addr, a) == 1)
        fam = AF_INET6;
    else
        return 0;
    for (size_t i = 0; i < cfg->ntrusted; i++) {
        const struct gw_cidr *c = &cfg->trusted[i];
        int bits = c->prefix, j = 0;

        if (c->family != fam)
            continue;
        for (; bits >= 8; bits -= 8, j++)
            if (a[j] != c->addr[j])
                break;
        if (bits >= 8)
            continue;
        if (bits == 0 || ((a[j] ^ c->addr[j]) & (0xff << (8 - bits)) & 0xff) == 0)
            return 1;
    }
    return 0;
}

void
gw_config_man(FILE *out)
{
    static const char *const types[] = {"string", "integer", "duration", "bool", "list"};

    fprintf(out, ".Bl -tag -width Ds\n");
    for (size_t i = 0; i < GW_NKEYS; i++) {
        const struct gw_key *k = &gw_keys[i];

        if (*k->def != '\0')
            fprintf(out, ".It Cm %s Ar %s Pq Ql %s\n", k->name, types[k->type], k->def);
        else
            fprintf(out, ".It Cm %s Ar %s Pq empty\n", k->name, types[k->type]);
        /* help lines never start with '.' or '\'' (mdoc requests) */
        fprintf(out, "%s.\n", k->help);
        if (k->type == GW_INT)
            fprintf(out, "From %lld to %lld.\n", (long long)k->min, (long long)k->max);
        else if (k->type == GW_DUR)
            fprintf(out, "From %lld to %lld seconds.\n", (long long)k->min, (long long)k->max);
    }
    fprintf(out, ".El\n");
}

void
gw_config_describe(FILE *out)
{
    for (size_t i = 0; i < GW_NKEYS; i++)
        fprintf(out, "%-30s %-8s default %-24s %s\n", gw_keys[i].name,
                (const char *[]){"string", "integer", "duration", "bool", "list"}[gw_keys[i].type],
                *gw_keys[i].def ? gw_keys[i].def : "\"\"", gw_keys[i].help);
}
