/* The logging module. Every line is `ts=... level=... <key=value...>`, built in
 * a stack buffer and written to stderr with one write(2). libevent's internal
 * messages come through log_event_cb. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

static _Atomic int log_threshold = LOG_LEVEL_INFO;

#define LOG_LEVEL_NAME(level, name) [level] = name,
static const char *const log_level_names[] = {LOG_LEVELS(LOG_LEVEL_NAME)};
#undef LOG_LEVEL_NAME

static void
log_write(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static void log_vline(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
log_vline(enum log_level level, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t len;
    int n;

    if ((int)level > atomic_load(&log_threshold))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line + len, sizeof(line) - len, ".%03ldZ level=%s ", ts.tv_nsec / 1000000L,
                 log_level_names[level]);
    len += (size_t)n;
    n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
    if (n < 0)
        n = 0;
    len += (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    log_write(line, len);
}

#define LOG_FN(name, level)                                                                        \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_vline(level, fmt, ap);                                                                 \
        va_end(ap);                                                                                \
    }

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vline(LOG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}

void
log_raw(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    log_write(line, (size_t)n);
}

const char *
log_quote(const char *v, char *buf, unsigned long n)
{
    size_t o = 0;
    int needs = (v == NULL || *v == '\0');

    if (v == NULL)
        v = "";
    for (const char *p = v; *p && !needs; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            needs = 1;
    if (!needs)
        return v;
    if (n < 3)
        return "\"\"";
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)v; *p && o + 5 < n; p++) {
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

const char *
log_actor(const char *kind, const char *name, char *buf, unsigned long n)
{
    char raw[256];
    const char *q;

    snprintf(raw, sizeof(raw), "%s:%s", kind, name != NULL ? name : "");
    q = log_quote(raw, buf, n);
    if (q != buf)
        snprintf(buf, n, "%s", q);
    return buf;
}

static void
log_event_cb(int severity, const char *msg)
{
    char q[512];
    enum log_level level = LOG_LEVEL_DEBUG;

    if (severity >= EVENT_LOG_ERR)
        level = LOG_LEVEL_ERROR;
    else if (severity == EVENT_LOG_WARN)
        level = LOG_LEVEL_WARN;
    if (level == LOG_LEVEL_DEBUG)
        log_debug("event=libevent msg=%s", log_quote(msg, q, sizeof(q)));
    else if (level == LOG_LEVEL_WARN)
        log_warn("event=libevent msg=%s", log_quote(msg, q, sizeof(q)));
    else
        log_error("event=libevent msg=%s", log_quote(msg, q, sizeof(q)));
}

void
log_init(enum log_level level)
{
    log_set_level(level);
    event_set_log_callback(log_event_cb);
}

void
log_set_level(enum log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

enum log_level
log_get_level(void)
{
    return (enum log_level)atomic_load(&log_threshold);
}

int
log_level_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++)
        if (name != NULL && strcmp(name, log_level_names[i]) == 0)
            return (int)i;
    return -1;
}
