/* The one op type of the admin routes (admin_*.c) and the flows they share.
 * An admin_op is made on the loop from a request, then either read on a
 * worker (lists, show, audit verify: admin_op_read) or applied by the writer
 * with its audit record (changes: admin_op_write), and answered on the loop
 * in admin_op_done. It is owned by exactly one thread at a time: the one
 * that last received it through a queue (docs/threads.md). */
#ifndef SITETOKEN_ADMIN_OP_H
#define SITETOKEN_ADMIN_OP_H

#include <stdint.h>

#include <jansson.h>

#include "body.h"
#include "bulk.h"
#include "committer.h"
#include "devices.h"
#include "mps.h"
#include "purge.h"
#include "signer.h"
#include "workers.h"

struct http_req;
struct sitetokend;
struct admin_op;
struct store_audit;

#define ADMIN_LIMIT_DEFAULT 100
#define ADMIN_LIMIT_MAX 1000
#define ADMIN_PURGE_LIMIT_DEFAULT 1000 /* entries one purge call removes */

/* A keyset page: ?limit= and ?after= copied from the query on the loop;
 * filled on the worker. Lists ask for one row more than the page so that
 * `next` is null exactly on the last page. */
struct signer;

struct admin_page {
    int limit;
    char after[264]; /* a cursor: an id, or a hardware id (allow-lists) */
    int has_after;
    int64_t after_seq;   /* the audit list's cursor: a sequence number */
    char filter[3][260]; /* a list's own query filters, "" when absent */
    json_t *items;
    int n;
    int64_t now, skew;     /* skew: tokens are accepted until exp + skew */
    struct signer *signer; /* token lists: whose keys are revoked */
    char next[264];        /* the cursor of the last item kept */
    int more;              /* a row past the page exists */
};

/* What block/unblock needs of a thing that can be blocked (a bulk token, a
 * device): one table entry each, one flow (admin_block_route). */
struct admin_blockable {
    const char *noun;      /* "bulk token": in messages */
    const char *kind;      /* its revocation entry's kind */
    const char *action[2]; /* audit action: [0] unblock, [1] block */
    int (*valid)(const char *id);
    /* Writer: reads the row into the op; 0 found, 1 none, -1 with *errstr. */
    int (*load)(struct admin_op *a, struct store *st, int *blocked, const char **errstr);
    int (*set_blocked)(struct store *st, const char *id, int blocked, const char **errstr);
    /* Writer: until when the revocation entry is worth keeping. */
    int64_t (*entry_expires)(struct admin_op *a, struct store *st, int64_t now);
    /* The row as answered, after the change. */
    json_t *(*reply)(struct admin_op *a, int blocked, int64_t now);
    /* Writer, optional: what a block affects, counted before it (the
     * numbers of GET /v1/admin/impact, in the answer and the audit). */
    int (*impact)(struct store *st, const char *id, int64_t now, int64_t *devices, int64_t *tokens,
                  const char **errstr);
};

/* What a purge needs of a kind of entry (devices, bulk tokens): one table
 * entry each, one flow (admin_purge_route). */
struct admin_purgeable {
    const char *action;  /* audit action: "device.purge" */
    const char *subject; /* audit subject: "devices" */
    /* store/purge.h: entries older than before, at most limit */
    int (*purge)(struct store *st, int64_t before, int64_t now, int64_t skew, int limit,
                 int dry_run, void (*ids)(const char *id, void *arg), void *arg,
                 struct store_purge *out, const char **errstr);
};

struct admin_op {
    struct commit_op op;  /* first: the committer hands this pointer back */
    struct work work;     /* reads: the worker half */
    struct http_req *req; /* touched on the loop only; NULL for maintenance */
    struct sitetokend *env;
    int status;    /* on success */
    json_t *reply; /* sent on success; owned */
    char actor[96];
    /* the subject: an id from the path, and a change's reason */
    char id[72];
    char reason[BODY_REASON_MAX + 1];
    const char *action; /* a change's audit action, logged after the commit */
    int feed_changed;   /* a change the revocation feed must learn of */
    /* reads: runs on a worker with its connection; fills reply or fails */
    enum errcode (*read)(struct admin_op *a, struct worker_ctx *ctx);
    /* optional: on a worker after a successful commit, before after: a
     * store read the change needs (the signer's reload), never on the loop;
     * may fail the op (commit_op_fail) */
    void (*after_work)(struct admin_op *a, struct worker_ctx *ctx);
    /* optional: on the loop after a successful commit or read, before the
     * reply (may still fail the op) */
    void (*after)(struct admin_op *a);
    /* what a feature carries */
    struct admin_page page;
    const struct admin_blockable *blockable;
    int block;
    const struct admin_purgeable *purgeable;
    struct {
        int64_t older_than; /* seconds */
        int limit, dry_run;
    } purge;
    union {
        struct store_bulk bulk;
        struct store_device dev;
        struct store_mp mp;
    } row;
    enum signer_mode mode;
    char changed[512];
    json_t *list; /* bulk allow-lists: the page of hardware ids to add (a copy); owned */
    /* the console's reads (admin_stats.c) */
    int which; /* device search: the field; impact: the kind of id; status: the schema version */
    int hours; /* overview: the series' length */
};

