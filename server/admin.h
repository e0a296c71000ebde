/* Admin routes served on the admin Unix socket (the file system is the
 * authorization: mode 0600). Every change goes through the writer and leaves
 * an audit record with the admin's uid as actor. */
#ifndef SITETOKEN_ADMIN_H
#define SITETOKEN_ADMIN_H

struct http_req;
struct sitetokend;

void admin_status(struct http_req *req);
void admin_bulk_create(struct http_req *req);
void admin_mp_add(struct http_req *req);
void admin_mp_list(struct http_req *req);
void admin_mp_remove(struct http_req *req);
void admin_keys_list(struct http_req *req);
void admin_keys_rotate(struct http_req *req);
void admin_debug_clock(struct http_req *req);

/* The key lifecycle step, synchronously through the writer (start-up), then
 * the signer reloads. 0 or -1 with *errstr. */
int admin_keys_tick_sync(struct sitetokend *env, const char **errstr);
/* The same from the timer on the main loop, asynchronously. */
void admin_keys_tick(struct sitetokend *env);

#endif
