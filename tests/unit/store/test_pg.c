/* The PostgreSQL driver (store/pg.c), on a database of its own when
 * SITETOKEN_TEST_PG_URI is set (skipped otherwise): placeholders with gaps,
 * the session settings, a URI with a password, and a lost connection
 * (unavailable, the next use connects again, an interrupted transaction
 * never commits). */
#include "fixture.h"
#include "revocations.h"

#define NOW 4000000000LL

static void
str_of(struct store *st, const char *sql, char *buf, size_t n)
{
    const char *err = NULL;
    struct store_stmt *s = store_prepare(st, sql, &err);

    if (s == NULL)
        fail_msg("%s: %s", sql, err);
    assert_int_equal(store_step(s), STORE_ROW);
    snprintf(buf, n, "%s", store_col_str(s, 0) != NULL ? store_col_str(s, 0) : "(null)");
    store_finalize(s);
}

static void
test_placeholders(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;
    struct store_stmt *s;

    /* ?2 and ?3 left out, ?5 used twice, then a bare ? (one past the largest) */
    assert_non_null(
        s = store_prepare(st, "SELECT CAST(?1 AS BIGINT) + ?4 + ?5 + ?5, '?' || ?", &err));
    store_bind_int64(s, 1, 1);
    store_bind_int64(s, 2, 1000); /* not in the statement: ignored */
    store_bind_int64(s, 4, 10);
    store_bind_int64(s, 5, 100);
    store_bind_text(s, 6, "x");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_int_equal(store_col_int64(s, 0), 211);
    assert_string_equal(store_col_str(s, 1), "?x");
    assert_int_equal(store_step(s), STORE_DONE);
    store_finalize(s);
}

static void
test_session(void **state)
{
    struct fx *fx = *state;
    char buf[64], sql[160];
    const char *err = NULL;

    /* whatever the database's default, every session commits synchronously */
    snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET synchronous_commit = off", fx->dbname);
    assert_int_equal(fx_pg_admin(fx->admin, sql), 0);
    store_close(fx->st);
    assert_non_null(fx->st = store_open(fx->path, 1000, &err));
    str_of(fx->st, "SHOW synchronous_commit", buf, sizeof(buf));
    assert_string_equal(buf, "on");
    str_of(fx->st, "SHOW application_name", buf, sizeof(buf));
    assert_string_equal(buf, "sitetokend");
    str_of(fx->st, "SHOW lock_timeout", buf, sizeof(buf));
    assert_string_equal(buf, "1s");
    /* the URI's own options are kept, ours added */
    {
        char uri[512];
        struct store *o;

        snprintf(uri, sizeof(uri), "%s%soptions=-c%%20statement_timeout%%3D12345", fx->path,
                 strchr(fx->path, '?') != NULL ? "&" : "?");
        assert_non_null(o = store_open(uri, 1000, &err));
        str_of(o, "SHOW statement_timeout", buf, sizeof(buf));
        assert_string_equal(buf, "12345ms");
        str_of(o, "SHOW synchronous_commit", buf, sizeof(buf));
        assert_string_equal(buf, "on");
        store_close(o);
    }
    assert_string_equal(store_backend(fx->st), "postgresql");
    assert_false(store_has_checkpoint(fx->st));
    assert_false(store_is_local_file(fx->path));
    assert_int_equal(store_schema_version(fx->st), store_schema_latest_of(fx->st));
    assert_int_equal(store_schema_latest_of(fx->st), store_schema_latest());
}

static void
test_password_in_uri_refused(void **state)
{
    struct fx *fx = *state;
    const char *err = NULL;
    char uri[512], *at;

    snprintf(uri, sizeof(uri), "%s", fx->path);
    assert_non_null(at = strchr(uri + strlen("postgresql://"), '@'));
    memmove(at + strlen(":s3cretpw"), at, strlen(at) + 1);
    memcpy(at, ":s3cretpw", strlen(":s3cretpw"));
    assert_null(store_open(uri, 1000, &err));
    assert_non_null(strstr(err, "password"));
    assert_null(strstr(err, "s3cretpw"));
}

static void
kill_sessions(struct fx *fx)
{
    char sql[200];

    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'",
             fx->dbname);
    /* a SELECT: fx_pg_admin wants a command, so ignore its answer */
    (void)fx_pg_admin(fx->admin, sql);
}

static void
test_lost_connection(void **state)
{
    struct fx *fx = *state;
    struct store *st = fx->st;
    const char *err = NULL;
    int64_t serial = 0;

    assert_int_equal(store_revocation_add(st, "token", "a", NOW, NOW + 9, "", &serial, &err), 0);
    /* outside a transaction: this use fails (unavailable), the next connects */
    kill_sessions(fx);
    assert_int_equal(store_revocation_add(st, "token", "b", NOW, NOW + 9, "", &serial, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_UNAVAILABLE);
    assert_string_equal(store_error_name(STORE_ERR_UNAVAILABLE), "unavailable");
    assert_int_equal(store_revocation_add(st, "token", "b", NOW, NOW + 9, "", &serial, &err), 0);
    /* inside one: everything fails until the rollback, the commit too */
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_revocation_add(st, "token", "c", NOW, NOW + 9, "", &serial, &err), 0);
    kill_sessions(fx);
    assert_int_equal(store_revocation_add(st, "token", "d", NOW, NOW + 9, "", &serial, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_UNAVAILABLE);
    assert_int_equal(store_savepoint(st, &err), -1);
    assert_int_equal(store_tx_commit(st, &err), -1);
    store_tx_rollback(st);
    assert_int_equal(store_revocation_exists(st, "token", "c", NOW), 0);
    assert_int_equal(store_revocation_exists(st, "token", "b", NOW), 1);
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
}

static void
test_error_classes(void **state)
{
    struct store *st = FX(state);
    const char *err = NULL;

    fx_exec(st, "INSERT INTO meta(key, value, updated_at) VALUES ('k', 'v', 1)");
    assert_int_equal(
        store_exec(st, "INSERT INTO meta(key, value, updated_at) VALUES ('k', 'v', 1)", &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_CONFLICT);
    assert_int_equal(store_exec(st, "SELECT CAST('x' AS BIGINT)", &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_INVALID);
    assert_int_equal(store_exec(st, "SELECT nonsense FROM nowhere", &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_INTERNAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_placeholders, fx_setup, fx_teardown,
                                                 (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_session, fx_setup, fx_teardown,
                                                 (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_password_in_uri_refused, fx_setup,
                                                 fx_teardown, (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_lost_connection, fx_setup, fx_teardown,
                                                 (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_error_classes, fx_setup, fx_teardown,
                                                 (void *)"postgresql"),
    };
    return FX_RUN(tests);
}
