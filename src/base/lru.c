/* lru.c — see lru.h. A doubly linked list in recency order plus a linear
 * probe over it for lookups: the cache holds tens to hundreds of cut-outs
 * (each hundreds of KB to MBs), so a hash table would buy nothing. */
#include "base/lru.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ad_lru_value {
    int refs; /* under the cache lock */
    ad_lru *owner;
    size_t len;
    unsigned char data[];
};

typedef struct entry {
    char *key;
    ad_lru_value *value;
    struct entry *prev, *next;
} entry;

struct ad_lru {
    pthread_mutex_t lock;
    size_t max, used;
    entry *head, *tail; /* head: most recent */
};

ad_lru *ad_lru_new(size_t max_bytes)
{
    ad_lru *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->max = max_bytes;
    return c;
}

static void unlink_entry(ad_lru *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(ad_lru *c, entry *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

static void drop_value(ad_lru_value *v)
{
    if (--v->refs == 0)
        free(v);
}

static void remove_entry(ad_lru *c, entry *e)
{
    unlink_entry(c, e);
    c->used -= e->value->len;
    drop_value(e->value);
    free(e->key);
    free(e);
}

static entry *find(ad_lru *c, const char *key)
{
    for (entry *e = c->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

ad_lru_value *ad_lru_get(ad_lru *c, const char *key)
{
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, key);
    ad_lru_value *v = NULL;
    if (e) {
        unlink_entry(c, e);
        push_front(c, e);
        v = e->value;
        v->refs++;
    }
    pthread_mutex_unlock(&c->lock);
    return v;
}

void ad_lru_put(ad_lru *c, const char *key, const void *data, size_t len)
{
    if (len > c->max / 4)
        return;
    entry *e = calloc(1, sizeof *e);
    ad_lru_value *v = malloc(sizeof *v + len);
    char *k = strdup(key);
    if (e == NULL || v == NULL || k == NULL) {
        free(e);
        free(v);
        free(k);
        return; /* a cache may forget */
    }
    v->refs = 1;
    v->owner = c;
    v->len = len;
    memcpy(v->data, data, len);
    e->key = k;
    e->value = v;
    pthread_mutex_lock(&c->lock);
    entry *old = find(c, key);
    if (old)
        remove_entry(c, old);
    while (c->tail && c->used + len > c->max)
        remove_entry(c, c->tail);
    push_front(c, e);
    c->used += len;
    pthread_mutex_unlock(&c->lock);
}

const void *ad_lru_data(const ad_lru_value *v, size_t *len)
{
    *len = v->len;
    return v->data;
}

void ad_lru_value_unref(ad_lru_value *v)
{
    if (v == NULL)
        return;
    ad_lru *c = v->owner;
    pthread_mutex_lock(&c->lock);
    drop_value(v);
    pthread_mutex_unlock(&c->lock);
}

void ad_lru_free(ad_lru *c)
{
    if (c == NULL)
        return;
    while (c->head)
        remove_entry(c, c->head);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
