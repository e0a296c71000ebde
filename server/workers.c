/* The worker pool (see workers.h). One mutex-guarded FIFO feeds all workers;
 * each worker owns its store connection and nothing else. Lock order: a
 * worker never holds the pool mutex while running work. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store.h"
#include "workers.h"

#define WORKERS_MAX 64

struct workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct work *head, *tail; /* guarded by mu */
    int stopping;             /* guarded by mu */
    int n;
    pthread_t threads[WORKERS_MAX];
    struct worker_ctx ctx[WORKERS_MAX];
};

static void *
workers_main(void *arg)
{
    struct worker_ctx *ctx = arg;
    struct workers *p = ctx->pool;
    char name[16];

    snprintf(name, sizeof(name), "st-worker-%d", ctx->id);
    pthread_setname_np(pthread_self(), name);

    for (;;) {
        struct work *w;

        pthread_mutex_lock(&p->mu);
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if ((w = p->head) == NULL) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        p->head = w->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        w->next = NULL;
        w->run(w, ctx);
    }
    return NULL;
}

struct workers *
workers_start(int n, const char *path, int busy_timeout_ms, const char **errstr)
{
    struct workers *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        *errstr = "out of memory";
        return NULL;
    }
    if (n <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (int)cpus : 1;
    }
    if (n > WORKERS_MAX)
        n = WORKERS_MAX;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < n; i++) {
        p->ctx[i].id = i;
        p->ctx[i].pool = p;
        if ((p->ctx[i].store = store_open(path, busy_timeout_ms, errstr)) == NULL)
            goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, workers_main, &p->ctx[i]) != 0) {
            *errstr = "cannot start a worker thread";
            p->n = i;
            workers_stop(p);
            return NULL;
        }
    }
    p->n = n;
    return p;
fail:
    for (int i = 0; i < n; i++)
        store_close(p->ctx[i].store);
    free(p);
    return NULL;
}

void
workers_submit(struct workers *p, struct work *w)
{
    w->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail != NULL)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void
workers_stop(struct workers *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    for (int i = 0; i < WORKERS_MAX; i++)
        store_close(p->ctx[i].store);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
