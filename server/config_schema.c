/* The schema of sitetokend's YAML configuration: one table (names, types, bounds, defaults,
 * help) and the cross-field rules, with what reads the table without a file: the value
 * checks, defaults and derived values, config_free and the rows of --help-config. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "jwk.h"
#include "log.h"

static const char *const type_names[] = {
    [CT_SECTION] = "map", [CT_STRING] = "string",     [CT_PATH] = "path", [CT_INT] = "int",
    [CT_BOOL] = "bool",   [CT_DURATION] = "duration", [CT_ENUM] = "enum", [CT_LISTEN] = "list",
};

static int check_site_code(const char *s, const char **why);
static int check_address(const char *s, const char **why);
static int check_user(const char *s, const char **why);
static int check_public_url(const char *s, const char **why);
static int check_host_port(const char *s, const char **why);

/* The enums' choices (NULL-terminated) are the vocabularies of the modules whose words they
 * are: signature algorithms from proto/jwk.h, levels from log.h. The order is the enum's. */
#define CHOICE(value, name) [value] = name,
static const char *const algorithms[] = {JWK_ALGS(CHOICE) NULL};
static const char *const log_levels[] = {LOG_LEVELS(CHOICE) NULL};
static const char *const log_formats[] = {LOG_FORMATS(CHOICE) NULL};
#undef CHOICE

#define CFG(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define LST(f)                                                                                     \
    .off = offsetof(struct config_listen, f), .size = sizeof(((struct config_listen *)0)->f)
#define DUR(lo, hi, d, u) .type = CT_DURATION, .min = (lo), .max = (hi), .def = (d), .unit = (u)
#define INT(lo, hi, d) .type = CT_INT, .min = (lo), .max = (hi), .def = (d)
#define STR(lo, hi) .type = CT_STRING, .min = (lo), .max = (hi)
#define PATH(hi) .type = CT_PATH, .min = 1, .max = (hi)

