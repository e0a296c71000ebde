/* sitetokenctl: the administrator's tool. This file holds the command table,
 * the one source of dispatch, help (ctl_args.c), bash completion and the man
 * page (ctl_man.c), and main: global options anywhere on the line.
 * Exit 0 ok, 1 the server refused (its code on stderr), 2 usage, 3 the
 * server cannot be reached, 4 `audit verify` found a break. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "duration.h"

#define ID_MAX 64

#define CTL_OPT_LABEL(what)                                                                        \
    {                                                                                              \
        .name = "label", .arg = "KEY=VALUE", .type = CTL_OPT_PAIR, .max = 129,                     \
        .help = "a label the devices it enrols carry" what                                         \
    }
#define CTL_OPT_DRY_RUN                                                                            \
    {                                                                                              \
        .name = "dry-run", .type = CTL_OPT_FLAG,                                                   \
        .help = "say what it would affect (devices, live tokens), change nothing"                  \
    }

/* Options shared by the paged lists. */
#define CTL_OPTS_PAGE(cursor)                                                                      \
    {.name = "after",                                                                              \
     .arg = cursor,                                                                                \
     .type = CTL_OPT_TEXT,                                                                         \
     .max = 100,                                                                                   \
     .help = "start after this " cursor " (the previous page's next)"},                            \
        {.name = "limit",                                                                          \
         .arg = "N",                                                                               \
         .type = CTL_OPT_INT,                                                                      \
         .min = 1,                                                                                 \
         .max = 1000,                                                                              \
         .help = "at most N per page (1 to 1000)"},                                                \
    {                                                                                              \
        .name = "all", .type = CTL_OPT_FLAG, .help = "every page, not only the first"              \
    }

static const struct ctl_opt opts_none[] = {{0}};
static const struct ctl_opt opts_bulk_new[] = {
    {.name = "lifetime",
     .arg = "DURATION",
     .type = CTL_OPT_DURATION,
     .min = 60,
     .max = 7 * 86400,
     .bare_unit = 60,
     .help = "how long it is valid: 3d, 90m, 1d 12h (a bare number is minutes; default the "
             "server's tokens.bulk_default_lifetime)"},
    {.name = "max-uses",
     .arg = "N",
     .type = CTL_OPT_INT,
     .min = 1,
     .max = 1000000000,
     .help = "devices it may enrol (default unlimited)"},
    {.name = "note",
     .arg = "TEXT",
     .type = CTL_OPT_TEXT,
     .max = 256,
     .help = "a note for the list"},
    CTL_OPT_LABEL(" (a bulk token's value wins over its MP's)"),
    {.name = "cidr",
     .arg = "RANGE,...",
     .type = CTL_OPT_TEXT,
     .max = 1024,
     .help = "exchanges only from these address ranges (the MP sends client_address)"},
    {.name = "rate",
     .arg = "N/s",
     .type = CTL_OPT_RATE,
     .min = 1,
     .max = 1000000,
     .help = "at most N successful exchanges a second (per node)"},
    {.name = "allow-file",
     .arg = "FILE",
     .type = CTL_OPT_TEXT,
     .max = 4096,
     .help = "only the hardware ids in FILE (one a line, at most 100000) may exchange, each once"},
    {0}};
static const struct ctl_opt opts_page_id[] = {CTL_OPTS_PAGE("ID"), {0}};
static const struct ctl_opt opts_reason[] = {{.name = "reason",
                                              .arg = "TEXT",
                                              .type = CTL_OPT_TEXT,
                                              .max = 128,
                                              .help = "why, for the audit trail"},
                                             CTL_OPT_DRY_RUN,
                                             {0}};
static const struct ctl_opt opts_dry_run[] = {CTL_OPT_DRY_RUN, {0}};
static const struct ctl_opt opts_bulk_allow[] = {
    {.name = "file",
     .arg = "FILE",
     .type = CTL_OPT_TEXT,
     .max = 4096,
     .help = "required: the hardware ids to add, one a line"},
    {0}};

