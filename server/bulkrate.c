/* Per-second exchange caps of bulk tokens (see bulkrate.h): a fixed table
 * of slots hashed by token id, each (id, second, count), under one mutex.
 * Two tokens hashed to one slot share it only within one second, and the
 * newer takes it over: the worst case is a fresh count, never a refusal
 * past a token's own cap. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bulkrate.h"

#define BULKRATE_SLOTS 1024

struct bulkrate_slot {
    char id[37];
    int64_t second, count;
};

struct bulkrate {
    pthread_mutex_t mu;
    struct bulkrate_slot slots[BULKRATE_SLOTS]; /* guarded by mu */
};

struct bulkrate *
bulkrate_new(void)
{
    struct bulkrate *r = calloc(1, sizeof(*r));

    if (r != NULL)
        pthread_mutex_init(&r->mu, NULL);
    return r;
}

void
bulkrate_free(struct bulkrate *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static struct bulkrate_slot *
bulkrate_slot(struct bulkrate *r, const char *id)
{
    uint64_t h = 1469598103934665603ULL;

    for (const char *p = id; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return &r->slots[h % BULKRATE_SLOTS];
}

int
bulkrate_admit(struct bulkrate *r, const char *id, int64_t per_second, int64_t now_s,
               int64_t *second)
{
    struct bulkrate_slot *s;
    int rc = 0;

    pthread_mutex_lock(&r->mu);
    s = bulkrate_slot(r, id);
    if (strcmp(s->id, id) != 0 || s->second != now_s) {
        memcpy(s->id, id, strnlen(id, sizeof(s->id) - 1));
        s->id[strnlen(id, sizeof(s->id) - 1)] = '\0';
        s->second = now_s;
        s->count = 0;
    }
    if (s->count >= per_second)
        rc = -1;
    else
        s->count++;
    pthread_mutex_unlock(&r->mu);
    *second = now_s;
    return rc;
}

void
bulkrate_release(struct bulkrate *r, const char *id, int64_t second)
{
    struct bulkrate_slot *s;

    pthread_mutex_lock(&r->mu);
    s = bulkrate_slot(r, id);
    if (strcmp(s->id, id) == 0 && s->second == second && s->count > 0)
        s->count--;
    pthread_mutex_unlock(&r->mu);
}
