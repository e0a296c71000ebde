/* Helpers shared by the config tests (test_config*.c): load YAML as "t.yaml", expect an exact
 * set of errors or a clean load, the defaults every empty file must give, the seed files. */
#ifndef SITETOKEN_TEST_CONFIG_UTIL_H
#define SITETOKEN_TEST_CONFIG_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Loads yaml as "t.yaml"; the caller frees *errs and (on success) cfg. */
int load(struct config *cfg, const char *yaml, struct config_errors **errs);
/* Prints every error (for a failing test's output). */
void dump(const struct config_errors *errs);
/* true when one of the errors starts with prefix. */
bool has_error(const struct config_errors *errs, const char *prefix);
/* yaml must fail with exactly n errors, one of which starts with `want`. */
void expect_errors(const char *yaml, size_t n, const char *want);
/* yaml must fail with exactly one error, which starts with `want`. */
void expect_error(const char *yaml, const char *want);
/* Like expect_error(), the whole message. */
void expect_error_exact(const char *yaml, const char *want);
/* yaml must load; the caller checks and frees cfg. */
void expect_ok(struct config *cfg, const char *yaml);
/* Every field holds the documented default. */
void check_defaults(const struct config *c);
/* A file of the fuzz seed corpus, which doubles as test files (CONFIG_SEEDS is set by CMake).
 * The path is in a static buffer, valid until the next call. */
char *data_path(const char *name);

#endif
