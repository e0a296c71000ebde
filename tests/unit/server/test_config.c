/* Unit tests for server/config.c: defaults, the full file, durations, every kind of error with
 * its exact "FILE:LINE: key:" prefix, the loopback rule, derived values and input bounds. */
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
#include "log.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Loads yaml as "t.yaml"; the caller frees *errs and (on success) cfg. */
static int
load(struct config *cfg, const char *yaml, struct config_errors **errs)
{
    *errs = config_errors_new();
    assert_non_null(*errs);
    return config_load_string(cfg, "t.yaml", yaml, strlen(yaml), *errs);
}

static void
dump(const struct config_errors *errs)
{
    for (size_t i = 0; i < config_errors_count(errs); i++)
        print_message("  error %zu: %s\n", i, config_errors_get(errs, i));
}

static bool
has_error(const struct config_errors *errs, const char *prefix)
{
    for (size_t i = 0; i < config_errors_count(errs); i++)
        if (strncmp(config_errors_get(errs, i), prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

/* yaml must fail with exactly n errors, one of which starts with `want`. */
static void
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

static void
expect_error(const char *yaml, const char *want)
{
    expect_errors(yaml, 1, want);
}

/* Like expect_error(), the whole message. */
static void
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
static void
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

static void
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
static char *
data_path(const char *name)
{
    static char path[4096];

    snprintf(path, sizeof(path), "%s/%s", CONFIG_SEEDS, name);
    return path;
}

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

/* ---- durations ---- */

static void
test_duration_valid(void **state)
{
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"90d 8h 5m 0s", 90 * DAY + 8 * HOUR + 5 * MIN},
        {"2ms", 2},
        {"10080m", 10080 * MIN},
        {"0s", 0},
        {"1h30m", 90 * MIN},
        {"1d  2h", DAY + 2 * HOUR},
        {"1s 500ms", 1500},
        {"106751991167d", 106751991167LL * DAY},
        {"9223372036854775807ms", INT64_MAX},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        const char *err = NULL;
        if (config_parse_duration(cases[i].s, &ms, &err) != 0)
            fail_msg("%s: %s", cases[i].s, err);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void
test_duration_invalid(void **state)
{
    static const struct {
        const char *s, *err;
    } cases[] = {
        {"5", "missing unit"},
        {"5x", "unknown unit"},
        {"5 m", "missing unit"},
        {"1h 2h", "a unit appears twice"},
        {"1m 1h", "units must go from largest to smallest"},
        {"1ms 1s", "units must go from largest to smallest"},
        {"106751991168d", "duration too large"},
        {"99999999999999999999s", "duration too large"},
        {"9223372036854775807ms 1ms", "a unit appears twice"},
        {"9223372036854775s 808ms", "duration too large"},
        {"106751991167d 1d", "a unit appears twice"},
        {"106751991167d 23h 100m", "duration too large"},
        {"", "empty duration"},
        {"   ", "empty duration"},
        {"-5m", "expected a number"},
        {"5m,", "expected a number"},
        {"5M", "missing unit"},
        {"h", "expected a number"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 12345;
        const char *err = NULL;
        if (config_parse_duration(cases[i].s, &ms, &err) != -1)
            fail_msg("\"%s\" was accepted", cases[i].s);
        assert_non_null(err);
        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("\"%s\": got \"%s\", wanted \"%s\"", cases[i].s, err, cases[i].err);
        assert_int_equal(ms, 12345); /* untouched on failure */
    }
}

static void
test_duration_format(void **state)
{
    static const struct {
        int64_t ms;
        const char *s;
    } cases[] = {
        {0, "0s"},
        {2, "2ms"},
        {90 * DAY, "90d"},
        {4320 * MIN, "3d"},
        {DAY + 8 * HOUR + 5 * MIN + 1, "1d 8h 5m 1ms"},
        {-90 * MIN, "-1h 30m"},
    };
    char buf[64];
    int64_t back;
    const char *err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_format_duration(cases[i].ms, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].s);
        if (cases[i].ms >= 0) {
            assert_int_equal(config_parse_duration(buf, &back, &err), 0);
            assert_int_equal(back, cases[i].ms);
        }
    }
    config_format_duration(INT64_MIN, buf, sizeof(buf)); /* no overflow */
    assert_int_equal(buf[0], '-');
    config_format_duration(90 * DAY + 1, buf, 4); /* truncated, terminated */
    assert_string_equal(buf, "90d");
}

static void
test_duration_keys(void **state)
{
    struct config cfg;

    expect_error("tokens:\n  bulk_max_lifetime: 5\n",
                 "t.yaml:2: tokens.bulk_max_lifetime: \"5\" has no unit (did you mean 5m?)");
    expect_error("keys:\n  rotation_period: 30\n",
                 "t.yaml:2: keys.rotation_period: \"30\" has no unit (did you mean 30d?)");
    expect_error("store:\n  commit_delay: 5x\n",
                 "t.yaml:2: store.commit_delay: \"5x\": unknown unit");
    expect_error("tokens: {clock_skew: 1m 1h}\n",
                 "t.yaml:1: tokens.clock_skew: \"1m 1h\": units must go from largest");
    expect_ok(&cfg, "store: {commit_delay: 0s, busy_timeout: 0s}\ntokens: {clock_skew: 0s}\n");
    assert_int_equal(cfg.commit_delay_ms, 0);
    assert_int_equal(cfg.clock_skew_ms, 0);
    config_free(&cfg);
}

/* ---- each kind of error ---- */

static void
test_unknown_keys(void **state)
{
    expect_error("tokens:\n  client_lifetim: 90d\n",
                 "t.yaml:2: tokens.client_lifetim: unknown key (did you mean "
                 "tokens.client_lifetime?)");
    expect_error("lisen: []\n", "t.yaml:1: lisen: unknown key (did you mean listen?)");
    expect_error("\nsate_dir: x\n", "t.yaml:2: sate_dir: unknown key (did you mean state_dir?)");
    expect_error("tokens: {algorithm: ES256}\n",
                 "t.yaml:1: tokens.algorithm: unknown key (did you mean keys.algorithm?)");
    expect_error("listen:\n  - address: 127.0.0.1\n    port: 1\n    tls: {certificate: c, key: k, "
                 "clientca: ca}\n",
                 "t.yaml:4: listen[0].tls.clientca: unknown key (did you mean "
                 "listen[0].tls.client_ca?)");
    /* and the port is then missing */
    expect_errors("listen:\n  - {address: 127.0.0.1, port: 1}\n  - {address: '::1', prt: 2}\n", 2,
                  "t.yaml:3: listen[1].prt: unknown key (did you mean listen[1].port?)");
    /* dotted keys are refused; "listen[]." ones once wrote a listen field into struct config
     * (found by fuzz_config) */
    expect_error("listen[].tls.key: 1111\n", "t.yaml:1: listen[].tls.key: unknown key (nest keys");
    expect_error("site.code: XY1\n", "t.yaml:1: site.code: unknown key (nest keys");
    expect_error("listen:\n  - {address: 127.0.0.1, port: 1, tls.key: k}\n",
                 "t.yaml:2: listen[0].tls.key: unknown key (nest keys");
    /* no suggestion: "tls" is too short to be a typo of "log" */
    expect_error_exact("tls: {}\n", "t.yaml:1: tls: unknown key");
    expect_error_exact("frobnicate: 1\n", "t.yaml:1: frobnicate: unknown key");
    expect_error_exact("site:\n  zzzzzzzz: 1\n", "t.yaml:2: site.zzzzzzzz: unknown key");
    expect_error("? [a]\n: b\n", "t.yaml:1: (top level): a key must be a string, not a sequence");
    expect_error_exact("\"a\\x01b\": 1\n", "t.yaml:1: a\\x01b: unknown key");
}

static void
test_wrong_types(void **state)
{
    expect_error("site: PS1\n", "t.yaml:1: site: expected a map, got a scalar");
    expect_error("limits:\n  max_body: big\n",
                 "t.yaml:2: limits.max_body: expected an integer, got \"big\"");
    expect_error("limits:\n  max_body: 16k\n",
                 "t.yaml:2: limits.max_body: expected an integer, got \"16k\"");
    expect_error("debug: {clock_override: yes}\n",
                 "t.yaml:1: debug.clock_override: expected true or false, got \"yes\"");
    expect_error("keys:\n  algorithm:\n    - EdDSA\n",
                 "t.yaml:3: keys.algorithm: expected one of EdDSA, ES256, RS256, got a sequence");
    expect_error("keys: {algorithm: HS256}\n",
                 "t.yaml:1: keys.algorithm: expected one of EdDSA, ES256, RS256, got \"HS256\"");
    expect_error("log:\n  level:\n", "t.yaml:2: log.level: expected one of error, warn, info, "
                                     "debug, got nothing");
    expect_error("state_dir: {a: b}\n", "t.yaml:1: state_dir: expected a path, got a map");
    expect_error("listen: {address: '::1', port: 1}\n",
                 "t.yaml:1: listen: expected a sequence of {address, port, tls}, got a map");
    expect_error("listen:\n", "t.yaml:1: listen: expected a sequence of {address, port, tls}, "
                              "got nothing");
    expect_error("listen: [127.0.0.1]\n",
                 "t.yaml:1: listen[0]: expected a map with address and port, got a scalar");
    expect_error("listen: [{address: 127.0.0.1, port: http}]\n",
                 "t.yaml:1: listen[0].port: expected an integer, got \"http\"");
    expect_error("listen: [{address: \"127.0.0.1 \", port: 1}]\n",
                 "t.yaml:1: listen[0].address: \"127.0.0.1 \": not an IP address or host name");
    expect_error("user: \"-root\"\n", "t.yaml:1: user: \"-root\": not a user name");
    expect_error("state_dir: \"a\\0b\"\n", "t.yaml:1: state_dir: \"a\\x00b\" contains a NUL byte");
}

static void
test_out_of_bounds(void **state)
{
    struct config cfg;
    char yaml[1200];

    expect_error("limits:\n  max_body: 1023\n",
                 "t.yaml:2: limits.max_body: 1023 is out of range (1024..1048576)");
    expect_error("limits: {max_body: 99999999999999999999}\n",
                 "t.yaml:1: limits.max_body: expected an integer");
    expect_error("threads: {workers: 65}\n",
                 "t.yaml:1: threads.workers: 65 is out of range (0..64)");
    expect_error("listen: [{address: '::1', port: 65536}]\n",
                 "t.yaml:1: listen[0].port: 65536 is out of range (0..65535)");
    expect_error("store: {commit_delay: 101ms}\n",
                 "t.yaml:1: store.commit_delay: 101ms is out of range (0s..100ms)");
    expect_error("tokens: {access_lifetime: 25h}\n",
                 "t.yaml:1: tokens.access_lifetime: 25h is out of range (1m..1d)");
    expect_error("tokens: {bulk_max_lifetime: 10081m}\n",
                 "t.yaml:1: tokens.bulk_max_lifetime: 10081m is out of range (1m..7d)");
    expect_error("keys: {rotation_period: 59m}\n",
                 "t.yaml:1: keys.rotation_period: 59m is out of range (1h..365d)");
    expect_error("site: {code: PS12}\n", "t.yaml:1: site.code: \"PS12\": must be 3 characters");
    expect_error("site: {code: ps1}\n", "t.yaml:1: site.code: \"ps1\": must be 3 characters");
    expect_error("site: {code: P-1}\n", "t.yaml:1: site.code: \"P-1\": must be 3 characters");
    expect_error("site: {audience: \"\"}\n",
                 "t.yaml:1: site.audience: \"\" must be 1 to 1024 bytes long");
    memset(yaml, 0, sizeof(yaml));
    strcpy(yaml, "site: {issuer: ");
    memset(yaml + strlen(yaml), 'x', 1025);
    strcat(yaml, "}\n");
    expect_error(yaml, "t.yaml:1: site.issuer: \"xxxx");
    /* the edges are in */
    expect_ok(&cfg, "limits: {max_body: 1048576}\nthreads: {workers: 64}\nsite: {code: 123}\n"
                    "store: {commit_delay: 100ms}\nlisten: [{address: '::1', port: 65535}]\n");
    assert_int_equal(cfg.max_body, 1048576);
    assert_int_equal(cfg.workers, 64);
    assert_string_equal(cfg.site_code, "123");
    assert_int_equal(cfg.listen[0].port, 65535);
    config_free(&cfg);
}

static void
test_duplicate_keys(void **state)
{
    expect_error("site: {code: PS1}\nlog: {level: info}\nsite: {code: PS2}\n",
                 "t.yaml:3: site: duplicate key (first given on line 1)");
    expect_error("keys:\n  prepublish: 1h\n  prepublish: 2h\n",
                 "t.yaml:3: keys.prepublish: duplicate key (first given on line 2)");
    expect_error("listen:\n  - address: ::1\n    port: 1\n    port: 2\n",
                 "t.yaml:4: listen[0].port: duplicate key (first given on line 3)");
    expect_error("listen:\n  - {address: '::1', port: 1}\n  - {address: '::1', port: 1}\n",
                 "t.yaml:3: listen[1]: same address and port as listen[0]");
}

static void
test_yaml_errors(void **state)
{
    expect_error("site:\n  code: PS1\n bad: [\n", "t.yaml:3: yaml: ");
    expect_error("a: b\n\x01", "t.yaml:2: yaml: control characters are not allowed");
    expect_error("listen: *nowhere\n", "t.yaml:1: yaml: found undefined alias");
    expect_error("log: {level: info}\n---\nlog: {level: warn}\n",
                 "t.yaml:2: yaml: more than one document");
    expect_error("- a\n- b\n", "t.yaml:1: (top level): expected a map, got a sequence");
    expect_error("just text\n", "t.yaml:1: (top level): expected a map, got a scalar");
    expect_error("a: [[[[[[[[1]]]]]]]]\n", "t.yaml:1: yaml: nested deeper than 8 levels");
    expect_error("a: [[[[[[[1]]]]]]]\n", "t.yaml:1: a: unknown key"); /* 8 levels are fine */
}

/* Shapes that would make libyaml slow if they reached its loader (bugs this test would catch:
 * a 1 MiB "[[[[..." took minutes before the event prescan). */
static void
test_hostile_shapes(void **state)
{
    char *yaml = malloc(CONFIG_MAX_FILE_SIZE + 1);
    struct config cfg;
    struct config_errors *errs = config_errors_new();
    size_t o = 0;

    memset(yaml, '[', CONFIG_MAX_FILE_SIZE);
    assert_int_equal(config_load_string(&cfg, "t.yaml", yaml, CONFIG_MAX_FILE_SIZE, errs), -1);
    assert_string_equal(config_errors_get(errs, 0), "t.yaml:1: yaml: nested deeper than 8 levels");
    o = (size_t)sprintf(yaml, "a: [");
    for (int i = 0; i <= CONFIG_MAX_ANCHORS; i++)
        o += (size_t)sprintf(yaml + o, "&a%d 1, ", i);
    sprintf(yaml + o, "]\n");
    expect_error(yaml, "t.yaml:1: yaml: more than 64 anchors");
    /* many aliases of few anchors are fine (and do not multiply work) */
    o = (size_t)sprintf(yaml, "x: &x [1]\nsite: {");
    for (int i = 0; i < 10000; i++)
        o += (size_t)sprintf(yaml + o, "k%d: *x, ", i);
    sprintf(yaml + o, "}\n");
    assert_int_equal(config_load_string(&cfg, "t.yaml", yaml, strlen(yaml), errs), -1);
    free(yaml);
    config_errors_free(errs);
}

static void
test_aliases_do_not_loop(void **state)
{
    struct config cfg;
    struct config_errors *errs = config_errors_new();

    /* anchors.yaml has shared and self-referencing nodes */
    assert_int_equal(config_load(&cfg, data_path("anchors.yaml"), errs), -1);
    assert_true(config_errors_count(errs) > 0);
    config_errors_free(errs);
    expect_error("site: &s {code: PS1, self: *s}\n", "t.yaml:1: site.self: unknown key");
    /* a shared tls map is fine */
    expect_ok(&cfg, "listen:\n  - {address: 192.0.2.1, port: 443, tls: &t {certificate: c, key: "
                    "k}}\n  - {address: 192.0.2.2, port: 443, tls: *t}\n");
    assert_string_equal(cfg.listen[1].tls_key, "k");
    config_free(&cfg);
}

static void
test_listen_count(void **state)
{
    struct config cfg;
    char yaml[2048] = "listen:\n";

    expect_error("listen: []\n", "t.yaml:1: listen: needs 1 to 16 entries, got 0");
    for (int i = 0; i < 16; i++)
        snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml),
                 "  - {address: 127.0.0.1, port: %d}\n", 1000 + i);
    expect_ok(&cfg, yaml);
    assert_int_equal(cfg.nlisten, 16);
    assert_int_equal(cfg.listen[15].port, 1015);
    config_free(&cfg);
    strcat(yaml, "  - {address: 127.0.0.1, port: 0}\n");
    expect_error(yaml, "t.yaml:2: listen: needs 1 to 16 entries, got 17");
    /* port 0 may repeat: each picks its own */
    expect_ok(&cfg, "listen: [{address: '::1', port: 0}, {address: '::1', port: 0}]\n");
    config_free(&cfg);
    expect_error("listen:\n  - port: 1\n", "t.yaml:2: listen[0]: missing address");
}