// clang-format off
const struct schema_entry config_schema[] = {
    {.name = "site", .type = CT_SECTION, .help = "the site this authority serves"},
    {.name = "site.code", STR(1, 3), CFG(site_code), .def_str = "PS1", .check = check_site_code,
     .help = "site code: 3 characters A-Z or 0-9, as in Configuration Manager"},
    {.name = "site.issuer", STR(1, 1024), CFG(issuer), .show = "urn:sitetoken:<site.code>",
     .help = "`iss` of every token"},
    {.name = "site.audience", STR(1, 1024), CFG(audience), .def_str = "urn:sitetoken:gateway",
     .help = "`aud` of access tokens: the gateways"},
    {.name = "site.public_url", STR(1, 300), CFG(public_url), .check = check_public_url,
     .show = "(scheme and Host of each request)",
     .help = "origin (scheme://host[:port]) of the URIs in /.well-known/sitetoken"},
    {.name = "listen", .type = CT_LISTEN, .min = 1, .max = CONFIG_MAX_LISTEN,
     .show = "127.0.0.1:8080", .help = "listeners: a sequence of {address, port, tls}"},
    {.name = LISTEN_SCOPE "address", STR(1, 253), LST(address), .required = true,
     .show = "(required)", .check = check_address,
     .help = "IP address or host name; plain HTTP only on loopback"},
    {.name = LISTEN_SCOPE "port", INT(0, 65535, 0), LST(port), .required = true,
     .show = "(required)", .help = "TCP port; 0 picks a free one"},
    {.name = LISTEN_SCOPE "tls", .type = CT_SECTION,
     .help = "serve HTTPS (required unless the address is loopback)"},
    {.name = LISTEN_SCOPE "tls.certificate", PATH(4095), LST(tls_certificate),
     .help = "PEM certificate chain"},
    {.name = LISTEN_SCOPE "tls.key", PATH(4095), LST(tls_key), .help = "PEM private key"},
    {.name = LISTEN_SCOPE "tls.client_ca", PATH(4095), LST(tls_client_ca),
     .help = "PEM CA certificates for MP client certificates (optional)"},
    {.name = "state_dir", PATH(4095), CFG(state_dir), .def_str = "var",
     .help = "state directory, created; default home of the three paths below"},
    {.name = "database", PATH(4095), CFG(database), .show = "<state_dir>/sitetoken.db",
     .help = "SQLite database file, or a postgresql:// URI (no password in it)"},
    {.name = "database_password_file", PATH(4095), CFG(database_password_file), .show = "(none)",
     .help = "file whose first line is the PostgreSQL password (else PGPASSFILE)"},
    {.name = "seal_key_file", PATH(4095), CFG(seal_key_file), .show = "<state_dir>/seal.key",
     .help = "key that seals the signing keys (created with mode 0600)"},
    {.name = "admin_socket", PATH(MAX_SUN_PATH), CFG(admin_socket),
     .show = "<state_dir>/admin.sock", .help = "admin Unix socket (mode 0600)"},
    {.name = "admin_socket_group", STR(1, 32), CFG(admin_socket_group), .check = check_user,
     .show = "(none)", .help = "give the admin socket to this group, mode 0660"},
    {.name = "user", STR(1, 32), CFG(user), .check = check_user, .show = "(none)",
     .help = "drop privileges to this user after binding"},
    {.name = "keys", .type = CT_SECTION, .help = "signing keys"},
    {.name = "keys.algorithm", .type = CT_ENUM, CFG(key_algorithm), .choices = algorithms,
     .as_string = true, .def = JWK_ALG_EDDSA, .help = "algorithm of new signing keys"},
    {.name = "keys.rotation_period", DUR(HOUR_MS, 365 * DAY_MS, 30 * DAY_MS, "d"),
     CFG(rotation_period_ms), .help = "a new signing key this often"},
    {.name = "keys.prepublish", DUR(0, 30 * DAY_MS, 24 * HOUR_MS, "h"), CFG(prepublish_ms),
     .help = "a new key is published this long before it signs (< rotation_period)"},
    {.name = "tokens", .type = CT_SECTION, .help = "token lifetimes"},
    {.name = "tokens.client_lifetime", DUR(HOUR_MS, 400 * DAY_MS, 90 * DAY_MS, "d"),
     CFG(client_lifetime_ms), .help = "lifetime of a device's client token"},
    {.name = "tokens.renew_after", DUR(0, 400 * DAY_MS, 30 * DAY_MS, "d"), CFG(renew_after_ms),
     .help = "a client token may be renewed once this old (< client_lifetime)"},
    {.name = "tokens.access_lifetime", DUR(MIN_MS, 24 * HOUR_MS, 8 * HOUR_MS, "h"),
     CFG(access_lifetime_ms), .help = "lifetime of an access token"},
    {.name = "tokens.bulk_default_lifetime", DUR(MIN_MS, 10080 * MIN_MS, 4320 * MIN_MS, "m"),
     CFG(bulk_default_lifetime_ms), .help = "lifetime of a bulk token when none is asked for"},
    {.name = "tokens.bulk_max_lifetime", DUR(MIN_MS, 10080 * MIN_MS, 10080 * MIN_MS, "m"),
     CFG(bulk_max_lifetime_ms), .help = "longest bulk token lifetime (>= bulk_default_lifetime)"},
    {.name = "tokens.exchange_retry_window", DUR(0, 24 * HOUR_MS, 10 * MIN_MS, "m"),
     CFG(exchange_retry_window_ms),
     .help = "a first exchange retried with the same key this soon burns no use (0: off)"},
    {.name = "tokens.clock_skew", DUR(0, HOUR_MS, 5 * MIN_MS, "m"), CFG(clock_skew_ms),
     .help = "tolerated clock difference for proofs and token times"},
    {.name = "log", .type = CT_SECTION, .help = "logging"},
    {.name = "log.level", .type = CT_ENUM, CFG(log_level), .choices = log_levels,
     .def = LOG_LEVEL_INFO, .help = "least severe level logged"},
    {.name = "log.format", .type = CT_ENUM, CFG(log_format), .choices = log_formats,
     .def = LOG_FORMAT_LOGFMT, .help = "lines as key=value (logfmt) or one JSON object each (json)"},
    {.name = "metrics", .type = CT_SECTION, .help = "the /metrics exposition"},
    {.name = "metrics.listen", STR(3, 260), CFG(metrics_listen), .check = check_host_port,
     .show = "(the public listeners)",
     .help = "ADDRESS:PORT of a plain HTTP listener that alone serves /metrics"},
    {.name = "metrics.refresh", DUR(100, HOUR_MS, 10 * SEC_MS, "s"), CFG(metrics_refresh_ms),
     .help = "how often the counts read from the store (devices, tokens, keys) are refreshed"},
    {.name = "limits", .type = CT_SECTION, .help = "resource limits"},
    {.name = "limits.max_body", INT(1024, 1024 * 1024, 16384), CFG(max_body),
     .help = "largest request body, bytes"},
    {.name = "limits.max_header_size", INT(1024, 65536, 8192), CFG(max_header_size),
     .help = "largest request header block, bytes"},
    {.name = "limits.max_connections", INT(1, 1000000, 10000), CFG(max_connections),
     .help = "open TCP connections at most; more are closed unanswered"},
    {.name = "limits.read_timeout", DUR(100, HOUR_MS, 10 * SEC_MS, "s"), CFG(read_timeout_ms),
     .help = "time for a whole request to arrive, and idle keep-alive time"},
    {.name = "limits.mp_rate", INT(0, 1000000, 0), CFG(mp_rate),
     .help = "requests per second per MP credential; 0 = unlimited"},
    {.name = "limits.failed_exchanges_per_minute", INT(0, 1000000, 60),
     CFG(failed_exchanges_per_minute),
     .help = "failed exchanges a minute, per MP and per bulk token; 0 = unlimited"},
    {.name = "limits.proofs_per_mp", INT(1, 16777216, 1048576), CFG(proofs_per_mp),
     .help = "new proofs one MP may send per replay window (2 x clock_skew + 1 s)"},
    {.name = "limits.public_rate", INT(0, 100000000, 1200), CFG(public_rate),
     .help = "public reads (keys, feed, metadata, ops) a minute per source address; 0 = unlimited"},
    {.name = "limits.public_burst", INT(1, 100000000, 120), CFG(public_burst),
     .help = "public reads a source address may make at once before public_rate applies"},
    {.name = "limits.failed_auth_per_minute", INT(0, 1000000, 30), CFG(failed_auth_per_minute),
     .help = "refused MP authentications a minute per source address; 0 = unlimited"},
    {.name = "limits.max_streams", INT(1, 1000000, 10000), CFG(max_streams),
     .help = "open event streams at most, apart from max_connections"},
    {.name = "limits.max_streams_per_address", INT(1, 1000000, 64), CFG(max_streams_per_address),
     .help = "open event streams at most per source address (IPv6: per /64)"},
    {.name = "limits.max_queued_bytes", INT(1048576, INT64_C(1) << 40, 1073741824),
     CFG(max_queued_bytes),
     .help = "shared feed bytes queued to clients not reading them; past it big answers get 503"},
    {.name = "feed", .type = CT_SECTION, .help = "the revocation feed"},
    {.name = "feed.max_age", DUR(MIN_MS, 24 * HOUR_MS, 10 * MIN_MS, "m"), CFG(feed_max_age_ms),
     .help = "lifetime (exp - iat) of the signed revocation document; re-signed every half"},
    {.name = "cluster", .type = CT_SECTION, .help = "several nodes on one database (PostgreSQL)"},
    {.name = "cluster.poll", DUR(100, MIN_MS, SEC_MS, "s"), CFG(cluster_poll_ms),
     .help = "how often a node on a shared database reads what the others committed"},
    {.name = "cluster.key_lease", DUR(3 * SEC_MS, HOUR_MS, 90 * SEC_MS, "s"),
     CFG(cluster_key_lease_ms),
     .help = "the key lifecycle leader's lease: renewed every third, taken over once expired"},
    {.name = "threads", .type = CT_SECTION, .help = "threads"},
    {.name = "threads.workers", INT(0, 64, 0), CFG(workers),
     .help = "worker threads; 0 = one per CPU"},
    {.name = "store", .type = CT_SECTION, .help = "the store (SQLite or PostgreSQL)"},
    {.name = "store.commit_batch", INT(1, 10000, 256), CFG(commit_batch),
     .help = "most requests in one group commit"},
    {.name = "store.commit_delay", DUR(0, 100, 0, "ms"), CFG(commit_delay_ms),
     .help = "longest wait to fill a group commit"},
    {.name = "store.busy_timeout", DUR(0, 5 * MIN_MS, 5 * SEC_MS, "s"), CFG(busy_timeout_ms),
     .help = "how long a lock is waited for (SQLite busy timeout, PostgreSQL lock_timeout)"},
    {.name = "debug", .type = CT_SECTION, .help = "test-only switches"},
    {.name = "debug.clock_override", .type = CT_BOOL, CFG(clock_override), .def = 0,
     .help = "TEST ONLY: allow the debug clock override; never in production"},
};
// clang-format on

