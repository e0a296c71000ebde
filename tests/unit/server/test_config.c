/* Unit tests for server/config*.c, the load as a whole: defaults, the full file, the enums' words,
 * derived values, the cross-field and listen rules, sitetokend -n, the file bounds and
 * --help-config. test_config_errors.c has every kind of error, test_config_duration.c durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "jwk.h"
#include "log.h"
#include "test_config_util.h"

/* ---- defaults and whole files ---- */

static void
test_defaults(void **state)
{
    struct config cfg;

    config_defaults(&cfg);
    check_defaults(&cfg);
    assert_string_equal(cfg.source, CONFIG_DEFAULT_SOURCE);
    config_free(&cfg);
    assert_null(cfg.site_code);
    config_free(&cfg); /* twice is harmless */
}

static void
test_empty_documents_are_defaults(void **state)
{
    static const char *const docs[] = {"", "# only a comment\n", "---\n", "~\n", "site:\n"};

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct config cfg;
        expect_ok(&cfg, docs[i]);
        check_defaults(&cfg);
        assert_string_equal(cfg.source, "t.yaml");
        config_free(&cfg);
    }
}

static void
test_design_default_file(void **state)
{
    struct config cfg;
    struct config_errors *errs = config_errors_new();

    assert_int_equal(config_load(&cfg, data_path("default.yaml"), errs), 0);
    check_defaults(&cfg);
    assert_string_equal(cfg.source, data_path("default.yaml"));
    config_free(&cfg);
    config_errors_free(errs);
}

static void
test_full_file(void **state)
{
    struct config cfg, *c = &cfg;
    struct config_errors *errs = config_errors_new();

    if (config_load(&cfg, data_path("full.yaml"), errs) != 0) {
        dump(errs);
        fail();
    }
    assert_string_equal(c->site_code, "CM7");
    assert_string_equal(c->issuer, "https://tokens.example.org");
    assert_string_equal(c->audience, "urn:example:gateways");
    assert_int_equal(c->nlisten, 3);
    assert_string_equal(c->listen[0].address, "192.0.2.10");
    assert_int_equal(c->listen[0].port, 8443);
    assert_string_equal(c->listen[0].tls_certificate, "/etc/sitetoken/cert.pem");
    assert_string_equal(c->listen[0].tls_key, "/etc/sitetoken/key.pem");
    assert_string_equal(c->listen[0].tls_client_ca, "/etc/sitetoken/mp-ca.pem");
    assert_string_equal(c->listen[1].address, "::1");
    assert_int_equal(c->listen[1].port, 0);
    assert_null(c->listen[1].tls_certificate);
    assert_string_equal(c->listen[2].address, "localhost");
    assert_int_equal(c->listen[2].port, 9090);
    assert_string_equal(c->state_dir, "/var/lib/sitetoken");
    assert_string_equal(c->database, "/srv/db/sitetoken.db");
    assert_string_equal(c->seal_key_file, "/etc/sitetoken/seal.key");
    assert_string_equal(c->admin_socket, "/run/sitetoken/admin.sock");
    assert_string_equal(c->user, "_sitetoken");
    assert_string_equal(c->key_algorithm, "ES256");
    assert_int_equal(c->rotation_period_ms, 14 * DAY);
    assert_int_equal(c->prepublish_ms, 2 * DAY + 12 * HOUR);
    assert_int_equal(c->client_lifetime_ms, 60 * DAY);
    assert_int_equal(c->renew_after_ms, 20 * DAY);
    assert_int_equal(c->access_lifetime_ms, 90 * MIN);
    assert_int_equal(c->bulk_default_lifetime_ms, 1440 * MIN);
    assert_int_equal(c->bulk_max_lifetime_ms, 2880 * MIN);
    assert_int_equal(c->clock_skew_ms, 150 * SEC);
    assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
    assert_int_equal(c->max_body, 32768);
    assert_int_equal(c->max_header_size, 4096);
    assert_int_equal(c->max_connections, 500);
    assert_int_equal(c->read_timeout_ms, 30 * SEC);
    assert_int_equal(c->mp_rate, 100);
    assert_int_equal(c->failed_exchanges_per_minute, 10);
    assert_int_equal(c->workers, 4);
    assert_int_equal(c->commit_batch, 64);
    assert_int_equal(c->commit_delay_ms, 2);
    assert_int_equal(c->busy_timeout_ms, 1500);
    assert_true(c->clock_override);
    assert_int_equal(config_errors_count(errs), 0);
    config_free(&cfg);
    config_errors_free(errs);
}