static void
test_several_errors_together(void **state)
{
    static const char *const want[] = {
        "t.yaml:2: site.code: \"toolong\": must be 3 characters",
        "t.yaml:3: site.isuer: unknown key (did you mean site.issuer?)",
        ("t.yaml:5: listen[0].address: plain HTTP is allowed only on loopback addresses; "
         "configure listen[0].tls"),
        "t.yaml:6: listen[0].port: 70000 is out of range (0..65535)",
        "t.yaml:7: listen[1]: missing port",
        "t.yaml:8: listen[1].tls: needs both certificate and key",
        "t.yaml:11: keys.prepublish: 1d must be shorter than keys.rotation_period (12h)",
        "t.yaml:12: keys.rotation_period: duplicate key (first given on line 10)",
        "t.yaml:14: tokens.client_lifetime: \"90\" has no unit (did you mean 90d?)",
        "t.yaml:15: tokens.renew_after: \"5x\": unknown unit",
        "t.yaml:16: tokens.bulk_max_lifetime: \"1h 2h\": a unit appears twice",
        "t.yaml:17: log.level: expected one of error, warn, info, debug, got \"loud\"",
        "t.yaml:18: threads: expected a map, got a sequence",
    };
    const char *yaml = "site:\n"
                       "  code: toolong\n"
                       "  isuer: x\n"
                       "listen:\n"
                       "  - address: 0.0.0.0\n"
                       "    port: 70000\n"
                       "  - address: 127.0.0.1\n"
                       "    tls: {certificate: c.pem}\n"
                       "keys:\n"
                       "  rotation_period: 12h\n"
                       "  prepublish: 1d\n"
                       "  rotation_period: 1d\n"
                       "tokens:\n"
                       "  client_lifetime: 90\n"
                       "  renew_after: 5x\n"
                       "  bulk_max_lifetime: 1h 2h\n"
                       "log: {level: loud}\n"
                       "threads: [1, 2]\n";
    struct config cfg;
    struct config_errors *errs;

    assert_int_equal(load(&cfg, yaml, &errs), -1);
    if (config_errors_count(errs) != sizeof(want) / sizeof(want[0]))
        dump(errs);
    assert_int_equal(config_errors_count(errs), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) /* in line order */
        assert_true(strncmp(config_errors_get(errs, i), want[i], strlen(want[i])) == 0);
    assert_null(config_errors_get(errs, 99));
    config_errors_free(errs);
}

