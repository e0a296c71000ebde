/* The PostgreSQL driver (store/pg.c), on a database of its own when
 * SITETOKEN_TEST_PG_URI is set (skipped otherwise): placeholders with gaps,
 * the session settings, a URI with a password, and a lost connection
 * (unavailable, the next use connects again, an interrupted transaction
 * never commits), and the pipeline: statements nobody reads sent without
 * waiting, their failure the op's own, with its class, its round trips
 * counted. */
#include "audit.h"
#include "devices.h"
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

/* An op as the committer runs it: savepoint, a device and its token, the
 * audit record, release. */
static void
pipe_device(struct store_device *d, struct store_token *t, int n, const char *device_of_token)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "GUID:dev-%04d", n);
    snprintf(d->jkt, sizeof(d->jkt), "jkt-%04d", n);
    snprintf(d->hardware_id, sizeof(d->hardware_id), "hw-%04d", n);
    snprintf(d->name, sizeof(d->name), "host-%04d", n);
    snprintf(d->reg, sizeof(d->reg), "intranet");
    d->created_at = d->last_seen_at = NOW;
    memset(t, 0, sizeof(*t));
    snprintf(t->jti, sizeof(t->jti), "jti-%04d", n);
    snprintf(t->kind, sizeof(t->kind), "client");
    snprintf(t->device_id, sizeof(t->device_id), "%s",
             device_of_token != NULL ? device_of_token : d->id);
    snprintf(t->kid, sizeof(t->kid), "kid-1");
    t->issued_at = NOW;
    t->expires_at = NOW + 86400;
}

static int64_t
count_of(struct store *st, const char *sql)
{
    char buf[32];

    str_of(st, sql, buf, sizeof(buf));
    return strtoll(buf, NULL, 10);
}

static void
test_pipeline_roundtrips(void **state)
{
    struct store *st = FX(state);
    struct store_device d;
    struct store_token t;
    const char *err = NULL;
    int64_t rt;

    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_audit_lock(st, &err), 0);
    for (int n = 1; n <= 2; n++) { /* the first prepares each statement, the second not */
        pipe_device(&d, &t, n, NULL);
        rt = store_roundtrips(st);
        assert_int_equal(store_savepoint(st, &err), 0);
        assert_int_equal(store_device_insert(st, &d, &err), 0);
        assert_int_equal(store_token_insert(st, &t, &err), 0);
        assert_int_equal(store_roundtrips(st), rt); /* nothing waited for yet */
        /* the chain's last record: the first op reads it (one round trip,
         * the three before it in it), the second chains onto the record the
         * first appended under the lock (none) */
        assert_int_equal(store_audit_append(st, NOW, "mp:x", "exchange", d.id, "{}", &err), 0);
        assert_int_equal(store_roundtrips(st), rt + (n == 1));
        assert_int_equal(store_savepoint_release(st, &err), 0); /* the audit insert in it */
        /* without the pipeline: 7 (savepoint, 2 inserts, last, insert, release) */
        assert_int_equal(store_roundtrips(st), rt + 1 + (n == 1));
    }
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_int_equal(count_of(st, "SELECT count(*) FROM tokens"), 2);
    assert_int_equal(count_of(st, "SELECT count(*) FROM audit"), 2);
    /* outside a transaction nothing is deferred: each statement waits */
    pipe_device(&d, &t, 3, NULL);
    rt = store_roundtrips(st);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_roundtrips(st), rt + 1);
    /* SQLite has no server: no count */
}

