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

int
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
