/* Loading the YAML configuration of sitetokend: the steps of one load in order (defaults, the
 * YAML walk, derived values) and the checks that need the whole configuration (cross-field
 * rules, the derived socket path, and for sitetokend -n the host). The loader reports, never
 * logs: every problem becomes one "FILE:LINE: key: message" line in a config_errors list.
 * The schema is in config_schema.c, the walker in config_yaml.c, durations in
 * config_duration.c, the error list in config_errors.c. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

static void
check_rules(struct config_loader *ld)
{
    for (size_t i = 0; i < config_rules_n; i++) {
        const struct schema_entry *a = config_schema_find(config_rules[i].lesser);
        const struct schema_entry *b = config_schema_find(config_rules[i].greater);
        size_t ia = (size_t)(a - config_schema), ib = (size_t)(b - config_schema);
        int64_t va = config_field_int64(ld->cfg, a), vb = config_field_int64(ld->cfg, b);
        char sa[32], sb[32];

        if (ld->bad[ia] || ld->bad[ib] || va < vb || (!config_rules[i].strict && va == vb))
            continue;
        config_format_duration(va, sa, sizeof(sa));
        config_format_duration(vb, sb, sizeof(sb));
        if (ld->line[ia] != 0)
            config_report(ld, ld->line[ia], a->name, "%s must be %s %s (%s)", sa,
                          config_rules[i].strict ? "shorter than" : "at most", b->name, sb);
        else
            config_report(ld, ld->line[ib], b->name, "%s must be %s %s (%s)", sb,
                          config_rules[i].strict ? "longer than" : "at least", a->name, sa);
    }
}

/* sitetokend -n: what start-up would refuse on this host, found before
 * anything is created: every TLS listener's files load and parse, the
 * user to drop to and the admin socket's group exist. */
static void
check_host(struct config_loader *ld)
{
    size_t icert = config_schema_index(LISTEN_SCOPE "tls.certificate"),
           iuser = config_schema_index("user");
    size_t igroup = config_schema_index("admin_socket_group");
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
            config_report(ld, ld->listen_line[i][icert], key, "%s",
                          why != NULL ? why : "cannot load");
        }
    }
    if (cfg->user != NULL && !ld->bad[iuser] && getpwnam(cfg->user) == NULL)
        config_report(ld, ld->line[iuser], "user", "no such user: %s", cfg->user);
    if (cfg->admin_socket_group != NULL && !ld->bad[igroup] &&
        getgrnam(cfg->admin_socket_group) == NULL)
        config_report(ld, ld->line[igroup], "admin_socket_group", "no such group: %s",
                      cfg->admin_socket_group);
}

static int
config_load_buf(struct config *cfg, const char *name, const char *yaml, size_t len,
                struct config_errors *errs, bool host, config_tls_check_fn *tls_check)
{
    struct config_loader *ld;
    size_t iadmin, first_err = config_errors_count(errs);
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    if (name == NULL)
        name = "(string)";
    if (yaml == NULL)
        yaml = "", len = 0;
    if (len > CONFIG_MAX_FILE_SIZE) {
        config_errors_addf(errs, 0, "%s: larger than %d bytes", name, CONFIG_MAX_FILE_SIZE);
        return -1;
    }
    if ((ld = calloc(1, sizeof(*ld))) == NULL) {
        config_errors_addf(errs, 0, "%s: out of memory", name);
        return -1;
    }
    ld->cfg = cfg;
    ld->errs = errs;
    ld->file = name;
    ld->host = host;
    ld->tls_check = tls_check;
    if (config_apply_defaults(cfg) == -1 || (cfg->source = strdup(name)) == NULL)
        config_report(ld, 1, "yaml", "out of memory");

    if (config_yaml_prescan(ld, yaml, len) == -1 || config_yaml_load(ld, yaml, len) == -1)
        goto done;

    if (cfg->listen == NULL && ld->line[config_schema_index("listen")] == 0 &&
        config_default_listen(cfg) == -1)
        config_report(ld, 1, "listen", "out of memory");
    if (config_derive(cfg) == -1)
        config_report(ld, 1, "yaml", "out of memory");
    iadmin = config_schema_index("admin_socket");
    if (cfg->admin_socket != NULL && strlen(cfg->admin_socket) > MAX_SUN_PATH &&
        ld->line[iadmin] == 0)
        config_report(ld, ld->line[config_schema_index("state_dir")], "admin_socket",
                      "derived path is longer than %d bytes, the limit for a Unix socket; set "
                      "admin_socket or a shorter state_dir",
                      MAX_SUN_PATH);
    check_rules(ld);
    if (ld->host)
        check_host(ld);
done:
    config_errors_sort(errs, first_err);
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
        config_errors_addf(errs, 0, "%s: %s", path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(CONFIG_MAX_FILE_SIZE + 1)) == NULL) {
        config_errors_addf(errs, 0, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    n = fread(buf, 1, CONFIG_MAX_FILE_SIZE + 1, f);
    if (ferror(f))
        config_errors_addf(errs, 0, "%s: %s", path, strerror(errno));
    else if (n > CONFIG_MAX_FILE_SIZE)
        config_errors_addf(errs, 0, "%s: larger than %d bytes", path, CONFIG_MAX_FILE_SIZE);
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
