/* Unit tests for the errors of the config loader (server/config_yaml.c, config_errors.c): every
 * kind of error with its exact "FILE:LINE: key:" prefix, suggestions, the error cap and
 * hostile YAML shapes. */
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
#include "test_config_util.h"

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
