/* The sitetokend configuration: the plain struct a load produces, the YAML loader that reports
 * every error as "FILE:LINE: key: message", the schema as text, and durations. The module is
 * server/config*.c: config.c (a load), config_schema.c (the table), config_yaml.c (the walk),
 * config_errors.c, config_duration.c; config_int.h is shared by them alone. */
#ifndef SITETOKEN_CONFIG_H
#define SITETOKEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_FILE_SIZE (1024 * 1024) /* bytes; larger files are refused */
#define CONFIG_MAX_DEPTH 8                 /* nested maps and sequences */
#define CONFIG_MAX_ANCHORS 64              /* YAML anchors (&name) in one file */
#define CONFIG_MAX_LISTEN 16               /* entries in `listen` */
#define CONFIG_MAX_ERRORS 100              /* errors kept; later ones are only counted */
#define CONFIG_DEFAULT_SOURCE "(embedded default)"

/* One item of `listen`. Strings are owned by the config; tls_* are NULL when absent (then the
 * address is a loopback one: the loader enforces it). port 0 means "pick a free port". */
struct config_listen {
    char *address;
    int port;
    char *tls_certificate, *tls_key, *tls_client_ca; /* listen[].tls */
};

/* The configuration, one group per section of the file (the schema in config_schema.c names
 * every key, its bounds and its default; `sitetokend --help-config` prints it). Every field is
 * set after config_defaults() or a successful config_load*(): derived values (issuer,
 * database, seal_key_file, admin_socket) are filled in. Durations are milliseconds. All
 * strings are heap copies owned by the struct; NULL means "not configured" where a comment
 * says so. */
struct config {
    /* site */
    char *site_code, *issuer, *audience;
    char *public_url; /* origin of the metadata's URIs; NULL = from each request */

    /* listen: 1 to CONFIG_MAX_LISTEN listeners */
    struct config_listen *listen;
    size_t nlisten;

    /* top-level keys: files, the admin socket, privileges */
    char *state_dir, *database, *seal_key_file, *admin_socket;
    char *database_password_file; /* NULL: PGPASSFILE (PostgreSQL only) */
    char *admin_socket_group;     /* the admin socket's group (mode 0660); NULL = mode 0600 */
    char *user;                   /* drop privileges to this user after binding; NULL = don't */

    /* keys */
    char *key_algorithm; /* a name from JWK_ALGS (proto/jwk.h) */
    int64_t rotation_period_ms, prepublish_ms;

    /* tokens */
    int64_t client_lifetime_ms, renew_after_ms, access_lifetime_ms;
    int64_t exchange_retry_window_ms; /* a first exchange retried with the same key: no use */
    int64_t bulk_default_lifetime_ms, bulk_max_lifetime_ms, clock_skew_ms;

    /* log */
    int log_level;  /* enum log_level (log.h) */
    int log_format; /* enum log_format (log.h) */

    /* metrics */
    char *metrics_listen;       /* "ADDRESS:PORT" serving /metrics alone; NULL = the public ones */
    int64_t metrics_refresh_ms; /* the store-read gauges are this old at most */

    /* limits */
    int64_t max_body, max_header_size, max_connections, read_timeout_ms;
    int64_t mp_rate;                     /* requests/s per MP, 0 = unlimited */
    int64_t failed_exchanges_per_minute; /* 0 = unlimited */
    int64_t proofs_per_mp;               /* replay cache quota per MP and window */
    int64_t public_rate, public_burst;   /* public reads a minute per address; 0 = unlimited */
    int64_t failed_auth_per_minute;      /* refused MP authentications per address; 0 = unlimited */
    int64_t max_streams, max_streams_per_address; /* event streams, apart from connections */
    int64_t max_queued_bytes;                     /* shared answer bytes queued to slow readers */

    /* feed */
    int64_t feed_max_age_ms; /* signed revocation document lifetime */

