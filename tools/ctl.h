/* sitetokenctl's shared header: the command and option tables (ctl_main.c
 * holds the one table that drives dispatch, help, completion and the man
 * page), the admin-route calls and the printing helpers (ctl_table.c), and
 * the commands (ctl_cmds_*.c). */
#ifndef SITETOKEN_TOOLS_CTL_H
#define SITETOKEN_TOOLS_CTL_H

#include <stdio.h>

#include <jansson.h>

#include "httpc.h"

/* Exit codes (docs/api.md): a cron job tells tampering from a stopped server. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_REFUSED = 1,
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_UNREACHABLE = 3,
    CTL_EXIT_AUDIT_BROKEN = 4,
};

struct ctl {
    struct httpc_target target;
    const char *socket_from; /* where target.unix_path came from, for messages */
    int json;
    int quiet; /* -q: only the value a script wants (the command's .quiet) */
};

enum ctl_opt_type {
    CTL_OPT_FLAG,
    CTL_OPT_TEXT,     /* at most .max bytes */
    CTL_OPT_INT,      /* .min to .max */
    CTL_OPT_ENUM,     /* one of .choices ("a|b|c") */
    CTL_OPT_DURATION, /* "3d", "90m" (proto/duration.c); seconds .min to .max; a bare
                         number counts in .bare_unit seconds, refused when 0 */
    CTL_OPT_PAIR,     /* KEY=VALUE of at most .max bytes; may repeat (CTL_MAX_REPEAT
                         times, one such option a command): every value in ctl_args.multi */
    CTL_OPT_RATE,     /* "N/s" (or N): per second, .min to .max */
};

struct ctl_opt {
    const char *name; /* without "--" */
    const char *arg;  /* metavariable in help ("N", "ID"); NULL for a flag */
    enum ctl_opt_type type;
    long long min, max;
    const char *choices;
    long long bare_unit;
    const char *help;
};

#define CTL_MAX_OPTS 12
#define CTL_MAX_REPEAT 16

/* A parsed command line: values by the index of their option in the table. */
struct ctl_args {
    const struct ctl_command *cmd;
    const char *pos; /* the positional argument, when the command takes one */
    const char *val[CTL_MAX_OPTS];
    long long num[CTL_MAX_OPTS];       /* INT and DURATION (seconds) */
    const char *multi[CTL_MAX_REPEAT]; /* every value of the command's CTL_OPT_PAIR option */
    int nmulti;
    int raw_argc; /* .raw commands: the words after the command */
    char **raw_argv;
};

struct ctl_command {
    const char *name;    /* "bulk new"; one or two words */
    const char *arg;     /* the positional argument's metavariable, or NULL */
    const char *summary; /* one line */
    const struct ctl_opt *opts;
    const char *quiet; /* what -q prints: a field of the answer (of each item in a list) */
    int raw;           /* the command parses its own words (ui) */
    int (*run)(struct ctl *ctl, const struct ctl_args *a);
};

/* The command table (ctl_main.c). */
extern const struct ctl_command ctl_commands[];
extern const size_t ctl_ncommands;

/* ctl_args.c: the command line against the table. */
void ctl_usage(FILE *out);
void ctl_help_command(FILE *out, const struct ctl_command *cmd);
void ctl_help_group(FILE *out, const char *group);
/* A command group's first word ("bulk", "device"), and the command the
 * first words name (NULL when none; *used words). */
int ctl_is_group(const char *word);
const struct ctl_command *ctl_find(char **words, int n, int *used);
/* The command named by the first one or two words (*used of them): 0, or
 * the usage exit code with the message (and a suggestion) on stderr. */
int ctl_resolve(char **words, int n, const struct ctl_command **cmd, int *used);
/* The command's options and positional argument: 0, or the usage exit code. */
int ctl_parse_args(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a);

/* ctl_man.c: sitetokenctl(8) and the list bash completion reads. */
void ctl_man(FILE *out);
void ctl_commands_list(FILE *out);

/* Option values by name (the name must be in the command's table). */
const char *ctl_val(const struct ctl_args *a, const char *name);
long long ctl_num(const struct ctl_args *a, const char *name, long long def);
int ctl_has(const struct ctl_args *a, const char *name);

/* ctl_table.c: calls and printing ---------------------------------------- */

/* The KEY=VALUE values of a->multi as a JSON object (NULL when none, or on a
 * key given twice: the usage message printed, *rc the exit code). */
json_t *ctl_pairs(const struct ctl_args *a, int *rc);
/* --dry-run of a change: GET /v1/admin/impact?key=id printed, nothing changed. */
int ctl_dry_run(struct ctl *ctl, const struct ctl_args *a, const char *key, const char *id);

