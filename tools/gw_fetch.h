/* The follower thread: keeps the gateway's keys and revocations fresh from
 * the authority over libcurl (see gw_fetch.c). */
#ifndef SITETOKEN_GW_FETCH_H
#define SITETOKEN_GW_FETCH_H

struct gw;

/* Starts the thread; 0/-1 with *errstr. */
int gw_fetch_start(struct gw *g, const char **errstr);
/* Asks for a JWKS refetch now (the loop, on an unknown kid past cooldown). */
void gw_fetch_want_keys(struct gw *g);
/* SIGHUP: refetch the keys and reload the revocations now; READY=1 goes to
 * systemd once both fetches are over (whatever their outcome: the gateway
 * serves from what it holds meanwhile). */
void gw_fetch_reload(struct gw *g);
/* Stops and joins the thread. */
void gw_fetch_stop(struct gw *g);

#endif
