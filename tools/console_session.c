/* One-time secret and session of the console (see console_session.h). One
 * `sitetokenctl ui` run has one secret and so at most one session: a lost
 * session is replaced by running `ui` again. Secrets are compared in
 * constant time and wiped when they are spent. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64url.h"
#include "console_session.h"
#include "ids.h"

struct console_session {
    char secret[CONSOLE_SECRET_LEN + 1];
    int secret_spent;
    char cookie[CONSOLE_SECRET_LEN + 1];
    char token[CONSOLE_SECRET_LEN + 1];
    int live, token_taken;
    int64_t started, last_used, idle_s, max_s;
};

static int
console_session_random(char out[CONSOLE_SECRET_LEN + 1])
{
    unsigned char raw[32];
    int rc = -1;

    if (RAND_bytes(raw, sizeof(raw)) == 1 &&
        b64url_encode_buf(raw, sizeof(raw), out, CONSOLE_SECRET_LEN + 1) != -1 &&
        strlen(out) == CONSOLE_SECRET_LEN)
        rc = 0;
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

struct console_session *
console_session_new(int64_t idle_s, int64_t max_s)
{
    struct console_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if (console_session_random(s->secret) == -1) {
        free(s);
        return NULL;
    }
    s->idle_s = idle_s;
    s->max_s = max_s;
    return s;
}

void
console_session_free(struct console_session *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

const char *
console_session_secret(const struct console_session *s)
{
    return s->secret;
}

static int
console_session_equal(const char *known, const char *given)
{
    return given != NULL && strlen(given) == CONSOLE_SECRET_LEN &&
           ids_ct_equal(known, given, CONSOLE_SECRET_LEN);
}

int
console_session_redeem(struct console_session *s, const char *secret, int64_t now,
                       const char **cookie)
{
    if (s->secret_spent || !console_session_equal(s->secret, secret))
        return -1;
    s->secret_spent = 1;
    OPENSSL_cleanse(s->secret, sizeof(s->secret));
    if (console_session_random(s->cookie) == -1 || console_session_random(s->token) == -1)
        return -1;
    s->live = 1;
    s->token_taken = 0;
    s->started = s->last_used = now;
    *cookie = s->cookie;
    return 0;
}

int
console_session_check(struct console_session *s, const char *cookie, int64_t now)
{
    if (!s->live || !console_session_equal(s->cookie, cookie))
        return -1;
    if (now - s->last_used >= s->idle_s || now - s->started >= s->max_s) {
        s->live = 0; /* expired for good */
        OPENSSL_cleanse(s->cookie, sizeof(s->cookie));
        OPENSSL_cleanse(s->token, sizeof(s->token));
        return -1;
    }
    s->last_used = now;
    return 0;
}

int
console_session_check_token(const struct console_session *s, const char *token)
{
    return s->live && console_session_equal(s->token, token) ? 0 : -1;
}

const char *
console_session_take_token(struct console_session *s)
{
    if (!s->live || s->token_taken)
        return NULL;
    s->token_taken = 1;
    return s->token;
}
