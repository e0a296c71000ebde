/* Shared by the store's unit tests: every test runs twice, on a database file
 * in a fresh temp dir and on ":memory:", and may reach the raw connection
 * (store_int.h) to tamper with rows the way an attacker with the file would. */
#ifndef SITETOKEN_TEST_STORE_FIXTURE_H
#define SITETOKEN_TEST_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_int.h"

struct fx {
    struct store *st;
    int memory;
    char dir[64];
    char path[128];
};

/* *state arrives as the prestate: "file" or ":memory:". */
static int
fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    const char *err = NULL;

    assert_non_null(fx);
    fx->memory = strcmp((const char *)*state, ":memory:") == 0;
    if (fx->memory) {
        snprintf(fx->path, sizeof(fx->path), ":memory:");
    } else {
        snprintf(fx->dir, sizeof(fx->dir), "/tmp/st-store-XXXXXX");
        assert_non_null(mkdtemp(fx->dir));
        snprintf(fx->path, sizeof(fx->path), "%s/test.db", fx->dir);
    }
    fx->st = store_open(fx->path, 1000, &err);
    if (fx->st == NULL)
        fail_msg("store_open %s: %s", fx->path, err);
    *state = fx;
    return 0;
}

static int
fx_teardown(void **state)
{
    struct fx *fx = *state;
    char cmd[160];
    int rc = 0;

    store_close(fx->st);
    if (!fx->memory) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
        rc = system(cmd) == 0 ? 0 : -1;
    }
    free(fx);
    return rc;
}

/* Raw SQL on the store's own connection; fails the test on error. */
static inline void
fx_exec(struct store *st, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
}

/* A single integer from raw SQL. */
static inline int64_t
fx_int(struct store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

#define FX_TEST(f)                                                                                 \
    cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)"file"),            \
        cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)":memory:")

#define FX(state) (((struct fx *)*(state))->st)

#endif
