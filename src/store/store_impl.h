/* store_impl.h — what the files of the store's wrapper share and nobody
 * outside src/store/ sees: the structs behind store.h's handles, the
 * accounting every ad_store_* call goes through (CALL), and the few
 * functions one file of the wrapper needs from another:
 *   store.c    the registry, open/close, transactions, one-transaction
 *              calls, and the steps both others use (collect one blob,
 *              release a pin)
 *   blob_io.c  writers, readers and pins          -> store.c
 *   gc.c       the collector: the queue, the sweep -> store.c
 *   derived.c  derived blobs' rows (masks, variants) -> store.c
 *   events.c   webhooks' rows and deliveries, the jobs list  -> store.c
 *   outbox.c   events recorded with the changes (ad_st_emit_*) <- store.c
 *   records.c  the records' cleanup
 * (arrows: who calls whom; nothing calls back up) */
#ifndef AD_STORE_STORE_IMPL_H
#define AD_STORE_STORE_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "base/sha256.h"
#include "store/blobs.h"
#include "store/meta.h"
#include "store/store.h"

struct ad_store {
    ad_meta *meta;
    ad_blobs *blobs;
    int64_t grace_ms, pin_ttl_ms;
    int exclusive;
    char instance[AD_ID_LEN + 1];
    /* stats, updated with __atomic builtins */
    uint64_t calls, errors, total_us;
    uint64_t gc_candidates, gc_removed;
    /* fault injection (tests) */
    pthread_mutex_t fault_lock;
    char fault_op[32];
    ad_status fault_status;
    int fault_left;
    int publish_delay_ms; /* pause between publishing a blob and returning its pin */
    /* pins a writer gave up while the metadata part could not be reached:
     * released by the collector once it can (a process that dies instead
     * leaves them to expire) */
    pthread_mutex_t unpin_lock;
    ad_blob_pin *unpins;
    int nunpins, cap_unpins;
};

struct ad_store_tx {
    ad_store *s;
    ad_meta_tx *mt;
    char (*dropped)[65];
    int ndropped, cap;
    ad_status oom; /* a dropped address could not be remembered */
};

struct ad_store_writer {
    ad_store *s;
    ad_blob_writer *w;
    ad_sha256 hash;
    int64_t size;
};

struct ad_store_reader {
    ad_store *s;
    ad_blob_reader *r;
};

int64_t ad_st_now_ms(void);   /* wall clock, ms */
uint64_t ad_st_mono_us(void); /* monotonic clock, us */
/* A failure injected for op (ad_store_inject_fault), or AD_OK. */
ad_status ad_st_fault(ad_store *s, const char *op, ad_err *err);
/* Count a call that took since t0 (ad_st_mono_us) and ended with st. */
void ad_st_account(ad_store *s, uint64_t t0, ad_status st);
/* 1 for a well-formed blob address; else 0 with AD_EINVAL in err. */
int ad_st_sha_ok(const char *sha, ad_err *err);

/* Every wrapper's body: injected faults first, then expr, accounted. */
#define CALL(s, name, expr)                            \
    do {                                               \
        uint64_t t0_ = ad_st_mono_us();                \
        ad_status st_ = ad_st_fault((s), (name), err); \
        if (st_ == AD_OK)                              \
            st_ = (expr);                              \
        ad_st_account((s), t0_, st_);                  \
        return st_;                                    \
    } while (0)

/* Transactions (store.c). note_dropped: a meta part's "dropped" callback
 * (ctx: the ad_store_tx) remembering an address for the collector. */
ad_status ad_st_begin_tx(ad_store *s, ad_store_tx **out, ad_err *err);
ad_status ad_st_commit_tx(ad_store_tx *tx, ad_err *err);
void ad_st_note_dropped(void *ctx, const char *sha);
/* Run fn inside a transaction of its own: commit on AD_OK. */
typedef ad_status (*ad_st_tx_fn)(ad_store_tx *tx, const void *a, const void *b, const void *c, ad_err *err);
ad_status ad_st_in_tx(ad_store *s, ad_st_tx_fn fn, const void *a, const void *b, const void *c, ad_err *err);

/* Record an event of type about an asset (rendered from its row in tx),
 * a conversion, or a job, for every webhook subscribed to type, in tx
 * (outbox.c). */
ad_status ad_st_emit_asset(ad_store_tx *tx, const char *type, const char *id, ad_err *err);
ad_status ad_st_emit_conversion(ad_store_tx *tx, const char *type, const char *asset_id, const ad_conversion *c,
                                ad_err *err);
ad_status ad_st_emit_job(ad_store_tx *tx, const char *type, const char *id, ad_err *err);

/* Collect one blob if nothing refers to it and it is older than grace;
 * *removed counts it (store.c: a commit collects at once when there is no
 * grace period; gc.c runs it on the queue). */
void ad_st_gc_one(ad_store *s, const char *sha, int64_t grace, int *removed);
/* An ad_st_tx_fn releasing the pin a (an ad_blob_pin *), in store.c for
 * blob_io.c (a writer giving up) and gc.c (retrying those that failed). */
ad_status ad_st_unpin_fn(ad_store_tx *tx, const void *pin, const void *b, const void *c, ad_err *err);

#endif
