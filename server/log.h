/* One logging module: levels, one `key=value` line per event, written with a
 * single write(2) so lines from threads never interleave. */
#ifndef SITETOKEN_LOG_H
#define SITETOKEN_LOG_H

#include <stdarg.h>

/* The levels, most severe first, with their names: the one list of them. It makes the enum,
 * the names log lines carry, and the choices of the config's log.level (server/config_schema.c).
 * LOG_LEVELS(X) expands X(LEVEL, "name") once per level, in order. */
#define LOG_LEVELS(X)                                                                              \
    X(LOG_LEVEL_ERROR, "error")                                                                    \
    X(LOG_LEVEL_WARN, "warn")                                                                      \
    X(LOG_LEVEL_INFO, "info")                                                                      \
    X(LOG_LEVEL_DEBUG, "debug")

#define LOG_LEVEL_ENUM(level, name) level,
enum log_level { LOG_LEVELS(LOG_LEVEL_ENUM) };
#undef LOG_LEVEL_ENUM

/* The line formats, the choices of the config's log.format: key=value (logfmt), or one JSON
 * object a line with the same keys, every value a string (json). */
#define LOG_FORMATS(X)                                                                             \
    X(LOG_FORMAT_LOGFMT, "logfmt")                                                                 \
    X(LOG_FORMAT_JSON, "json")

#define LOG_FORMAT_ENUM(format, name) format,
enum log_format { LOG_FORMATS(LOG_FORMAT_ENUM) };
#undef LOG_FORMAT_ENUM

/* Sets the threshold and routes libevent's own log through this module. */
void log_init(enum log_level level);
/* Every line after this call is written in format. */
void log_set_format(enum log_format format);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int log_level_from_name(const char *name);

/* fmt is the rest of the line in key=value form: "event=listen port=8080". */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at error level and exits 1. Only for start-up, never for network input. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* A line for people and scripts, written verbatim in either format ("ready: listening on
 * ..."): the one line a log in json format has that is not a JSON object. */
void log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Quotes a value for a key=value line into buf when it holds spaces, quotes or
 * control characters; returns buf (or v itself when no quoting is needed). */
const char *log_quote(const char *v, char *buf, unsigned long n);
/* "<kind>:<name>" as one log value, quoted and escaped as log_quote does when
 * name holds spaces, quotes, '=' or control characters (an MP's name is an
 * admin's free text), into buf; returns buf. */
const char *log_actor(const char *kind, const char *name, char *buf, unsigned long n);
/* A problem's detail as a log value: quoted as log_quote does, at most n - 1 bytes, with
 * anything shaped like a JOSE object or a long secret (a run of 40 or more base64url
 * characters) replaced by "[redacted]", so an echo of a client's input never puts a token,
 * proof or key into the log. Returns buf. */
const char *log_detail(const char *detail, char *buf, unsigned long n);

#endif