static void
test_enums_case_insensitive(void **state)
{
    struct config cfg;

    expect_ok(&cfg, "keys: {algorithm: rs256}\nlog: {level: WARN}\n");
    assert_string_equal(cfg.key_algorithm, "RS256");
    assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
    assert_string_equal(config_log_level_name(cfg.log_level), "warn");
    assert_string_equal(config_log_level_name(42), "info");
    config_free(&cfg);
}

/* The enums' words are the owning modules' own (jwk.h, log.h), not a copy: each algorithm
 * jwk_alg_name() writes and each level log.c reads loads and reads back the same, and the
 * schema shows exactly those. */
static void
test_enum_words_are_the_owners(void **state)
{
    struct config_schema_row row;
    char yaml[64], range[80] = "";
    size_t i;

    for (int a = 0; a < JWK_ALG_COUNT; a++) {
        struct config cfg;
        snprintf(yaml, sizeof(yaml), "keys: {algorithm: %s}\n", jwk_alg_name((enum jwk_alg)a));
        expect_ok(&cfg, yaml);
        assert_string_equal(cfg.key_algorithm, jwk_alg_name((enum jwk_alg)a));
        config_free(&cfg);
        snprintf(range + strlen(range), sizeof(range) - strlen(range), "%s%s", a > 0 ? "|" : "",
                 jwk_alg_name((enum jwk_alg)a));
    }
    for (i = 0; config_schema_row(i, &row) == 0 && strcmp(row.name, "keys.algorithm") != 0; i++)
        ;
    assert_string_equal(row.range, range);
    assert_string_equal(row.def, jwk_alg_name(JWK_ALG_EDDSA));
    /* jwk_alg_from_name's alias is a wire name, not a config word */
    expect_error_exact("keys: {algorithm: Ed25519}\n",
                       "t.yaml:1: keys.algorithm: expected one of EdDSA, ES256, RS256, got "
                       "\"Ed25519\"");

    range[0] = '\0';
    for (int l = LOG_LEVEL_ERROR; l <= LOG_LEVEL_DEBUG; l++) {
        struct config cfg;
        const char *name = config_log_level_name(l);
        assert_int_equal(log_level_from_name(name), l);
        snprintf(yaml, sizeof(yaml), "log: {level: %s}\n", name);
        expect_ok(&cfg, yaml);
        assert_int_equal(cfg.log_level, l);
        config_free(&cfg);
        snprintf(range + strlen(range), sizeof(range) - strlen(range), "%s%s",
                 l > LOG_LEVEL_ERROR ? "|" : "", name);
    }
    for (i = 0; config_schema_row(i, &row) == 0 && strcmp(row.name, "log.level") != 0; i++)
        ;
    assert_string_equal(row.range, range);
    assert_string_equal(row.range, "error|warn|info|debug");
    assert_string_equal(row.def, "info");
}

/* What the TLS check of config_check() was asked, and what it answers. */
static struct {
    char certificate[64], key[64], client_ca[64];
    int calls;
    const char *why; /* NULL: the files are fine */
} tls_seen;

static int
fake_tls_check(const char *certificate, const char *key, const char *client_ca, const char **why)
{
    tls_seen.calls++;
    snprintf(tls_seen.certificate, sizeof(tls_seen.certificate), "%s", certificate);
    snprintf(tls_seen.key, sizeof(tls_seen.key), "%s", key);
    snprintf(tls_seen.client_ca, sizeof(tls_seen.client_ca), "%s",
             client_ca != NULL ? client_ca : "(none)");
    if (tls_seen.why == NULL)
        return 0;
    *why = tls_seen.why;
    return -1;
}

