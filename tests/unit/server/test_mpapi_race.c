/* The writer's re-check of a device's block (mpapi_apply): a device blocked
 * after the worker found it unblocked, by an admin change the writer applied
 * just before the issuance, must be refused device_blocked, and no token is
 * written. The worker's half is skipped: the op arrives as the worker left
 * it (device seen unblocked), the committer's test hook blocks the device in
 * the batch right before the op, and the writer (mpapi_apply.c, through the
 * op type of mpapi_int.h) decides. On a real SQLite file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "committer.h"
#include "config.h"
#include "devices.h"
#include "mpapi_int.h"
#include "sitetokend.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>

#define NOW 1700000000
#define DEV "GUID:0190a0a0-0000-7000-8000-000000000001"

static char dir[64], path[128];
static struct config cfg;
static struct sitetokend env = {.cfg = &cfg};

struct race {
    int armed; /* block the device before the next op */
};

/* Writer: the admin's block, committed in the batch before the issuance. */
static void
race_block_cb(struct commit_op *op, struct commit_ctx *ctx, void *arg)
{
    struct race *r = arg;
    const char *err = NULL;

    if (!r->armed)
        return;
    r->armed = 0;
    assert_int_equal(store_device_set_blocked(ctx->store, DEV, 1, &err), 0);
}

static int
setup(void **state)
{
    struct store_device d = {.id = DEV,
                             .jkt = "jkt-of-the-device",
                             .hardware_id = "HW-1",
                             .name = "one",
                             .reg = "intranet",
                             .mp_id = "mp-1",
                             .created_at = NOW,
                             .last_seen_at = NOW};
    struct store_token t = {.jti = "client-1",
                            .kind = "client",
                            .device_id = DEV,
                            .kid = "kid-1",
                            .issued_at = NOW,
                            .expires_at = NOW + 86400,
                            .gen = 1,
                            .mp_id = "mp-1"};
    const char *err = NULL;
    struct store *st;

    snprintf(dir, sizeof(dir), "/tmp/st-mprace-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/r.db", dir);
    assert_non_null(st = store_open(path, 1000, &err));
    assert_int_equal(store_device_insert(st, &d, &err), 0);
    assert_int_equal(store_token_insert(st, &t, &err), 0);
    store_close(st);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* An issuance as the worker hands it to the writer: MP authenticated, proof
 * verified (a fresh jti each), device found unblocked, token signed. */
static void
race_op(struct mpapi_op *m, enum mpapi_kind kind, const char *jti)
{
    memset(m, 0, sizeof(*m));
    m->op.apply = mpapi_apply;
    m->env = &env;
    m->kind = kind;
    snprintf(m->mp.id, sizeof(m->mp.id), "mp-1");
    snprintf(m->mp.name, sizeof(m->mp.name), "mp");
    snprintf(m->proof_jti, sizeof(m->proof_jti), "proof-%s", jti);
    m->proof_iat = NOW;
    snprintf(m->dev.id, sizeof(m->dev.id), "%s", DEV);
    snprintf(m->dev.jkt, sizeof(m->dev.jkt), "jkt-of-the-device");
    snprintf(m->dev.hardware_id, sizeof(m->dev.hardware_id), "HW-1");
    snprintf(m->dev.name, sizeof(m->dev.name), "one");
    snprintf(m->dev.reg, sizeof(m->dev.reg), "intranet");
    snprintf(m->presented, sizeof(m->presented), "client-1");
    snprintf(m->tok.jti, sizeof(m->tok.jti), "%s", jti);
    snprintf(m->tok.kind, sizeof(m->tok.kind), kind == MPAPI_ACCESS ? "access" : "client");
    snprintf(m->tok.device_id, sizeof(m->tok.device_id), "%s", DEV);
    snprintf(m->tok.kid, sizeof(m->tok.kid), "kid-1");
    snprintf(m->tok.mp_id, sizeof(m->tok.mp_id), "mp-1");
    m->tok.issued_at = NOW;
    m->tok.expires_at = NOW + 3600;
    m->tok.gen = 1;
}

static int
token_written(const char *jti)
{
    struct store *st;
    struct store_token t;
    const char *err = NULL;
    int rc;

    assert_non_null(st = store_open(path, 1000, &err));
    rc = store_token_get(st, jti, &t, &err);
    store_close(st);
    assert_int_not_equal(rc, -1);
    return rc == 0;
}

/* One kind: issued when nothing happens meanwhile; refused when the device
 * is blocked between the worker's check and the writer's apply. */
static void
race_kind(enum mpapi_kind kind, const char *ok_jti, const char *refused_jti)
{
    struct race r = {0};
    struct committer *c;
    struct mpapi_op m;
    const char *err = NULL;
    struct store *st;

    c = committer_start(path, 1000, 64, 1000, 300000, 0, &err);
    assert_non_null(c);
    committer_set_test_hook(c, race_block_cb, &r);

    race_op(&m, kind, ok_jti);
    assert_int_equal(committer_run(c, &m.op), ERRCODE_OK);
    assert_true(token_written(ok_jti));

    race_op(&m, kind, refused_jti);
    r.armed = 1;
    assert_int_equal(committer_run(c, &m.op), ERRCODE_DEVICE_BLOCKED);
    assert_false(r.armed);
    assert_false(token_written(refused_jti));
    committer_stop(c);

    /* unblocked again for the next kind */
    assert_non_null(st = store_open(path, 1000, &err));
    assert_int_equal(store_device_set_blocked(st, DEV, 0, &err), 0);
    store_close(st);
}

static void
test_register_blocked_meanwhile(void **state)
{
    race_kind(MPAPI_REGISTER, "reg-ok", "reg-refused");
}

static void
test_renew_blocked_meanwhile(void **state)
{
    race_kind(MPAPI_RENEW, "renew-ok", "renew-refused");
}

static void
test_access_blocked_meanwhile(void **state)
{
    race_kind(MPAPI_ACCESS, "access-ok", "access-refused");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_blocked_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_blocked_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_blocked_meanwhile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
