/* The YAML configuration of sitetokend: one schema table (names, types, bounds, defaults, help)
 * drives defaults, loading, checking and --help-config. The loader reports, never logs: every
 * problem becomes one "FILE:LINE: key: message" line in a config_errors list. */
#include "config.h"
#include "duration.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define SEC_MS 1000LL
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define MAX_KEY_LEN 64   /* longer keys are unknown without looking them up */
#define MAX_SUN_PATH 107 /* sizeof(sockaddr_un.sun_path) - 1 on Linux */
#define LISTEN_SCOPE "listen[]."

enum config_type {
    CT_SECTION, /* a map of further keys */
    CT_STRING,
    CT_PATH,
    CT_INT,
    CT_BOOL,
    CT_DURATION,
    CT_ENUM,
    CT_LISTEN, /* the listen sequence; its items use the "listen[]." entries */
};

static const char *const type_names[] = {
    [CT_SECTION] = "map", [CT_STRING] = "string",     [CT_PATH] = "path", [CT_INT] = "int",
    [CT_BOOL] = "bool",   [CT_DURATION] = "duration", [CT_ENUM] = "enum", [CT_LISTEN] = "list",
};

struct schema_entry {
    const char *name; /* dotted; "listen[]." entries live in struct config_listen */
    enum config_type type;
    size_t off, size;           /* the field */
    int64_t min, max;           /* ints and durations: value; strings: length in bytes */
    int64_t def;                /* ints, durations, bools, enums (index) */
    const char *def_str;        /* strings: the default; NULL when none or derived */
    const char *show;           /* the default as --help-config shows it, if not the above */
    const char *const *choices; /* enums, NULL-terminated */
    bool as_string;             /* enums: store the choice's name rather than its index */
    bool required;              /* listen items: must be given */
    const char *unit;           /* durations: the unit to suggest after a bare number */
    int (*check)(const char *s, const char **why);
    const char *help;
};

static int check_site_code(const char *s, const char **why);
static int check_address(const char *s, const char **why);
static int check_user(const char *s, const char **why);
static int check_public_url(const char *s, const char **why);

static const char *const algorithms[] = {"EdDSA", "ES256", "RS256", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

#define CFG(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define LST(f)                                                                                     \
    .off = offsetof(struct config_listen, f), .size = sizeof(((struct config_listen *)0)->f)
#define DUR(lo, hi, d, u) .type = CT_DURATION, .min = (lo), .max = (hi), .def = (d), .unit = (u)
#define INT(lo, hi, d) .type = CT_INT, .min = (lo), .max = (hi), .def = (d)
#define STR(lo, hi) .type = CT_STRING, .min = (lo), .max = (hi)
#define PATH(hi) .type = CT_PATH, .min = 1, .max = (hi)

// clang-format off
static const struct schema_entry schema[] = {
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
     .help = "SQLite database"},
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
     .as_string = true, .def = 0, .help = "algorithm of new signing keys"},
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
    {.name = "tokens.clock_skew", DUR(0, HOUR_MS, 5 * MIN_MS, "m"), CFG(clock_skew_ms),
     .help = "tolerated clock difference for proofs and token times"},
    {.name = "log", .type = CT_SECTION, .help = "logging"},
    {.name = "log.level", .type = CT_ENUM, CFG(log_level), .choices = log_levels,
     .def = CONFIG_LOG_INFO, .help = "least severe level logged"},
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
    {.name = "threads", .type = CT_SECTION, .help = "threads"},
    {.name = "threads.workers", INT(0, 64, 0), CFG(workers),
     .help = "worker threads; 0 = one per CPU"},
    {.name = "store", .type = CT_SECTION, .help = "the SQLite store"},
    {.name = "store.commit_batch", INT(1, 10000, 256), CFG(commit_batch),
     .help = "most requests in one group commit"},
    {.name = "store.commit_delay", DUR(0, 100, 0, "ms"), CFG(commit_delay_ms),
     .help = "longest wait to fill a group commit"},
    {.name = "store.busy_timeout", DUR(0, 5 * MIN_MS, 5 * SEC_MS, "s"), CFG(busy_timeout_ms),
     .help = "how long SQLite waits for a lock"},
    {.name = "debug", .type = CT_SECTION, .help = "test-only switches"},
    {.name = "debug.clock_override", .type = CT_BOOL, CFG(clock_override), .def = 0,
     .help = "TEST ONLY: allow the debug clock override; never in production"},
};
// clang-format on