static void
test_error_cap(void **state)
{
    size_t cap = 200 * 16 + 1;
    char *yaml = malloc(cap), *out = NULL;
    size_t len = 0, outlen = 0;
    struct config cfg;
    struct config_errors *errs = config_errors_new();
    FILE *f;

    yaml[0] = '\0';
    for (int i = 0; i < 150; i++)
        snprintf(yaml + strlen(yaml), cap - strlen(yaml), "unknown%d: 1\n", i);
    len = strlen(yaml);
    assert_int_equal(config_load_string(&cfg, "t.yaml", yaml, len, errs), -1);
    assert_int_equal(config_errors_count(errs), CONFIG_MAX_ERRORS);
    f = open_memstream(&out, &outlen);
    config_errors_print(errs, f);
    fclose(f);
    assert_non_null(strstr(out, "t.yaml:1: unknown0: unknown key\n"));
    assert_non_null(strstr(out, "(50 more errors not shown)\n"));
    free(out);
    /* and without a list: still -1, nothing to report to */
    assert_int_equal(config_load_string(&cfg, "t.yaml", yaml, len, NULL), -1);
    free(yaml);
    config_errors_free(errs);
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
        cmocka_unit_test(test_duration_valid),
        cmocka_unit_test(test_duration_invalid),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_duration_keys),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_out_of_bounds),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_hostile_shapes),
        cmocka_unit_test(test_aliases_do_not_loop),
        cmocka_unit_test(test_listen_count),
        cmocka_unit_test(test_several_errors_together),
        cmocka_unit_test(test_error_cap),
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