static const struct ctl_opt opts_device_list[] = {{.name = "status",
                                                   .arg = "STATUS",
                                                   .type = CTL_OPT_ENUM,
                                                   .choices = "active|blocked",
                                                   .help = "only devices with this status"},
                                                  {.name = "name",
                                                   .arg = "PREFIX",
                                                   .type = CTL_OPT_TEXT,
                                                   .max = 256,
                                                   .help = "names starting with PREFIX"},
                                                  {.name = "hardware-id",
                                                   .arg = "PREFIX",
                                                   .type = CTL_OPT_TEXT,
                                                   .max = 256,
                                                   .help = "hardware ids starting with PREFIX"},
                                                  {.name = "label",
                                                   .arg = "KEY=VALUE",
                                                   .type = CTL_OPT_TEXT,
                                                   .max = 129,
                                                   .help = "only devices carrying this label"},
                                                  CTL_OPTS_PAGE("ID"),
                                                  {0}};
static const struct ctl_opt opts_device_search[] = {
    {.name = "by",
     .arg = "FIELD",
     .type = CTL_OPT_ENUM,
     .choices = "name|hardware_id|id",
     .help = "the field PREFIX applies to (default name)"},
    CTL_OPTS_PAGE("ID"),
    {0}};
static const struct ctl_opt opts_token_list[] = {{.name = "device",
                                                  .arg = "ID",
                                                  .type = CTL_OPT_TEXT,
                                                  .max = ID_MAX,
                                                  .help = "only this device's tokens"},
                                                 CTL_OPTS_PAGE("JTI"),
                                                 {0}};
static const struct ctl_opt opts_mp_add[] = {
    {.name = "cert",
     .arg = "FILE",
     .type = CTL_OPT_TEXT,
     .max = 4096,
     .help = "the MP's PEM client certificate (only its SHA-256 fingerprint is kept)"},
    CTL_OPT_LABEL(""),
    {0}};
static const struct ctl_opt opts_key_rotate[] = {
    {.name = "now",
     .type = CTL_OPT_FLAG,
     .help = "activate the new key at once (no prepublication)"},
    {0}};
static const struct ctl_opt opts_purge[] = {
    {.name = "older-than",
     .arg = "DURATION",
     .type = CTL_OPT_DURATION,
     .min = 0,
     .max = 100LL * 366 * 86400,
     .help = "required: untouched for at least this long (90d)"},
    {.name = "dry-run", .type = CTL_OPT_FLAG, .help = "say what would go, change nothing"},
    {.name = "limit",
     .arg = "N",
     .type = CTL_OPT_INT,
     .min = 1,
     .max = 10000,
     .help = "at most N in one run (default 1000; run again while it says more)"},
    {0}};
static const struct ctl_opt opts_audit[] = {
    CTL_OPTS_PAGE("SEQ"),
    {.name = "tail",
     .arg = "N",
     .type = CTL_OPT_INT,
     .min = 1,
     .max = 100000,
     .help = "the last N records"},
    {.name = "follow",
     .type = CTL_OPT_FLAG,
     .help = "keep printing new records as they come (Ctrl-C ends)"},
    {.name = "action",
     .arg = "ACTION",
     .type = CTL_OPT_TEXT,
     .max = 48,
     .help = "only this action (\"bulk.\" for every bulk action)"},
    {.name = "actor", .arg = "ACTOR", .type = CTL_OPT_TEXT, .max = 96, .help = "only this actor"},
    {.name = "subject", .arg = "ID", .type = CTL_OPT_TEXT, .max = 128, .help = "only this subject"},
    {.name = "since",
     .arg = "WHEN",
     .type = CTL_OPT_TEXT,
     .max = 32,
     .help = "records from WHEN on: a duration ago (2h) or an RFC 3339 time"},
    {.name = "until",
     .arg = "WHEN",
     .type = CTL_OPT_TEXT,
     .max = 32,
     .help = "records up to WHEN: a duration ago or an RFC 3339 time"},
    {0}};
static const struct ctl_opt opts_audit_recent[] = {
    {.name = "action",
     .arg = "ACTION",
     .type = CTL_OPT_TEXT,
     .max = 48,
     .help = "only this action"},
    {.name = "subject", .arg = "ID", .type = CTL_OPT_TEXT, .max = 128, .help = "only this subject"},
    {.name = "actor", .arg = "ACTOR", .type = CTL_OPT_TEXT, .max = 96, .help = "only this actor"},
    {.name = "before",
     .arg = "SEQ",
     .type = CTL_OPT_INT,
     .min = 1,
     .max = INT64_MAX,
     .help = "records before this sequence number"},
    {.name = "limit",
     .arg = "N",
     .type = CTL_OPT_INT,
     .min = 1,
     .max = 1000,
     .help = "at most N (1 to 1000)"},
    {0}};
