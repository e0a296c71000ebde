/* committer.c: ops are applied in one transaction each in a savepoint, a
 * refusal rolls back only its own writes (and records through refused()),
 * results come back only after the commit, the replay cache is the
 * writer's, persisted proof jtis are loaded again at start-up (a restart
 * forgets no proof) and pruned a bounded number per batch once out of the
 * window. On a real SQLite file. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "committer.h"
#include "proofs.h"
#include "replay.h"
#include "store.h"

static char dir[64], path[128];

static int
setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/st-commit-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/c.db", dir);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

struct test_op {
    struct commit_op op;
    const char *key;
    enum errcode answer;
    int refused_called;
};

static enum errcode
test_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct test_op *t = (struct test_op *)op;
    const char *errstr = NULL;

    if (store_meta_set(ctx->store, t->key, "written", &errstr) == -1)
        return ERRCODE_UNAVAILABLE;
    return t->answer;
}

static void
test_refused(struct commit_op *op, struct commit_ctx *ctx)
{
    struct test_op *t = (struct test_op *)op;
    const char *errstr = NULL;
    char key[64];

    snprintf(key, sizeof(key), "refused-%s", t->key);
    store_meta_set(ctx->store, key, "audit", &errstr);
    t->refused_called = 1;
}

static int
meta_present(const char *key)
{
    const char *err = NULL;
    struct store *st = store_open(path, 1000, &err);
    char buf[32];
    int rc;

    assert_non_null(st);
    rc = store_meta_get(st, key, buf, sizeof(buf)) == 0;
    store_close(st);
    return rc;
}

static void
test_apply_commit_and_refusal(void **state)
{
    const char *err = NULL;
    struct committer *c = committer_start(path, 1000, 64, 1000, 60000, 0, &err);
    struct test_op ok = {.op = {.apply = test_apply}, .key = "ok", .answer = ERRCODE_OK};
    struct test_op no = {.op = {.apply = test_apply, .refused = test_refused},
                         .key = "no",
                         .answer = ERRCODE_BULK_TOKEN_EXHAUSTED};
    struct committer_stats stats;

    assert_non_null(c);
    assert_int_equal(committer_run(c, &ok.op), ERRCODE_OK);
    assert_true(meta_present("ok")); /* durable and visible to another connection */
    assert_int_equal(committer_run(c, &no.op), ERRCODE_BULK_TOKEN_EXHAUSTED);
    assert_false(meta_present("no"));
    assert_true(no.refused_called);
    assert_true(meta_present("refused-no"));
    committer_get_stats(c, &stats);
    assert_int_equal(stats.ops, 2);
    assert_int_equal(stats.failed_commits, 0);
    committer_stop(c);
}

/* Many concurrent submitters: every op comes back exactly once, after its
 * batch committed, and batches group several ops. */
#define NOPS 400
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int done_count;

static void
count_done(struct commit_op *op)
{
    pthread_mutex_lock(&done_mu);
    done_count++;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&done_mu);
}

static void
test_group_commit(void **state)
{
    const char *err = NULL;
    struct committer *c = committer_start(path, 1000, 256, 1000, 60000, 0, &err);
    struct test_op *ops = calloc(NOPS, sizeof(*ops));
    char(*keys)[16] = calloc(NOPS, 16);
    struct committer_stats stats;

    assert_non_null(c);
    done_count = 0;
    for (int i = 0; i < NOPS; i++) {
        snprintf(keys[i], 16, "k%d", i);
        ops[i].op.apply = test_apply;
        ops[i].op.done = count_done;
        ops[i].key = keys[i];
        ops[i].answer = ERRCODE_OK;
        committer_submit(c, &ops[i].op);
    }
    pthread_mutex_lock(&done_mu);
    while (done_count < NOPS)
        pthread_cond_wait(&done_cv, &done_mu);
    pthread_mutex_unlock(&done_mu);
    for (int i = 0; i < NOPS; i++)
        assert_int_equal(ops[i].op.code, ERRCODE_OK);
    committer_get_stats(c, &stats);
    assert_int_equal(stats.ops, NOPS);
    assert_true(stats.batches < NOPS); /* grouped */
    assert_true(stats.max_batch > 1 && stats.max_batch <= 256);
    committer_stop(c);
    assert_true(meta_present("k0") && meta_present("k399"));
    free(ops);
    free(keys);
}

struct replay_op {
    struct commit_op op;
    const char *jti;
    int result;
};

/* What mpapi_apply does: check, and persist a fresh jti in the op. */
static enum errcode
replay_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct replay_op *r = (struct replay_op *)op;
    const char *jti = r->jti != NULL ? r->jti : "same-jti", *errstr = NULL;

    r->result = replay_check(ctx->replay, "mp-1", jti, strlen(jti), ctx->now_ms);
    if (r->result == REPLAY_FRESH &&
        store_proof_add(ctx->store, ctx->now_ms / 1000, jti, "mp-1", &errstr) == -1)
        return ERRCODE_UNAVAILABLE;
    return ERRCODE_OK;
}

