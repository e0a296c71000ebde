/* Helpers shared by the config tests; see test_config_util.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "test_config_util.h"

/* Loads yaml as "t.yaml"; the caller frees *errs and (on success) cfg. */
int
load(struct config *cfg, const char *yaml, struct config_errors **errs)
{
    *errs = config_errors_new();
    assert_non_null(*errs);
    return config_load_string(cfg, "t.yaml", yaml, strlen(yaml), *errs);
}

void
dump(const struct config_errors *errs)
{
    for (size_t i = 0; i < config_errors_count(errs); i++)
        print_message("  error %zu: %s\n", i, config_errors_get(errs, i));
}

bool
has_error(const struct config_errors *errs, const char *prefix)
{
    for (size_t i = 0; i < config_errors_count(errs); i++)
        if (strncmp(config_errors_get(errs, i), prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

/* yaml must fail with exactly n errors, one of which starts with `want`. */
void
expect_errors(const char *yaml, size_t n, const char *want)
{
    struct config cfg;
    struct config_errors *errs;
    int rc = load(&cfg, yaml, &errs);

    if (rc != -1 || config_errors_count(errs) != n || !has_error(errs, want)) {
        print_message("yaml:\n%s\nwanted %zu errors, with: %s\n", yaml, n, want);
        dump(errs);
        fail();
    }
    assert_null(cfg.site_code); /* a failed load leaves nothing behind */
    assert_null(cfg.listen);
    config_errors_free(errs);
}

void
expect_error(const char *yaml, const char *want)
{
    expect_errors(yaml, 1, want);
}

/* Like expect_error(), the whole message. */
void
expect_error_exact(const char *yaml, const char *want)
{
    struct config cfg;
    struct config_errors *errs;

    assert_int_equal(load(&cfg, yaml, &errs), -1);
    assert_int_equal(config_errors_count(errs), 1);
    assert_string_equal(config_errors_get(errs, 0), want);
    config_errors_free(errs);
}

/* yaml must load; the caller checks and frees cfg. */
void
expect_ok(struct config *cfg, const char *yaml)
{
    struct config_errors *errs;

    if (load(cfg, yaml, &errs) != 0) {
        print_message("yaml:\n%s\nwanted no error\n", yaml);
        dump(errs);
        fail();
    }
    assert_int_equal(config_errors_count(errs), 0);
    config_errors_free(errs);
}

void
check_defaults(const struct config *c)
{
    assert_string_equal(c->site_code, "PS1");
    assert_string_equal(c->issuer, "urn:sitetoken:PS1");
    assert_string_equal(c->audience, "urn:sitetoken:gateway");
    assert_int_equal(c->nlisten, 1);
    assert_string_equal(c->listen[0].address, "127.0.0.1");
    assert_int_equal(c->listen[0].port, 8080);
    assert_null(c->listen[0].tls_certificate);
    assert_null(c->listen[0].tls_key);
    assert_null(c->listen[0].tls_client_ca);
    assert_string_equal(c->state_dir, "var");
    assert_string_equal(c->database, "var/sitetoken.db");
    assert_string_equal(c->seal_key_file, "var/seal.key");
    assert_string_equal(c->admin_socket, "var/admin.sock");
    assert_string_equal(c->key_algorithm, "EdDSA");
    assert_int_equal(c->rotation_period_ms, 30 * DAY);
    assert_int_equal(c->prepublish_ms, 24 * HOUR);
    assert_int_equal(c->client_lifetime_ms, 90 * DAY);
    assert_int_equal(c->renew_after_ms, 30 * DAY);
    assert_int_equal(c->access_lifetime_ms, 8 * HOUR);
    assert_int_equal(c->bulk_default_lifetime_ms, 4320 * MIN);
    assert_int_equal(c->bulk_max_lifetime_ms, 10080 * MIN);
    assert_int_equal(c->clock_skew_ms, 5 * MIN);
    assert_int_equal(c->log_level, LOG_LEVEL_INFO);
    assert_int_equal(c->max_body, 16384);
    assert_int_equal(c->max_header_size, 8192);
    assert_int_equal(c->max_connections, 10000);
    assert_int_equal(c->read_timeout_ms, 10 * SEC);
    assert_int_equal(c->mp_rate, 0);
    assert_int_equal(c->failed_exchanges_per_minute, 60);
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->commit_batch, 256);
    assert_int_equal(c->commit_delay_ms, 0);
    assert_int_equal(c->busy_timeout_ms, 5 * SEC);
    assert_null(c->user);
    assert_false(c->clock_override);
}

/* The fuzz seeds double as test files (CONFIG_SEEDS is set by CMake). */
char *
data_path(const char *name)
{
    static char path[4096];

    snprintf(path, sizeof(path), "%s/%s", CONFIG_SEEDS, name);
    return path;
}