static const struct ctl_opt opts_overview[] = {{.name = "hours",
                                                .arg = "N",
                                                .type = CTL_OPT_INT,
                                                .min = 1,
                                                .max = 24,
                                                .help = "the last N hours (1 to 24)"},
                                               {0}};
static const struct ctl_opt opts_impact[] = {
    {.name = "bulk",
     .arg = "ID",
     .type = CTL_OPT_TEXT,
     .max = ID_MAX,
     .help = "blocking this bulk token"},
    {.name = "device",
     .arg = "ID",
     .type = CTL_OPT_TEXT,
     .max = ID_MAX,
     .help = "blocking this device"},
    {.name = "token",
     .arg = "JTI",
     .type = CTL_OPT_TEXT,
     .max = ID_MAX,
     .help = "revoking this token"},
    {.name = "mp", .arg = "ID", .type = CTL_OPT_TEXT, .max = ID_MAX, .help = "removing this MP"},
    {.name = "key",
     .arg = "KID",
     .type = CTL_OPT_TEXT,
     .max = ID_MAX,
     .help = "revoking this signing key"},
    {0}};
static const struct ctl_opt opts_ui[] = {
    {.name = "port", .arg = "N", .type = CTL_OPT_INT, .help = "the console's loopback port"},
    {.name = "session-idle",
     .arg = "SECONDS",
     .type = CTL_OPT_INT,
     .help = "idle time before the session ends"},
    {0}};

/* Two-word commands before a one-word command of the same first word. */
const struct ctl_command ctl_commands[] = {
    {.name = "status",
     .summary = "the server: version, counts, listeners, signing key and next rotation",
     .opts = opts_none,
     .run = ctl_status},
    {.name = "bulk new",
     .summary = "make a bulk registration token (shown once)",
     .opts = opts_bulk_new,
     .quiet = "token",
     .run = ctl_bulk_new},
    {.name = "bulk list",
     .summary = "bulk tokens, newest first",
     .opts = opts_page_id,
     .quiet = "id",
     .run = ctl_bulk_list},
    {.name = "bulk show",
     .arg = "ID",
     .summary = "one bulk token and the devices it enrolled",
     .opts = opts_none,
     .quiet = "id",
     .run = ctl_bulk_show},
    {.name = "bulk block",
     .arg = "ID",
     .summary = "refuse further exchanges with a bulk token",
     .opts = opts_reason,
     .quiet = "id",
     .run = ctl_bulk_block},
    {.name = "bulk allow",
     .arg = "ID",
     .summary = "add the hardware ids of --file to a bulk token's allow-list",
     .opts = opts_bulk_allow,
     .quiet = "total",
     .run = ctl_bulk_allow},
    {.name = "bulk unblock",
     .arg = "ID",
     .summary = "allow exchanges with a bulk token again",
     .opts = opts_none,
     .quiet = "id",
     .run = ctl_bulk_unblock},
    {.name = "bulk prune",
     .summary = "remove bulk tokens expired for --older-than whose devices' tokens have all "
                "expired (audited)",
     .opts = opts_purge,
     .quiet = "ids",
     .run = ctl_bulk_prune},
    {.name = "device list",
     .summary = "devices",
     .opts = opts_device_list,
     .quiet = "id",
     .run = ctl_device_list},
    {.name = "device show",
     .arg = "ID",
     .summary = "one device and its tokens",
     .opts = opts_none,
     .quiet = "id",
     .run = ctl_device_show},
    {.name = "device search",
     .arg = "PREFIX",
     .summary = "devices by prefix of name, hardware id or id",
     .opts = opts_device_search,
     .quiet = "id",
     .run = ctl_device_search},
    {.name = "device block",
     .arg = "ID",
     .summary = "refuse every token of a device and its key",
     .opts = opts_reason,
     .quiet = "id",
     .run = ctl_device_block},
    {.name = "device unblock",
     .arg = "ID",
     .summary = "accept a blocked device again",
     .opts = opts_none,
     .quiet = "id",
     .run = ctl_device_unblock},
    {.name = "device purge",
     .summary = "remove devices unseen for --older-than whose tokens have all expired; a "
                "blocked one leaves a tombstone (audited)",
     .opts = opts_purge,
     .quiet = "ids",
     .run = ctl_device_purge},
    {.name = "token list",
     .summary = "issued tokens, newest first",
     .opts = opts_token_list,
     .quiet = "jti",
     .run = ctl_token_list},
    {.name = "token show",
     .arg = "JTI",
     .summary = "one issued token",
     .opts = opts_none,
     .quiet = "jti",
     .run = ctl_token_show},
    {.name = "token revoke",
     .arg = "JTI",
     .summary = "revoke a token and its renewal family",
     .opts = opts_reason,
     .quiet = "jti",
     .run = ctl_token_revoke},
    {.name = "mp add",
     .arg = "NAME",
     .summary = "add a management point; its API key is shown once",
     .opts = opts_mp_add,
     .quiet = "api_key",
     .run = ctl_mp_add},
    {.name = "mp list",
     .summary = "management points",
     .opts = opts_none,
     .quiet = "id",
     .run = ctl_mp_list},
    {.name = "mp remove",
     .arg = "NAME|ID",
     .summary = "remove a management point (its key stops working at once)",
     .opts = opts_dry_run,
     .quiet = "id",
     .run = ctl_mp_remove},
    {.name = "mp rotate-key",
     .arg = "NAME|ID",
     .summary = "give an MP a new API key (shown once); the old one is refused",
     .opts = opts_none,
     .quiet = "api_key",
     .run = ctl_mp_rotate_key},
    {.name = "key list",
     .summary = "signing keys and their lifecycle",
     .opts = opts_none,
     .quiet = "kid",
     .run = ctl_key_list},
    {.name = "key rotate",
     .summary = "start a key rotation (or say why nothing changed)",
     .opts = opts_key_rotate,
     .quiet = "changed",
     .run = ctl_key_rotate},
    {.name = "key taint",
     .arg = "KID",
     .summary = "a leaked key: never signs again, its tokens renew at once (another key signs)",
     .opts = opts_dry_run,
     .quiet = "kid",
     .run = ctl_key_taint},
    {.name = "key revoke",
     .arg = "KID",
     .summary = "drop a tainted or retired key from the JWKS: its tokens are refused",
     .opts = opts_dry_run,
     .quiet = "kid",
     .run = ctl_key_revoke},
    {.name = "audit recent",
     .summary = "the audit trail newest first, filtered",
     .opts = opts_audit_recent,
     .quiet = "seq",
     .run = ctl_audit_recent},
    {.name = "audit verify",
     .summary = "check the audit trail's hash chain (exit 4 when broken)",
     .opts = opts_none,
     .run = ctl_audit_verify},
    {.name = "audit",
     .summary = "the audit trail, oldest first; --tail, --follow and filters",
     .opts = opts_audit,
     .quiet = "seq",
     .run = ctl_audit},
    {.name = "overview",
     .summary = "counts and issuances per minute (JSON)",
     .opts = opts_overview,
     .run = ctl_overview},
    {.name = "impact",
     .summary = "what a block, revoke or removal would affect (JSON; one option)",
     .opts = opts_impact,
     .run = ctl_impact},
    {.name = "ui",
     .summary = "the web console on a loopback port",
     .opts = opts_ui,
     .raw = 1,
     .run = ctl_ui},
};