/* A new op for req; NULL (answered unavailable, req gone) when out of memory. */
struct admin_op *admin_op_new(struct http_req *req);
/* A new op for no request (maintenance); NULL when out of memory. */
struct admin_op *admin_op_new_system(struct sitetokend *env);
/* A new op for the thing req's path names: params[0] checked by valid
 * (which bounds it to 64 bytes) and copied into a->id; not_found ("no such
 * <noun>") when it is not one. NULL when answered. */
struct admin_op *admin_op_for_path(struct http_req *req, int (*valid)(const char *id),
                                   const char *noun);
void admin_op_free(struct admin_op *a);
/* To the writer: apply runs there in the batch; the answer comes from
 * admin_op_done. */
void admin_op_write(struct admin_op *a,
                    enum errcode (*apply)(struct commit_op *, struct commit_ctx *));
/* To a worker: read runs there; the answer comes back to the loop. */
void admin_op_read(struct admin_op *a,
                   enum errcode (*read)(struct admin_op *, struct worker_ctx *));
/* Loop: answers the op (problem or reply) and frees it. */
void admin_op_done(struct commit_op *op);
/* Writer: the audit record of a change, by the op's actor (detail stolen). */
enum errcode admin_op_audit(struct admin_op *a, struct commit_ctx *ctx, const char *action,
                            const char *subject, json_t *detail);

/* Paging: reads ?limit and ?after into a->page (0), or answers
 * invalid_request (-1, req and a gone). */
int admin_page_init(struct admin_op *a);
/* A page of limit items from the start, at the loop's now: for a show's
 * list and the purge's now. 0, or -1 (answered unavailable, a gone). */
int admin_page_start(struct admin_op *a, int limit);
/* Keeps one item (or notes that there are more); nonzero stops the list. */
int admin_page_add(struct admin_page *p, json_t *item, const char *cursor);
/* The page as the reply ({items, next}), or the store's failure. */
enum errcode admin_page_done(struct admin_op *a, int rc, const char *errstr);

/* Block or unblock through the one flow: id from the path, optional
 * {reason}, then the writer; the feed learns of it after the commit. */
void admin_block_route(struct http_req *req, const struct admin_blockable *t, int block);
/* Purge or prune through the one flow: {older_than_seconds, dry_run,
 * limit} from the body; a dry run reads on a worker, a purge goes to the
 * writer with its audit record (none when nothing was removed). */
void admin_purge_route(struct http_req *req, const struct admin_purgeable *t);
/* Writer: adds the feed entry of a revocation of a->id; *serial gets its serial. */
enum errcode admin_revocation_add(struct admin_op *a, struct commit_ctx *ctx, const char *kind,
                                  int64_t expires_at, int64_t *serial);

/* The items of the lists, shared by the shows: a bulk token at now
 * (admin_bulk.c), a device, a token at now with tokens accepted until exp +
 * skew (admin_devices.c). NULL when out of memory. */
json_t *admin_bulk_json(const struct store_bulk *b, int64_t now);
/* admin_allow.c, writer: adds a->list to b's allow-list (*added new ones);
 * past BULK_ALLOW_MAX or max_uses refused with refusal, never adjusted. */
enum errcode admin_allow_add(struct admin_op *a, struct store *st, struct store_bulk *b,
                             enum errcode refusal, int64_t *added);
/* Worker: a page of b's allow-list entries into p (cursor: hardware id). */
int admin_allow_page(struct admin_page *p, struct store *st, const char *bulk_id,
                     const char **errstr);
json_t *admin_device_json(const struct store_device *d);
json_t *admin_token_json(const struct store_token *t, struct signer *signer, int64_t now,
                         int64_t skew);

/* Times on the wire: RFC 3339, or null for "never" (0). */
json_t *admin_time(int64_t t);
/* A string, or null when empty. */
json_t *admin_opt_str(const char *s);
/* A device as every admin answer shows it (admin_devices.c). */
json_t *admin_device_json(const struct store_device *d);
/* An audit record as every admin answer shows it, and one into a page with
 * its sequence number as the cursor (admin_audit.c). */
json_t *admin_audit_json(const struct store_audit *r);
int admin_audit_page_add(struct admin_page *p, const struct store_audit *r);

#endif
