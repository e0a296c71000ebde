/* Recent proof jtis, persisted so that a proof captured before a restart is
 * still refused after it. Rows are keyed by (iat, jti): they append in time
 * order (the proof's own iat, which a replay repeats) and prune from the
 * old end. Written by the writer in the transaction that records the token. */
#ifndef SITETOKEN_STORE_PROOFS_H
#define SITETOKEN_STORE_PROOFS_H

#include <stdint.h>

struct store;

#define STORE_PROOF_JTI_MAX 64
#define STORE_PROOF_MP_MAX 36

/* Records a proof jti seen with iat, relayed by mp_id ("" when unknown).
 * 0 recorded; 1 the same (iat, jti) was recorded already (by this node or
 * another: a replay, nothing written); -1 on failure (also for a jti of 0
 * or more than STORE_PROOF_JTI_MAX bytes). */
int store_proof_add(struct store *st, int64_t iat, const char *jti, const char *mp_id,
                    const char **errstr);
/* Every row with iat >= since, oldest first; cb returns nonzero to stop. */
int store_proof_list(struct store *st, int64_t since,
                     int (*cb)(int64_t iat, const char *jti, const char *mp_id, void *arg),
                     void *arg, const char **errstr);
/* Deletes the oldest rows with iat < before, at most limit (> 0) of them:
 * two index range scans, so the cost is bounded whatever the backlog.
 * Returns how many, or -1. */
int store_proof_prune(struct store *st, int64_t before, int limit, const char **errstr);

#endif
