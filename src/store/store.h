/* store.h — where assets, conversions, API keys, background jobs and their
 * bytes live: a store of two parts that combine, a metadata part (meta.h:
 * sqlite, postgres) and a blob part (blobs.h: fs, s3), each a table of functions chosen
 * by name. Everyone outside store/ uses the ad_store_* wrappers below: the
 * one place for argument checks, latency measurement and fault injection,
 * and where the blob rules live (docs/store.md):
 *
 *  - a blob is pinned from before it exists at its address until the row
 *    or job that needs it is committed (writer commit -> pin; the
 *    transaction that takes the reference releases the pin), so no
 *    collector removes it in between, in this process or another;
 *  - a transaction that drops the last reference to a blob queues it for
 *    collection; the collector removes it only when, under the blob's
 *    lock, no row, job or live pin refers to it and it is older than the
 *    grace period.
 *
 * Threads: every function may be called from any thread; a transaction, a
 * writer and a reader are used by one thread at a time.
 *
 * Ownership: records filled by a getter belong to the caller
 * (ad_asset_cleanup / ad_job_cleanup); a writer is freed by commit or
 * abort, a transaction by commit or rollback, a reader by close. */
#ifndef AD_STORE_STORE_H
#define AD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/records.h"

typedef struct ad_store ad_store;
typedef struct ad_store_tx ad_store_tx;
typedef struct ad_store_writer ad_store_writer;
typedef struct ad_store_reader ad_store_reader;

/* A blob kept alive for the one who wrote it, until a transaction takes a
 * reference (ad_store_tx_release) or the writer gives up (ad_store_unpin). */
typedef struct {
    char sha256[65];
    char owner[AD_ID_LEN + 1];
    int64_t size; /* bytes */
} ad_blob_pin;

/* Latency and errors of the store's calls since open (for metrics). */
typedef struct {
    uint64_t calls, errors;
    uint64_t total_us;
    uint64_t gc_candidates; /* collection candidates this instance claimed and looked at */
    uint64_t gc_removed;    /* blobs it removed */
} ad_store_stats;

/* The parts a store kind combines ("sqlite" -> sqlite + fs) and, when
 * requires is not NULL, the settings it cannot open without (their names
 * in config/config.c, a static NULL-terminated list). AD_EINVAL listing
 * the known kinds. */
ad_status ad_store_kind_parts(const char *kind, const char **meta, const char **blobs, const char *const **requires,
                              ad_err *err);

/* Open both parts. Unknown part names fail with AD_EINVAL listing the
 * known ones; with cfg->exclusive a second writer fails with AD_ECONFLICT. */
ad_status ad_store_open(const ad_store_config *cfg, ad_store **out, ad_err *err);
void ad_store_close(ad_store *s); /* accepts NULL */

/* What opening would migrate, touching nothing (assetd migrate --dry-run):
 * the store's schema version (*have, 0: none yet), this binary's (*want),
 * and a line describing each version (steps[v - 1]). */
ad_status ad_store_schema_plan(const ad_store_config *cfg, int *have, int *want, const char *const **steps,
                               ad_err *err);

/* 1 when a call may cross a network (keep it off event-loop threads). */
int ad_store_remote(const ad_store *s);

/* The parts whose dependency is not answering now (their circuits are
 * open: calls fail at once with AD_EBUSY until a probe succeeds), each
 * with why; NULL when up. For /healthz. */
typedef struct {
    char database[160];     /* "" when up */
    char object_store[160]; /* "" when up */
} ad_store_health;
int ad_store_down(ad_store *s, ad_store_health *out);
/* This open store's random instance id: the owner of its leases and pins. */
const char *ad_store_instance(const ad_store *s);
void ad_store_get_stats(ad_store *s, ad_store_stats *out);

/* Test hook: the next count calls of the wrapper named op (e.g.
 * "insert_asset", "commit", "writer_commit") fail with st. */
void ad_store_inject_fault(ad_store *s, const char *op, ad_status st, int count);

/* Test hook: pause ms after publishing each blob, before its writer gets
 * the pin back (the window in which another transaction may drop the last
 * other reference to the same bytes). */
void ad_store_inject_publish_delay(ad_store *s, int ms);

/* ---- blobs --------------------------------------------------------- */

/* A writer hashes the bytes as they pass (the address is their SHA-256).
 * commit pins the blob for the caller, then publishes it durably; pin gets
 * the address, size and owner. commit and abort free w. */
