/* Error collection for the config loader: an ordered list of "FILE:LINE: key: message" lines,
 * capped at CONFIG_MAX_ERRORS, sorted by line once a load is done. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

struct config_errors {
    char **v;
    unsigned *line; /* for sorting; 0 for the file as a whole */
    size_t n;
    size_t dropped; /* found beyond CONFIG_MAX_ERRORS */
};

struct config_errors *
config_errors_new(void)
{
    return calloc(1, sizeof(struct config_errors));
}

void
config_errors_free(struct config_errors *errs)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->v[i]);
    free(errs->v);
    free(errs->line);
    free(errs);
}

size_t
config_errors_count(const struct config_errors *errs)
{
    return errs == NULL ? 0 : errs->n;
}

const char *
config_errors_get(const struct config_errors *errs, size_t i)
{
    return errs == NULL || i >= errs->n ? NULL : errs->v[i];
}

void
config_errors_print(const struct config_errors *errs, FILE *out)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < errs->n; i++)
        fprintf(out, "%s\n", errs->v[i]);
    if (errs->dropped > 0)
        fprintf(out, "(%zu more errors not shown)\n", errs->dropped);
}

void
config_errors_addf(struct config_errors *errs, unsigned line, const char *fmt, ...)
{
    char buf[1024], *s, **v;
    unsigned *l;
    va_list ap;

    if (errs == NULL)
        return;
    if (errs->n >= CONFIG_MAX_ERRORS) {
        errs->dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if ((s = strdup(buf)) == NULL || (v = realloc(errs->v, (errs->n + 1) * sizeof(*v))) == NULL) {
        free(s);
        errs->dropped++;
        return;
    }
    errs->v = v;
    if ((l = realloc(errs->line, (errs->n + 1) * sizeof(*l))) == NULL) {
        free(s);
        errs->dropped++;
        return;
    }
    errs->line = l;
    errs->line[errs->n] = line;
    errs->v[errs->n++] = s;
}

void
config_errors_sort(struct config_errors *errs, size_t from)
{
    for (size_t i = from + 1; errs != NULL && i < errs->n; i++) {
        char *s = errs->v[i];
        unsigned line = errs->line[i];
        size_t j = i;
        for (; j > from && errs->line[j - 1] > line; j--) {
            errs->v[j] = errs->v[j - 1];
            errs->line[j] = errs->line[j - 1];
        }
        errs->v[j] = s;
        errs->line[j] = line;
    }
}

void
config_report(struct config_loader *ld, unsigned line, const char *key, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    ld->nerr++;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    config_errors_addf(ld->errs, line, "%s:%u: %s: %s", ld->file, line, key, msg);
}