const size_t ctl_ncommands = sizeof(ctl_commands) / sizeof(ctl_commands[0]);

/* main ------------------------------------------------------------------------ */

enum ctl_global {
    G_NONE,
    G_SOCKET,
    G_TIMEOUT,
    G_JSON,
    G_QUIET,
    G_HELP,
    G_VERSION,
    G_MAN,
    G_COMMANDS
};

static const struct {
    const char *shortname, *name;
    enum ctl_global id;
    int takes_value;
} ctl_globals[] = {
    {"-s", "--socket", G_SOCKET, 1},     {NULL, "--timeout", G_TIMEOUT, 1},
    {"-j", "--json", G_JSON, 0},         {"-q", "--quiet", G_QUIET, 0},
    {"-h", "--help", G_HELP, 0},         {NULL, "--version", G_VERSION, 0},
    {NULL, "--man", G_MAN, 0},           /* hidden: sitetokenctl(8) for the build */
    {NULL, "--commands", G_COMMANDS, 0}, /* hidden: the table, for bash completion */
};

/* Which global option w is (G_NONE: not one); *value points after '=' when
 * it has one inline. */
static enum ctl_global
ctl_global_of(const char *w, const char **value)
{
    *value = NULL;
    for (size_t g = 0; g < sizeof(ctl_globals) / sizeof(ctl_globals[0]); g++) {
        size_t n = strlen(ctl_globals[g].name);

        if ((ctl_globals[g].shortname != NULL && strcmp(w, ctl_globals[g].shortname) == 0) ||
            strcmp(w, ctl_globals[g].name) == 0)
            return ctl_globals[g].id;
        if (ctl_globals[g].takes_value && strncmp(w, ctl_globals[g].name, n) == 0 && w[n] == '=') {
            *value = w + n + 1;
            return ctl_globals[g].id;
        }
    }
    return G_NONE;
}