    /* cluster */
    int64_t cluster_poll_ms;      /* a shared database's marker read this often */
    int64_t cluster_key_lease_ms; /* the key lifecycle leader's lease */

    /* threads */
    int64_t workers; /* 0 = one per CPU */

    /* store */
    int64_t commit_batch, commit_delay_ms, busy_timeout_ms;

    /* debug */
    bool clock_override; /* test-only: allow the debug clock */

    char *source; /* where it came from: the file name, or CONFIG_DEFAULT_SOURCE */
};

/* ---- errors (config_errors.c) ---- */

/* An ordered list of error lines. Each is "FILE:LINE: key: message"; a YAML syntax error
 * has "yaml" in the key position, and a problem with the file as a whole (unreadable, too
 * large) is "FILE: message". */
struct config_errors;

struct config_errors *config_errors_new(void); /* NULL on allocation failure */
void config_errors_free(struct config_errors *errs);
size_t config_errors_count(const struct config_errors *errs);
/* The i-th error line (no newline), NULL when out of range. Valid until the list is freed. */
const char *config_errors_get(const struct config_errors *errs, size_t i);
/* One error a line; ends with a note when more than CONFIG_MAX_ERRORS were found. */
void config_errors_print(const struct config_errors *errs, FILE *out);

/* ---- loading ---- */

/* The embedded default configuration, fully derived. Free with config_free(). */
void config_defaults(struct config *cfg);

/* Load a YAML file, or YAML text from memory (name is used in messages). cfg need not be
 * initialised. On 0, cfg holds the configuration (free with config_free()). On -1 cfg is
 * left empty (config_free() is harmless) and every error found was appended to errs, which
 * may be NULL. An empty document means all defaults. Never reads more than
 * CONFIG_MAX_FILE_SIZE bytes. */
int config_load(struct config *cfg, const char *path, struct config_errors *errs);
int config_load_string(struct config *cfg, const char *name, const char *yaml, size_t len,
                       struct config_errors *errs);
/* config_load, then what start-up needs from the host (sitetokend -n): the TLS
 * files load and parse (tls_check: 0, or -1 with *why; NULL skips it; the config
 * files themselves depend only on libyaml), the user and the group exist. Errors are
 * "FILE:LINE: key: message". */
typedef int config_tls_check_fn(const char *certificate, const char *key, const char *client_ca,
                                const char **why);
int config_check(struct config *cfg, const char *path, struct config_errors *errs,
                 config_tls_check_fn *tls_check);

/* Frees everything cfg owns and zeroes it. */
void config_free(struct config *cfg);

/* ---- the schema as text (config_schema.c) ---- */

/* The schema as a table for `sitetokend --help-config`. */
void config_print_schema(FILE *out);

/* One schema entry as text, for --help-config and the sitetokend.yaml(5)
 * generator. The strings point into the table or into the row itself. */
struct config_schema_row {
    const char *name; /* dotted; items of the listen list are "listen[].KEY" */
    const char *type; /* "map", "string", "path", "int", "bool", "duration", "enum", "list" */
    const char *help;
    bool section; /* a map of further keys */
    char def[64], range[80];
};
size_t config_schema_count(void);
/* Fills row with entry i; -1 when i is out of range. */
int config_schema_row(size_t i, struct config_schema_row *row);

/* "error", "warn", "info", "debug"; "info" for an out-of-range value. */
const char *config_log_level_name(int level);

/* ---- durations (config_duration.c) ---- */

/* "90d 8h 5m 0s", "2ms", "10080m": one or more <integer><unit> groups, units d h m s ms,
 * each at most once and from largest to smallest, optional spaces between groups.
 * 0 and *ms set on success; -1 and a static message in *errstr otherwise. */
int config_parse_duration(const char *s, int64_t *ms, const char **errstr);
/* The canonical form that config_parse_duration() reads back ("1d 8h", "0s"). */
void config_format_duration(int64_t ms, char *buf, size_t n);

#endif
