/* The MP API's writer half: what an issuance must decide against committed
 * state, on the writer thread inside the group commit (committer.c). Replay
 * (and the MP's replay quota) with the proof's jti kept in the op's
 * savepoint, the bulk token's use and allow-list (enrol.c), the device
 * (blocked, concurrent, purged), the presented token and its family, the
 * superseded branch, the token row and the audit record. mpapi.c's worker
 * half has verified and signed everything before; its done() on the loop
 * sends the answer after the commit. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "config.h"
#include "devices.h"
#include "enrol.h"
#include "mpapi_int.h"
#include "proofs.h"
#include "purge.h"
#include "replay.h"
#include "revocations.h"
#include "sitetokend.h"
#include "store.h"

static enum errcode
mpapi_apply_audit(struct mpapi_op *m, struct commit_ctx *ctx, const char *action, const char *code)
{
    char actor[160];
    json_t *d;

    snprintf(actor, sizeof(actor), "mp:%s", m->mp.name);
    d = json_pack("{s:s, s:s, s:s, s:I, s:I}", "jti", m->tok.jti, "kind", m->tok.kind, "kid",
                  m->tok.kid, "gen", (json_int_t)m->tok.gen, "exp", (json_int_t)m->tok.expires_at);
    if (m->tok.bulk_id[0] != '\0')
        json_object_set_new(d, "bulk", json_string(m->tok.bulk_id));
    if (m->tok.prev_jti[0] != '\0')
        json_object_set_new(d, "prev", json_string(m->tok.prev_jti));
    if (m->tok.family[0] != '\0')
        json_object_set_new(d, "family", json_string(m->tok.family));
    if (m->superseded > 0)
        json_object_set_new(d, "superseded", json_integer(m->superseded));
    if (m->enrol.retry)
        json_object_set_new(d, "retry", json_true());
    if (m->enrol.client_address[0] != '\0')
        json_object_set_new(d, "client_address", json_string(m->enrol.client_address));
    if (m->dev.labels[0] != '\0' && m->kind != MPAPI_RENEW && m->kind != MPAPI_ACCESS)
        json_object_set_new(d, "labels", json_string(m->dev.labels));
    if (m->enrol.overridden != NULL)
        json_object_set(d, "labels_overridden", m->enrol.overridden);
    if (code != NULL) {
        json_object_set_new(d, "code", json_string(code));
        json_object_del(d, "jti"); /* never issued */
        json_object_del(d, "exp");
    }
    return commit_op_audit(&m->op, ctx, actor, action, m->tok.device_id, d);
}

/* Writer thread: the feed entry of one superseded token. */
static int
mpapi_apply_superseded_cb(const struct store_token_revoked *r, void *arg)
{
    struct commit_ctx *ctx = arg;
    const char *errstr = NULL;

    return store_revocation_add(ctx->store, "token", r->jti, ctx->now_ms / 1000, r->expires_at,
                                STORE_REASON_SUPERSEDED, NULL, &errstr) == -1;
}