#define SCHEMA_N (sizeof(schema) / sizeof(schema[0]))

/* Cross-field rules: lesser < greater (strict) or lesser <= greater. */
static const struct {
    const char *lesser, *greater;
    bool strict;
} rules[] = {
    {"keys.prepublish", "keys.rotation_period", true},
    {"tokens.renew_after", "tokens.client_lifetime", true},
    {"tokens.bulk_default_lifetime", "tokens.bulk_max_lifetime", false},
};

struct config_errors {
    char **v;
    unsigned *line; /* for sorting; 0 for the file as a whole */
    size_t n;
    size_t dropped; /* found beyond CONFIG_MAX_ERRORS */
};

/* One load: where each key was set (line, 0 = not given) and which values were refused, for
 * the top level and for each listen item. */
struct load {
    struct config *cfg;
    struct config_errors *errs; /* may be NULL */
    const char *file;
    yaml_document_t *doc;
    size_t nerr;
    const char *item; /* display prefix of the listen item being walked, "listen[3]." */
    unsigned line[SCHEMA_N];
    bool bad[SCHEMA_N];
    unsigned listen_line[CONFIG_MAX_LISTEN][SCHEMA_N];
    bool listen_bad[CONFIG_MAX_LISTEN][SCHEMA_N];
    bool host; /* sitetokend -n: also check what the host must provide */
    config_tls_check_fn *tls_check;
};

/* ---- errors ---- */

struct config_errors *
config_errors_new(void)
{
    return calloc(1, sizeof(struct config_errors));
}

void
config_errors_free(struct config_errors *errs)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->v[i]);
    free(errs->v);
    free(errs->line);
    free(errs);
}

size_t
config_errors_count(const struct config_errors *errs)
{
    return errs == NULL ? 0 : errs->n;
}

const char *
config_errors_get(const struct config_errors *errs, size_t i)
{
    return errs == NULL || i >= errs->n ? NULL : errs->v[i];
}

void
config_errors_print(const struct config_errors *errs, FILE *out)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < errs->n; i++)
        fprintf(out, "%s\n", errs->v[i]);
    if (errs->dropped > 0)
        fprintf(out, "(%zu more errors not shown)\n", errs->dropped);
}