/* sitetokend -n: config_check() adds what the host must provide (the TLS files through the
 * callback, the user, the group) to config_load()'s checks, each at its key's line. */
static void
test_config_check_host(void **state)
{
    static const char yaml[] = "user: no-such-user-zq\n"
                               "admin_socket_group: no-such-group-zq\n"
                               "listen:\n"
                               "  - address: 127.0.0.1\n"
                               "    port: 0\n"
                               "  - address: 192.0.2.1\n"
                               "    port: 8443\n"
                               "    tls:\n"
                               "      key: /k.pem\n"
                               "      certificate: /c.pem\n";
    char path[] = "/tmp/test_config_XXXXXX", want[3][160];
    struct config cfg;
    struct config_errors *errs;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)(sizeof(yaml) - 1));
    close(fd);

    /* a plain load does not look at the host */
    assert_non_null(errs = config_errors_new());
    assert_int_equal(config_load(&cfg, path, errs), 0);
    config_free(&cfg);

    memset(&tls_seen, 0, sizeof(tls_seen));
    tls_seen.why = "fake: cannot parse";
    assert_int_equal(config_check(&cfg, path, errs, fake_tls_check), -1);
    assert_null(cfg.site_code);
    assert_int_equal(tls_seen.calls, 1); /* the loopback listener has no TLS to check */
    assert_string_equal(tls_seen.certificate, "/c.pem");
    assert_string_equal(tls_seen.key, "/k.pem");
    assert_string_equal(tls_seen.client_ca, "(none)");
    snprintf(want[0], sizeof(want[0]), "%s:1: user: no such user: no-such-user-zq", path);
    snprintf(want[1], sizeof(want[1]), "%s:2: admin_socket_group: no such group: no-such-group-zq",
             path);
    snprintf(want[2], sizeof(want[2]), "%s:10: listen[1].tls.certificate: fake: cannot parse",
             path);
    assert_int_equal(config_errors_count(errs), 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(config_errors_get(errs, i), want[i]);
    config_errors_free(errs);

    /* no callback: the TLS files are not looked at, the user and group still are */
    assert_non_null(errs = config_errors_new());
    tls_seen.calls = 0;
    assert_int_equal(config_check(&cfg, path, errs, NULL), -1);
    assert_int_equal(tls_seen.calls, 0);
    assert_int_equal(config_errors_count(errs), 2);
    assert_string_equal(config_errors_get(errs, 0), want[0]);
    assert_string_equal(config_errors_get(errs, 1), want[1]);
    config_errors_free(errs);
    unlink(path);
}

/* ---- rules ---- */

static void
test_loopback_rule(void **state)
{
    static const char *const loopback[] = {"127.0.0.1", "127.5.5.5", "::1",
                                           "localhost", "LocalHost", "::ffff:127.0.0.2"};
    static const char *const other[] = {
        "0.0.0.0", "192.0.2.1", "::", "2001:db8::1", "gateway.example.org", "128.0.0.1"};
    char yaml[256];
    struct config cfg;

    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        snprintf(yaml, sizeof(yaml), "listen:\n  - address: \"%s\"\n    port: 80\n", loopback[i]);
        expect_ok(&cfg, yaml);
        assert_string_equal(cfg.listen[0].address, loopback[i]);
        config_free(&cfg);
    }
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        snprintf(yaml, sizeof(yaml),
                 "listen:\n  - {address: '::1', port: 1}\n  - port: 443\n"
                 "    address: \"%s\"\n",
                 other[i]);
        expect_error(yaml, "t.yaml:4: listen[1].address: plain HTTP is allowed only on loopback "
                           "addresses; configure listen[1].tls");
        snprintf(yaml, sizeof(yaml),
                 "listen:\n  - address: \"%s\"\n    port: 443\n"
                 "    tls: {certificate: c.pem, key: k.pem}\n",
                 other[i]);
        expect_ok(&cfg, yaml);
        assert_string_equal(cfg.listen[0].tls_certificate, "c.pem");
        assert_string_equal(cfg.listen[0].tls_key, "k.pem");
        assert_null(cfg.listen[0].tls_client_ca);
        config_free(&cfg);
    }
}