static int
count_cb(int64_t iat, const char *jti, const char *mp_id, void *arg)
{
    (*(int64_t *)arg)++;
    return 0;
}

/* Persisted proof jtis, counted on a connection of our own. */
static int64_t
proof_rows(void)
{
    const char *err = NULL;
    struct store *st = store_open(path, 1000, &err);
    int64_t n = 0;

    assert_non_null(st);
    assert_int_equal(store_proof_list(st, 0, count_cb, &n, &err), 0);
    store_close(st);
    return n;
}

static void
test_replay_cache_is_the_writers(void **state)
{
    const char *err = NULL;
    struct committer *c = committer_start(path, 1000, 16, 1000, 60000, 0, &err);
    struct replay_op a = {.op = {.apply = replay_apply}}, b = {.op = {.apply = replay_apply}};

    assert_non_null(c);
    committer_run(c, &a.op);
    committer_run(c, &b.op);
    assert_int_equal(a.result, REPLAY_FRESH);
    assert_int_equal(b.result, REPLAY_SEEN);
    committer_stop(c);
}

static void
test_persisted_proofs_survive_a_restart(void **state)
{
    const char *err = NULL;
    struct committer *c = committer_start(path, 1000, 16, 1000, 60000, 0, &err);
    struct replay_op a = {.op = {.apply = replay_apply}, .jti = "before-restart"};
    struct replay_op b = {.op = {.apply = replay_apply}, .jti = "before-restart"};
    struct replay_op fresh = {.op = {.apply = replay_apply}, .jti = "after-restart"};

    assert_non_null(c);
    committer_run(c, &a.op);
    assert_int_equal(a.result, REPLAY_FRESH);
    committer_stop(c);
    assert_int_equal(proof_rows(), 1);
    /* a new writer on the same database still knows the jti */
    c = committer_start(path, 1000, 16, 1000, 60000, 0, &err);
    assert_non_null(c);
    committer_run(c, &b.op);
    assert_int_equal(b.result, REPLAY_SEEN);
    committer_run(c, &fresh.op);
    assert_int_equal(fresh.result, REPLAY_FRESH);
    committer_stop(c);
}

static void
test_old_proofs_pruned_bounded_per_batch(void **state)
{
    const char *err = NULL;
    struct store *st = store_open(path, 1000, &err);
    struct committer *c;
    struct test_op ok = {.op = {.apply = test_apply}, .key = "k", .answer = ERRCODE_OK};
    int64_t now = (int64_t)time(NULL), before;
    char jti[32];

    assert_non_null(st);
    assert_int_equal(store_tx_begin(st, &err), 0);
    for (int i = 0; i < 500; i++) { /* long out of the 60 s window */
        snprintf(jti, sizeof(jti), "old-%d", i);
        assert_int_equal(store_proof_add(st, now - 3600, jti, "mp-1", &err), 0);
    }
    assert_int_equal(store_proof_add(st, now, "recent", "mp-1", &err), 0);
    assert_int_equal(store_tx_commit(st, &err), 0);
    store_close(st);

    /* at start only the recent one is loaded; old ones are never accepted */
    c = committer_start(path, 1000, 16, 1000, 60000, 0, &err);
    assert_non_null(c);
    committer_run(c, &ok.op); /* one op: at most 2 x 1 + 64 rows pruned */
    before = proof_rows();
    assert_int_equal(before, 501 - 66);
    while (proof_rows() > 1)
        committer_run(c, &ok.op);
    assert_int_equal(proof_rows(), 1); /* the recent one stays */
    committer_stop(c);
}

static void
test_unwritable_store_is_unavailable(void **state)
{
    const char *err = NULL;
    struct committer *c = committer_start(path, 50, 16, 1000, 60000, 0, &err);
    struct test_op ok = {.op = {.apply = test_apply}, .key = "late", .answer = ERRCODE_OK};
    struct store *locker = store_open(path, 50, &err);

    assert_non_null(c);
    assert_non_null(locker);
    assert_int_equal(store_tx_begin(locker, &err), 0); /* holds the write lock */
    assert_int_equal(committer_run(c, &ok.op), ERRCODE_UNAVAILABLE);
    store_tx_rollback(locker);
    assert_int_equal(committer_run(c, &ok.op), ERRCODE_OK); /* recovers by itself */
    store_close(locker);
    committer_stop(c);
}

/* Writes, then makes every later write of the process fail (RLIMIT_FSIZE
 * 0, SIGXFSZ ignored): the write sits in the page cache, so BEGIN and the
 * apply succeed and it is COMMIT's WAL write that fails. */
