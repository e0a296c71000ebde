/* Moving a site: copies a stopped single-node SQLite site into an empty
 * PostgreSQL database (sitetokend --migrate-to). The only code that opens two
 * stores. Keys stay sealed (copied as bytes, never unsealed), the audit chain
 * is verified on the target before the copy commits, and the revocation
 * serial continues where the source's stopped. */
#ifndef SITETOKEN_STORE_MIGRATE_H
#define SITETOKEN_STORE_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_MIGRATE_TABLES 16

/* What a migration copied: rows per table (in copy order), the audit chain
 * as verified on the target, the serial revocations continue after. */
struct store_migrate_result {
    int schema; /* the schema version of the source (the newest) */
    size_t ntables;
    const char *table[STORE_MIGRATE_TABLES]; /* static names */
    int64_t rows[STORE_MIGRATE_TABLES];
    int64_t audit_records;
    char audit_head[65];
    int64_t serial_last;
};

/* Copies the SQLite site at source (a file, which must exist and must not be
 * in use: its process lock is taken, and held until the copy is done) into
 * the PostgreSQL database target (a postgresql:// URI without a password),
 * in one transaction: all of it or nothing. Refuses a source that is
 * running, missing, or whose schema is not the newest this binary knows
 * (the migrator never writes to the source: start the old site once with
 * this sitetokend to migrate it in place, stop it, then move it); a target
 * that is not empty (a sitetoken table with rows, or a schema newer than
 * this binary's); and a copy whose audit chain does not verify on the target
 * (rolled back). The target gets PostgreSQL's own migrations first.
 * busy_timeout_ms bounds every lock wait. 0, or -1 with *errstr (static,
 * valid until the next call). */
int store_migrate_site(const char *source, const char *target, int busy_timeout_ms,
                       struct store_migrate_result *res, const char **errstr);
/* The one-line summary of res ("migrated SOURCE to TARGET: meta=1 keys=3
 * ...") into buf of n bytes (cut to fit). */
void store_migrate_summary(const struct store_migrate_result *res, const char *source,
                           const char *target, char *buf, size_t n);

#endif
