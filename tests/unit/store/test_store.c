/* store.c: pragmas, migrations, the newer-schema refusal, meta and the write
 * probe, the process lock and the key probe, on a real file in a temp dir and on :memory:. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static char tmpdir[64];
static char dbpath[128];

static int
setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/st-store-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof(dbpath), "%s/test.db", tmpdir);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_open_file_sets_pragmas(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(dbpath, 1000, &err);
    char buf[32];

    assert_non_null(st);
    assert_int_equal(store_pragma(st, "journal_mode", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "wal");
    assert_int_equal(store_pragma(st, "synchronous", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "2"); /* FULL */
    assert_int_equal(store_pragma(st, "foreign_keys", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1");
    assert_int_equal(store_pragma(st, "busy_timeout", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1000");
    assert_int_equal(store_pragma(st, "user_version; DROP TABLE meta", buf, sizeof(buf)), -1);
    assert_int_equal(store_schema_version(st), store_schema_latest());
    store_close(st);
}

static void
test_memory_store(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(":memory:", 1000, &err);
    char buf[16];

    assert_non_null(st);
    assert_int_equal(store_schema_version(st), store_schema_latest());
    assert_int_equal(store_meta_set(st, "site", "PS1", &err), 0);
    assert_int_equal(store_meta_get(st, "site", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "PS1");
    assert_int_equal(store_meta_get(st, "absent", buf, sizeof(buf)), -1);
    assert_int_equal(store_probe_write(st, &err), 0);
    store_close(st);
}

static void
test_migrations_recorded_once(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(dbpath, 1000, &err);
    sqlite3 *db;
    sqlite3_stmt *stmt;

    assert_non_null(st);
    store_close(st);
    st = store_open(dbpath, 1000, &err); /* reopening applies nothing twice */
    assert_non_null(st);
    store_close(st);
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM schema_migrations",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), store_schema_latest());
    assert_int_equal(sqlite3_column_int(stmt, 1), store_schema_latest());
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void
test_newer_schema_refused(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(dbpath, 1000, &err);
    sqlite3 *db;

    assert_non_null(st);
    store_close(st);
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (9999, 'future', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    st = store_open(dbpath, 1000, &err);
    assert_null(st);
    assert_non_null(strstr(err, "newer than this sitetokend knows"));
}

static void
test_unopenable_path(void **state)
{
    const char *err = NULL;
    struct store *st = store_open("/nonexistent-dir/x/y.db", 1000, &err);

    assert_null(st);
    assert_non_null(strstr(err, "/nonexistent-dir/x/y.db"));
}

/* Item 8: the lock is held by this process; another process asking for it
 * is refused with the file and our pid; a failed start removes what it made. */
static void
test_lock(void **state)
{
    const char *err = NULL;
    char lockpath[300], msg[600] = "";
    int fd = -1, created = 0, p[2];
    pid_t pid;

    snprintf(lockpath, sizeof(lockpath), "%s.lock", dbpath);
    assert_int_equal(store_lock(dbpath, &fd, &created, &err), 0);
    assert_true(fd >= 0 && created == 1);
    assert_int_equal(access(lockpath, F_OK), 0);
    assert_int_equal(pipe(p), 0);
    if ((pid = fork()) == 0) {
        int cfd = -1, ccreated = 0;
        const char *cerr = "";
        int rc = store_lock(dbpath, &cfd, &ccreated, &cerr);

        if (write(p[1], cerr, strlen(cerr)) < 0 || rc != -1 || ccreated != 0)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    assert_true(read(p[0], msg, sizeof(msg) - 1) > 0);
    close(p[0]);
    assert_int_equal(waitpid(pid, &created, 0), pid);
    assert_true(WIFEXITED(created) && WEXITSTATUS(created) == 0);
    assert_non_null(strstr(msg, "in use by another sitetokend"));
    assert_non_null(strstr(msg, lockpath));
    {
        char want[32];

        snprintf(want, sizeof(want), "pid %ld", (long)getpid());
        assert_non_null(strstr(msg, want));
    }
    store_unlock(dbpath, fd, 1);
    assert_int_equal(access(lockpath, F_OK), -1);
    /* a symbolic link in its place is refused, its target untouched */
    assert_int_equal(symlink("/nonexistent-target", lockpath), 0);
    assert_int_equal(store_lock(dbpath, &fd, &created, &err), -1);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(access("/nonexistent-target", F_OK), -1);
    unlink(lockpath);
}

/* Item 9's probe: how many sealed keys a database holds, creating nothing. */
static void
test_peek_keys(void **state)
{
    const char *err = NULL;
    int64_t n = -1;
    struct store *st;
    sqlite3 *db;

    assert_int_equal(store_peek_keys(dbpath, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(access(dbpath, F_OK), -1); /* nothing created */
    assert_non_null(st = store_open(dbpath, 1000, &err));
    store_close(st);
    assert_int_equal(store_peek_keys(dbpath, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO keys(kid, alg, status, created_at, activates_at,"
                                  " retired_at, public_jwk, sealed_private)"
                                  " VALUES ('k', 'EdDSA', 'active', 1, 1, NULL, '{}', x'00')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_peek_keys(dbpath, &n, &err), 0);
    assert_int_equal(n, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_file_sets_pragmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_recorded_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unopenable_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peek_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
