/* The MP API's one op type, shared by its two halves and theirs alone:
 * mpapi.c (the routes, the loop side and the worker: verify, sign, reply
 * text) and mpapi_apply.c (the writer: what is decided against committed
 * state). An op is owned by one thread at a time (docs/threads.md). */
#ifndef SITETOKEN_MPAPI_INT_H
#define SITETOKEN_MPAPI_INT_H

#include <stdint.h>

#include <jansson.h>

#include "auth.h"
#include "committer.h"
#include "devices.h"
#include "enrol.h"
#include "ratelimit.h"
#include "workers.h"

struct http_req;
struct sitetokend;

enum mpapi_kind { MPAPI_REGISTER, MPAPI_EXCHANGE, MPAPI_RENEW, MPAPI_ACCESS, MPAPI_INTROSPECT };

/* Per kind (mpapi.c): the proof's act, the audit action, the success status. */
struct mpapi_kind_info {
    const char *act;
    const char *action;
    int status;
};
extern const struct mpapi_kind_info mpapi_kinds[];

/* One issuance in flight: built on the loop, filled by a worker, applied by
 * the writer, answered and freed in mpapi.c's done() on the loop. */
struct mpapi_op {
    struct commit_op op;  /* first: the committer hands this pointer back */
    struct work work;     /* the worker half */
    struct http_req *req; /* touched on the loop only */
    struct sitetokend *env;
    enum mpapi_kind kind;
    char authorization[AUTH_KEY_MAX + 16]; /* "" when absent */
    char cert_sha256[65];                  /* TLS client certificate, "" when none */
    struct ratelimit_ticket rl;            /* what the worker admitted it under */
    json_t *body;                          /* owned by whichever thread holds the op */
    json_t *reply;                         /* introspection's answer, made on the worker */
    struct auth_mp mp;
    char proof_jti[65];
    int64_t proof_iat;
    int proof_fresh;         /* the writer remembered the jti (persist it even on a refusal) */
    struct store_device dev; /* register/exchange: the device as reported */
    struct store_token tok;  /* the token being issued */
    uint8_t bulk_hash[32];
    char presented[65]; /* renew/access: jti of the client token presented */
    char *token;        /* the signed token; freed in done() */
    char *reply_text;   /* the 2xx answer (JSON), made on the worker so the loop only
                         * sends bytes (issue 14); holds the token: cleansed on free */
    int superseded;     /* renew, retried exchange: members of the earlier branch revoked */
    json_t *labels;     /* the new token's labels claim (object), or NULL */
    struct enrol enrol; /* register, exchange: enrol.c's state */
    enum errcode early; /* a refusal decided on the worker, audited by the writer */
};

/* Writer thread (mpapi_apply.c), as the op's apply and refused: */
/* an issuance: replay, bulk use, device, family, the token row, the audit */
enum errcode mpapi_apply(struct commit_op *op, struct commit_ctx *ctx);
/* a refusal the worker decided (m->early), kept for the audit */
enum errcode mpapi_apply_refusal(struct commit_op *op, struct commit_ctx *ctx);
/* after a refusal was rolled back: the proof's jti and the refusal's audit */
void mpapi_apply_refused(struct commit_op *op, struct commit_ctx *ctx);

#endif
