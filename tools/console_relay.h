/* Relays one console API call to the admin socket. The call runs on a
 * thread of its own (blocking libcurl over the Unix socket, with a timeout),
 * so the console's loop never waits on sitetokend; the answer comes back to
 * the loop through event_base_once, where done() runs. */
#ifndef SITETOKEN_CONSOLE_RELAY_H
#define SITETOKEN_CONSOLE_RELAY_H

#include <stddef.h>

struct event_base;

struct console_relay_result {
    int status;      /* 0 when the admin socket could not be reached */
    char ctype[128]; /* the answer's Content-Type */
    char *body;      /* malloc'd, NUL-terminated; NULL on failure */
    size_t body_len;
    char error[256]; /* why, when status is 0 */
};

/* Starts the call: method and path (with query) on socket_path, body (copied;
 * may be NULL). done(result, arg) runs later on base's loop and owns nothing
 * of result after it returns. 0, or -1 when the thread cannot start (done is
 * then not called). */
int console_relay_start(struct event_base *base, const char *socket_path, const char *method,
                        const char *path, const char *body, size_t body_len,
                        void (*done)(struct console_relay_result *r, void *arg), void *arg);

#endif
