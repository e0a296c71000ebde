/* Maintenance (see maintenance.h): a timer on the loop submits one admin op
 * to the writer, whose apply runs the key lifecycle (admin_keys.c) and then
 * drops revocation entries past their use (the feed already hides them;
 * serials never go back). */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "admin.h"
#include "admin_op.h"
#include "log.h"
#include "maintenance.h"
#include "revocations.h"
#include "sitetokend.h"

#define MAINTENANCE_INTERVAL_SECONDS 60

struct maintenance {
    struct sitetokend *env;
    struct event *timer;
};

static enum errcode
maintenance_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    const char *errstr = NULL;
    enum errcode code = admin_keys_apply(op, ctx);

    if (code != ERRCODE_OK)
        return code;
    if (store_revocation_prune(ctx->store, ctx->now_ms / 1000, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    return ERRCODE_OK;
}

int
maintenance_run_sync(struct sitetokend *env, const char **errstr)
{
    struct admin_op *a = admin_op_new_system(env);
    enum errcode code;
    int rc = -1;

    if (a == NULL) {
        *errstr = "out of memory";
        return -1;
    }
    a->mode = SIGNER_TICK;
    a->op.apply = maintenance_apply;
    a->op.done = NULL;
    code = committer_run(env->committer, &a->op);
    if (code != ERRCODE_OK) {
        *errstr = "the key lifecycle step failed";
        goto done;
    }
    if (a->changed[0] != '\0')
        log_info("event=keys changed=%s", log_quote(a->changed, (char[600]){0}, 600));
    rc = signer_reload(env->signer, env->store, errstr);
done:
    admin_op_free(a);
    return rc;
}

void
maintenance_tick(struct sitetokend *env)
{
    struct admin_op *a = admin_op_new_system(env);

    if (a == NULL)
        return;
    a->mode = SIGNER_TICK;
    a->after = admin_keys_after;
    admin_op_write(a, maintenance_apply);
}

static void
maintenance_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct maintenance *m = arg;

    maintenance_tick(m->env);
}

struct maintenance *
maintenance_start(struct sitetokend *env)
{
    struct maintenance *m = calloc(1, sizeof(*m));
    struct timeval every = {.tv_sec = MAINTENANCE_INTERVAL_SECONDS};

    if (m == NULL)
        return NULL;
    m->env = env;
    if ((m->timer = event_new(env->base, -1, EV_PERSIST, maintenance_timer_cb, m)) == NULL ||
        event_add(m->timer, &every) == -1) {
        maintenance_free(m);
        return NULL;
    }
    return m;
}

void
maintenance_free(struct maintenance *m)
{
    if (m == NULL)
        return;
    if (m->timer != NULL)
        event_free(m->timer);
    free(m);
}
