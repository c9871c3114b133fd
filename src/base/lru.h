/* lru.h — a byte-bounded least-recently-used cache of immutable byte
 * strings under string keys, shared by threads. Values are refcounted so a
 * reader keeps its bytes even if the entry is evicted meanwhile. Used for
 * finished cut-outs: the same asset with the same model and options is
 * answered from memory instead of running the model again. */
#ifndef AD_BASE_LRU_H
#define AD_BASE_LRU_H

#include <stddef.h>

typedef struct ad_lru ad_lru;
typedef struct ad_lru_value ad_lru_value;

/* max_bytes: total size of values kept (0 disables the cache: every get
 * misses, every put is dropped). NULL on allocation failure. */
ad_lru *ad_lru_new(size_t max_bytes);
void ad_lru_free(ad_lru *c);

/* A new reference to the value under key, or NULL. Thread-safe. */
ad_lru_value *ad_lru_get(ad_lru *c, const char *key);

/* Store a copy of data under key (replacing any), evicting the least
 * recently used entries to stay within max_bytes. Values larger than a
 * quarter of max_bytes are not kept. Thread-safe. */
void ad_lru_put(ad_lru *c, const char *key, const void *data, size_t len);

const void *ad_lru_data(const ad_lru_value *v, size_t *len);
void ad_lru_value_unref(ad_lru_value *v);

#endif
