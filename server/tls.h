/* TLS for the HTTP listeners: one server context per TLS listener (TLS 1.2
 * and 1.3 only), optional client certificates verified against a CA file,
 * and a reload that swaps the context for new connections (SIGHUP). */
#ifndef SITETOKEN_TLS_H
#define SITETOKEN_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;
struct tls;

#define TLS_FINGERPRINT_LEN 64 /* lower-case hex SHA-256 */

/* Loads certificate (a PEM chain), key and, when client_ca is not NULL, the
 * CA that client certificates must chain to (then they are requested, and
 * verified when presented). NULL with *errstr (static buffer) on failure. */
struct tls *tls_new(const char *certificate, const char *key, const char *client_ca,
                    const char **errstr);
/* Reads the files again; on success new connections use the new context
 * (connections already open keep theirs). On failure the old one stays. */
int tls_reload(struct tls *t, const char **errstr);
void tls_free(struct tls *t);

/* A server-side TLS bufferevent with no fd yet (evhttp sets it). */
struct bufferevent *tls_bufferevent_new(struct tls *t, struct event_base *base);
/* The SHA-256 fingerprint of the verified client certificate on bev, as hex
 * into out: 1 when there is one, 0 when none (or bev is not TLS). */
int tls_peer_fingerprint(struct bufferevent *bev, char out[TLS_FINGERPRINT_LEN + 1]);
/* The fingerprint of the first certificate in a PEM text: 0, or -1 with
 * *errstr (static). */
int tls_pem_fingerprint(const char *pem, size_t len, char out[TLS_FINGERPRINT_LEN + 1],
                        const char **errstr);

#endif