_Static_assert(sizeof(config_schema) / sizeof(config_schema[0]) <= CONFIG_SCHEMA_MAX,
               "raise CONFIG_SCHEMA_MAX");
const size_t config_schema_n = sizeof(config_schema) / sizeof(config_schema[0]);

const struct schema_rule config_rules[] = {
    {"keys.prepublish", "keys.rotation_period", true},
    {"tokens.renew_after", "tokens.client_lifetime", true},
    {"tokens.bulk_default_lifetime", "tokens.bulk_max_lifetime", false},
};
const size_t config_rules_n = sizeof(config_rules) / sizeof(config_rules[0]);

const char *
config_log_level_name(int level)
{
    return level >= 0 && level <= LOG_LEVEL_DEBUG ? log_levels[level] : "info";
}

/* ---- value checks ---- */

/* ADDRESS:PORT, [IPv6]:PORT: the metrics listener. */
static int
check_host_port(const char *s, const char **why)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long port;

    *why = "must be ADDRESS:PORT (127.0.0.1:9100, [::1]:9100), port 0 to 65535";
    if (colon == NULL || colon == s || colon[1] == '\0')
        return -1;
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535)
        return -1;
    if (s[0] == '[' ? colon[-1] != ']' || colon - s < 3
                    : memchr(s, ':', (size_t)(colon - s)) != NULL)
        return -1;
    return 0;
}

