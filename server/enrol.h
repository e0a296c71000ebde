/* The enrolment rules of the MP API beyond the anchors (issue 17): a first
 * exchange retried with the same key, what a bulk token binds an exchange
 * to (address ranges, per-second cap), and the labels a new device is
 * enrolled with. mpapi.c calls these from its worker and writer halves;
 * one struct enrol rides in each MP op. */
#ifndef SITETOKEN_ENROL_H
#define SITETOKEN_ENROL_H

#include <stdint.h>

#include <jansson.h>

#include "cidr.h"
#include "errcode.h"
#include "labels.h"

struct bulkrate;
struct commit_op;
struct store;
struct store_device;

struct enrol {
    char bulk_labels[LABELS_TEXT_MAX];  /* the bulk token's labels, read by the worker */
    char client_address[CIDR_TEXT_MAX]; /* as the MP saw it, "" when not given */
    int rate_held;                      /* a bulkrate reservation to give back on failure */
    int64_t rate_second;
    int retry;          /* writer: a retried first exchange (no use taken) */
    json_t *overridden; /* MP labels the bulk token's overrode (audit), or NULL; owned */
};

/* Worker: the bulk token's bounds on this exchange, from its row (immutable
 * after creation): client_address (addr, may be NULL) inside its ranges
 * (invalid_request without it or for a non-address, forbidden outside) and
 * a slot of its per-second cap (rate_limited, *retry_after = 1); keeps its
 * labels. An unknown id is left to the writer. Refusals through
 * commit_op_fail(op). */
enum errcode enrol_bulk_bounds(struct enrol *e, struct commit_op *op, struct store *st,
                               struct bulkrate *r, const char *bulk_id, const char *addr,
                               int64_t now, int *retry_after);
/* Writer: the bulk token's admission of the exchange of dev: a retry of
 * that key's first exchange within window_s (e->retry: no use taken) or one
 * use, then its allow-list (enrol_allow_claim). Refusals through
 * commit_op_fail(op). */
enum errcode enrol_exchange_admit(struct enrol *e, struct commit_op *op, struct store *st,
                                  int64_t window_s, const struct store_device *dev,
                                  const uint8_t hash[32], int64_t now);
/* Writer: an exchange of dev (hardware id, key, id, bulk_id) against its
 * bulk token's allow-list: the first key to claim a listed hardware id keeps
 * it; an unlisted id or one another key claimed is refused (forbidden, in
 * the op's savepoint, audited by the caller's refusal path). */
enum errcode enrol_allow_claim(struct commit_op *op, struct store *st,
                               const struct store_device *dev, int64_t now);
/* Worker: a new device's labels into out: the MP's, and for an exchange
 * (bulk_id not NULL) the bulk token's over them (conflict past LABELS_MAX
 * pairs together). */
enum errcode enrol_labels(struct enrol *e, struct commit_op *op, struct store *st,
                          const char *mp_id, const char *mp_name, const char *bulk_id,
                          char out[LABELS_TEXT_MAX]);
/* Loop, after the commit: gives the rate slot back unless code is OK. */
void enrol_done(struct enrol *e, struct bulkrate *r, const char *bulk_id, enum errcode code);
void enrol_clear(struct enrol *e);

#endif
