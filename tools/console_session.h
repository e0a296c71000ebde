/* The console's one-time secret and its session. The secret (in the URL
 * that `sitetokenctl ui` prints) is traded once for a session: a cookie
 * (HttpOnly, SameSite=Strict) plus a per-session token that every API call
 * must also carry in a header. The token is handed out once, in the first
 * page served to the session, so that a leaked cookie alone (cookies are not
 * kept apart by port) gets nothing. */
#ifndef SITETOKEN_CONSOLE_SESSION_H
#define SITETOKEN_CONSOLE_SESSION_H

#include <stdint.h>

#define CONSOLE_SECRET_LEN 43 /* base64url of 32 random bytes */

struct console_session;

/* A fresh secret and no session. idle_s: a session unused this long expires;
 * max_s: a session expires this long after it began whatever its use. NULL
 * when the random source fails. */
struct console_session *console_session_new(int64_t idle_s, int64_t max_s);
void console_session_free(struct console_session *s);
/* The one-time secret, for the printed URL. */
const char *console_session_secret(const struct console_session *s);

/* Trades the secret for a session: 0 with the cookie value in *cookie, or -1
 * (wrong secret, or already used: a secret is good for one trade only). */
int console_session_redeem(struct console_session *s, const char *secret, int64_t now,
                           const char **cookie);
/* 0 when cookie names the live session (its idle clock restarts), -1 when
 * absent, wrong or expired (an expired session is ended for good). */
int console_session_check(struct console_session *s, const char *cookie, int64_t now);
/* 0 when token is the session's per-session token. */
int console_session_check_token(const struct console_session *s, const char *token);
/* The per-session token the first time it is asked for, NULL after: it is
 * embedded in the first page only. */
const char *console_session_take_token(struct console_session *s);

#endif