static void
test_tls_needs_certificate_and_key(void **state)
{
    expect_error("listen:\n  - address: 192.0.2.1\n    port: 443\n    tls: {key: k.pem}\n",
                 "t.yaml:4: listen[0].tls: needs both certificate and key");
    expect_error("listen:\n  - address: 192.0.2.1\n    port: 443\n    tls:\n",
                 "t.yaml:4: listen[0].tls: needs both certificate and key");
    expect_error("listen:\n  - address: ::1\n    port: 443\n    tls: {client_ca: ca.pem}\n",
                 "t.yaml:4: listen[0].tls: needs both certificate and key");
    expect_error("listen: [{address: '::1', port: 443, tls: cert.pem}]\n",
                 "t.yaml:1: listen[0].tls: expected a map, got a scalar");
}

static void
test_derived_paths(void **state)
{
    struct config cfg;

    expect_ok(&cfg, "state_dir: /srv/st\n");
    assert_string_equal(cfg.database, "/srv/st/sitetoken.db");
    assert_string_equal(cfg.seal_key_file, "/srv/st/seal.key");
    assert_string_equal(cfg.admin_socket, "/srv/st/admin.sock");
    config_free(&cfg);
    expect_ok(&cfg, "state_dir: st/\ndatabase: /db/x.db\n");
    assert_string_equal(cfg.database, "/db/x.db");
    assert_string_equal(cfg.seal_key_file, "st/seal.key");
    assert_string_equal(cfg.admin_socket, "st/admin.sock");
    config_free(&cfg);
}

static void
test_admin_socket_length(void **state)
{
    char yaml[512], dir[200];
    struct config cfg;

    memset(dir, 'd', 100);
    dir[100] = '\0';
    snprintf(yaml, sizeof(yaml), "log: {level: info}\nstate_dir: /%s\n", dir);
    expect_error(yaml, "t.yaml:2: admin_socket: derived path is longer than 107 bytes");
    snprintf(yaml, sizeof(yaml), "state_dir: /%s\nadmin_socket: /run/st.sock\n", dir);
    expect_ok(&cfg, yaml);
    assert_string_equal(cfg.admin_socket, "/run/st.sock");
    config_free(&cfg);
    memset(dir, 'd', 108);
    dir[108] = '\0';
    snprintf(yaml, sizeof(yaml), "admin_socket: %s\n", dir);
    expect_error(yaml, "t.yaml:1: admin_socket: \"ddd");
}

static void
test_issuer_derived_from_code(void **state)
{
    struct config cfg;

    expect_ok(&cfg, "site: {code: XY9}\n");
    assert_string_equal(cfg.issuer, "urn:sitetoken:XY9");
    config_free(&cfg);
    expect_ok(&cfg, "site: {code: XY9, issuer: \"https://iss.example\"}\n");
    assert_string_equal(cfg.issuer, "https://iss.example");
    config_free(&cfg);
}

static void
test_cross_field_rules(void **state)
{
    struct config cfg;

    expect_error("keys:\n  rotation_period: 12h\n  prepublish: 12h\n",
                 "t.yaml:3: keys.prepublish: 12h must be shorter than keys.rotation_period (12h)");
    expect_error("keys:\n  rotation_period: 12h\n",
                 "t.yaml:2: keys.rotation_period: 12h must be longer than keys.prepublish (1d)");
    expect_error("tokens:\n  client_lifetime: 30d\n",
                 "t.yaml:2: tokens.client_lifetime: 30d must be longer than tokens.renew_after "
                 "(30d)");
    expect_error("tokens:\n  renew_after: 91d\n",
                 "t.yaml:2: tokens.renew_after: 91d must be shorter than tokens.client_lifetime "
                 "(90d)");
    expect_error("tokens:\n  bulk_default_lifetime: 10000m\n  bulk_max_lifetime: 1d\n",
                 "t.yaml:2: tokens.bulk_default_lifetime: 6d 22h 40m must be at most "
                 "tokens.bulk_max_lifetime (1d)");
    expect_error("tokens:\n  bulk_max_lifetime: 1d\n",
                 "t.yaml:2: tokens.bulk_max_lifetime: 1d must be at least "
                 "tokens.bulk_default_lifetime (3d)");
    /* an invalid value is reported once, not again by the rules */
    expect_error("keys:\n  rotation_period: 1x\n", "t.yaml:2: keys.rotation_period: \"1x\"");
    /* equal bulk lifetimes are fine */
    expect_ok(&cfg, "tokens: {bulk_default_lifetime: 1d, bulk_max_lifetime: 1440m}\n"
                    "keys: {rotation_period: 2h, prepublish: 1h 59m 59s 999ms}\n");
    assert_int_equal(cfg.bulk_default_lifetime_ms, cfg.bulk_max_lifetime_ms);
    config_free(&cfg);
}