static void
test_pipeline_failure_is_the_ops(void **state)
{
    struct store *st = FX(state);
    struct store_device d, out;
    struct store_token t;
    const char *err = NULL;

    assert_int_equal(store_tx_begin(st, &err), 0);
    /* op 1: its token names no device (foreign key): sent unread, so the
     * failure comes back at its next statement that waits, with its class */
    pipe_device(&d, &t, 1, "GUID:nobody");
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    /* a statement prepared for the first time after the failure: skipped */
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_device_get(st, d.id, &out, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_CONFLICT);
    assert_non_null(strstr(err, "INSERT INTO tokens"));
    assert_non_null(strstr(err, "foreign key"));
    store_savepoint_rollback(st);
    /* op 2: a failure seen only at RELEASE, then rolled back by the op */
    pipe_device(&d, &t, 2, "GUID:nobody");
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    assert_int_equal(store_savepoint_release(st, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_CONFLICT);
    store_savepoint_rollback(st);
    /* op 3: rolled back with its failure still in the pipeline (a refusal
     * decided without reading): the rollback is not skipped */
    pipe_device(&d, &t, 3, "GUID:nobody");
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    store_savepoint_rollback(st);
    /* op 4: fine, and the device statement skipped in op 1 is prepared again */
    pipe_device(&d, &t, 4, NULL);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    assert_int_equal(store_savepoint_release(st, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_int_equal(count_of(st, "SELECT count(*) FROM tokens"), 1);
    assert_int_equal(count_of(st, "SELECT count(*) FROM devices"), 1);
    assert_int_equal(store_device_get(st, "GUID:dev-0004", &out, &err), 0);
    assert_int_equal(store_device_get(st, "GUID:dev-0001", &out, &err), 1);

    /* a failure left in the pipeline fails the COMMIT: nothing committed */
    pipe_device(&d, &t, 5, "GUID:nobody");
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), -1);
    store_tx_rollback(st);
    assert_int_equal(count_of(st, "SELECT count(*) FROM tokens"), 1);
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
}

static void
test_pipeline_lost_connection(void **state)
{
    struct fx *fx = *state;
    struct store *st = fx->st;
    struct store_device d;
    struct store_token t;
    const char *err = NULL;

    assert_int_equal(store_tx_begin(st, &err), 0);
    pipe_device(&d, &t, 1, NULL);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    kill_sessions(fx);
    /* sent into a dead session, or found dead at the release: unavailable,
     * and the transaction never commits */
    if (store_token_insert(st, &t, &err) == 0)
        assert_int_equal(store_savepoint_release(st, &err), -1);
    assert_int_equal(store_error(st), STORE_ERR_UNAVAILABLE);
    store_savepoint_rollback(st);
    assert_int_equal(store_tx_commit(st, &err), -1);
    store_tx_rollback(st);
    /* the next transaction connects again and works */
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_savepoint(st, &err), 0);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    assert_int_equal(store_savepoint_release(st, &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
    assert_int_equal(count_of(st, "SELECT count(*) FROM tokens"), 1);
}

/* The renewal's supersede reads what it changes and no more, whatever the
 * statistics: on a table never analysed, the generic plan once scanned
 * every live token (tokens_kid_live taken as a filter) and hashed them. */
static void
test_supersede_plan_on_its_keys(void **state)
{
    struct store *st = FX(state);
    struct store_device d;
    struct store_token t;
    const char *err = NULL;
    char buf[64];
    long seq_scans = -1, read = -1;

    pipe_device(&d, &t, 1, NULL);
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    /* 3,000 live tokens, each a renewal of another; none of them is ours */
    for (int n = 0; n < 3000; n++) {
        snprintf(t.jti, sizeof(t.jti), "other-%05d", n);
        snprintf(t.prev_jti, sizeof(t.prev_jti), "other-prev-%05d", n);
        assert_int_equal(store_token_insert(st, &t, &err), 0);
    }
    snprintf(t.jti, sizeof(t.jti), "presented");
    t.prev_jti[0] = '\0';
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    snprintf(t.jti, sizeof(t.jti), "successor");
    snprintf(t.prev_jti, sizeof(t.prev_jti), "presented");
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    /* what the writer's session runs after a few executions */
    assert_int_equal(store_exec(st, "SET plan_cache_mode = force_generic_plan", &err), 0);
    assert_int_equal(store_tx_begin(st, &err), 0);
    assert_int_equal(store_token_supersede(st, "presented", NOW, 0, NULL, NULL, &err), 1);
    str_of(st,
           "SELECT seq_scan || ' ' || (seq_tup_read + idx_tup_fetch) FROM pg_stat_xact_user_tables"
           " WHERE relname = 'tokens'",
           buf, sizeof(buf));
    assert_int_equal(sscanf(buf, "%ld %ld", &seq_scans, &read), 2);
    if (read >= 20) /* the successor and a few probes, not 3,000 */
        fail_msg("tokens: %ld sequential scans, %ld rows read", seq_scans, read);
    store_tx_rollback(st);
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
        cmocka_unit_test_prestate_setup_teardown(test_pipeline_roundtrips, fx_setup, fx_teardown,
                                                 (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_pipeline_failure_is_the_ops, fx_setup,
                                                 fx_teardown, (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_pipeline_lost_connection, fx_setup,
                                                 fx_teardown, (void *)"postgresql"),
        cmocka_unit_test_prestate_setup_teardown(test_supersede_plan_on_its_keys, fx_setup,
                                                 fx_teardown, (void *)"postgresql"),
    };
    return FX_RUN(tests);
}
