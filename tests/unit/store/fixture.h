/* Shared by the store's unit tests: every test runs on a database file in a
 * fresh temp dir, on ":memory:" and, when SITETOKEN_TEST_PG_URI names a
 * PostgreSQL database to connect to as a user that may create databases, on
 * a fresh PostgreSQL database (skipped otherwise). A test may reach the raw
 * connection through the driver (store_int.h) to tamper with rows the way
 * an attacker with the database would. */
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
#include <libpq-fe.h>

#include "store_int.h"

struct fx {
    struct store *st;
    int memory; /* nothing to reopen */
    int pg;     /* a PostgreSQL database: no file, no SQLite pragmas */
    char dir[64];
    char path[128 + 256];
    char admin[256]; /* PostgreSQL: the URI the test database is made through */
    char dbname[64];
};

/* Runs one statement on the PostgreSQL database admin names. */
static inline int
fx_pg_admin(const char *admin, const char *sql)
{
    PGconn *pg = PQconnectdb(admin);
    PGresult *res;
    int ok;

    if (PQstatus(pg) != CONNECTION_OK) {
        print_error("connect %s: %s", admin, PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    res = PQexec(pg, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        print_error("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(pg);
    return ok ? 0 : -1;
}

/* A fresh database beside the one SITETOKEN_TEST_PG_URI names; its URI in
 * fx->path. */
static inline int
fx_pg_create(struct fx *fx)
{
    static int seq;
    const char *uri = getenv("SITETOKEN_TEST_PG_URI");
    const char *slash, *query;
    char sql[128];

    if (uri == NULL || *uri == '\0' || (slash = strrchr(uri, '/')) == NULL)
        return 1;
    snprintf(fx->admin, sizeof(fx->admin), "%s", uri);
    snprintf(fx->dbname, sizeof(fx->dbname), "st_unit_%ld_%d", (long)getpid(), ++seq);
    query = strchr(slash, '?');
    snprintf(fx->path, sizeof(fx->path), "%.*s/%s%.64s", (int)(slash - uri), uri, fx->dbname,
             query != NULL ? query : "");
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx->dbname);
    return fx_pg_admin(fx->admin, sql);
}

/* *state arrives as the prestate: "file" or ":memory:". */
static int
fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    const char *err = NULL;

    assert_non_null(fx);
    fx->memory = strcmp((const char *)*state, ":memory:") == 0;
    fx->pg = strcmp((const char *)*state, "postgresql") == 0;
    if (fx->pg) {
        int rc = fx_pg_create(fx);

        if (rc != 0)
            fail_msg("cannot create a PostgreSQL test database");
    } else if (fx->memory) {
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

    if (fx == NULL)
        return 0;
    store_close(fx->st);
    if (fx->pg) {
        snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->dbname);
        rc = fx_pg_admin(fx->admin, cmd);
    } else if (!fx->memory) {
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
    const char *err = NULL;

    if (store_exec(st, sql, &err) == -1)
        fail_msg("%s: %s", sql, err != NULL ? err : "?");
}

/* A single integer from raw SQL (a comparison counts as 0 or 1). */
static inline int64_t
fx_int(struct store *st, const char *sql)
{
    const char *err = NULL;
    struct store_stmt *stmt = store_prepare(st, sql, &err);
    int64_t v;

    if (stmt == NULL)
        fail_msg("%s: %s", sql, err != NULL ? err : "?");
    assert_int_equal(store_step(stmt), STORE_ROW);
    v = store_col_int64(stmt, 0);
    store_finalize(stmt);
    return v;
}

/* The same text for each backend, where SQLite's and PostgreSQL's differ. */
#define FX_SQL(fx, sqlite_sql, pg_sql) ((fx)->pg ? (pg_sql) : (sqlite_sql))

#define FX_TEST(f)                                                                                 \
    cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)"file"),            \
        cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)":memory:"),    \
        cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)"postgresql")
/* SQLite only: the point is the file or SQLite itself. */
#define FX_TEST_SQLITE(f)                                                                          \
    cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)"file"),            \
        cmocka_unit_test_prestate_setup_teardown(f, fx_setup, fx_teardown, (void *)":memory:")

/* Runs the group, without its PostgreSQL runs when there is no PostgreSQL
 * to test on (SITETOKEN_TEST_PG_URI unset). */
static inline int
fx_run_filtered(const char *name, const struct CMUnitTest *t, size_t n)
{
    const char *uri = getenv("SITETOKEN_TEST_PG_URI");
    struct CMUnitTest *v = calloc(n + 1, sizeof(*v));
    size_t k = 0;
    int rc;

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        if ((uri != NULL && *uri != '\0') || t[i].initial_state == NULL ||
            strcmp(t[i].initial_state, "postgresql") != 0)
            v[k++] = t[i];
    rc = _cmocka_run_group_tests(name, v, k, NULL, NULL);
    free(v);
    return rc;
}
#define FX_RUN(tests) fx_run_filtered(#tests, tests, sizeof(tests) / sizeof(tests[0]))

#define FX(state) (((struct fx *)*(state))->st)

#endif