/* ---- the input bounds ---- */

static void
test_oversized_file(void **state)
{
    char path[] = "/tmp/test_config_XXXXXX", *buf;
    struct config cfg;
    struct config_errors *errs = config_errors_new();
    FILE *f;
    int fd = mkstemp(path);
    char want[128];

    assert_true(fd >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    buf = malloc(CONFIG_MAX_FILE_SIZE + 1);
    memset(buf, '#', CONFIG_MAX_FILE_SIZE + 1);
    buf[0] = '\n'; /* a file of one long comment line */
    buf[1] = '#';
    assert_int_equal(fwrite(buf, 1, CONFIG_MAX_FILE_SIZE, f), CONFIG_MAX_FILE_SIZE);
    fflush(f);
    /* exactly the limit loads */
    assert_int_equal(config_load(&cfg, path, errs), 0);
    config_free(&cfg);
    fputc('\n', f);
    fclose(f);
    assert_int_equal(config_load(&cfg, path, errs), -1);
    assert_int_equal(config_errors_count(errs), 1);
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    assert_string_equal(config_errors_get(errs, 0), want);
    assert_int_equal(config_load_string(&cfg, "big.yaml", buf, CONFIG_MAX_FILE_SIZE + 1, errs), -1);
    assert_string_equal(config_errors_get(errs, 1), "big.yaml: larger than 1048576 bytes");
    unlink(path);
    free(buf);
    config_errors_free(errs);
}

static void
test_unreadable_file(void **state)
{
    struct config cfg;
    struct config_errors *errs = config_errors_new();

    assert_int_equal(config_load(&cfg, "/nonexistent/sitetoken.yaml", errs), -1);
    assert_string_equal(config_errors_get(errs, 0),
                        "/nonexistent/sitetoken.yaml: No such file or directory");
    assert_int_equal(config_load(&cfg, "/", errs), -1);
    assert_int_equal(config_errors_count(errs), 2);
    assert_null(cfg.site_code);
    config_errors_free(errs);
}

static void
test_print_schema(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    static const char *const keys[] = {
        "site.code",
        "site.issuer",
        "listen[].tls.client_ca",
        "admin_socket",
        "keys.prepublish",
        "tokens.clock_skew",
        "limits.max_body",
        "threads.workers",
        "store.commit_delay",
        "debug.clock_override",
        "TEST ONLY",
        "0s..100ms",
        "EdDSA|ES256|RS256",
    };

    config_print_schema(f);
    fclose(f);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strstr(out, keys[i]) == NULL)
            fail_msg("schema lacks %s", keys[i]);
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_documents_are_defaults),
        cmocka_unit_test(test_design_default_file),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_enums_case_insensitive),
        cmocka_unit_test(test_enum_words_are_the_owners),
        cmocka_unit_test(test_config_check_host),
        cmocka_unit_test(test_loopback_rule),
        cmocka_unit_test(test_tls_needs_certificate_and_key),
        cmocka_unit_test(test_derived_paths),
        cmocka_unit_test(test_admin_socket_length),
        cmocka_unit_test(test_issuer_derived_from_code),
        cmocka_unit_test(test_cross_field_rules),
        cmocka_unit_test(test_oversized_file),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_print_schema),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