/* Writer thread: everything that must be decided against committed state. */
enum errcode
mpapi_apply(struct commit_op *op, struct commit_ctx *ctx)
{
    struct mpapi_op *m = (struct mpapi_op *)op;
    struct store *st = ctx->store;
    int64_t now = ctx->now_ms / 1000;
    const char *errstr = NULL;
    struct store_device cur;
    struct store_token old;
    enum errcode code;
    int rc;

    m->superseded = 0;
    m->enrol.retry = 0;
    switch (replay_check(ctx->replay, m->mp.id, m->proof_jti, strlen(m->proof_jti), ctx->now_ms)) {
    case REPLAY_FRESH:
        break;
    case REPLAY_SEEN:
        return commit_op_fail(op, ERRCODE_PROOF_REPLAYED, "this proof (jti %s) was already used",
                              m->proof_jti);
    case REPLAY_OVER_QUOTA:
        m->rl.retry_after = replay_retry_after(ctx->replay, ctx->now_ms);
        return commit_op_fail(op, ERRCODE_RATE_LIMITED, "%s",
                              "this MP sent too many proofs in the replay window");
    case REPLAY_NOMEM:
        return commit_op_fail(op, ERRCODE_UNAVAILABLE, "%s", "out of memory (replay cache)");
    }
    /* In this op's savepoint: durable with the token, so the proof stays
     * refused after a restart. */
    m->proof_fresh = 1;
    switch (store_proof_add(st, m->proof_iat, m->proof_jti, m->mp.id, &errstr)) {
    case 0:
        break;
    case 1: /* fresh to this node's cache, but another node (or an earlier
             * run of this one) accepted it: committed, so refused here */
        return commit_op_fail(op, ERRCODE_PROOF_REPLAYED, "this proof (jti %s) was already used",
                              m->proof_jti);
    default:
        return commit_op_store_fail(op, errstr);
    }

    switch (m->kind) {
    case MPAPI_EXCHANGE:
        /* the bulk token's use (none for a retried first exchange, whose
         * first try's token is superseded) and its allow-list */
        if ((code = enrol_exchange_admit(&m->enrol, op, st,
                                         m->env->cfg->exchange_retry_window_ms / 1000, &m->dev,
                                         m->bulk_hash, now)) != ERRCODE_OK)
            return code;
        if (m->enrol.retry) {
            rc = store_token_supersede_enrolment(st, m->dev.id, m->dev.bulk_id, now,
                                                 now - m->env->cfg->clock_skew_ms / 1000,
                                                 mpapi_apply_superseded_cb, ctx, &errstr);
            if (rc == -1)
                return commit_op_store_fail(op, errstr);
            m->superseded = rc;
        }
        /* FALLTHROUGH */
    case MPAPI_REGISTER:
        rc = store_device_by_jkt(st, m->dev.jkt, &cur, &errstr);
        if (rc == -1)
            return commit_op_store_fail(op, errstr);
        if (rc == 0) {
            if (cur.blocked)
                return commit_op_fail(op, ERRCODE_DEVICE_BLOCKED, "device %s is blocked", cur.id);
            if (strcmp(cur.id, m->dev.id) != 0)
                return commit_op_fail(op, ERRCODE_CONFLICT, "%s",
                                      "the device registered concurrently; retry");
            rc = store_device_touch(st, cur.id, m->dev.hardware_id, m->dev.name, m->mp.id, now,
                                    &errstr);
        } else if ((rc = store_purge_tombstone(st, m->dev.jkt, &errstr)) != 1) {
            /* a purged blocked device's key (store/purge.c) stays refused */
            return rc == -1 ? commit_op_store_fail(op, errstr)
                            : commit_op_fail(op, ERRCODE_DEVICE_BLOCKED, "%s",
                                             "this key belongs to a purged blocked device");
        } else {
            m->dev.created_at = m->dev.last_seen_at = now;
            rc = store_device_insert(st, &m->dev, &errstr);
        }
        if (rc != 0)
            return commit_op_store_fail(op, errstr);
        break;
    case MPAPI_INTROSPECT: /* never reaches the writer */
        return commit_op_fail(op, ERRCODE_INVALID_REQUEST, "%s", "nothing to write");
    case MPAPI_RENEW:
    case MPAPI_ACCESS:
        rc = store_token_get(st, m->presented, &old, &errstr);
        if (rc == -1)
            return commit_op_store_fail(op, errstr);
        if (rc == 1)
            return commit_op_fail(op, ERRCODE_TOKEN_REVOKED, "token %s is not known here",
                                  m->presented);
        if (old.revoked_at != 0)
            return commit_op_fail(op, ERRCODE_TOKEN_REVOKED, "token %s is revoked", m->presented);
        rc = store_device_get(st, old.device_id, &cur, &errstr);
        if (rc != 0)
            return commit_op_store_fail(op, rc == 1 ? "device missing" : errstr);
        if (cur.blocked)
            return commit_op_fail(op, ERRCODE_DEVICE_BLOCKED, "device %s is blocked", cur.id);
        if (store_device_touch(st, cur.id, cur.hardware_id, cur.name, m->mp.id, now, &errstr) == -1)
            return commit_op_store_fail(op, errstr);
        /* The new token joins the presented token's family. */
        snprintf(m->tok.family, sizeof(m->tok.family), "%s", old.family);
        if (m->kind == MPAPI_RENEW) {
            /* At most one live successor: a retried renewal supersedes the
             * branch the earlier answer started (before the new token is
             * in, so it is not part of that branch). */
            rc = store_token_supersede(st, old.jti, now, now - m->env->cfg->clock_skew_ms / 1000,
                                       mpapi_apply_superseded_cb, ctx, &errstr);
            if (rc == -1)
                return commit_op_store_fail(op, errstr);
            m->superseded = rc;
        }
        break;
    }
    if (store_token_insert(st, &m->tok, &errstr) == -1)
        return commit_op_store_fail(op, errstr);
    return mpapi_apply_audit(m, ctx, mpapi_kinds[m->kind].action, NULL);
}

/* Writer thread: a refusal decided before the writer, kept for the audit. */
enum errcode
mpapi_apply_refusal(struct commit_op *op, struct commit_ctx *ctx)
{
    struct mpapi_op *m = (struct mpapi_op *)op;

    if (m->early == ERRCODE_FORBIDDEN)
        return commit_op_fail(op, m->early,
                              "client_address %s is outside the ranges of bulk token %s",
                              m->enrol.client_address, m->tok.bulk_id);
    return commit_op_fail(op, m->early, "bulk token %s is %s", m->tok.bulk_id,
                          m->early == ERRCODE_TOKEN_EXPIRED ? "expired" : "not valid yet");
}

/* Writer thread, after a refusal was rolled back: record it. */
void
mpapi_apply_refused(struct commit_op *op, struct commit_ctx *ctx)
{
    struct mpapi_op *m = (struct mpapi_op *)op;
    const char *errstr = NULL;
    char action[48];

    /* The rollback took the jti's row too; the cache still refuses the proof,
     * so keep it refused after a restart as well. */
    if (m->proof_fresh)
        store_proof_add(ctx->store, m->proof_iat, m->proof_jti, m->mp.id, &errstr);
    snprintf(action, sizeof(action), "refused.%s", mpapi_kinds[m->kind].act);
    mpapi_apply_audit(m, ctx, action, errcode_name(op->code));
}