static struct rlimit saved_fsize;

static enum errcode
full_disk_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct rlimit none = {.rlim_cur = 0, .rlim_max = saved_fsize.rlim_max};
    enum errcode code = test_apply(op, ctx);

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
    return code;
}

static void
test_commit_fails_after_begin(void **state)
{
    const char *err = NULL;
    struct committer *c = committer_start(path, 1000, 16, 1000, 60000, 0, &err);
    struct test_op doomed = {
        .op = {.apply = full_disk_apply}, .key = "doomed", .answer = ERRCODE_OK};
    struct test_op later = {.op = {.apply = test_apply}, .key = "later", .answer = ERRCODE_OK};
    struct committer_stats stats;

    assert_non_null(c);
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    /* applied, but never durable: the op is told unavailable, not OK */
    assert_int_equal(committer_run(c, &doomed.op), ERRCODE_UNAVAILABLE);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    assert_int_equal(strncmp(doomed.op.detail, "store: ", 7), 0);
    committer_get_stats(c, &stats);
    assert_int_equal(stats.failed_commits, 1);
    assert_false(meta_present("doomed")); /* rolled back, not half there */
    /* the writer recovers by itself: the next batch commits */
    assert_int_equal(committer_run(c, &later.op), ERRCODE_OK);
    assert_true(meta_present("later"));
    assert_false(meta_present("doomed"));
    committer_stop(c);
    signal(SIGXFSZ, SIG_DFL);
}

/* Ops submitted from a loop come back on that loop, each exactly once, in
 * submission order, after their batch committed; a batch is handed back
 * with one callback (committer_deliver), and a refused op in a batch leaves
 * the others committed while it got nothing. */
#define LOOP_OPS 300
static struct event_base *loop_base;
static pthread_t loop_thread;
static int loop_done, loop_off_thread, loop_order_ok = 1, loop_last = -1;

static void
loop_count_done(struct commit_op *op)
{
    struct test_op *t = (struct test_op *)op;
    int i = atoi(t->key + 1);

    if (!pthread_equal(pthread_self(), loop_thread))
        loop_off_thread++;
    if (i <= loop_last)
        loop_order_ok = 0;
    loop_last = i;
    if (++loop_done == LOOP_OPS)
        event_base_loopbreak(loop_base);
}

/* Keeps the loop alive while the ops are with the writer; a deadline. */
static void
loop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void
test_batch_handed_back_on_the_loop(void **state)
{
    struct timeval deadline = {30, 0};
    struct event *keep;
    const char *err = NULL;
    struct committer *c;
    struct test_op *ops = calloc(LOOP_OPS, sizeof(*ops));
    char(*keys)[16] = calloc(LOOP_OPS, 16);
    struct committer_stats stats;

    assert_int_equal(evthread_use_pthreads(), 0);
    assert_non_null(loop_base = event_base_new());
    loop_thread = pthread_self();
    keep = event_new(loop_base, -1, 0, loop_deadline_cb, loop_base);
    assert_non_null(keep);
    assert_int_equal(event_add(keep, &deadline), 0);
    c = committer_start(path, 1000, 64, 1000, 60000, 0, &err);
    assert_non_null(c);
    for (int i = 0; i < LOOP_OPS; i++) {
        snprintf(keys[i], 16, "k%d", i);
        ops[i].op.apply = test_apply;
        ops[i].op.refused = test_refused;
        ops[i].op.done = loop_count_done;
        ops[i].op.base = loop_base;
        ops[i].key = keys[i];
        ops[i].answer = i % 7 == 3 ? ERRCODE_BULK_TOKEN_EXHAUSTED : ERRCODE_OK;
        committer_submit(c, &ops[i].op);
    }
    assert_int_equal(event_base_dispatch(loop_base), 0);
    assert_int_equal(loop_done, LOOP_OPS); /* not the deadline */
    assert_int_equal(loop_off_thread, 0);
    assert_true(loop_order_ok);
    committer_get_stats(c, &stats);
    assert_int_equal(stats.ops, LOOP_OPS);
    committer_stop(c);
    for (int i = 0; i < LOOP_OPS; i += 1) {
        assert_null(ops[i].op.next);
        assert_int_equal(ops[i].op.code, ops[i].answer);
        if (i % 37 == 3 || i % 37 == 4) { /* a sample: reopening is slow */
            assert_int_equal(meta_present(keys[i]), ops[i].answer == ERRCODE_OK);
            if (ops[i].answer != ERRCODE_OK)
                assert_true(ops[i].refused_called);
        }
    }
    event_free(keep);
    event_base_free(loop_base);
    free(ops);
    free(keys);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_commit_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_handed_back_on_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_cache_is_the_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persisted_proofs_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_proofs_pruned_bounded_per_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_store_is_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_fails_after_begin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
