/* Durations as the config writes them ("30d", "8h 30m", "90m", "500ms"):
 * one parser for sitetokend's config and sitetokenctl's options. */
#ifndef SITETOKEN_PROTO_DURATION_H
#define SITETOKEN_PROTO_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Numbers each followed by a unit (d, h, m, s, ms), largest first, each unit
 * once; spaces between them allowed. 0 with *ms, or -1 with *errstr (a
 * static message). */
int duration_parse(const char *s, int64_t *ms, const char **errstr);
/* The canonical form that duration_parse() reads back ("1d 8h", "0s"). */
void duration_format(int64_t ms, char *buf, size_t n);

#endif