ad_status ad_store_writer_new(ad_store *s, ad_store_writer **out, ad_err *err);
ad_status ad_store_writer_write(ad_store_writer *w, const void *data, size_t len, ad_err *err);
int64_t ad_store_writer_size(const ad_store_writer *w);
ad_status ad_store_writer_commit(ad_store_writer *w, ad_blob_pin *pin, ad_err *err);
void ad_store_writer_abort(ad_store_writer *w); /* accepts NULL */

/* The three steps above for bytes in memory. */
ad_status ad_store_put_blob(ad_store *s, const void *data, size_t len, ad_blob_pin *pin, ad_err *err);

/* Give up a pin without taking a reference (the blob becomes collectable). */
void ad_store_unpin(ad_store *s, const ad_blob_pin *pin);

/* Read a blob: AD_ENOTFOUND when absent. fd is a descriptor of the bytes
 * for sendfile, or -1 when the part has none (lent until close). */
ad_status ad_store_reader_open(ad_store *s, const char *sha256, ad_store_reader **out, ad_err *err);
int64_t ad_store_reader_size(const ad_store_reader *r);
int ad_store_reader_fd(const ad_store_reader *r);
ad_status ad_store_reader_read(ad_store_reader *r, uint64_t offset, void *buf, size_t len, size_t *got, ad_err *err);
void ad_store_reader_close(ad_store_reader *r); /* accepts NULL */

/* A whole blob into a new malloc'd buffer; AD_ETOOBIG over max bytes. */
ad_status ad_store_blob_read_all(ad_store *s, const char *sha256, size_t max, void **out, size_t *len, ad_err *err);
ad_status ad_store_blob_stat(ad_store *s, const char *sha256, ad_blob_info *out, ad_err *err);

/* ---- transactions: data operations composed atomically --------------- */

ad_status ad_store_begin(ad_store *s, ad_store_tx **out, ad_err *err);
/* Commit (queueing the blobs that lost their last reference) and free tx;
 * on failure everything is rolled back. */
ad_status ad_store_commit(ad_store_tx *tx, ad_err *err);
void ad_store_rollback(ad_store_tx *tx); /* accepts NULL */

ad_status ad_store_tx_get_asset(ad_store_tx *tx, const char *id, ad_asset *out, ad_err *err);
/* Hold an asset against deletion until tx ends, before a new asset names
 * it as its source (a delete unlinks the children it can see: this makes
 * it see this one). AD_ENOTFOUND when it is gone. */
ad_status ad_store_tx_lock_asset(ad_store_tx *tx, const char *id, ad_err *err);
/* Hold an asset against every other writer of it until tx ends (a
 * read-modify-write); AD_ENOTFOUND when it is gone. Then its custom data,
 * replaced in tx. */
ad_status ad_store_tx_lock_asset_for_update(ad_store_tx *tx, const char *id, ad_err *err);
ad_status ad_store_tx_set_custom_data(ad_store_tx *tx, const char *id, const char *json, ad_err *err);
/* Insert an asset with its conversions; AD_ECONFLICT when the id exists. */
ad_status ad_store_tx_insert_asset(ad_store_tx *tx, const ad_asset *a, ad_err *err);
/* Add or replace a conversion atomically; AD_ENOTFOUND without the asset. */
ad_status ad_store_tx_upsert_conversion(ad_store_tx *tx, const char *asset_id, const ad_conversion *c, ad_err *err);
/* The reference to pin's blob is taken in this transaction: drop the pin
 * with it. */
ad_status ad_store_tx_release(ad_store_tx *tx, const ad_blob_pin *pin, ad_err *err);
/* Record a job working on asset_id (NULL or "": none); hold (may be
 * NULL) is a pinned blob the job keeps until it ends, in place of the
 * writer's pin. */
ad_status ad_store_tx_insert_job(ad_store_tx *tx, const char *id, const char *kind, const char *payload,
                                 const char *asset_id, const ad_blob_pin *hold, ad_err *err);
/* The job ends "succeeded" with result (JSON text) if this instance still
 * holds its lease (else AD_ECONFLICT: another instance took it over). */
ad_status ad_store_tx_finish_job(ad_store_tx *tx, const char *id, const char *result, ad_err *err);

/* ---- one-transaction calls ------------------------------------------ */

ad_status ad_store_get_asset(ad_store *s, const char *id, ad_asset *out, ad_err *err);
/* A page of the assets f selects (NULL: all) in f's order (newest first
 * unless f->oldest_first), after cursor (the seq of the previous page's
 * last asset; <= 0: from the start), answered from an index; *out is an
 * array of *n assets, each released with ad_asset_cleanup, then free */
