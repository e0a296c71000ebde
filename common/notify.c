/* sd_notify without libsystemd: systemd's Type=notify services tell it they
 * are ready, reloading or stopping with one datagram to the socket it passes
 * in $NOTIFY_SOCKET (a file system path, or an abstract name after '@'). */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int
notify_send(const char *state, const char **errstr)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun;
    socklen_t len;
    size_t n;
    ssize_t sent;
    int fd;

    if (name == NULL || *name == '\0')
        return 0;
    n = strlen(name);
    if ((name[0] != '/' && name[0] != '@') || n < 2 || n >= sizeof(sun.sun_path)) {
        *errstr = "NOTIFY_SOCKET: not an absolute path or @abstract name of a Unix socket";
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, name, n);
    if (name[0] == '@')
        sun.sun_path[0] = '\0'; /* abstract: the name has no terminating NUL */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1) {
        *errstr = "NOTIFY_SOCKET: cannot make a socket";
        return -1;
    }
    sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len);
    close(fd);
    if (sent != (ssize_t)strlen(state)) {
        *errstr = "NOTIFY_SOCKET: cannot send to it";
        return -1;
    }
    return 0;
}

int
notify_reloading(const char **errstr)
{
    struct timespec ts;
    char msg[64];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    return notify_send(msg, errstr);
}
