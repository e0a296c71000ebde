/* Admin routes served on the admin Unix socket (the file system is the
 * authorization: mode 0600). */
#ifndef SITETOKEN_ADMIN_H
#define SITETOKEN_ADMIN_H

struct http_req;

void admin_status(struct http_req *req);

#endif