ad_status ad_store_list_assets(ad_store *s, const ad_asset_filter *f, int64_t cursor, int limit, ad_asset **out, int *n,
                               ad_err *err);
/* Insert an asset whose blob is pin (released with the insert). */
ad_status ad_store_insert_asset(ad_store *s, const ad_asset *a, const ad_blob_pin *pin, ad_err *err);
ad_status ad_store_delete_asset(ad_store *s, const char *id, ad_err *err);
ad_status ad_store_set_custom_data(ad_store *s, const char *id, const char *json, ad_err *err);
ad_status ad_store_get_conversion(ad_store *s, const char *asset_id, const char *name, ad_conversion *out, ad_err *err);
ad_status ad_store_delete_conversion(ad_store *s, const char *asset_id, const char *name, ad_err *err);

/* API keys, stored by the SHA-256 hex of the key. add: a new key's hash,
 * label (may be NULL) and scope (ad_scope); id_out (may be NULL) gets the
 * id operators see it by. has_key: AD_OK for a known, unrevoked key
 * (id_out and scope_out, may be NULL, get its id and scope) or
 * AD_ENOTFOUND. touch records its use now. revoke: at
 * once, for every server on the store; AD_ENOTFOUND for an unknown id.
 * list: *out is an array of *n, freed with free. */
ad_status ad_store_add_key(ad_store *s, const char *key_sha256, const char *label, int scope, char id_out[17],
                           ad_err *err);
ad_status ad_store_has_key(ad_store *s, const char *key_sha256, char id_out[17], int *scope_out, ad_err *err);
ad_status ad_store_touch_key(ad_store *s, const char *id, ad_err *err);
ad_status ad_store_revoke_key(ad_store *s, const char *id, ad_err *err);
ad_status ad_store_list_keys(ad_store *s, ad_key_info **out, int *n, ad_err *err);

ad_status ad_store_get_job(ad_store *s, const char *id, ad_job *out, ad_err *err);
/* Claim the oldest due job (or one whose lease expired) for this instance,
 * leased for lease_ms. AD_ENOTFOUND when none. */
ad_status ad_store_claim_job(ad_store *s, int64_t lease_ms, ad_job *out, ad_err *err);
/* Extend this instance's lease; AD_ECONFLICT when it was lost. */
ad_status ad_store_renew_lease(ad_store *s, const char *id, int64_t lease_ms, ad_err *err);
/* A failed attempt: queued again after delay_ms, or (final) failed for
 * good, releasing what the job held. */
ad_status ad_store_fail_job(ad_store *s, const char *id, const char *reason, int final, int64_t delay_ms, ad_err *err);

/* How many jobs are in each ad_job_status (counts[AD_JOB_QUEUED], ...). */
ad_status ad_store_count_jobs(ad_store *s, int64_t counts[4], ad_err *err);

/* The jobs list: f's jobs newest first, seq < before (<= 0: from the
 * newest), up to limit; *out freed with ad_job_cleanup each, then free. */
ad_status ad_store_list_job_page(ad_store *s, const ad_job_filter *f, int64_t before, int limit, ad_job **out, int *n,
                                 ad_err *err);

/* Retention: up to max finished jobs that ended more than older_than_ms
 * ago go; *n counts them. */
ad_status ad_store_prune_jobs(ad_store *s, int64_t older_than_ms, int max, int *n, ad_err *err);

/* ---- webhooks and their events (events.c) ----------------------------
 *
 * Every change that is an event (asset.created, asset.deleted,
 * conversion.created, conversion.deleted, job.succeeded, job.failed) is
 * recorded by the wrapper that makes it, in its transaction: a pending
 * delivery per subscribed endpoint. */

/* A new endpoint (the caller made its id, secret and created_at);
 * AD_ETOOBIG when the store has max. */
ad_status ad_store_add_webhook(ad_store *s, const ad_webhook *w, int max, ad_err *err);
/* Every endpoint, oldest first, or (id not NULL) that one (*n 0: none);
 * *out freed with ad_webhook_cleanup each, then free. */
ad_status ad_store_list_webhooks(ad_store *s, const char *id, ad_webhook **out, int *n, ad_err *err);
/* AD_ENOTFOUND; pending deliveries and the log go with it. */
ad_status ad_store_delete_webhook(ad_store *s, const char *id, ad_err *err);
/* Up to max due deliveries, leased to this instance for lease_ms (each
 * released with ad_webhook_delivery_cleanup). */