/* Calls an admin route. 0 with the parsed answer in *out; the exit code
 * otherwise, its message already on stderr. body is not stolen. */
int ctl_call(struct ctl *ctl, const char *method, const char *path, json_t *body, json_t **out);
/* One call, printed as --json, -q (the command's quiet field), or by show. */
int ctl_do(struct ctl *ctl, const struct ctl_args *a, const char *method, const char *path,
           json_t *body /* stolen */, void (*show)(const json_t *doc));
/* A paged list, GET base?query; --all follows next until the end. */
int ctl_list(struct ctl *ctl, const struct ctl_args *a, const char *base, const char *query,
             void (*show)(const json_t *doc));
/* Prints doc (--json), its quiet field(s) (-q), or calls show. */
void ctl_output(struct ctl *ctl, const struct ctl_args *a, const json_t *doc,
                void (*show)(const json_t *doc));
void ctl_print_json(const json_t *doc);

struct ctl_col {
    const char *key, *title;
};
/* Items as a table with aligned columns ("-" for null). */
void ctl_print_table(const json_t *items, const struct ctl_col *cols, int ncols);
/* "label   value" lines, in the order of fields (ended by {NULL, NULL}). */
void ctl_print_fields(const json_t *doc, const struct ctl_col *fields);
void ctl_print_next(const json_t *doc);
/* A JSON value as text for a cell (malloc'd; "-" for null or absent). */
char *ctl_cell(const json_t *v);

void ctl_urlenc(const char *s, char *out, size_t n);
/* Appends "name=value" (encoded) to the query q; never a cut-off one. */
void ctl_query_add(char *q, size_t n, const char *name, const char *value);
/* "base/ENC(id)suffix" into path. */
void ctl_path_id(char *path, size_t n, const char *base, const char *id, const char *suffix);
/* Usage error: "sitetokenctl: msg" and the command's usage; returns 2. */
int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ctl_command_usage(FILE *out, const struct ctl_command *cmd);

/* The commands ------------------------------------------------------------ */

int ctl_status(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_new(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_list(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_show(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_block(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_unblock(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_prune(struct ctl *ctl, const struct ctl_args *a);
int ctl_device_purge(struct ctl *ctl, const struct ctl_args *a);
int ctl_device_list(struct ctl *ctl, const struct ctl_args *a);
int ctl_device_show(struct ctl *ctl, const struct ctl_args *a);
int ctl_device_block(struct ctl *ctl, const struct ctl_args *a);
int ctl_device_unblock(struct ctl *ctl, const struct ctl_args *a);
int ctl_device_search(struct ctl *ctl, const struct ctl_args *a);
int ctl_token_list(struct ctl *ctl, const struct ctl_args *a);
int ctl_token_show(struct ctl *ctl, const struct ctl_args *a);
int ctl_token_revoke(struct ctl *ctl, const struct ctl_args *a);
int ctl_mp_add(struct ctl *ctl, const struct ctl_args *a);
int ctl_mp_list(struct ctl *ctl, const struct ctl_args *a);
int ctl_mp_remove(struct ctl *ctl, const struct ctl_args *a);
int ctl_mp_rotate_key(struct ctl *ctl, const struct ctl_args *a);
int ctl_key_list(struct ctl *ctl, const struct ctl_args *a);
int ctl_key_rotate(struct ctl *ctl, const struct ctl_args *a);
int ctl_key_taint(struct ctl *ctl, const struct ctl_args *a);
int ctl_key_revoke(struct ctl *ctl, const struct ctl_args *a);
int ctl_bulk_allow(struct ctl *ctl, const struct ctl_args *a);
/* ctl_cmds_allow.c: the hardware ids of FILE (a JSON array), or the usage
 * exit code; bulk new with them: the first page in body, the rest in pages
 * (body and all are stolen). */
int ctl_allow_read(const struct ctl_args *a, const char *path, json_t **out);
int ctl_bulk_new_allow(struct ctl *ctl, const struct ctl_args *a, json_t *body, json_t *all,
                       void (*show)(const json_t *doc));
int ctl_audit(struct ctl *ctl, const struct ctl_args *a);
int ctl_audit_verify(struct ctl *ctl, const struct ctl_args *a);
int ctl_audit_recent(struct ctl *ctl, const struct ctl_args *a);
int ctl_overview(struct ctl *ctl, const struct ctl_args *a);
int ctl_impact(struct ctl *ctl, const struct ctl_args *a);
int ctl_ui(struct ctl *ctl, const struct ctl_args *a);

#endif