/* scheme://host[:port], nothing after: the metadata's URIs are appended to it. */
static int
check_public_url(const char *s, const char **why)
{
    const char *host = strncmp(s, "https://", 8) == 0  ? s + 8
                       : strncmp(s, "http://", 7) == 0 ? s + 7
                                                       : NULL;

    if (host == NULL || *host == '\0' ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
            strlen(host)) {
        *why = "must be http:// or https:// and a host[:port], with no path";
        return -1;
    }
    return 0;
}

static int
check_site_code(const char *s, const char **why)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            break;
    if (i != 3 || s[i] != '\0') {
        *why = "must be 3 characters A-Z or 0-9 (like PS1)";
        return -1;
    }
    return 0;
}

/* RFC 1123 names; an all-digit last label is a mistyped IPv4 address, not a name. */
static bool
is_hostname(const char *s)
{
    size_t label = 0;
    bool digits = true;

    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-')
                return false;
            if (*p == '\0')
                return !digits && p - s <= 253;
            label = 0;
            digits = true;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
            digits = digits && *p >= '0' && *p <= '9';
            label++;
        } else {
            return false;
        }
    }
}

static int
check_address(const char *s, const char **why)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1 || is_hostname(s))
        return 0;
    *why = "not an IP address or host name";
    return -1;
}

