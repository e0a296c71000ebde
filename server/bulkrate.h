/* The per-second cap on successful exchanges of one bulk token (`bulk new
 * --rate N/s`): per node, in memory, so that a leaked token cannot enrol
 * thousands of machines before someone notices. A slot is reserved when a
 * worker admits an exchange and given back when the exchange is refused, so
 * concurrent exchanges never pass the cap. */
#ifndef SITETOKEN_BULKRATE_H
#define SITETOKEN_BULKRATE_H

#include <stdint.h>

struct bulkrate;

struct bulkrate *bulkrate_new(void);
void bulkrate_free(struct bulkrate *r);
/* Reserves one exchange of bulk token id (capped at per_second) in the
 * second now_s: 0 admitted (*second gets the second to give it back in),
 * -1 the cap is reached this second. Any thread. */
int bulkrate_admit(struct bulkrate *r, const char *id, int64_t per_second, int64_t now_s,
                   int64_t *second);
/* Gives back a reservation of id made in second (the exchange failed). */
void bulkrate_release(struct bulkrate *r, const char *id, int64_t second);

#endif