ad_status ad_store_claim_deliveries(ad_store *s, int64_t lease_ms, int max, ad_webhook_delivery *out, int *n,
                                    ad_err *err);
/* The end of an attempt at d (RETRY: due again at next_ms), logged as a;
 * AD_ECONFLICT when the lease was lost. */
ad_status ad_store_end_delivery(ad_store *s, const ad_webhook_delivery *d, ad_delivery_outcome o, int64_t next_ms,
                                const ad_webhook_attempt *a, ad_err *err);
/* An endpoint's logged attempts, newest first, seq < before (<= 0: newest). */
ad_status ad_store_list_attempts(ad_store *s, const char *webhook_id, int64_t before, int limit,
                                 ad_webhook_attempt *out, int *n, ad_err *err);
/* Forget up to max attempts logged, and deliveries ended, before before_ms. */
ad_status ad_store_prune_webhooks(ad_store *s, int64_t before_ms, int max, ad_err *err);
/* Pending deliveries and the oldest one's creation, ms (0: none). */
ad_status ad_store_webhook_queue(ad_store *s, int64_t *pending, int64_t *oldest_ms, ad_err *err);

/* ---- derived blobs (derived.c): masks, delivery variants ------------ */

/* The blob derived under key (a hex SHA-256), marking it used;
 * AD_ENOTFOUND when there is none. */
ad_status ad_store_get_derived(ad_store *s, const char *key, char blob_sha[65], ad_err *err);
/* Record pin's blob as the one of kind ("mask", "variant") derived under
 * key from the blob source, in one transaction that takes pin's reference;
 * *stored = 1 when recorded, 0 when key has one already (another writer's
 * won) or nothing refers to source any more (what is made from it must
 * not outlive it): then, as on failure, the blob becomes collectable.
 * Blobs of the kind beyond max_bytes in all (0: no bound) go, least
 * recently used first. */
ad_status ad_store_put_derived(ad_store *s, const char *kind, const char *key, const char *source,
                               const ad_blob_pin *pin, int64_t max_bytes, int *stored, ad_err *err);
/* Forget key's derived blob (it was found damaged): the row goes, and
 * blob_sha's bytes at once unless something else refers to them. */
ad_status ad_store_drop_derived(ad_store *s, const char *key, const char *blob_sha, ad_err *err);
/* How many derived blobs of a kind are stored and their bytes (a counter,
 * no scan). */
ad_status ad_store_derived_usage(ad_store *s, const char *kind, int64_t *count, int64_t *bytes, ad_err *err);

/* ---- store copy (copy.h) -------------------------------------------- */

/* A key as it is in another store (no-op when its hash is here). */
ad_status ad_store_import_key(ad_store *s, const ad_key_info *k, ad_err *err);
/* Jobs by id after `after` ("" from the first), up to limit; *out freed
 * with ad_job_cleanup each, then free. */
ad_status ad_store_list_jobs(ad_store *s, const char *after, int limit, ad_job **out, int *n, ad_err *err);
/* The blobs a job holds, up to max. */
ad_status ad_store_job_holds(ad_store *s, const char *id, char (*shas)[65], int max, int *n, ad_err *err);
/* Record a job as it is in another store, holding the n pinned blobs (the
 * pins released with it). */
ad_status ad_store_tx_import_job(ad_store_tx *tx, const ad_job *j, const ad_blob_pin *holds, int n, ad_err *err);

/* ---- garbage collection --------------------------------------------- */

/* Collect the queued blobs whose grace period has passed; *removed counts
 * the blobs removed. */
ad_status ad_store_gc_run(ad_store *s, int *removed, ad_err *err);
/* Look at every blob: remove those nothing refers to and older than the
 * grace period (at_start on an exclusive store: any age, since no other
 * writer can exist). No longer run by the server (what a crash leaves is
 * found from candidates: expired pins; see ad_store_gc_run); for tools. */
ad_status ad_store_gc_sweep(ad_store *s, int at_start, int *removed, ad_err *err);

/* `assetd store check`: the full reconciliation, on demand, never at
 * start or on a timer: every blob against the rows (orphans older than
 * the grace period; removed with repair), and every asset's and
 * conversion's blob against the blob part (missing). per_s > 0 bounds the
 * blobs looked at a second, so a large store keeps serving. */
typedef struct {
    int64_t blobs, orphans, orphan_bytes, removed;
    int64_t rows, missing;
} ad_store_check_report;
ad_status ad_store_check(ad_store *s, int repair, double per_s, ad_store_check_report *r, ad_err *err);

#endif
