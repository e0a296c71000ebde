/* Enrolment rules beyond the anchors (see enrol.h): the retry window of a
 * first exchange, a bulk token's address ranges and per-second cap, and the
 * labels of a new device (the bulk token's over the MP's). */
#include <stdio.h>
#include <string.h>

#include "bulk.h"
#include "bulkrate.h"
#include "committer.h"
#include "devices.h"
#include "enrol.h"
#include "mps.h"

/* Is the exchange of dev (its jkt, id and bulk_id as decided by the worker)
 * a retry of that key's first exchange of the same bulk token, no longer
 * than window_s ago (0: never)? 1 yes, 0 no, -1 store error. */
static int
enrol_is_retry(struct store *st, int64_t window_s, const struct store_device *dev, int64_t now,
               const char **errstr)
{
    struct store_device cur;
    int rc;

    if (window_s <= 0)
        return 0;
    if ((rc = store_device_by_jkt(st, dev->jkt, &cur, errstr)) != 0)
        return rc == 1 ? 0 : -1;
    return !cur.blocked && strcmp(cur.bulk_id, dev->bulk_id) == 0 && strcmp(cur.id, dev->id) == 0 &&
           now - cur.created_at <= window_s;
}

enum errcode
enrol_bulk_bounds(struct enrol *e, struct commit_op *op, struct store *st, struct bulkrate *r,
                  const char *bulk_id, const char *addr, int64_t now, int *retry_after)
{
    const char *errstr = NULL;
    struct store_bulk b;
    int rc;

    if ((rc = store_bulk_get(st, bulk_id, &b, &errstr)) == -1)
        return commit_op_store_fail(op, errstr);
    if (rc == 1)
        return ERRCODE_OK;
    snprintf(e->bulk_labels, sizeof(e->bulk_labels), "%s", b.labels);
    snprintf(e->client_address, sizeof(e->client_address), "%s", addr != NULL ? addr : "");
    if (b.cidrs[0] != '\0') {
        if (addr == NULL)
            return commit_op_fail(op, ERRCODE_INVALID_REQUEST,
                                  "client_address: required, bulk token %s is bound to address "
                                  "ranges",
                                  bulk_id);
        switch (cidr_list_match(b.cidrs, addr)) {
        case 1:
            break;
        case 0:
            return commit_op_fail(op, ERRCODE_FORBIDDEN,
                                  "client_address %s is outside the ranges of bulk token %s", addr,
                                  bulk_id);
        default:
            return commit_op_fail(op, ERRCODE_INVALID_REQUEST, "%s",
                                  "client_address: not an IPv4 or IPv6 address");
        }
    }
    if (b.rate_per_second > 0) {
        if (bulkrate_admit(r, bulk_id, b.rate_per_second, now, &e->rate_second) == -1) {
            *retry_after = 1;
            return commit_op_fail(op, ERRCODE_RATE_LIMITED,
                                  "bulk token %s: at most %lld exchanges a second", bulk_id,
                                  (long long)b.rate_per_second);
        }
        e->rate_held = 1;
    }
    return ERRCODE_OK;
}

/* What the store found of a bulk token's use, as the client is told it. */
static const enum errcode enrol_bulk_refusal[] = {
    [STORE_BULK_USED] = ERRCODE_OK,
    [STORE_BULK_UNKNOWN] = ERRCODE_BAD_SIGNATURE,
    [STORE_BULK_BLOCKED] = ERRCODE_BULK_TOKEN_BLOCKED,
    [STORE_BULK_NOT_YET] = ERRCODE_TOKEN_NOT_YET_VALID,
    [STORE_BULK_EXPIRED] = ERRCODE_TOKEN_EXPIRED,
    [STORE_BULK_EXHAUSTED] = ERRCODE_BULK_TOKEN_EXHAUSTED,
    [STORE_BULK_ERROR] = ERRCODE_UNAVAILABLE,
};

enum errcode
enrol_exchange_admit(struct enrol *e, struct commit_op *op, struct store *st, int64_t window_s,
                     const struct store_device *dev, const uint8_t hash[32], int64_t now)
{
    const char *errstr = NULL;
    enum errcode code;
    int rc;

    if ((rc = enrol_is_retry(st, window_s, dev, now, &errstr)) == -1)
        return commit_op_store_fail(op, errstr);
    e->retry = rc == 1;
    code = enrol_bulk_refusal[e->retry ? store_bulk_retry(st, dev->bulk_id, hash, now, &errstr)
                                       : store_bulk_use(st, dev->bulk_id, hash, now, &errstr)];
    if (code == ERRCODE_UNAVAILABLE)
        return commit_op_store_fail(op, errstr);
    if (code != ERRCODE_OK)
        return commit_op_fail(op, code, "bulk token %s refused", dev->bulk_id);
    return enrol_allow_claim(op, st, dev, now);
}

enum errcode
enrol_allow_claim(struct commit_op *op, struct store *st, const struct store_device *dev,
                  int64_t now)
{
    const char *errstr = NULL;

    switch (store_bulk_allow_claim(st, dev->bulk_id, dev->hardware_id, dev->jkt, dev->id, now,
                                   &errstr)) {
    case STORE_ALLOW_OPEN:
    case STORE_ALLOW_CLAIMED:
    case STORE_ALLOW_MINE:
        return ERRCODE_OK;
    case STORE_ALLOW_ABSENT:
        return commit_op_fail(op, ERRCODE_FORBIDDEN,
                              "hardware id %s is not on the allow-list of bulk token %s",
                              dev->hardware_id, dev->bulk_id);
    case STORE_ALLOW_TAKEN:
        return commit_op_fail(op, ERRCODE_FORBIDDEN,
                              "hardware id %s of bulk token %s's allow-list was claimed by "
                              "another device key",
                              dev->hardware_id, dev->bulk_id);
    case STORE_ALLOW_ERROR:
        break;
    }
    return commit_op_store_fail(op, errstr);
}

enum errcode
enrol_labels(struct enrol *e, struct commit_op *op, struct store *st, const char *mp_id,
             const char *mp_name, const char *bulk_id, char out[LABELS_TEXT_MAX])
{
    struct store_mp mp;
    const char *errstr = NULL;
    int rc;

    if ((rc = store_mp_get(st, mp_id, &mp, &errstr)) == -1)
        return commit_op_store_fail(op, errstr);
    if (rc == 1)
        mp.labels[0] = '\0';
    snprintf(out, LABELS_TEXT_MAX, "%s", mp.labels);
    if (bulk_id == NULL || e->bulk_labels[0] == '\0')
        return ERRCODE_OK;
    if (labels_merge(mp.labels, e->bulk_labels, out, &e->overridden) == -1)
        return commit_op_fail(op, ERRCODE_CONFLICT,
                              "the labels of MP %s and bulk token %s make more than %d pairs",
                              mp_name, bulk_id, LABELS_MAX);
    return ERRCODE_OK;
}

void
enrol_done(struct enrol *e, struct bulkrate *r, const char *bulk_id, enum errcode code)
{
    if (e->rate_held && code != ERRCODE_OK) /* only successes count against the cap */
        bulkrate_release(r, bulk_id, e->rate_second);
    e->rate_held = 0;
}

void
enrol_clear(struct enrol *e)
{
    json_decref(e->overridden);
    e->overridden = NULL;
}
