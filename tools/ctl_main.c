/* sitetokenctl: the administrator's tool. This file holds the command table,
 * the one source of dispatch, help, bash completion (--commands) and the man
 * page (--man), and the parser: global options anywhere on the line, a value
 * checked against its option's type and bounds with a message saying why.
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
    {0}};
static const struct ctl_opt opts_page_id[] = {CTL_OPTS_PAGE("ID"), {0}};
static const struct ctl_opt opts_reason[] = {{.name = "reason",
                                              .arg = "TEXT",
                                              .type = CTL_OPT_TEXT,
                                              .max = 128,
                                              .help = "why, for the audit trail"},
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
    {0}};
static const struct ctl_opt opts_ui[] = {
    {.name = "port", .arg = "N", .type = CTL_OPT_INT, .help = "the console's loopback port"},
    {.name = "session-idle",
     .arg = "SECONDS",
     .type = CTL_OPT_INT,
     .help = "idle time before the session ends"},
    {0}};

/* Two-word commands before a one-word command of the same first word. */
static const struct ctl_command ctl_commands[] = {
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
     .opts = opts_none,
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

#define NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

/* Option values -------------------------------------------------------------- */

static int
ctl_opt_index(const struct ctl_command *cmd, const char *name, size_t len)
{
    for (int i = 0; cmd->opts[i].name != NULL; i++)
        if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0)
            return i;
    return -1;
}

const char *
ctl_val(const struct ctl_args *a, const char *name)
{
    int i = ctl_opt_index(a->cmd, name, strlen(name));

    return i >= 0 ? a->val[i] : NULL;
}

long long
ctl_num(const struct ctl_args *a, const char *name, long long def)
{
    int i = ctl_opt_index(a->cmd, name, strlen(name));

    return i >= 0 && a->val[i] != NULL ? a->num[i] : def;
}

int
ctl_has(const struct ctl_args *a, const char *name)
{
    return ctl_val(a, name) != NULL;
}

static int ctl_is_group(const char *word);
static void ctl_help_group(FILE *out, const char *group);

/* Usage and help -------------------------------------------------------------- */

void
ctl_command_usage(FILE *out, const struct ctl_command *cmd)
{
    fprintf(out, "%s", cmd->name);
    if (cmd->arg != NULL)
        fprintf(out, " %s", cmd->arg);
    for (int i = 0; cmd->opts[i].name != NULL; i++) {
        const struct ctl_opt *o = &cmd->opts[i];

        if (o->type == CTL_OPT_ENUM)
            fprintf(out, " [--%s %s]", o->name, o->choices);
        else if (o->arg != NULL)
            fprintf(out, " [--%s %s]", o->name, o->arg);
        else
            fprintf(out, " [--%s]", o->name);
    }
}

int
ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sitetokenctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (cmd != NULL) {
        fprintf(stderr, "usage: sitetokenctl ");
        ctl_command_usage(stderr, cmd);
        fprintf(stderr, "\n(sitetokenctl help %s lists its options)\n", cmd->name);
    }
    return CTL_EXIT_USAGE;
}

static void
ctl_usage(FILE *out)
{
    fprintf(out, "usage: sitetokenctl [-s SOCKET] [--timeout SECONDS] [--json | -q] COMMAND ...\n"
                 "global options may come anywhere on the line.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-22s %s\n", ctl_commands[i].name, ctl_commands[i].summary);
    fprintf(out, "\nsitetokenctl help COMMAND (or COMMAND --help) lists a command's options.\n"
                 "exit status: 0 ok, 1 the server refused, 2 usage, 3 server unreachable, "
                 "4 audit chain broken\n");
}

