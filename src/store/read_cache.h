/* read_cache.h — the local copies of a remote store's blobs (DIR/ab/<sha>),
 * kept for reads and bounded by disk blocks *and* by entries, least
 * recently used out first, in O(1) per use: an index in memory (a hash of
 * the addresses and a recency list) beside the files.
 *
 * Nothing is read at open: copies left by an earlier run are learned
 * lazily, a folder at a time, by the calls that keep a new copy (each
 * learns at most one of the 256 folders, so no call stats more than one
 * folder's files and a start stats none), and any copy that is opened is
 * known from then on. Until every folder has been learned the disk may
 * hold more than the bound by what the earlier run left.
 *
 * Copies are immutable (a blob's bytes are its address), so a copy is
 * never stale; the caller removes one with ad_read_cache_drop before the
 * object itself. Thread-safe: one lock over the index, held for no I/O
 * but unlink and, when learning, one folder's listing. */
#ifndef AD_STORE_READ_CACHE_H
#define AD_STORE_READ_CACHE_H

#include <stdint.h>

#include "base/err.h"

typedef struct ad_read_cache ad_read_cache;

/* dir: the cache's folder (made 0700 when missing); max_bytes: disk blocks
 * of the copies; max_entries: copies (each costs ~128 bytes of memory). */
ad_status ad_read_cache_open(const char *dir, int64_t max_bytes, int64_t max_entries, ad_read_cache **out, ad_err *err);
void ad_read_cache_close(ad_read_cache *c);

/* The copy of sha opened for reading (the caller's descriptor), now the most
 * recently used; -1 when there is none. */
int ad_read_cache_open_copy(ad_read_cache *c, const char *sha);

/* Make the file tmp (in a folder on the same file system) the copy of sha,
 * then evict down to the bounds. tmp is gone afterwards either way. */
void ad_read_cache_keep(ad_read_cache *c, const char *tmp, const char *sha);

/* Remove sha's copy and forget it. */
void ad_read_cache_drop(ad_read_cache *c, const char *sha);

/* What the index holds now. */
void ad_read_cache_usage(ad_read_cache *c, int64_t *bytes, int64_t *entries);

#endif
