/* workpool.c — see workpool.h. A ring of pending tasks under one mutex; the
 * queue is short (tens of entries) and each task is long (hundreds of ms), so
 * the lock is never contended in a way that matters. */
#include "base/workpool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    ad_work_fn fn;
    void *arg;
} task;

struct ad_workpool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    task *ring;
    int cap, head, count; /* pending tasks */
    int running, nthreads, stopping;
    pthread_t *threads;
};

static void *worker(void *arg)
{
    ad_workpool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->count == 0 && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->count == 0)
            break; /* stopping and drained */
        task t = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        t.fn(t.arg);
        pthread_mutex_lock(&p->lock);
        p->running--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

ad_status ad_workpool_new(int threads, int depth, ad_workpool **out, ad_err *err)
{
    ad_workpool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (p == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if (threads < 1)
        threads = 1;
    if (depth < 0)
        depth = 0;
    /* a task is accepted while fewer than threads + depth are in the pool */
    p->cap = threads + depth;
    p->ring = calloc((size_t)p->cap, sizeof *p->ring);
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (p->ring == NULL || p->threads == NULL) {
        ad_workpool_free(p);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            ad_workpool_free(p);
            return ad_err_set(err, AD_EBACKEND, "cannot start worker thread");
        }
        p->nthreads++;
    }
    *out = p;
    return AD_OK;
}

ad_status ad_workpool_submit(ad_workpool *p, ad_work_fn fn, void *arg)
{
    pthread_mutex_lock(&p->lock);
    if (p->stopping || p->count + p->running >= p->cap) {
        pthread_mutex_unlock(&p->lock);
        return AD_EBUSY;
    }
    p->ring[(p->head + p->count) % p->cap] = (task){fn, arg};
    p->count++;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    return AD_OK;
}

int ad_workpool_load(ad_workpool *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->count + p->running;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void ad_workpool_free(ad_workpool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p->ring);
    free(p);
}