static void
ctl_help_command(FILE *out, const struct ctl_command *cmd)
{
    fprintf(out, "usage: sitetokenctl ");
    ctl_command_usage(out, cmd);
    fprintf(out, "\n\n%s\n", cmd->summary);
    if (cmd->opts[0].name != NULL)
        fprintf(out, "\noptions:\n");
    for (int i = 0; cmd->opts[i].name != NULL; i++) {
        const struct ctl_opt *o = &cmd->opts[i];
        char left[64];

        snprintf(left, sizeof(left), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(out, "  %-24s %s", left, o->help);
        if (o->type == CTL_OPT_ENUM)
            fprintf(out, " (%s)", o->choices);
        fprintf(out, "\n");
    }
    if (cmd->quiet != NULL)
        fprintf(out, "\nwith -q it prints only the %s%s.\n", cmd->quiet,
                strchr(cmd->name, ' ') != NULL && strstr(cmd->name, "list") ? " of each" : "");
    fprintf(out, "global options: -s SOCKET, --timeout SECONDS, --json, -q\n");
    if (strchr(cmd->name, ' ') == NULL && ctl_is_group(cmd->name)) {
        fprintf(out, "\n");
        ctl_help_group(out, cmd->name);
    }
}

/* The commands of a group ("bulk"): what `sitetokenctl bulk` alone says. */
static void
ctl_help_group(FILE *out, const char *group)
{
    size_t len = strlen(group);

    fprintf(out, "sitetokenctl %s takes:\n", group);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strncmp(ctl_commands[i].name, group, len) == 0 && ctl_commands[i].name[len] == ' ')
            fprintf(out, "  %-22s %s\n", ctl_commands[i].name, ctl_commands[i].summary);
}

/* Levenshtein distance, for "did you mean". */
static size_t
ctl_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[64];

    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest of the words: of the command names' first words (group NULL)
 * or of a group's second words. NULL when nothing is close. */
static const char *
ctl_suggest(const char *group, const char *word, char *buf, size_t n)
{
    size_t best = 3, glen = group != NULL ? strlen(group) : 0;
    const char *found = NULL;

    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *name = ctl_commands[i].name;
        char cand[64];
        size_t d;

        if (group != NULL) {
            if (strncmp(name, group, glen) != 0 || name[glen] != ' ')
                continue;
            snprintf(cand, sizeof(cand), "%s", name + glen + 1);
        } else {
            snprintf(cand, sizeof(cand), "%.*s", (int)strcspn(name, " "), name);
        }
        d = ctl_distance(word, cand);
        if (strncmp(cand, word, strlen(word)) == 0 && strlen(word) >= 2)
            d = 1; /* a prefix is as good as a typo */
        if (d < best) {
            best = d;
            snprintf(buf, n, "%s%s%s", group ? group : "", group ? " " : "", cand);
            found = buf;
        }
    }
    return found;
}

static int
ctl_is_group(const char *word)
{
    size_t len = strlen(word);

    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strncmp(ctl_commands[i].name, word, len) == 0 && ctl_commands[i].name[len] == ' ')
            return 1;
    return 0;
}

/* The command that words[] start with, and how many words it took; NULL
 * when none. */
static const struct ctl_command *
ctl_find(char **words, int n, int *used)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *name = ctl_commands[i].name, *sp = strchr(name, ' ');

        if (sp != NULL) {
            if (n < 2 || strlen(words[0]) != (size_t)(sp - name) ||
                strncmp(words[0], name, (size_t)(sp - name)) != 0 || strcmp(words[1], sp + 1) != 0)
                continue;
            *used = 2;
        } else {
            if (n < 1 || strcmp(words[0], name) != 0)
                continue;
            *used = 1;
        }
        return &ctl_commands[i];
    }
    return NULL;
}

/* Finds the command that words[] start with: 0 with *cmd and *used, or 2
 * with the message (a group's commands, or "did you mean") on stderr. */
