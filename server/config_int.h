/* Internals shared by the config module's own files (never included outside server/config*.c):
 * the schema entry and its table (config_schema.c), the state of one load and its error
 * reporting (config_errors.c), the YAML walker (config_yaml.c) that config.c runs. */
#ifndef SITETOKEN_CONFIG_INT_H
#define SITETOKEN_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SEC_MS 1000LL
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define MAX_KEY_LEN 64   /* longer keys are unknown without looking them up */
#define MAX_SUN_PATH 107 /* sizeof(sockaddr_un.sun_path) - 1 on Linux */
#define LISTEN_SCOPE "listen[]."
#define CONFIG_SCHEMA_MAX 128 /* entries the table may grow to (checked where it is defined) */

/* ---- the schema (config_schema.c) ---- */

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

/* Cross-field rules: lesser < greater (strict) or lesser <= greater. */
struct schema_rule {
    const char *lesser, *greater;
    bool strict;
};

extern const struct schema_entry config_schema[];
extern const size_t config_schema_n;
extern const struct schema_rule config_rules[];
extern const size_t config_rules_n;

/* The entry named name (dotted, "listen[].port" for listen items); NULL when unknown. */
const struct schema_entry *config_schema_find(const char *name);
/* The index of a name that is in the table (a programming error otherwise). */
size_t config_schema_index(const char *name);
/* An entry of a listen item (a field of struct config_listen, not of struct config). */
bool config_in_listen(const struct schema_entry *e);
bool config_is_loopback(const char *address);

/* The field e describes, in base (a struct config or a struct config_listen). set_int writes
 * ints, durations, bools and enum indexes at the field's own width. set_str replaces a string
 * field with a copy of s (NULL clears it); -1 on allocation failure, the old value stays. */
void config_field_set_int(void *base, const struct schema_entry *e, int64_t v);
int64_t config_field_int64(const void *base, const struct schema_entry *e);
int config_field_set_str(void *base, const struct schema_entry *e, const char *s);

/* The plain defaults of every entry outside the listen items (derived values stay NULL), the
 * one default listener, and what is derived from other keys (issuer, the three state paths).
 * Each -1 on allocation failure. */
int config_apply_defaults(struct config *cfg);
int config_default_listen(struct config *cfg);
int config_derive(struct config *cfg);

/* ---- one load (config.c runs it; config_yaml.c walks the document into it) ---- */

struct yaml_document_s;

/* Where each key was set (line, 0 = not given) and which values were refused, for the top
 * level and for each listen item. */
struct config_loader {
    struct config *cfg;
    struct config_errors *errs; /* may be NULL */
    const char *file;
    struct yaml_document_s *doc;
    size_t nerr;
    const char *item; /* display prefix of the listen item being walked, "listen[3]." */
    unsigned line[CONFIG_SCHEMA_MAX];
    bool bad[CONFIG_SCHEMA_MAX];
    unsigned listen_line[CONFIG_MAX_LISTEN][CONFIG_SCHEMA_MAX];
    bool listen_bad[CONFIG_MAX_LISTEN][CONFIG_SCHEMA_MAX];
    bool host; /* sitetokend -n: also check what the host must provide */
    config_tls_check_fn *tls_check;
};

/* ---- error collection (config_errors.c) ---- */

/* Appends one line; line orders it (0: the file as a whole). Past CONFIG_MAX_ERRORS, or out of
 * memory, the line is only counted. errs may be NULL. */
void config_errors_addf(struct config_errors *errs, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Puts the errors from `from` on in line order (stable: same-line errors keep theirs). */
void config_errors_sort(struct config_errors *errs, size_t from);
/* Reports "FILE:LINE: key: message" for this load and counts it. */
void config_report(struct config_loader *ld, unsigned line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the YAML walker (config_yaml.c) ---- */

/* A first pass over the events: syntax errors, nesting, anchors, documents. 0 when the text
 * may be loaded, -1 when it was refused (reported). */
int config_yaml_prescan(struct config_loader *ld, const char *yaml, size_t len);
/* Loads the document and walks it into ld->cfg, which holds the plain defaults; reports every
 * problem. -1 only when the parser could not even start (reported): the load stops there. */
int config_yaml_load(struct config_loader *ld, const char *yaml, size_t len);

#endif
