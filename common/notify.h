/* The systemd readiness protocol (sd_notify), spoken directly: one datagram
 * to the Unix socket named by $NOTIFY_SOCKET. No libsystemd. */
#ifndef SITETOKEN_NOTIFY_H
#define SITETOKEN_NOTIFY_H

/* Sends state (e.g. "READY=1", several assignments separated by '\n') to
 * $NOTIFY_SOCKET. A path, or an abstract socket when it starts with '@'.
 * 0 when sent or when $NOTIFY_SOCKET is unset or empty (not under systemd);
 * -1 with a static message in *errstr otherwise. Thread-safe, never blocks
 * for long (the socket is non-blocking: a full queue is an error). */
int notify_send(const char *state, const char **errstr);

/* "RELOADING=1" with "MONOTONIC_USEC=" (CLOCK_MONOTONIC now), which systemd
 * 253 and later want with it; same contract as notify_send. */
int notify_reloading(const char **errstr);

#endif