static int
ctl_resolve(char **words, int n, const struct ctl_command **cmd, int *used)
{
    char buf[80];
    const char *hint;

    if ((*cmd = ctl_find(words, n, used)) != NULL)
        return 0;
    if (ctl_is_group(words[0])) {
        if (n < 2 || words[1][0] == '-') {
            fprintf(stderr, "usage: sitetokenctl %s COMMAND ...\n", words[0]);
            ctl_help_group(stderr, words[0]);
            return CTL_EXIT_USAGE;
        }
        hint = ctl_suggest(words[0], words[1], buf, sizeof(buf));
        fprintf(stderr, "sitetokenctl: %s has no command %s%s%s%s\n", words[0], words[1],
                hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
        ctl_help_group(stderr, words[0]);
        return CTL_EXIT_USAGE;
    }
    hint = ctl_suggest(NULL, words[0], buf, sizeof(buf));
    fprintf(stderr, "sitetokenctl: unknown command %s%s%s%s\n", words[0],
            hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
    fprintf(stderr, "usage: sitetokenctl [-s SOCKET] [--json | -q] COMMAND ...\n"
                    "(sitetokenctl help lists the commands)\n");
    return CTL_EXIT_USAGE;
}

/* Command arguments ---------------------------------------------------------- */

static int
ctl_check_value(const struct ctl_command *cmd, const struct ctl_opt *o, const char *v,
                long long *num)
{
    char *end;
    const char *why = NULL;
    int64_t ms;

    switch (o->type) {
    case CTL_OPT_FLAG:
        return 0;
    case CTL_OPT_TEXT:
        if (strlen(v) > (size_t)o->max)
            return ctl_usage_error(cmd, "--%s: longer than %lld bytes", o->name, o->max);
        return 0;
    case CTL_OPT_INT:
        errno = 0;
        *num = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno != 0)
            return ctl_usage_error(cmd, "--%s: %s is not a whole number", o->name, v);
        if (o->max > o->min && (*num < o->min || *num > o->max))
            return ctl_usage_error(cmd, "--%s: %s is out of range (%lld to %lld)", o->name, v,
                                   o->min, o->max);
        return 0;
    case CTL_OPT_ENUM: {
        size_t len = strlen(v);

        for (const char *c = o->choices; *c != '\0'; c += strcspn(c, "|"), c += *c == '|')
            if (strcspn(c, "|") == len && strncmp(c, v, len) == 0)
                return 0;
        char list[128];
        size_t n = 0;

        for (const char *c = o->choices; *c != '\0' && n + 3 < sizeof(list); c++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s",
                                  *c == '|' ? ", " : (char[2]){*c, 0});
        list[n] = '\0';
        return ctl_usage_error(cmd, "--%s: %s is not one of %s", o->name, v, list);
    }
    case CTL_OPT_DURATION:
        errno = 0;
        *num = strtoll(v, &end, 10);
        if (*v != '\0' && *end == '\0' && errno == 0 && o->bare_unit > 0 &&
            *num <= INT64_MAX / o->bare_unit / 1000) {
            *num *= o->bare_unit;
        } else if (duration_parse(v, &ms, &why) == -1) {
            return ctl_usage_error(cmd, "--%s: %s: %s", o->name, v, why);
        } else {
            *num = ms / 1000;
            if (ms % 1000 != 0 || (o->bare_unit > 0 && *num % o->bare_unit != 0))
                return ctl_usage_error(cmd, "--%s: %s: whole %s only", o->name, v,
                                       o->bare_unit == 60 ? "minutes" : "seconds");
        }
        if (*num < o->min || *num > o->max) {
            char lo[32], hi[32];

            duration_format(o->min * 1000, lo, sizeof(lo));
            duration_format(o->max * 1000, hi, sizeof(hi));
            return ctl_usage_error(cmd, "--%s: %s is out of range (%s to %s)", o->name, v, lo, hi);
        }
        return 0;
    }
    return 0;
}

static int
ctl_parse_args(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a)
{
    int dashdash = 0;

    memset(a, 0, sizeof(*a));
    a->cmd = cmd;
    if (cmd->raw) {
        a->raw_argc = argc;
        a->raw_argv = argv;
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i], *eq;
        int o;

        if (!dashdash && strcmp(w, "--") == 0) {
            dashdash = 1;
            continue;
        }
        if (!dashdash && strncmp(w, "--", 2) == 0) {
            eq = strchr(w + 2, '=');
            o = ctl_opt_index(cmd, w + 2, eq != NULL ? (size_t)(eq - w - 2) : strlen(w + 2));
            if (o < 0)
                return ctl_usage_error(cmd, "%s has no option %s", cmd->name, w);
            if (cmd->opts[o].type == CTL_OPT_FLAG) {
                if (eq != NULL)
                    return ctl_usage_error(cmd, "--%s takes no value", cmd->opts[o].name);
                a->val[o] = "";
                continue;
            }
            if (eq != NULL) {
                a->val[o] = eq + 1;
            } else if (i + 1 < argc) {
                a->val[o] = argv[++i];
            } else {
                return ctl_usage_error(cmd, "--%s needs a value (%s)", cmd->opts[o].name,
                                       cmd->opts[o].arg);
            }
            if (ctl_check_value(cmd, &cmd->opts[o], a->val[o], &a->num[o]) != 0)
                return CTL_EXIT_USAGE;
            continue;
        }
        if (!dashdash && w[0] == '-' && w[1] != '\0')
            return ctl_usage_error(cmd, "%s has no option %s", cmd->name, w);
        if (cmd->arg == NULL)
            return ctl_usage_error(cmd, "%s takes no argument (got \"%s\")", cmd->name, w);
        if (a->pos != NULL)
            return ctl_usage_error(cmd, "%s takes one %s (got \"%s\" too)", cmd->name, cmd->arg, w);
        if (strlen(w) > 256)
            return ctl_usage_error(cmd, "%s: longer than 256 bytes", cmd->arg);
        a->pos = w;
    }
    if (cmd->arg != NULL && a->pos == NULL)
        return ctl_usage_error(cmd, "%s needs %s", cmd->name, cmd->arg);
    return 0;
}