bool
config_is_loopback(const char *s)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char a[16];

    if (inet_pton(AF_INET, s, a) == 1)
        return a[0] == 127;
    if (inet_pton(AF_INET6, s, a) == 1)
        return memcmp(a, in6addr_loopback.s6_addr, 16) == 0 ||
               (memcmp(a, mapped, 12) == 0 && a[12] == 127);
    return strcasecmp(s, "localhost") == 0;
}

static int
check_user(const char *s, const char **why)
{
    for (const char *p = s; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || (*p == '-' && p != s))) {
            *why = "not a user name";
            return -1;
        }
    return 0;
}

/* ---- the schema ---- */

const struct schema_entry *
config_schema_find(const char *name)
{
    for (size_t i = 0; i < config_schema_n; i++)
        if (strcmp(config_schema[i].name, name) == 0)
            return &config_schema[i];
    return NULL;
}

size_t
config_schema_index(const char *name)
{
    return (size_t)(config_schema_find(name) - config_schema);
}

bool
config_in_listen(const struct schema_entry *e)
{
    return strncmp(e->name, LISTEN_SCOPE, strlen(LISTEN_SCOPE)) == 0;
}

void
config_field_set_int(void *base, const struct schema_entry *e, int64_t v)
{
    char *p = (char *)base + e->off;

    if (e->type == CT_BOOL) {
        bool b = v != 0;
        memcpy(p, &b, sizeof(b));
    } else if (e->size == sizeof(int)) {
        int i = (int)v;
        memcpy(p, &i, sizeof(i));
    } else {
        memcpy(p, &v, sizeof(v));
    }
}

int64_t
config_field_int64(const void *base, const struct schema_entry *e)
{
    int64_t v;

    memcpy(&v, (const char *)base + e->off, sizeof(v));
    return v;
}

/* Replaces the string field; -1 on allocation failure (the old value stays). */
int
config_field_set_str(void *base, const struct schema_entry *e, const char *s)
{
    char **p = (char **)((char *)base + e->off);
    char *copy = NULL;

    if (s != NULL && (copy = strdup(s)) == NULL)
        return -1;
    free(*p);
    *p = copy;
    return 0;
}

/* The plain defaults of every entry outside the listen items; derived values stay NULL. */
int
config_apply_defaults(struct config *cfg)
{
    int rc = 0;

    for (size_t i = 0; i < config_schema_n; i++) {
        const struct schema_entry *e = &config_schema[i];
        if (config_in_listen(e))
            continue;
        if (e->type == CT_STRING || e->type == CT_PATH)
            rc |= e->def_str != NULL ? config_field_set_str(cfg, e, e->def_str) : 0;
        else if (e->type == CT_ENUM && e->as_string)
            rc |= config_field_set_str(cfg, e, e->choices[e->def]);
        else if (e->type != CT_SECTION && e->type != CT_LISTEN)
            config_field_set_int(cfg, e, e->def);
    }
    return rc;
}

int
config_default_listen(struct config *cfg)
{
    if ((cfg->listen = calloc(1, sizeof(*cfg->listen))) == NULL)
        return -1;
    cfg->nlisten = 1;
    cfg->listen[0].port = 8080;
    return (cfg->listen[0].address = strdup("127.0.0.1")) == NULL ? -1 : 0;
}

static char *
join(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = malloc(la + ls + lb + 1);

    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, sep, ls);
        memcpy(s + la + ls, b, lb + 1);
    }
    return s;
}

