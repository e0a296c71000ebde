/* Maintenance: the periodic step the server takes by itself, through the
 * writer as the actor "system": the key lifecycle (promote, retire, purge by
 * the configured times; the signer reloads after a change) and the prune of
 * revocation entries nobody needs any more. */
#ifndef SITETOKEN_MAINTENANCE_H
#define SITETOKEN_MAINTENANCE_H

struct sitetokend;
struct maintenance;

/* One step, synchronously through the writer, then the signer reloads: for
 * start-up, never from the loop. 0 or -1 with *errstr. */
int maintenance_run_sync(struct sitetokend *env, const char **errstr);
/* One step now, asynchronously (the debug clock moved). */
void maintenance_tick(struct sitetokend *env);
/* The timer on env->base (every MAINTENANCE_INTERVAL_SECONDS); NULL when it
 * cannot be made. */
struct maintenance *maintenance_start(struct sitetokend *env);
void maintenance_free(struct maintenance *m);

#endif