int
main(int argc, char **argv)
{
    struct ctl ctl = {
        .target = {.unix_path = CTL_DEFAULT_SOCKET, .timeout_ms = HTTPC_DEFAULT_TIMEOUT_MS},
        .socket_from = "the default"};
    const char *env_socket = getenv("SITETOKEN_ADMIN_SOCKET");
    const struct ctl_command *cmd = NULL;
    struct ctl_args args;
    char **rest = calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0, help = 0, dashdash = 0, used = 0, rc = CTL_EXIT_USAGE;

    if (rest == NULL)
        return CTL_EXIT_USAGE;
    if (env_socket != NULL && *env_socket != '\0') {
        ctl.target.unix_path = env_socket;
        ctl.socket_from = "from SITETOKEN_ADMIN_SOCKET";
    }
    /* Global options anywhere (until "--"); everything else is the command's,
     * except under `ui`, whose own options pass through as they are. */
    for (int i = 1; i < argc; i++) {
        const char *value;
        enum ctl_global g = dashdash ? G_NONE : ctl_global_of(argv[i], &value);
        char *end;
        double secs;

        if (!dashdash && strcmp(argv[i], "--") == 0)
            dashdash = 1;
        if (g != G_NONE && value == NULL && (g == G_SOCKET || g == G_TIMEOUT)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sitetokenctl: %s needs a value\n", argv[i]);
                goto out;
            }
            value = argv[++i];
        }
        switch (g) {
        case G_NONE:
            rest[nrest++] = argv[i];
            break;
        case G_SOCKET:
            ctl.target.unix_path = value;
            ctl.socket_from = "from -s";
            break;
        case G_TIMEOUT:
            secs = strtod(value, &end);
            if (end == value || *end != '\0' || !(secs >= 0.001 && secs <= 86400)) {
                fprintf(stderr, "sitetokenctl: --timeout takes seconds, 0.001 to 86400\n");
                goto out;
            }
            ctl.target.timeout_ms = (long)(secs * 1000 + 0.5);
            break;
        case G_JSON:
            ctl.json = 1;
            break;
        case G_QUIET:
            ctl.quiet = 1;
            break;
        case G_HELP:
            help = 1;
            break;
        case G_VERSION:
            printf("sitetokenctl %s\n", SITETOKEN_VERSION);
            rc = CTL_EXIT_OK;
            goto out;
        case G_MAN:
            ctl_man(stdout);
            rc = CTL_EXIT_OK;
            goto out;
        case G_COMMANDS:
            ctl_commands_list(stdout);
            rc = CTL_EXIT_OK;
            goto out;
        }
    }
    if (ctl.json && ctl.quiet) {
        fprintf(stderr, "sitetokenctl: --json and -q exclude each other\n");
        goto out;
    }
    if (nrest > 0 && strcmp(rest[0], "help") == 0) {
        /* help [COMMAND]: the commands, a group's, or one command's options */
        if (nrest == 1) {
            ctl_usage(stdout);
            rc = CTL_EXIT_OK;
        } else if (ctl_is_group(rest[1]) && ctl_find(rest + 1, nrest - 1, &used) == NULL) {
            ctl_help_group(stdout, rest[1]);
            rc = CTL_EXIT_OK;
        } else if (ctl_resolve(rest + 1, nrest - 1, &cmd, &used) == 0) {
            ctl_help_command(stdout, cmd);
            rc = CTL_EXIT_OK;
        }
        goto out;
    }
    if (nrest == 0) {
        ctl_usage(help ? stdout : stderr);
        rc = help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        goto out;
    }
    if (help && ctl_is_group(rest[0]) && ctl_find(rest, nrest, &used) == NULL) {
        ctl_help_group(stdout, rest[0]);
        rc = CTL_EXIT_OK;
        goto out;
    }
    if ((rc = ctl_resolve(rest, nrest, &cmd, &used)) != 0)
        goto out;
    if (help) {
        ctl_help_command(stdout, cmd);
        rc = CTL_EXIT_OK;
        goto out;
    }
    if ((rc = ctl_parse_args(cmd, nrest - used, rest + used, &args)) != 0)
        goto out;
    rc = cmd->run(&ctl, &args);
out:
    free(rest);
    return rc;
}
