/* Proof replay cache: remembers every accepted proof jti for at least the
 * window (2 x clock skew + 1 s) so a second use is refused, and charges each
 * remembered jti to the MP that relayed it. One set serves every MP (a proof
 * replayed through another MP is still caught); each MP may add at most
 * per_mp jtis a window, so an MP that floods is refused on its own and never
 * takes another's room. Single-threaded: the writer owns it. */
#ifndef SITETOKEN_REPLAY_H
#define SITETOKEN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay;

enum replay_result {
    REPLAY_FRESH = 0,      /* first sighting, now remembered */
    REPLAY_SEEN = 1,       /* replayed */
    REPLAY_OVER_QUOTA = 2, /* this MP added per_mp jtis this window: refuse, never forget */
    REPLAY_NOMEM = 3,      /* could not grow: refuse */
};

/* per_mp: jtis one MP may add a window (>= 1); window_ms: how long a
 * generation lives. NULL on ENOMEM. */
struct replay *replay_new(size_t per_mp, int64_t window_ms);
void replay_free(struct replay *r);
/* Checks jti and remembers it, charged to mp (the MP's id; "" or NULL is one
 * more MP, "nobody"). A jti already remembered is REPLAY_SEEN whoever relays
 * it, also when that MP is over its quota. */
enum replay_result replay_check(struct replay *r, const char *mp, const char *jti, size_t len,
                                int64_t now_ms);
/* Remembers jti charged to mp whatever the quota (loading the persisted jtis
 * at start-up). 0, or -1 on ENOMEM. */
int replay_add(struct replay *r, const char *mp, const char *jti, size_t len, int64_t now_ms);
/* jtis remembered in all, and charged to mp in the current window. */
size_t replay_count(const struct replay *r);
size_t replay_mp_count(const struct replay *r, const char *mp);
/* Whole seconds (>= 1) until an MP over its quota may add again. */
int replay_retry_after(const struct replay *r, int64_t now_ms);

#endif
