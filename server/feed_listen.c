/* The notification thread (feed_int.h): on a shared database that has
 * notifications (PostgreSQL's LISTEN/NOTIFY), a thread of its own
 * (`st-listen`) owns a connection of its own that only LISTENs, waits on
 * its socket, and wakes the loop (feed_sync_request) when another node (or
 * this one) committed revocations, removals, key or MP changes. It only
 * wakes the sync early: the poll (cluster.poll) is what must be correct, so
 * a lost connection is only logged, tried again every second, and followed
 * by a wake (what was sent meanwhile is lost). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "feed_int.h"
#include "log.h"
#include "sitetokend.h"
#include "store.h"

#define FEED_LISTEN_RETRY_MS 1000

struct feed_listen {
    struct feed *f;
    struct event_base *base;
    char *target;
    int busy_timeout_ms;
    int stop[2]; /* the loop writes a byte at shutdown */
    pthread_t thread;
};

static void
feed_listen_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    feed_sync_request(arg);
}

static void
feed_listen_wake(struct feed_listen *l)
{
    static const struct timeval now = {0, 0};

    (void)event_base_once(l->base, -1, EV_TIMEOUT, feed_listen_wake_cb, l->f, &now);
}

/* Waits up to ms (-1: for ever) for fd to be readable or the stop byte:
 * 1 readable, 0 timeout, -1 stop. */
static int
feed_listen_wait(struct feed_listen *l, int fd, int ms)
{
    struct pollfd p[2] = {{.fd = l->stop[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int rc;

    do
        rc = poll(p, fd >= 0 ? 2 : 1, ms);
    while (rc == -1 && errno == EINTR);
    if (rc > 0 && p[0].revents != 0)
        return -1;
    return rc > 0 ? 1 : 0;
}

/* Waits for notifications and wakes the loop on each batch of them until
 * stopped (-1) or the connection is lost (0, *errstr why). */
static int
feed_listen_follow(struct feed_listen *l, struct store *st, const char **errstr)
{
    for (;;) {
        int fd = store_notify_fd(st), rc;
        unsigned marks = 0, m;

        *errstr = "connection lost";
        if (fd < 0)
            return 0;
        if (feed_listen_wait(l, fd, -1) == -1)
            return -1;
        while ((rc = store_notify_take(st, &m, errstr)) == 1)
            marks |= m;
        if (marks != 0)
            feed_listen_wake(l);
        if (rc == -1)
            return 0;
    }
}

static void *
feed_listen_main(void *arg)
{
    struct feed_listen *l = arg;
    struct store *st = NULL;
    const char *errstr = NULL;
    int logged = 0;

    for (;;) {
        if (st == NULL)
            st = store_open(l->target, l->busy_timeout_ms, &errstr);
        if (st == NULL || store_listen(st, &errstr) == -1) {
            if (!logged)
                log_warn(
                    "event=feed_listen error=%s",
                    log_quote(errstr != NULL ? errstr : "cannot connect", (char[300]){0}, 300));
            logged = 1;
            if (feed_listen_wait(l, -1, FEED_LISTEN_RETRY_MS) == -1)
                break;
            continue;
        }
        if (logged)
            log_info("event=feed_listen listening=1");
        logged = 0;
        feed_listen_wake(l); /* what was sent while nobody listened */
        if (feed_listen_follow(l, st, &errstr) == -1)
            break; /* stopped */
        log_warn("event=feed_listen error=%s",
                 log_quote(errstr != NULL ? errstr : "connection lost", (char[300]){0}, 300));
        logged = 1;
        if (feed_listen_wait(l, -1, FEED_LISTEN_RETRY_MS) == -1)
            break;
    }
    store_close(st);
    return NULL;
}

struct feed_listen *
feed_listen_start(struct feed *f)
{
    struct feed_listen *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    l->f = f;
    l->base = f->env->base;
    l->busy_timeout_ms = (int)f->env->cfg->busy_timeout_ms;
    l->stop[0] = l->stop[1] = -1;
    if ((l->target = strdup(f->env->cfg->database)) == NULL || pipe2(l->stop, O_CLOEXEC) == -1 ||
        pthread_create(&l->thread, NULL, feed_listen_main, l) != 0) {
        if (l->stop[0] >= 0) {
            close(l->stop[0]);
            close(l->stop[1]);
        }
        free(l->target);
        free(l);
        return NULL;
    }
    pthread_setname_np(l->thread, "st-listen");
    return l;
}

void
feed_listen_stop(struct feed_listen *l)
{
    if (l == NULL)
        return;
    if (write(l->stop[1], "x", 1) != 1)
        log_warn("event=feed_listen error=\"cannot stop the thread\"");
    pthread_join(l->thread, NULL);
    close(l->stop[0]);
    close(l->stop[1]);
    free(l->target);
    free(l);
}
