/* sitetokenctl: the administrator's tool. Each command maps to one admin route
 * on the admin Unix socket; --json prints the route's document, otherwise a
 * table for people. Exit 0 ok, 1 the server refused (its code on stderr),
 * 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httpc.h"

#define CTL_DEFAULT_SOCKET "var/admin.sock"

struct ctl {
    struct httpc_target target;
    int json;
};

struct ctl_command {
    const char *name;
    const char *usage;
    int (*run)(struct ctl *ctl, int argc, char **argv);
};

/* Calls the admin route; on success returns 0 and the parsed document in *out;
 * on a server error prints its code and returns 1; on transport error 1. */
static int
ctl_call(struct ctl *ctl, const char *method, const char *path, json_t *body, json_t **out)
{
    struct httpc_response resp;
    const char *errstr = NULL;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_t *doc;
    int rc;

    rc = httpc_request(&ctl->target, method, path, NULL, text, text ? strlen(text) : 0, &resp,
                       &errstr);
    free(text);
    if (rc == -1) {
        fprintf(stderr, "sitetokenctl: %s\n", errstr);
        return 1;
    }
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (resp.status >= 400) {
        const char *code = doc ? json_string_value(json_object_get(doc, "code")) : NULL;
        const char *detail = doc ? json_string_value(json_object_get(doc, "detail")) : NULL;

        fprintf(stderr, "%s: %s\n", code ? code : "error", detail ? detail : resp.body);
        json_decref(doc);
        httpc_response_free(&resp);
        return 1;
    }
    httpc_response_free(&resp);
    if (doc == NULL) {
        fprintf(stderr, "sitetokenctl: the server answered something that is not JSON\n");
        return 1;
    }
    *out = doc;
    return 0;
}

static void
ctl_print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

/* Prints "label   value" rows for a document, in the order of fields[]. */
static void
ctl_print_fields(const json_t *doc, const char *const fields[][2])
{
    for (size_t i = 0; fields[i][0] != NULL; i++) {
        const json_t *v = json_object_get(doc, fields[i][0]);
        char *text;

        if (v == NULL || json_is_null(v)) {
            printf("%-16s -\n", fields[i][1]);
        } else if (json_is_string(v)) {
            printf("%-16s %s\n", fields[i][1], json_string_value(v));
        } else {
            text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            printf("%-16s %s\n", fields[i][1], text ? text : "?");
            free(text);
        }
    }
}

static int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
    static const char *const fields[][2] = {
        {"version", "version"},         {"started_at", "started"},
        {"uptime_seconds", "uptime (s)"}, {"site_code", "site code"},
        {"issuer", "issuer"},           {"database", "database"},
        {"schema_version", "schema"},   {"config", "config"},
        {"pid", "pid"},                 {NULL, NULL},
    };
    json_t *doc = NULL;

    if (argc != 0)
        return 2;
    if (ctl_call(ctl, "GET", "/v1/admin/status", NULL, &doc) != 0)
        return 1;
    if (ctl->json)
        ctl_print_json(doc);
    else
        ctl_print_fields(doc, fields);
    json_decref(doc);
    return 0;
}

static const struct ctl_command ctl_commands[] = {
    {.name = "status", .usage = "status", .run = ctl_status},
};

static void
ctl_usage(FILE *out)
{
    fprintf(out, "usage: sitetokenctl [-s SOCKET] [--json] COMMAND ...\ncommands:\n");
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
        fprintf(out, "  %s\n", ctl_commands[i].usage);
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ctl ctl = {.target = {.unix_path = CTL_DEFAULT_SOCKET}};
    const char *env_socket = getenv("SITETOKEN_ADMIN_SOCKET");
    int ch;

    if (env_socket != NULL && *env_socket != '\0')
        ctl.target.unix_path = env_socket;
    while ((ch = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            ctl.target.unix_path = optarg;
            break;
        case 'j':
            ctl.json = 1;
            break;
        case 'h':
            ctl_usage(stdout);
            return 0;
        default:
            ctl_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        ctl_usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
        if (strcmp(argv[optind], ctl_commands[i].name) == 0) {
            int rc = ctl_commands[i].run(&ctl, argc - optind - 1, argv + optind + 1);

            if (rc == 2)
                fprintf(stderr, "usage: sitetokenctl [-s SOCKET] [--json] %s\n",
                        ctl_commands[i].usage);
            return rc;
        }
    }
    fprintf(stderr, "sitetokenctl: unknown command %s\n", argv[optind]);
    ctl_usage(stderr);
    return 2;
}