/* The man page and completion -------------------------------------------------- */

/* Writes s with mdoc's special characters escaped (\ and a leading '.'). */
static void
ctl_man_text(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static void
ctl_man_command(FILE *out, const struct ctl_command *cmd)
{
    char name[64], *save = NULL;

    snprintf(name, sizeof(name), "%s", cmd->name);
    fputs(".It", out);
    for (char *w = strtok_r(name, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
        fprintf(out, " Cm %s", w);
    if (cmd->arg != NULL)
        fprintf(out, " Ar %s", cmd->arg);
    for (int i = 0; cmd->opts[i].name != NULL; i++) {
        const struct ctl_opt *o = &cmd->opts[i];

        fputs(" Oo Fl \\-", out);
        ctl_man_text(out, o->name);
        if (o->type == CTL_OPT_ENUM)
            fprintf(out, " Ar %s", o->choices); /* '|' inside Ar is text */
        else if (o->arg != NULL)
            fprintf(out, " Ar %s", o->arg);
        fputs(" Oc", out);
    }
    fputs("\n", out);
    ctl_man_text(out, cmd->summary);
    fputs(".\n", out);
    if (cmd->opts[0].name != NULL) {
        fputs(".Bl -tag -width Ds -compact\n", out);
        for (int i = 0; cmd->opts[i].name != NULL; i++) {
            fputs(".It Fl \\-", out);
            ctl_man_text(out, cmd->opts[i].name);
            if (cmd->opts[i].arg != NULL)
                fprintf(out, " Ar %s", cmd->opts[i].arg);
            fputs("\n", out);
            ctl_man_text(out, cmd->opts[i].help);
            fputs("\n", out);
        }
        fputs(".El\n", out);
    }
    if (cmd->quiet != NULL)
        fprintf(out, "With\n.Fl q\nit prints only the\n.Cm %s .\n", cmd->quiet);
}

/* sitetokenctl(8), generated at build time from the command table. */
static void
ctl_man(FILE *out)
{
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    time_t now = epoch != NULL ? (time_t)strtoll(epoch, NULL, 10) : time(NULL);
    char date[64];

    strftime(date, sizeof(date), "%B %e, %Y", gmtime(&now));
    fprintf(out,
            ".\\\" Generated by sitetokenctl --man from its command table; do not edit.\n"
            ".Dd %s\n.Dt SITETOKENCTL 8\n.Os sitetoken %s\n.Sh NAME\n.Nm sitetokenctl\n"
            ".Nd administer a sitetoken site token authority\n.Sh SYNOPSIS\n.Nm\n"
            ".Op Fl s Ar socket\n.Op Fl \\-timeout Ar seconds\n.Op Fl \\-json | Fl q\n"
            ".Ar command\n.Op Ar argument ...\n"
            ".Nm\n.Cm help\n.Op Ar command\n"
            ".Nm\n.Fl \\-version | Fl h\n.Sh DESCRIPTION\n.Nm\n"
            "drives a running\n.Xr sitetokend 8\nover its admin Unix socket: each command "
            "maps to one admin route of the HTTP API.\nWithout\n.Fl \\-json\n"
            "it prints tables for people; with it, the route's JSON document and nothing "
            "else.\nGlobal options may come anywhere on the line.\n"
            "A bad value is refused with a message that says why, and exit status 2.\n"
            ".Pp\nThe options are:\n.Bl -tag -width Ds\n.It Fl s Ar socket , "
            "Fl \\-socket Ar socket\nthe admin socket (default\n.Pa %s ,\n"
            "or\n.Ev SITETOKEN_ADMIN_SOCKET ) .\n"
            ".It Fl \\-timeout Ar seconds\ngive up on the server after this long (default 10).\n"
            ".It Fl \\-json\n"
            "print the server's JSON document.\n"
            ".It Fl q , Fl \\-quiet\nprint only the value a script wants (the token of\n"
            ".Cm bulk new ,\nthe API key of\n.Cm mp add ,\nthe ids of a list).\n"
            ".It Fl \\-version\n"
            "print the version and exit.\n.It Fl h , Fl \\-help\n"
            "print the usage (after a command: its options) and exit.\n.El\n"
            ".Sh COMMANDS\nDurations are written as in\n.Xr sitetokend.yaml 5 :\n"
            ".Ql 3d ,\n.Ql 90m ,\n.Ql 1d 12h .\n.Bl -tag -width Ds\n",
            date, SITETOKEN_VERSION, CTL_DEFAULT_SOCKET);
    fputs(".It Cm help Op Ar command\nthe commands, a group's commands, or a command's "
          "options.\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        ctl_man_command(out, &ctl_commands[i]);
    fprintf(out,
            ".El\n.Sh ENVIRONMENT\n.Bl -tag -width Ds\n.It Ev SITETOKEN_ADMIN_SOCKET\n"
            "the admin socket when\n.Fl s\nis not given.\n.El\n.Sh FILES\n.Bl -tag -width Ds\n"
            ".It Pa %s\nthe default admin socket; its mode is 0600, or 0660 for the group "
            "named by\n.Cm admin_socket_group\nin\n.Xr sitetokend.yaml 5 .\n.El\n"
            ".Sh EXIT STATUS\n.Bl -tag -width Ds -compact\n.It 0\nsuccess\n.It 1\n"
            "the server refused (its error code on standard error)\n.It 2\na usage error\n"
            ".It 3\nthe server could not be reached (the message names the socket tried)\n"
            ".It 4\n.Cm audit verify\nfound a break in the audit chain\n.El\n.Sh EXAMPLES\n"
            "A bulk registration token for 100 devices, valid 3 days:\n"
            ".Bd -literal -offset indent\n"
            "sitetokenctl bulk new \\-\\-max\\-uses 100 \\-\\-lifetime 3d \\-\\-note \"lab 4\"\n"
            ".Ed\n.Pp\nThe same in a script, keeping only the token:\n"
            ".Bd -literal -offset indent\nTOKEN=$(sitetokenctl \\-q bulk new)\n.Ed\n"
            ".Pp\nWatch the audit trail:\n.Bd -literal -offset indent\n"
            "sitetokenctl audit \\-\\-tail 20 \\-\\-follow\n.Ed\n"
            ".Sh SEE ALSO\n.Xr sitetokend.yaml 5 ,\n.Xr sitetoken-gateway 8 ,\n"
            ".Xr sitetokend 8\n",
            CTL_DEFAULT_SOCKET);
}

/* For bash completion (dist/sitetokenctl.bash-completion): one line per
 * command, its words and then its options ("bulk new --lifetime ..."). */
static void
ctl_commands_list(FILE *out)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "%s", ctl_commands[i].name);
        for (int o = 0; ctl_commands[i].opts[o].name != NULL; o++)
            fprintf(out, " --%s", ctl_commands[i].opts[o].name);
        fprintf(out, "\n");
    }
}

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