/* Fills in what was not given and derives from other keys; -1 on allocation failure. */
int
config_derive(struct config *cfg)
{
    static const struct {
        size_t off;
        const char *file;
    } paths[] = {
        {offsetof(struct config, database), "sitetoken.db"},
        {offsetof(struct config, seal_key_file), "seal.key"},
        {offsetof(struct config, admin_socket), "admin.sock"},
    };
    size_t n;
    const char *sep;

    if (cfg->state_dir == NULL || cfg->site_code == NULL)
        return -1;
    n = strlen(cfg->state_dir);
    sep = n > 0 && cfg->state_dir[n - 1] == '/' ? "" : "/";
    if (cfg->issuer == NULL && (cfg->issuer = join("urn:sitetoken:", "", cfg->site_code)) == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char **p = (char **)((char *)cfg + paths[i].off);
        if (*p == NULL && (*p = join(cfg->state_dir, sep, paths[i].file)) == NULL)
            return -1;
    }
    return 0;
}

void
config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    if (config_apply_defaults(cfg) == -1 || config_default_listen(cfg) == -1 ||
        config_derive(cfg) == -1)
        return; /* out of memory: the missing strings stay NULL */
    cfg->source = strdup(CONFIG_DEFAULT_SOURCE);
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < config_schema_n; i++) {
        const struct schema_entry *e = &config_schema[i];
        if (!config_in_listen(e) &&
            (e->type == CT_STRING || e->type == CT_PATH || (e->type == CT_ENUM && e->as_string)))
            config_field_set_str(cfg, e, NULL);
    }
    for (size_t i = 0; i < cfg->nlisten; i++) {
        free(cfg->listen[i].address);
        free(cfg->listen[i].tls_certificate);
        free(cfg->listen[i].tls_key);
        free(cfg->listen[i].tls_client_ca);
    }
    free(cfg->listen);
    free(cfg->source);
    memset(cfg, 0, sizeof(*cfg));
}

size_t
config_schema_count(void)
{
    return config_schema_n;
}

int
config_schema_row(size_t i, struct config_schema_row *row)
{
    const struct schema_entry *e;
    char lo[32], hi[32];

    if (i >= config_schema_n)
        return -1;
    e = &config_schema[i];
    memset(row, 0, sizeof(*row));
    row->name = e->name;
    row->type = type_names[e->type];
    row->help = e->help;
    row->section = e->type == CT_SECTION;
    switch (e->type) {
    case CT_INT:
        snprintf(row->def, sizeof(row->def), "%lld", (long long)e->def);
        snprintf(row->range, sizeof(row->range), "%lld..%lld", (long long)e->min,
                 (long long)e->max);
        break;
    case CT_DURATION:
        config_format_duration(e->def, row->def, sizeof(row->def));
        config_format_duration(e->min, lo, sizeof(lo));
        config_format_duration(e->max, hi, sizeof(hi));
        snprintf(row->range, sizeof(row->range), "%s..%s", lo, hi);
        break;
    case CT_BOOL:
        snprintf(row->def, sizeof(row->def), "%s", e->def ? "true" : "false");
        break;
    case CT_ENUM:
        snprintf(row->def, sizeof(row->def), "%s", e->choices[e->def]);
        for (size_t j = 0; e->choices[j] != NULL; j++)
            snprintf(row->range + strlen(row->range), sizeof(row->range) - strlen(row->range),
                     "%s%s", j > 0 ? "|" : "", e->choices[j]);
        break;
    case CT_LISTEN:
        snprintf(row->range, sizeof(row->range), "%lld..%lld entries", (long long)e->min,
                 (long long)e->max);
        break;
    default:
        break;
    }
    if (e->def_str != NULL || e->show != NULL)
        snprintf(row->def, sizeof(row->def), "%s", e->def_str != NULL ? e->def_str : e->show);
    return 0;
}

void
config_print_schema(FILE *out)
{
    struct config_schema_row row;

    fprintf(out, "%-36s %-8s %-26s %s\n", "KEY", "TYPE", "DEFAULT", "RANGE");
    for (size_t i = 0; config_schema_row(i, &row) == 0; i++)
        fprintf(out, "%-36s %-8s %-26s %s\n    %s\n", row.name, row.type, row.def, row.range,
                row.help);
}