static void __attribute__((format(printf, 3, 4)))
errs_addf(struct config_errors *errs, unsigned line, const char *fmt, ...)
{
    char buf[1024], *s, **v;
    unsigned *l;
    va_list ap;

    if (errs == NULL)
        return;
    if (errs->n >= CONFIG_MAX_ERRORS) {
        errs->dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if ((s = strdup(buf)) == NULL || (v = realloc(errs->v, (errs->n + 1) * sizeof(*v))) == NULL) {
        free(s);
        errs->dropped++;
        return;
    }
    errs->v = v;
    if ((l = realloc(errs->line, (errs->n + 1) * sizeof(*l))) == NULL) {
        free(s);
        errs->dropped++;
        return;
    }
    errs->line = l;
    errs->line[errs->n] = line;
    errs->v[errs->n++] = s;
}

/* Puts the errors from `from` on in line order (stable: same-line errors keep theirs). */
static void
errs_sort(struct config_errors *errs, size_t from)
{
    for (size_t i = from + 1; errs != NULL && i < errs->n; i++) {
        char *s = errs->v[i];
        unsigned line = errs->line[i];
        size_t j = i;
        for (; j > from && errs->line[j - 1] > line; j--) {
            errs->v[j] = errs->v[j - 1];
            errs->line[j] = errs->line[j - 1];
        }
        errs->v[j] = s;
        errs->line[j] = line;
    }
}

/* Reports "FILE:LINE: key: message". */
static void __attribute__((format(printf, 4, 5)))
lerr(struct load *ld, unsigned line, const char *key, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    ld->nerr++;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errs_addf(ld->errs, line, "%s:%u: %s: %s", ld->file, line, key, msg);
}

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

/* ---- durations ---- */

/* The parser lives in proto/duration.c (sitetokenctl reads the same forms);
 * these names stay for the loader and its callers. */
int
config_parse_duration(const char *s, int64_t *out, const char **errstr)
{
    return duration_parse(s, out, errstr);
}

void
config_format_duration(int64_t ms, char *buf, size_t n)
{
    duration_format(ms, buf, n);
}

const char *
config_log_level_name(int level)
{
    return level >= CONFIG_LOG_ERROR && level <= CONFIG_LOG_DEBUG ? log_levels[level] : "info";
}

/* ---- value checks ---- */

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

static bool
is_loopback(const char *s)
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

static const struct schema_entry *
schema_find(const char *name)
{
    for (size_t i = 0; i < SCHEMA_N; i++)
        if (strcmp(schema[i].name, name) == 0)
            return &schema[i];
    return NULL;
}

static size_t
schema_index(const char *name)
{
    return (size_t)(schema_find(name) - schema);
}

static bool
in_listen(const struct schema_entry *e)
{
    return strncmp(e->name, LISTEN_SCOPE, strlen(LISTEN_SCOPE)) == 0;
}

static void
store_int(void *base, const struct schema_entry *e, int64_t v)
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

static int64_t
load_int64(const void *base, const struct schema_entry *e)
{
    int64_t v;

    memcpy(&v, (const char *)base + e->off, sizeof(v));
    return v;
}

/* Replaces the string field; -1 on allocation failure (the old value stays). */
static int
store_str(void *base, const struct schema_entry *e, const char *s)
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
static int
apply_defaults(struct config *cfg)
{
    int rc = 0;

    for (size_t i = 0; i < SCHEMA_N; i++) {
        const struct schema_entry *e = &schema[i];
        if (in_listen(e))
            continue;
        if (e->type == CT_STRING || e->type == CT_PATH)
            rc |= e->def_str != NULL ? store_str(cfg, e, e->def_str) : 0;
        else if (e->type == CT_ENUM && e->as_string)
            rc |= store_str(cfg, e, e->choices[e->def]);
        else if (e->type != CT_SECTION && e->type != CT_LISTEN)
            store_int(cfg, e, e->def);
    }
    return rc;
}

static int
default_listen(struct config *cfg)
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
static int
derive(struct config *cfg)
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
    if (apply_defaults(cfg) == -1 || default_listen(cfg) == -1 || derive(cfg) == -1)
        return; /* out of memory: the missing strings stay NULL */
    cfg->source = strdup(CONFIG_DEFAULT_SOURCE);
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < SCHEMA_N; i++) {
        const struct schema_entry *e = &schema[i];
        if (!in_listen(e) &&
            (e->type == CT_STRING || e->type == CT_PATH || (e->type == CT_ENUM && e->as_string)))
            store_str(cfg, e, NULL);
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

/* ---- loading ---- */

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
set_value(struct load *ld, const struct schema_entry *e, void *base, yaml_node_t *v,
          const char *key)
{
    unsigned line = (unsigned)v->start_mark.line + 1;
    const char *s = (const char *)v->data.scalar.value, *why = NULL;
    char exp[64], shown[96], lo[32], hi[32];
    int64_t x;
    size_t len;

    if (v->type != YAML_SCALAR_NODE || is_null(v)) {
        lerr(ld, line, key, "expected %s, got %s", expected(e, exp, sizeof(exp)),
             v->type == YAML_SCALAR_NODE ? "nothing" : node_kind(v));
        return -1;
    }
    len = v->data.scalar.length;
    printable(s, len, shown, sizeof(shown));
    if (strlen(s) != len) {
        lerr(ld, line, key, "\"%s\" contains a NUL byte", shown);
        return -1;
    }
    switch (e->type) {
    case CT_STRING:
    case CT_PATH:
        if (e->check != NULL && e->check(s, &why) == -1) {
            lerr(ld, line, key, "\"%s\": %s", shown, why);
            return -1;
        }
        if ((int64_t)len < e->min || (int64_t)len > e->max) {
            lerr(ld, line, key, "\"%s\" must be %lld to %lld bytes long", shown, (long long)e->min,
                 (long long)e->max);
            return -1;
        }
        if (store_str(base, e, s) == -1) {
            lerr(ld, line, key, "out of memory");
            return -1;
        }
        return 0;
    case CT_ENUM:
        for (x = 0; e->choices[x] != NULL; x++)
            if (strcasecmp(s, e->choices[x]) == 0)
                break;
        if (e->choices[x] == NULL) {
            lerr(ld, line, key, "expected %s, got \"%s\"", expected(e, exp, sizeof(exp)), shown);
            return -1;
        }
        if (!e->as_string) {
            store_int(base, e, x);
        } else if (store_str(base, e, e->choices[x]) == -1) {
            lerr(ld, line, key, "out of memory");
            return -1;
        }
        return 0;
    case CT_BOOL:
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
            x = 1;
        else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
            x = 0;
        else {
            lerr(ld, line, key, "expected true or false, got \"%s\"", shown);
            return -1;
        }
        store_int(base, e, x);
        return 0;
    case CT_INT:
        if (parse_int(s, &x) == -1) {
            lerr(ld, line, key, "expected an integer, got \"%s\"", shown);
            return -1;
        }
        if (x < e->min || x > e->max) {
            lerr(ld, line, key, "%lld is out of range (%lld..%lld)", (long long)x,
                 (long long)e->min, (long long)e->max);
            return -1;
        }
        store_int(base, e, x);
        return 0;
    case CT_DURATION:
        if (config_parse_duration(s, &x, &why) == -1) {
            if (strspn(s, "0123456789") == len && len <= 18)
                lerr(ld, line, key, "\"%s\" has no unit (did you mean %s%s?)", shown, shown,
                     e->unit);
            else
                lerr(ld, line, key, "\"%s\": %s", shown, why);
            return -1;
        }
        if (x < e->min || x > e->max) {
            config_format_duration(e->min, lo, sizeof(lo));
            config_format_duration(e->max, hi, sizeof(hi));
            lerr(ld, line, key, "%s is out of range (%s..%s)", shown, lo, hi);
            return -1;
        }
        store_int(base, e, x);
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

    for (size_t i = 0; i < SCHEMA_N; i++) {
        size_t d;
        if (in_listen(&schema[i]) != listen_scope)
            continue;
        if ((d = edit_distance(full, schema[i].name)) < bestd && 2 * d <= strlen(key)) {
            bestd = d;
            best = &schema[i];
        }
    }
    for (size_t i = 0; i < SCHEMA_N && best == NULL; i++) {
        const char *last = strrchr(schema[i].name, '.');
        if (in_listen(&schema[i]) == listen_scope && last != NULL && strcmp(last + 1, key) == 0)
            best = &schema[i];
    }
    return best;
}

static void load_listen(struct load *ld, yaml_node_t *v, const char *key);

/* Walks one map. prefix is its schema path ("", "site.", "listen[].tls."), path the one shown
 * in messages ("", "site.", "listen[1].tls."); lines records where each key was given, bad
 * which ones were refused. */
static void
walk_map(struct load *ld, yaml_node_t *map, const char *prefix, const char *path, void *base,
         unsigned *lines, bool *bad)
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
            lerr(ld, line, *path != '\0' ? path : "(top level)", "a key must be a string, not %s",
                 node_kind(k));
            continue;
        }
        kstr = (const char *)k->data.scalar.value;
        klen = k->data.scalar.length;
        snprintf(key, sizeof(key), "%s%s", path, printable(kstr, klen, shown, sizeof(shown)));
        /* a key is one name: "site.code" or "listen[].port" as a key must not reach the
         * table, whose "listen[]." entries are fields of another struct */
        lookable = klen <= MAX_KEY_LEN && strlen(kstr) == klen && strcspn(kstr, ".[") == klen;
        if (strcspn(kstr, ".[") < strlen(kstr)) {
            lerr(ld, line, key,
                 "unknown key (nest keys in their section, as in `site: {code: "
                 "PS1}`, rather than joining them with dots)");
            continue;
        }
        if (lookable) {
            snprintf(full, sizeof(full), "%s%s", prefix, kstr);
            e = schema_find(full);
        }
        if (e == NULL) {
            if (ld->nerr >= CONFIG_MAX_ERRORS || !lookable ||
                (alt = suggest(full, kstr, base != ld->cfg)) == NULL)
                lerr(ld, line, key, "unknown key");
            else
                lerr(ld, line, key, "unknown key (did you mean %s%s?)",
                     in_listen(alt) ? ld->item : "",
                     alt->name + (in_listen(alt) ? strlen(LISTEN_SCOPE) : 0));
            continue;
        }
        idx = (size_t)(e - schema);
        if (lines[idx] != 0) {
            lerr(ld, line, key, "duplicate key (first given on line %u)", lines[idx]);
            continue;
        }
        lines[idx] = line;
        if (e->type == CT_SECTION) {
            if (is_null(v))
                continue; /* an empty section: every key keeps its default */
            if (v->type != YAML_MAPPING_NODE) {
                lerr(ld, (unsigned)v->start_mark.line + 1, key, "expected a map, got %s",
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
check_listen(struct load *ld, size_t i, unsigned item_line)
{
    struct config_listen *l = &ld->cfg->listen[i];
    unsigned *lines = ld->listen_line[i];
    bool *bad = ld->listen_bad[i];
    size_t tls = schema_index(LISTEN_SCOPE "tls"), addr = schema_index(LISTEN_SCOPE "address");
    char key[64];

    for (size_t j = 0; j < SCHEMA_N; j++)
        if (schema[j].required && lines[j] == 0) {
            snprintf(key, sizeof(key), "listen[%zu]", i);
            lerr(ld, item_line, key, "missing %s", schema[j].name + strlen(LISTEN_SCOPE));
        }
    if (bad[tls] || bad[addr]) {
        /* already reported */
    } else if (lines[tls] != 0 && (l->tls_certificate == NULL || l->tls_key == NULL)) {
        snprintf(key, sizeof(key), "listen[%zu].tls", i);
        lerr(ld, lines[tls], key, "needs both certificate and key");
    } else if (lines[tls] == 0 && l->address != NULL && !is_loopback(l->address)) {
        snprintf(key, sizeof(key), "listen[%zu].address", i);
        lerr(ld, lines[addr], key,
             "plain HTTP is allowed only on loopback addresses; configure listen[%zu].tls", i);
    }
    for (size_t j = 0; j < i && l->address != NULL && l->port != 0; j++)
        if (ld->cfg->listen[j].address != NULL && ld->cfg->listen[j].port == l->port &&
            strcmp(ld->cfg->listen[j].address, l->address) == 0) {
            snprintf(key, sizeof(key), "listen[%zu]", i);
            lerr(ld, item_line, key, "same address and port as listen[%zu]", j);
        }
}

static void
load_listen(struct load *ld, yaml_node_t *v, const char *key)
{
    unsigned line = (unsigned)v->start_mark.line + 1;
    size_t n;
    char path[32];

    if (v->type != YAML_SEQUENCE_NODE) {
        lerr(ld, line, key, "expected a sequence of {address, port, tls}, got %s",
             is_null(v) ? "nothing" : node_kind(v));
        return;
    }
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 1 || n > CONFIG_MAX_LISTEN) {
        lerr(ld, line, key, "needs 1 to %d entries, got %zu", CONFIG_MAX_LISTEN, n);
        return;
    }
    if ((ld->cfg->listen = calloc(n, sizeof(*ld->cfg->listen))) == NULL) {
        lerr(ld, line, key, "out of memory");
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
            lerr(ld, (unsigned)item->start_mark.line + 1, path,
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
check_rules(struct load *ld)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        const struct schema_entry *a = schema_find(rules[i].lesser);
        const struct schema_entry *b = schema_find(rules[i].greater);
        size_t ia = (size_t)(a - schema), ib = (size_t)(b - schema);
        int64_t va = load_int64(ld->cfg, a), vb = load_int64(ld->cfg, b);
        char sa[32], sb[32];

        if (ld->bad[ia] || ld->bad[ib] || va < vb || (!rules[i].strict && va == vb))
            continue;
        config_format_duration(va, sa, sizeof(sa));
        config_format_duration(vb, sb, sizeof(sb));
        if (ld->line[ia] != 0)
            lerr(ld, ld->line[ia], a->name, "%s must be %s %s (%s)", sa,
                 rules[i].strict ? "shorter than" : "at most", b->name, sb);
        else
            lerr(ld, ld->line[ib], b->name, "%s must be %s %s (%s)", sb,
                 rules[i].strict ? "longer than" : "at least", a->name, sa);
    }
}

static void
yaml_error(struct load *ld, const yaml_parser_t *parser, const char *text, size_t len)
{
    unsigned line = (unsigned)parser->problem_mark.line + 1;

    if (parser->error == YAML_MEMORY_ERROR) {
        lerr(ld, 1, "yaml", "out of memory");
        return;
    }
    if (parser->error == YAML_READER_ERROR) {
        line = 1;
        for (size_t i = 0; i < parser->problem_offset && i < len; i++)
            line += text[i] == '\n';
    }
    lerr(ld, line, "yaml", "%s%s%s", parser->problem != NULL ? parser->problem : "syntax error",
         parser->context != NULL ? " " : "", parser->context != NULL ? parser->context : "");
}

/* A first pass over the events, before libyaml builds a document: finds syntax errors, nesting
 * deeper than CONFIG_MAX_DEPTH, too many anchors and more than one document. This keeps the
 * loader's costs linear: libyaml's scanner does work proportional to the flow nesting for
 * every token, and its loader looks anchors up one by one. 0 when the text may be loaded. */
static int
prescan(struct load *ld, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, anchors = 0, docs = 0, rc = 1;

    if (!yaml_parser_initialize(&parser)) {
        lerr(ld, 1, "yaml", "out of memory");
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
                lerr(ld, line, "yaml", "more than one document");
                rc = -1;
            }
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            anchor = ev.type == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor
                                                         : ev.data.sequence_start.anchor;
            if (++depth > CONFIG_MAX_DEPTH) {
                lerr(ld, line, "yaml", "nested deeper than %d levels", CONFIG_MAX_DEPTH);
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
            lerr(ld, line, "yaml", "more than %d anchors", CONFIG_MAX_ANCHORS);
            rc = -1;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* Walks the loaded document into ld->cfg, which holds the plain defaults. */
static void
load_document(struct load *ld, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        lerr(ld, (unsigned)root->start_mark.line + 1, "(top level)", "expected a map, got %s",
             node_kind(root));
        return;
    }
    walk_map(ld, root, "", "", ld->cfg, ld->line, ld->bad);
}

/* sitetokend -n: what start-up would refuse on this host, found before
 * anything is created: every TLS listener's files load and parse, the
 * user to drop to and the admin socket's group exist. */
static void
check_host(struct load *ld)
{
    size_t icert = schema_index(LISTEN_SCOPE "tls.certificate"), iuser = schema_index("user");
    size_t igroup = schema_index("admin_socket_group");
    struct config *cfg = ld->cfg;
    char key[64];

    for (size_t i = 0; i < cfg->nlisten; i++) {
        const struct config_listen *l = &cfg->listen[i];
        const char *why = NULL;

        if (l->tls_certificate == NULL || l->tls_key == NULL || ld->listen_bad[i][icert] ||
            ld->tls_check == NULL)
            continue;
        if (ld->tls_check(l->tls_certificate, l->tls_key, l->tls_client_ca, &why) == -1) {
            snprintf(key, sizeof(key), "listen[%zu].tls.certificate", i);
            lerr(ld, ld->listen_line[i][icert], key, "%s", why != NULL ? why : "cannot load");
        }
    }
    if (cfg->user != NULL && !ld->bad[iuser] && getpwnam(cfg->user) == NULL)
        lerr(ld, ld->line[iuser], "user", "no such user: %s", cfg->user);
    if (cfg->admin_socket_group != NULL && !ld->bad[igroup] &&
        getgrnam(cfg->admin_socket_group) == NULL)
        lerr(ld, ld->line[igroup], "admin_socket_group", "no such group: %s",
             cfg->admin_socket_group);
}

static int
config_load_buf(struct config *cfg, const char *name, const char *yaml, size_t len,
                struct config_errors *errs, bool host, config_tls_check_fn *tls_check)
{
    struct load *ld;
    yaml_parser_t parser;
    yaml_document_t doc;
    size_t iadmin, first_err = config_errors_count(errs);
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (name == NULL)
        name = "(string)";
    if (yaml == NULL)
        yaml = "", len = 0;
    if (len > CONFIG_MAX_FILE_SIZE) {
        errs_addf(errs, 0, "%s: larger than %d bytes", name, CONFIG_MAX_FILE_SIZE);
        return -1;
    }
    if ((ld = calloc(1, sizeof(*ld))) == NULL) {
        errs_addf(errs, 0, "%s: out of memory", name);
        return -1;
    }
    ld->cfg = cfg;
    ld->errs = errs;
    ld->file = name;
    ld->doc = &doc;
    ld->host = host;
    ld->tls_check = tls_check;
    if (apply_defaults(cfg) == -1 || (cfg->source = strdup(name)) == NULL)
        lerr(ld, 1, "yaml", "out of memory");

    if (prescan(ld, yaml, len) == -1)
        goto done;
    if (!yaml_parser_initialize(&parser)) {
        lerr(ld, 1, "yaml", "out of memory");
        goto done;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_error(ld, &parser, yaml, len);
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root != NULL && !is_null(root))
            load_document(ld, root);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);

    if (cfg->listen == NULL && ld->line[schema_index("listen")] == 0 && default_listen(cfg) == -1)
        lerr(ld, 1, "listen", "out of memory");
    if (derive(cfg) == -1)
        lerr(ld, 1, "yaml", "out of memory");
    iadmin = schema_index("admin_socket");
    if (cfg->admin_socket != NULL && strlen(cfg->admin_socket) > MAX_SUN_PATH &&
        ld->line[iadmin] == 0)
        lerr(ld, ld->line[schema_index("state_dir")], "admin_socket",
             "derived path is longer than %d bytes, the limit for a Unix socket; set "
             "admin_socket or a shorter state_dir",
             MAX_SUN_PATH);
    check_rules(ld);
    if (ld->host)
        check_host(ld);
done:
    errs_sort(errs, first_err);
    rc = ld->nerr > 0 ? -1 : 0;
    if (rc == -1)
        config_free(cfg);
    free(ld);
    return rc;
}

int
config_load_string(struct config *cfg, const char *name, const char *yaml, size_t len,
                   struct config_errors *errs)
{
    return config_load_buf(cfg, name, yaml, len, errs, false, NULL);
}

static int
config_load_file(struct config *cfg, const char *path, struct config_errors *errs, bool host,
                 config_tls_check_fn *tls_check)
{
    FILE *f;
    char *buf;
    size_t n;
    int rc = -1;

    memset(cfg, 0, sizeof(*cfg));
    if ((f = fopen(path, "rb")) == NULL) {
        errs_addf(errs, 0, "%s: %s", path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(CONFIG_MAX_FILE_SIZE + 1)) == NULL) {
        errs_addf(errs, 0, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, CONFIG_MAX_FILE_SIZE + 1, f);
    if (ferror(f))
        errs_addf(errs, 0, "%s: %s", path, strerror(errno));
    else if (n > CONFIG_MAX_FILE_SIZE)
        errs_addf(errs, 0, "%s: larger than %d bytes", path, CONFIG_MAX_FILE_SIZE);
    else
        rc = config_load_buf(cfg, path, buf, n, errs, host, tls_check);
    free(buf);
    fclose(f);
    return rc;
}

int
config_load(struct config *cfg, const char *path, struct config_errors *errs)
{
    return config_load_file(cfg, path, errs, false, NULL);
}

int
config_check(struct config *cfg, const char *path, struct config_errors *errs,
             config_tls_check_fn *tls_check)
{
    return config_load_file(cfg, path, errs, true, tls_check);
}

size_t
config_schema_count(void)
{
    return SCHEMA_N;
}

int
config_schema_row(size_t i, struct config_schema_row *row)
{
    const struct schema_entry *e;
    char lo[32], hi[32];

    if (i >= SCHEMA_N)
        return -1;
    e = &schema[i];
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
