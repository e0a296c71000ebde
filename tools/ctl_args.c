/* sitetokenctl's command line against the command table (ctl_main.c): option
 * values by name, usage and help, "did you mean" for an unknown command, and
 * the parser (a value checked against its option's type and bounds, with a
 * message saying why). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "duration.h"

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

void
ctl_usage(FILE *out)
{
    fprintf(out, "usage: sitetokenctl [-s SOCKET] [--timeout SECONDS] [--json | -q] COMMAND ...\n"
                 "global options may come anywhere on the line.\n\ncommands:\n");
    for (size_t i = 0; i < ctl_ncommands; i++)
        fprintf(out, "  %-22s %s\n", ctl_commands[i].name, ctl_commands[i].summary);
    fprintf(out, "\nsitetokenctl help COMMAND (or COMMAND --help) lists a command's options.\n"
                 "exit status: 0 ok, 1 the server refused, 2 usage, 3 server unreachable, "
                 "4 audit chain broken\n");
}

void
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
        if (o->type == CTL_OPT_PAIR)
            fprintf(out, " (repeat it, up to %d)", CTL_MAX_REPEAT);
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
void
ctl_help_group(FILE *out, const char *group)
{
    size_t len = strlen(group);

    fprintf(out, "sitetokenctl %s takes:\n", group);
    for (size_t i = 0; i < ctl_ncommands; i++)
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

    for (size_t i = 0; i < ctl_ncommands; i++) {
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

int
ctl_is_group(const char *word)
{
    size_t len = strlen(word);

    for (size_t i = 0; i < ctl_ncommands; i++)
        if (strncmp(ctl_commands[i].name, word, len) == 0 && ctl_commands[i].name[len] == ' ')
            return 1;
    return 0;
}

/* The command that words[] start with, and how many words it took; NULL
 * when none. */
const struct ctl_command *
ctl_find(char **words, int n, int *used)
{
    for (size_t i = 0; i < ctl_ncommands; i++) {
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
int
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
    case CTL_OPT_PAIR:
        if (strlen(v) > (size_t)o->max || v[0] == '=' || strchr(v, '=') == NULL)
            return ctl_usage_error(cmd, "--%s: %s is not %s (at most %lld bytes)", o->name, v,
                                   o->arg, o->max);
        return 0;
    case CTL_OPT_RATE:
        errno = 0;
        *num = strtoll(v, &end, 10);
        if (end == v || errno != 0 || (*end != '\0' && strcmp(end, "/s") != 0) || *num < o->min ||
            *num > o->max)
            return ctl_usage_error(cmd, "--%s: %s is not a rate N/s (N %lld to %lld)", o->name, v,
                                   o->min, o->max);
        return 0;
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

int
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
            if (cmd->opts[o].type == CTL_OPT_PAIR) {
                if (a->nmulti >= CTL_MAX_REPEAT)
                    return ctl_usage_error(cmd, "--%s: at most %d", cmd->opts[o].name,
                                           CTL_MAX_REPEAT);
                a->multi[a->nmulti++] = a->val[o];
            }
            continue;
        }
        /* Only "--name" is an option: kids, jtis and thumbprints are base64url
         * and may begin with '-' (a kid "-VxRf..." is an argument). */
        if (!dashdash && w[0] == '-' && w[1] == '-' && w[2] != '\0')
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
