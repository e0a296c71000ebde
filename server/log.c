/* The logging module. Every line is `ts=... level=... <key=value...>`, built in
 * a stack buffer and written to stderr with one write(2); in json format the
 * same line is then rewritten as one JSON object with the same keys
 * (log_json). libevent's internal messages come through log_event_cb. */
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
static _Atomic int log_format = LOG_FORMAT_LOGFMT;

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

/* Appends s[0..n) to out as the inside of a JSON string; o is the offset,
 * returned advanced (never past cap - 1, and never splitting an escape). */
static size_t
log_json_str(char *out, size_t o, size_t cap, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < ' ' || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

/* A key=value line (values bare or quoted as log_quote writes them) as one
 * JSON object with the same keys, every value a string, into out. Text that
 * is not key=value (it should not happen) becomes a "msg". Returns the
 * length, without a newline. */
static size_t
log_json(const char *line, size_t len, char *out, size_t cap)
{
    const char *p = line, *end = line + len;
    size_t o = 0;
    int first = 1;

    out[o++] = '{';
    while (p < end && o + 16 < cap) {
        const char *k, *eq;
        char v[1024];
        size_t vn = 0;

        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        k = p;
        while (p < end && *p != '=' && *p != ' ')
            p++;
        eq = p;
        if (p < end && *p == '=' && eq > k) {
            p++;
            if (p < end && *p == '"') {
                for (p++; p < end && *p != '"' && vn < sizeof(v); p++) {
                    if (*p == '\\' && p + 1 < end && p[1] == 'x' && p + 3 < end) {
                        v[vn++] = (char)strtol((char[3]){p[2], p[3], 0}, NULL, 16);
                        p += 3;
                    } else if (*p == '\\' && p + 1 < end) {
                        v[vn++] = *++p;
                    } else {
                        v[vn++] = *p;
                    }
                }
                if (p < end)
                    p++; /* the closing quote */
            } else {
                for (; p < end && *p != ' ' && vn < sizeof(v); p++)
                    v[vn++] = *p;
            }
        } else { /* not key=value: the rest of the line is a message */
            vn = (size_t)(end - k) < sizeof(v) ? (size_t)(end - k) : sizeof(v);
            memcpy(v, k, vn);
            k = "msg";
            eq = k + 3;
            p = end;
        }
        if (!first)
            out[o++] = ',';
        first = 0;
        out[o++] = '"';
        o = log_json_str(out, o, cap - 8, k, (size_t)(eq - k));
        out[o++] = '"';
        out[o++] = ':';
        out[o++] = '"';
        o = log_json_str(out, o, cap - 4, v, vn);
        out[o++] = '"';
    }
    out[o++] = '}';
    return o;
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
    if (atomic_load(&log_format) == LOG_FORMAT_JSON) {
        char json[4096];
        size_t jn = log_json(line, len, json, sizeof(json) - 1);

        json[jn++] = '\n';
        log_write(json, jn);
        return;
    }
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

/* A run of this many base64url characters is taken for a secret (an API key,
 * a JWS segment, a key): ids (UUIDs, 36) are shorter. */
#define LOG_SECRET_RUN 40

static int
log_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

const char *
log_detail(const char *detail, char *buf, unsigned long n)
{
    char clean[512];
    size_t o = 0;
    const char *p = detail != NULL ? detail : "";

    while (*p != '\0' && o + 12 < sizeof(clean)) {
        size_t run = 0;

        while (log_b64url((unsigned char)p[run]))
            run++;
        /* "eyJ" is base64url of '{"': a JOSE header or a JWK, however short. */
        if (run >= LOG_SECRET_RUN || (run >= 8 && strncmp(p, "eyJ", 3) == 0)) {
            memcpy(clean + o, "[redacted]", 10);
            o += 10;
            p += run;
            while (*p == '.' || log_b64url((unsigned char)*p)) /* the rest of a JWS */
                p++;
            continue;
        }
        if (run == 0)
            run = 1;
        if (o + run >= sizeof(clean) - 1)
            run = sizeof(clean) - 1 - o;
        memcpy(clean + o, p, run);
        o += run;
        p += run;
    }
    clean[o] = '\0';
    return log_quote(clean, buf, n) == buf ? buf : (snprintf(buf, n, "%s", clean), buf);
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
log_set_format(enum log_format format)
{
    atomic_store(&log_format, (int)format);
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
