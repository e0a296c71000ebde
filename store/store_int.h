/* Internals shared by the store's own modules (never included outside store/). */
#ifndef SITETOKEN_STORE_INT_H
#define SITETOKEN_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

struct store {
    sqlite3 *db;
    char *path;
    char errbuf[256];
};

/* Formats "what: sqlite message" into st->errbuf and returns it. */
const char *store_err(struct store *st, const char *what);
/* Runs SQL with no result rows; 0 or -1 with *errstr set. */
int store_exec(struct store *st, const char *sql, const char **errstr);

#endif
