/* meta.h — the metadata part of a store: assets, conversions, API keys,
 * background jobs, and the bookkeeping that keeps blobs alive (pins, the GC
 * queue). A backend (meta_sqlite.c, meta_postgres.c) is a table of functions behind a base
 * struct, chosen by name like sqlite's VFS. It offers data operations only:
 * what a save names its asset, or how a job's payload reads, is decided
 * above it (api/, job/). Nobody but store.c calls these functions: everyone
 * else goes through the ad_store_* wrappers in store.h.
 *
 * Transactions: writes happen inside a transaction (begin ... commit or
 * rollback), which is serialisable with respect to every other write
 * transaction on the same blob (lock_blob): that is what makes pins safe
 * against a concurrent GC (docs/store.md). Reads may pass tx = NULL.
 *
 * Threads: every function may be called from any thread; a transaction
 * belongs to the thread that began it. */
#ifndef AD_STORE_META_H
#define AD_STORE_META_H

#include <stdint.h>

#include "store/records.h"

typedef struct ad_meta ad_meta;
typedef struct ad_meta_tx ad_meta_tx;

/* Called with each blob address a write dropped a reference to. */
typedef void (*ad_meta_dropped_fn)(void *ctx, const char *sha256);

typedef struct {
    const char *name;
    int remote;        /* calls cross a network: keep them off event-loop threads */
    int single_writer; /* can hold the only-writer lock (cfg->exclusive) */

    /* cfg->exclusive: this process is the only writer (a lock is taken, or
     * the open fails with AD_ECONFLICT); then pins of dead writers are
     * released and running jobs' leases expired at open. */
    ad_status (*open)(const ad_store_config *cfg, ad_meta **out, ad_err *err);
    /* what open would migrate, touching nothing: the store's schema
     * version (*have; 0 for none yet), this binary's (*want), and a line
     * per version describing it (steps[v - 1], static) */
    ad_status (*schema_plan)(const ad_store_config *cfg, int *have, int *want, const char *const **steps, ad_err *err);
    void (*close)(ad_meta *m);
    /* 1 while the database is not answering (its circuit is open), with
     * why; NULL: never (an embedded database) */
    int (*down)(ad_meta *m, char *why, size_t len);

    ad_status (*begin)(ad_meta *m, ad_meta_tx **out, ad_err *err);
    /* commit and rollback free tx in every case */
    ad_status (*commit)(ad_meta_tx *tx, ad_err *err);
    void (*rollback)(ad_meta_tx *tx);

    /* assets. insert: AD_ECONFLICT when the id exists; the asset's
     * conversions are inserted with it. delete: AD_ENOTFOUND; dropped gets
     * the blobs of the asset and its conversions. */
    ad_status (*insert_asset)(ad_meta_tx *tx, const ad_asset *a, ad_err *err);
    ad_status (*get_asset)(ad_meta *m, ad_meta_tx *tx, const char *id, ad_asset *out, ad_err *err);
    /* a page of the assets f selects in f's order, after cursor (a seq;
     * 0: from the start), answered from an index (store/asset_query.h);
     * *out is an array of *n assets, each released with ad_asset_cleanup,
     * then free. insert_asset and set_custom_data keep the custom data's
     * index entries (store/custom_index.h) in the same transaction. */
    ad_status (*list_assets)(ad_meta *m, const ad_asset_filter *f, int64_t cursor, int limit, ad_asset **out, int *n,
                             ad_err *err);
    /* delete also unlinks the asset's children (their source_asset_id
     * becomes null), in the same transaction */
    ad_status (*delete_asset)(ad_meta_tx *tx, const char *id, ad_meta_dropped_fn dropped, void *ctx, ad_err *err);
    /* hold the asset against deletion until tx ends (a child's lineage is
     * about to name it), or (for_update) against every other writer of it
     * (a read-modify-write of its custom data); AD_ENOTFOUND when it is gone */
    ad_status (*lock_asset)(ad_meta_tx *tx, const char *id, int for_update, ad_err *err);
    ad_status (*set_custom_data)(ad_meta_tx *tx, const char *id, const char *json, ad_err *err);

    /* conversions. upsert replaces atomically (dropped: the old blob).
     * AD_ENOTFOUND when the asset does not exist. */
    ad_status (*upsert_conversion)(ad_meta_tx *tx, const char *asset_id, const ad_conversion *c,
                                   ad_meta_dropped_fn dropped, void *ctx, ad_err *err);
    ad_status (*get_conversion)(ad_meta *m, ad_meta_tx *tx, const char *asset_id, const char *name, ad_conversion *out,
                                ad_err *err);
    ad_status (*delete_conversion)(ad_meta_tx *tx, const char *asset_id, const char *name, ad_meta_dropped_fn dropped,
                                   void *ctx, ad_err *err);

    /* API keys, by the SHA-256 hex of the key, with their scope
     * (ad_scope). has_key: AD_OK (a valid, unrevoked key; id_out gets its
     * id, scope_out its scope) or AD_ENOTFOUND. revoke:
     * AD_ENOTFOUND for an unknown id. list: *out is an array of *n,
     * freed with free. */
    ad_status (*add_key)(ad_meta_tx *tx, const char *key_sha256, const char *id, const char *label, int scope,
                         ad_err *err);
    ad_status (*has_key)(ad_meta *m, const char *key_sha256, char id_out[17], int *scope_out, ad_err *err);
    ad_status (*touch_key)(ad_meta_tx *tx, const char *id, const char *when, ad_err *err);
    ad_status (*revoke_key)(ad_meta_tx *tx, const char *id, ad_err *err);
    ad_status (*list_keys)(ad_meta *m, ad_key_info **out, int *n, ad_err *err);
    /* store copy: a key as it is elsewhere (no-op when its hash exists) */
    ad_status (*import_key)(ad_meta_tx *tx, const ad_key_info *k, ad_err *err);

    /* blob bookkeeping. A pin keeps a blob alive for its owner until
     * expires_ms (0: until unpinned). refs counts rows and live pins. */
    ad_status (*lock_blob)(ad_meta_tx *tx, const char *sha256, ad_err *err);
    ad_status (*pin_blob)(ad_meta_tx *tx, const char *sha256, const char *owner, int64_t expires_ms, ad_err *err);
    ad_status (*unpin)(ad_meta_tx *tx, const char *sha256, const char *owner, ad_meta_dropped_fn dropped, void *ctx,
                       ad_err *err); /* sha256 NULL: every pin of owner */
    ad_status (*blob_refs)(ad_meta *m, ad_meta_tx *tx, const char *sha256, int64_t now_ms, int64_t *n, ad_err *err);
    ad_status (*gc_enqueue)(ad_meta_tx *tx, const char *sha256, int64_t due_ms, ad_err *err);
    ad_status (*gc_dequeue)(ad_meta_tx *tx, const char *sha256, ad_err *err);
    /* a claimed candidate whose collection failed: due again at due_ms
     * (sooner than its claim's lease would let it) */
    ad_status (*gc_defer)(ad_meta_tx *tx, const char *sha256, int64_t due_ms, ad_err *err);
    /* up to max blobs whose GC is due, into shas, claimed: due again at
     * now + lease_ms, so N instances collecting at once each take others
     * (SKIP LOCKED); collecting one dequeues it */
    ad_status (*gc_due)(ad_meta *m, int64_t now_ms, int64_t lease_ms, int max, char (*shas)[65], int *n, ad_err *err);
    /* up to max pins that expired before now (their writers died between
     * publishing a blob and taking its reference) go, their blobs queued
     * for collection, in one transaction; *n counts them */
    ad_status (*expire_pins)(ad_meta *m, int64_t now_ms, int max, int *n, ad_err *err);

    /* derived blobs (masks, delivery variants). get_derived: AD_ENOTFOUND
     * when key has none; marks it used at now_ms (written at most once a
     * minute). put_derived: the row unless key has one (*inserted 0; the
     * caller drops its blob), its bytes added to its kind's total, then the
     * least recently used others of the kind removed while that total
     * exceeds max_bytes (0: no bound). drop_derived: the row of key, or
     * (key NULL) every one made from source. Removed rows' blobs go to
     * dropped. derived_usage: how many of a kind and their bytes, from a
     * counter (no scan). */
    ad_status (*get_derived)(ad_meta *m, const char *key, int64_t now_ms, char blob_sha[65], ad_err *err);
    ad_status (*put_derived)(ad_meta_tx *tx, const ad_derived_row *row, int64_t max_bytes, int *inserted,
                             ad_meta_dropped_fn dropped, void *ctx, ad_err *err);
    ad_status (*drop_derived)(ad_meta_tx *tx, const char *key, const char *source, ad_meta_dropped_fn dropped,
                              void *ctx, ad_err *err);
    ad_status (*derived_usage)(ad_meta *m, ad_meta_tx *tx, const char *kind, int64_t *count, int64_t *bytes,
                               ad_err *err);

    /* jobs: kind + payload (and the asset it works on, "" none, for the
     * list's filter); claimed under a lease */
    ad_status (*insert_job)(ad_meta_tx *tx, const char *id, const char *kind, const char *payload, const char *asset_id,
                            ad_err *err);
    ad_status (*get_job)(ad_meta *m, const char *id, ad_job *out, ad_err *err);
    /* the oldest due queued job, or a running one whose lease expired:
     * running, owner, lease until now + lease_ms, attempts + 1.
     * AD_ENOTFOUND when none. */
    ad_status (*claim_job)(ad_meta *m, const char *owner, int64_t now_ms, int64_t lease_ms, ad_job *out, ad_err *err);
    /* AD_ECONFLICT when the job is no longer running under owner */
    ad_status (*renew_lease)(ad_meta *m, const char *id, const char *owner, int64_t until_ms, ad_err *err);
    ad_status (*finish_job)(ad_meta_tx *tx, const char *id, const char *owner, const char *result, ad_err *err);
    /* final: failed for good; else queued again at run_after_ms */
    ad_status (*fail_job)(ad_meta_tx *tx, const char *id, const char *owner, const char *reason, int final,
                          int64_t run_after_ms, ad_err *err);
    /* store copy: jobs by id after `after` ("" from the first), up to
     * limit; *out freed with ad_job_cleanup each, then free. import: the
     * job as it is elsewhere, unleased (a running one queued again);
     * no-op when the id exists. */
    ad_status (*list_jobs)(ad_meta *m, const char *after, int limit, ad_job **out, int *n, ad_err *err);
    ad_status (*import_job)(ad_meta_tx *tx, const ad_job *j, ad_err *err);
    /* the blobs a job holds (pins of owner "job:<id>"), up to max */
    ad_status (*job_holds)(ad_meta *m, const char *id, char (*shas)[65], int max, int *n, ad_err *err);
    /* how many jobs are in each ad_job_status (metrics): the active ones
     * by index, the finished from counters kept with every change (never
     * a scan of the table) */
    ad_status (*count_jobs)(ad_meta *m, int64_t counts[4], ad_err *err);
    /* retention: up to max finished jobs that ended before (RFC 3339) go */
    ad_status (*prune_jobs)(ad_meta *m, const char *before, int max, int *n, ad_err *err);
    /* the jobs list: f's jobs newest first, seq < before (<= 0: from the
     * newest); *out freed with ad_job_cleanup each, then free */
    ad_status (*list_job_page)(ad_meta *m, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                               ad_err *err);

    /* webhooks (records.h). add: AD_ECONFLICT when the id exists. list:
     * every endpoint oldest first, or (id not NULL) that one (*n 0 when
     * unknown); *out freed with ad_webhook_cleanup each, then free.
     * delete: AD_ENOTFOUND; its deliveries and log go with it. */
    ad_status (*add_webhook)(ad_meta_tx *tx, const ad_webhook *w, ad_err *err);
    ad_status (*list_webhooks)(ad_meta *m, const char *id, ad_webhook **out, int *n, ad_err *err);
    ad_status (*delete_webhook)(ad_meta_tx *tx, const char *id, ad_err *err);
    /* how many endpoints subscribe to type (NULL: how many there are) */
    ad_status (*webhook_subscribers)(ad_meta *m, ad_meta_tx *tx, const char *type, int64_t *n, ad_err *err);
    /* the outbox: a pending delivery of body to every endpoint subscribed
     * to type, due at now, in the caller's transaction */
    ad_status (*enqueue_event)(ad_meta_tx *tx, const char *event_id, const char *type, const char *body, int64_t now_ms,
                               ad_err *err);
    /* up to max pending deliveries due at now and not leased (or whose
     * lease passed: its holder died), leased to owner until now +
     * lease_ms, attempts + 1; N instances share them (SKIP LOCKED) */
    ad_status (*claim_deliveries)(ad_meta *m, const char *owner, int64_t now_ms, int64_t lease_ms, int max,
                                  ad_webhook_delivery *out, int *n, ad_err *err);
    /* an attempt's end (o; RETRY: due again at next_ms) and its log row, in
     * one transaction; AD_ECONFLICT when owner no longer holds it */
    ad_status (*end_delivery)(ad_meta *m, int64_t seq, const char *owner, ad_delivery_outcome o, int64_t next_ms,
                              const char *webhook_id, const ad_webhook_attempt *a, ad_err *err);
    /* an endpoint's attempts, newest first, seq < before (<= 0: newest) */
    ad_status (*list_attempts)(ad_meta *m, const char *webhook_id, int64_t before, int limit, ad_webhook_attempt *out,
                               int *n, ad_err *err);
    /* up to max attempts logged, and ended deliveries made, before before_ms */
    ad_status (*prune_webhooks)(ad_meta *m, int64_t before_ms, int max, ad_err *err);
    /* pending deliveries and the oldest one's creation (0 when none) */
    ad_status (*webhook_queue)(ad_meta *m, int64_t *pending, int64_t *oldest_ms, ad_err *err);
} ad_meta_ops;

struct ad_meta {
    const ad_meta_ops *ops;
};

/* Every backend's transaction embeds this first. */
struct ad_meta_tx {
    ad_meta *meta;
};

extern const ad_meta_ops ad_meta_sqlite_ops;
extern const ad_meta_ops ad_meta_postgres_ops;

/* Apply the PostgreSQL schema's pending migrations (assetd migrate). */
ad_status ad_meta_postgres_migrate(const char *url, ad_err *err);

#endif
