/* store.c — the two parts combined: registries, open/close, transactions
 * and the ad_store_* wrappers of records (argument checks, latency, fault
 * injection). Blobs and pins are in blob_io.c, the collector in gc.c
 * (store_impl.h says what they share). See store.h and docs/store.md. */
#include "store/store.h"
#include "store/store_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/sha256.h"
#include "store/blobs.h"
#include "store/meta.h"

static const ad_meta_ops *const metas[] = {&ad_meta_sqlite_ops, &ad_meta_postgres_ops};
static const ad_blobs_ops *const blob_parts[] = {&ad_blobs_fs_ops, &ad_blobs_s3_ops};

/* The store kinds a person names (--store): the two parts they combine
 * and the settings that must not be empty, by their names in config. */
static const struct {
    const char *kind, *meta, *blobs;
    const char *const *requires;
} kinds[] = {
    {"sqlite", "sqlite", "fs", (const char *const[]){NULL}},
    {"postgres", "postgres", "s3",
     (const char *const[]){"database_url", "s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key", NULL}},
};

int64_t ad_st_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t ad_st_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A failure injected for op, or AD_OK. */
ad_status ad_st_fault(ad_store *s, const char *op, ad_err *err)
{
    if (__atomic_load_n(&s->fault_left, __ATOMIC_ACQUIRE) == 0)
        return AD_OK;
    ad_status st = AD_OK;
    pthread_mutex_lock(&s->fault_lock);
    if (s->fault_left > 0 && strcmp(s->fault_op, op) == 0) {
        s->fault_left--;
        st = ad_err_set(err, s->fault_status, "injected fault in %s", op);
    }
    pthread_mutex_unlock(&s->fault_lock);
    return st;
}

void ad_store_inject_publish_delay(ad_store *s, int ms)
{
    __atomic_store_n(&s->publish_delay_ms, ms, __ATOMIC_RELAXED);
}

void ad_store_inject_fault(ad_store *s, const char *op, ad_status st, int count)
{
    pthread_mutex_lock(&s->fault_lock);
    snprintf(s->fault_op, sizeof s->fault_op, "%s", op);
    s->fault_status = st;
    __atomic_store_n(&s->fault_left, count, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->fault_lock);
}

void ad_st_account(ad_store *s, uint64_t t0, ad_status st)
{
    __atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&s->total_us, ad_st_mono_us() - t0, __ATOMIC_RELAXED);
    if (st != AD_OK && st != AD_ENOTFOUND)
        __atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
}

/* Every wrapper: injected fault, then the call, timed and counted. */

int ad_store_down(ad_store *s, ad_store_health *out)
{
    memset(out, 0, sizeof *out);
    int down = 0;
    if (s->meta->ops->down && s->meta->ops->down(s->meta, out->database, sizeof out->database))
        down = 1;
    if (s->blobs->ops->down && s->blobs->ops->down(s->blobs, out->object_store, sizeof out->object_store))
        down = 1;
    return down;
}

void ad_store_get_stats(ad_store *s, ad_store_stats *out)
{
    out->calls = __atomic_load_n(&s->calls, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
    out->total_us = __atomic_load_n(&s->total_us, __ATOMIC_RELAXED);
    out->gc_candidates = __atomic_load_n(&s->gc_candidates, __ATOMIC_RELAXED);
    out->gc_removed = __atomic_load_n(&s->gc_removed, __ATOMIC_RELAXED);
}

int ad_st_sha_ok(const char *sha, ad_err *err)
{
    if (sha && ad_sha256_valid(sha))
        return 1;
    ad_err_set(err, AD_EINVAL, "bad blob address");
    return 0;
}

/* ------------------------------------------------------------ open/close */

ad_status ad_store_kind_parts(const char *kind, const char **meta, const char **blobs, const char *const **requires,
                              ad_err *err)
{
    char known[128] = "";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) == 0) {
            *meta = kinds[i].meta;
            *blobs = kinds[i].blobs;
            if (requires)
            *requires = kinds[i].requires;
            return AD_OK;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", kinds[i].kind);
    }
    return ad_err_set(err, AD_EINVAL, "unknown store '%s' (known: %s)", kind, known);
}

ad_status ad_store_schema_plan(const ad_store_config *cfg, int *have, int *want, const char *const **steps, ad_err *err)
{
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++)
        if (cfg->meta && strcmp(metas[i]->name, cfg->meta) == 0)
            return metas[i]->schema_plan(cfg, have, want, steps, err);
    return ad_err_set(err, AD_EINVAL, "unknown metadata part '%s'", cfg->meta ? cfg->meta : "");
}

ad_status ad_store_open(const ad_store_config *cfg, ad_store **out, ad_err *err)
{
    const ad_meta_ops *mo = NULL;
    const ad_blobs_ops *bo = NULL;
    char known[128] = "";
    *out = NULL;
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        if (strcmp(metas[i]->name, cfg->meta) == 0)
            mo = metas[i];
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", metas[i]->name);
    }
    if (mo == NULL)
        return ad_err_set(err, AD_EINVAL, "unknown metadata store '%s' (known: %s)", cfg->meta, known);
    known[0] = '\0';
    for (size_t i = 0; i < sizeof blob_parts / sizeof blob_parts[0]; i++) {
        if (strcmp(blob_parts[i]->name, cfg->blobs) == 0)
            bo = blob_parts[i];
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", blob_parts[i]->name);
    }
    if (bo == NULL)
        return ad_err_set(err, AD_EINVAL, "unknown blob store '%s' (known: %s)", cfg->blobs, known);
    ad_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    pthread_mutex_init(&s->fault_lock, NULL);
    pthread_mutex_init(&s->unpin_lock, NULL);
    s->grace_ms = cfg->gc_grace_ms > 0 ? cfg->gc_grace_ms : 0;
    s->pin_ttl_ms = cfg->pin_ttl_ms > 0 ? cfg->pin_ttl_ms : 3600 * 1000;
    /* only a part that can hold the only-writer lock makes a store
     * exclusive; many instances share the others */
    ad_store_config part_cfg = *cfg;
    part_cfg.exclusive = cfg->exclusive && mo->single_writer;
    s->exclusive = part_cfg.exclusive;
    ad_status rc = ad_id_new(s->instance, err);
    if (rc == AD_OK)
        rc = mo->open(&part_cfg, &s->meta, err);
    if (rc == AD_OK)
        rc = bo->open(&part_cfg, &s->blobs, err);
    if (rc != AD_OK) {
        ad_store_close(s);
        return rc;
    }
    *out = s;
    return AD_OK;
}

void ad_store_close(ad_store *s)
{
    if (s == NULL)
        return;
    if (s->blobs)
        s->blobs->ops->close(s->blobs);
    if (s->meta)
        s->meta->ops->close(s->meta);
    pthread_mutex_destroy(&s->fault_lock);
    pthread_mutex_destroy(&s->unpin_lock);
    free(s->unpins);
    free(s);
}

int ad_store_remote(const ad_store *s) { return s->meta->ops->remote || s->blobs->ops->remote; }
const char *ad_store_instance(const ad_store *s) { return s->instance; }

/* ----------------------------------------------------------- transactions */

void ad_st_note_dropped(void *ctx, const char *sha)
{
    ad_store_tx *tx = ctx;
    if (sha == NULL || !ad_sha256_valid(sha))
        return;
    for (int i = 0; i < tx->ndropped; i++)
        if (strcmp(tx->dropped[i], sha) == 0)
            return;
    if (tx->ndropped == tx->cap) {
        int cap = tx->cap ? tx->cap * 2 : 8;
        char(*d)[65] = realloc(tx->dropped, sizeof *d * (size_t)cap);
        if (d == NULL) {
            tx->oom = AD_ENOMEM;
            return;
        }
        tx->dropped = d;
        tx->cap = cap;
    }
    memcpy(tx->dropped[tx->ndropped++], sha, 65);
}

ad_status ad_st_begin_tx(ad_store *s, ad_store_tx **out, ad_err *err)
{
    ad_store_tx *tx = calloc(1, sizeof *tx);
    *out = NULL;
    if (tx == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    tx->s = s;
    ad_status rc = s->meta->ops->begin(s->meta, &tx->mt, err);
    if (rc != AD_OK) {
        free(tx);
        return rc;
    }
    *out = tx;
    return AD_OK;
}

ad_status ad_store_begin(ad_store *s, ad_store_tx **out, ad_err *err) { CALL(s, "begin", ad_st_begin_tx(s, out, err)); }

void ad_store_rollback(ad_store_tx *tx)
{
    if (tx == NULL)
        return;
    tx->s->meta->ops->rollback(tx->mt);
    free(tx->dropped);
    free(tx);
}

ad_status ad_st_commit_tx(ad_store_tx *tx, ad_err *err)
{
    ad_store *s = tx->s;
    const ad_meta_ops *m = s->meta->ops;
    int64_t now = ad_st_now_ms();
    ad_status rc = tx->oom ? ad_err_set(err, AD_ENOMEM, "out of memory") : AD_OK;
    int queued = 0;
    /* a blob that lost its last reference here is queued in the same
     * transaction, so a crash after the commit cannot leak it */
    for (int i = 0; rc == AD_OK && i < tx->ndropped; i++) {
        int64_t refs = 0;
        rc = m->blob_refs(s->meta, tx->mt, tx->dropped[i], now, &refs, err);
        if (rc == AD_OK && refs == 0) {
            rc = m->gc_enqueue(tx->mt, tx->dropped[i], now + s->grace_ms, err);
            if (i != queued)
                memcpy(tx->dropped[queued], tx->dropped[i], 65);
            queued++;
        }
    }
    if (rc == AD_OK)
        rc = ad_st_fault(s, "commit", err);
    if (rc != AD_OK) {
        ad_store_rollback(tx);
        return rc;
    }
    rc = m->commit(tx->mt, err);
    if (rc == AD_OK && s->grace_ms == 0)
        for (int i = 0; i < queued; i++)
            ad_st_gc_one(s, tx->dropped[i], 0, NULL);
    free(tx->dropped);
    free(tx);
    return rc;
}

ad_status ad_store_commit(ad_store_tx *tx, ad_err *err)
{
    ad_store *s = tx->s;
    uint64_t t0 = ad_st_mono_us();
    ad_status st = ad_st_commit_tx(tx, err);
    ad_st_account(s, t0, st);
    return st;
}

ad_status ad_store_tx_get_asset(ad_store_tx *tx, const char *id, ad_asset *out, ad_err *err)
{
    memset(out, 0, sizeof *out);
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(tx->s, "get_asset", tx->s->meta->ops->get_asset(tx->s->meta, tx->mt, id, out, err));
}

ad_status ad_store_tx_lock_asset(ad_store_tx *tx, const char *id, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(tx->s, "lock_asset", tx->s->meta->ops->lock_asset(tx->mt, id, 0, err));
}

ad_status ad_store_tx_lock_asset_for_update(ad_store_tx *tx, const char *id, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(tx->s, "lock_asset", tx->s->meta->ops->lock_asset(tx->mt, id, 1, err));
}

ad_status ad_store_tx_set_custom_data(ad_store_tx *tx, const char *id, const char *json, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(tx->s, "set_custom_data", tx->s->meta->ops->set_custom_data(tx->mt, id, json, err));
}

static ad_status check_asset(const ad_asset *a, ad_err *err)
{
    if (!ad_id_valid(a->id) || !ad_sha256_valid(a->sha256) || a->filename == NULL || a->content_type == NULL ||
        (a->source_asset_id[0] && !ad_id_valid(a->source_asset_id)))
        return ad_err_set(err, AD_EINVAL, "malformed asset record");
    for (int i = 0; i < a->nconversions; i++)
        if (!ad_sha256_valid(a->conversions[i].sha256) || !a->conversions[i].name[0])
            return ad_err_set(err, AD_EINVAL, "malformed conversion record");
    return AD_OK;
}

static ad_status insert_asset(ad_store_tx *tx, const ad_asset *a, ad_err *err)
{
    ad_status rc = tx->s->meta->ops->insert_asset(tx->mt, a, err);
    return rc == AD_OK ? ad_st_emit_asset(tx, "asset.created", a->id, err) : rc;
}

ad_status ad_store_tx_insert_asset(ad_store_tx *tx, const ad_asset *a, ad_err *err)
{
    ad_status rc = check_asset(a, err);
    if (rc != AD_OK)
        return rc;
    CALL(tx->s, "insert_asset", insert_asset(tx, a, err));
}

static ad_status upsert_conversion(ad_store_tx *tx, const char *asset_id, const ad_conversion *c, ad_err *err)
{
    ad_status rc = tx->s->meta->ops->upsert_conversion(tx->mt, asset_id, c, ad_st_note_dropped, tx, err);
    return rc == AD_OK ? ad_st_emit_conversion(tx, "conversion.created", asset_id, c, err) : rc;
}

ad_status ad_store_tx_upsert_conversion(ad_store_tx *tx, const char *asset_id, const ad_conversion *c, ad_err *err)
{
    if (!ad_id_valid(asset_id) || !ad_st_sha_ok(c->sha256, err) || !c->name[0])
        return ad_err_set(err, AD_EINVAL, "malformed conversion record");
    CALL(tx->s, "upsert_conversion", upsert_conversion(tx, asset_id, c, err));
}

ad_status ad_store_tx_release(ad_store_tx *tx, const ad_blob_pin *pin, ad_err *err)
{
    if (!ad_st_sha_ok(pin->sha256, err))
        return AD_EINVAL;
    CALL(tx->s, "release", tx->s->meta->ops->unpin(tx->mt, pin->sha256, pin->owner, ad_st_note_dropped, tx, err));
}

static ad_status insert_job(ad_store_tx *tx, const char *id, const char *kind, const char *payload,
                            const char *asset_id, const ad_blob_pin *hold, ad_err *err)
{
    const ad_meta_ops *m = tx->s->meta->ops;
    char owner[40];
    ad_status rc = m->insert_job(tx->mt, id, kind, payload, asset_id, err);
    if (rc == AD_OK && hold) {
        snprintf(owner, sizeof owner, "job:%s", id);
        rc = m->pin_blob(tx->mt, hold->sha256, owner, 0, err);
        if (rc == AD_OK)
            rc = m->unpin(tx->mt, hold->sha256, hold->owner, NULL, NULL, err);
    }
    return rc;
}

ad_status ad_store_tx_insert_job(ad_store_tx *tx, const char *id, const char *kind, const char *payload,
                                 const char *asset_id, const ad_blob_pin *hold, ad_err *err)
{
    if (!ad_id_valid(id) || kind == NULL || !kind[0] || strlen(kind) > 31 || payload == NULL ||
        (hold && !ad_sha256_valid(hold->sha256)) || (asset_id && asset_id[0] && !ad_id_valid(asset_id)))
        return ad_err_set(err, AD_EINVAL, "malformed job");
    CALL(tx->s, "insert_job", insert_job(tx, id, kind, payload, asset_id, hold, err));
}

static ad_status finish_job(ad_store_tx *tx, const char *id, const char *result, ad_err *err)
{
    const ad_meta_ops *m = tx->s->meta->ops;
    char owner[40];
    snprintf(owner, sizeof owner, "job:%s", id);
    ad_status rc = m->finish_job(tx->mt, id, tx->s->instance, result, err);
    if (rc == AD_OK)
        rc = m->unpin(tx->mt, NULL, owner, ad_st_note_dropped, tx, err);
    return rc == AD_OK ? ad_st_emit_job(tx, "job.succeeded", id, err) : rc;
}

ad_status ad_store_tx_finish_job(ad_store_tx *tx, const char *id, const char *result, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_EINVAL, "malformed job id");
    CALL(tx->s, "finish_job", finish_job(tx, id, result ? result : "{}", err));
}

/* ------------------------------------------------ one-transaction calls */

ad_status ad_st_in_tx(ad_store *s, ad_st_tx_fn fn, const void *a, const void *b, const void *c, ad_err *err)
{
    ad_store_tx *tx;
    ad_status rc = ad_st_begin_tx(s, &tx, err);
    if (rc != AD_OK)
        return rc;
    if ((rc = fn(tx, a, b, c, err)) != AD_OK) {
        ad_store_rollback(tx);
        return rc;
    }
    return ad_st_commit_tx(tx, err);
}

ad_status ad_store_get_asset(ad_store *s, const char *id, ad_asset *out, ad_err *err)
{
    memset(out, 0, sizeof *out);
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(s, "get_asset", s->meta->ops->get_asset(s->meta, NULL, id, out, err));
}

ad_status ad_store_list_assets(ad_store *s, const ad_asset_filter *f, int64_t cursor, int limit, ad_asset **out, int *n,
                               ad_err *err)
{
    static const ad_asset_filter all;
    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > 100000)
        return ad_err_set(err, AD_EINVAL, "limit out of range");
    if (f == NULL)
        f = &all;
    if (f->ncustom < 0 || f->ncustom > AD_FILTER_CUSTOM_MAX ||
        (f->source_asset_id[0] && !ad_id_valid(f->source_asset_id)))
        return ad_err_set(err, AD_EINVAL, "malformed filter");
    CALL(s, "list_assets", s->meta->ops->list_assets(s->meta, f, cursor, limit, out, n, err));
}

static ad_status insert_asset_fn(ad_store_tx *tx, const void *a, const void *pin, const void *c, ad_err *err)
{
    (void)c;
    ad_status rc = insert_asset(tx, a, err);
    if (rc == AD_OK && pin)
        rc = tx->s->meta->ops->unpin(tx->mt, ((const ad_blob_pin *)pin)->sha256, ((const ad_blob_pin *)pin)->owner,
                                     ad_st_note_dropped, tx, err);
    return rc;
}

ad_status ad_store_insert_asset(ad_store *s, const ad_asset *a, const ad_blob_pin *pin, ad_err *err)
{
    ad_status rc = check_asset(a, err);
    if (rc != AD_OK)
        return rc;
    CALL(s, "insert_asset", ad_st_in_tx(s, insert_asset_fn, a, pin, NULL, err));
}

static ad_status delete_asset_fn(ad_store_tx *tx, const void *id, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    /* the event carries the asset as it was: rendered before it goes (a
     * rollback drops both) */
    ad_status rc = ad_st_emit_asset(tx, "asset.deleted", id, err);
    if (rc == AD_ENOTFOUND)
        ad_err_clear(err);
    return rc == AD_OK || rc == AD_ENOTFOUND ? tx->s->meta->ops->delete_asset(tx->mt, id, ad_st_note_dropped, tx, err)
                                             : rc;
}

ad_status ad_store_delete_asset(ad_store *s, const char *id, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(s, "delete_asset", ad_st_in_tx(s, delete_asset_fn, id, NULL, NULL, err));
}

static ad_status custom_data_fn(ad_store_tx *tx, const void *id, const void *json, const void *c, ad_err *err)
{
    (void)c;
    return tx->s->meta->ops->set_custom_data(tx->mt, id, json, err);
}

ad_status ad_store_set_custom_data(ad_store *s, const char *id, const char *json, ad_err *err)
{
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    if (json == NULL)
        return ad_err_set(err, AD_EINVAL, "no custom data");
    CALL(s, "set_custom_data", ad_st_in_tx(s, custom_data_fn, id, json, NULL, err));
}

ad_status ad_store_get_conversion(ad_store *s, const char *asset_id, const char *name, ad_conversion *out, ad_err *err)
{
    if (!ad_id_valid(asset_id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(s, "get_conversion", s->meta->ops->get_conversion(s->meta, NULL, asset_id, name, out, err));
}

static ad_status delete_conversion_fn(ad_store_tx *tx, const void *id, const void *name, const void *c, ad_err *err)
{
    (void)c;
    ad_conversion cv;
    ad_status rc = tx->s->meta->ops->get_conversion(tx->s->meta, tx->mt, id, name, &cv, err);
    if (rc == AD_OK)
        rc = tx->s->meta->ops->delete_conversion(tx->mt, id, name, ad_st_note_dropped, tx, err);
    return rc == AD_OK ? ad_st_emit_conversion(tx, "conversion.deleted", id, &cv, err) : rc;
}

ad_status ad_store_delete_conversion(ad_store *s, const char *asset_id, const char *name, ad_err *err)
{
    if (!ad_id_valid(asset_id))
        return ad_err_set(err, AD_ENOTFOUND, "asset not found");
    CALL(s, "delete_conversion", ad_st_in_tx(s, delete_conversion_fn, asset_id, name, NULL, err));
}

typedef struct {
    const char *id, *label;
    int scope;
} key_args;

static ad_status add_key_fn(ad_store_tx *tx, const void *sha, const void *args, const void *c, ad_err *err)
{
    (void)c;
    const key_args *k = args;
    return tx->s->meta->ops->add_key(tx->mt, sha, k->id, k->label, k->scope, err);
}

ad_status ad_store_add_key(ad_store *s, const char *key_sha256, const char *label, int scope, char id_out[17],
                           ad_err *err)
{
    char id[AD_ID_LEN + 1];
    if (!ad_st_sha_ok(key_sha256, err))
        return AD_EINVAL;
    if (scope < 0 || scope >= AD_SCOPE_COUNT)
        return ad_err_set(err, AD_EINVAL, "a key's scope is read, write or admin");
    if (label && strlen(label) > 127)
        return ad_err_set(err, AD_EINVAL, "a key's label is at most 127 bytes");
    ad_status rc = ad_id_new(id, err);
    if (rc != AD_OK)
        return rc;
    id[16] = '\0';
    if (id_out)
        memcpy(id_out, id, 17);
    key_args k = {id, label ? label : "", scope};
    CALL(s, "add_key", ad_st_in_tx(s, add_key_fn, key_sha256, &k, NULL, err));
}

ad_status ad_store_has_key(ad_store *s, const char *key_sha256, char id_out[17], int *scope_out, ad_err *err)
{
    char id[17];
    int scope;
    if (!ad_st_sha_ok(key_sha256, err))
        return AD_EINVAL;
    CALL(s, "has_key",
         s->meta->ops->has_key(s->meta, key_sha256, id_out ? id_out : id, scope_out ? scope_out : &scope, err));
}

static int key_id_ok(const char *id)
{
    if (id == NULL || strlen(id) != 16)
        return 0;
    for (int i = 0; i < 16; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

static ad_status touch_key_fn(ad_store_tx *tx, const void *id, const void *when, const void *c, ad_err *err)
{
    (void)c;
    return tx->s->meta->ops->touch_key(tx->mt, id, when, err);
}

ad_status ad_store_touch_key(ad_store *s, const char *id, ad_err *err)
{
    char now[32];
    if (!key_id_ok(id))
        return ad_err_set(err, AD_ENOTFOUND, "no such key");
    ad_time_rfc3339(now);
    CALL(s, "touch_key", ad_st_in_tx(s, touch_key_fn, id, now, NULL, err));
}

static ad_status revoke_key_fn(ad_store_tx *tx, const void *id, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    return tx->s->meta->ops->revoke_key(tx->mt, id, err);
}

ad_status ad_store_revoke_key(ad_store *s, const char *id, ad_err *err)
{
    if (!key_id_ok(id))
        return ad_err_set(err, AD_ENOTFOUND, "no key with id '%.40s' (ids are 16 hex digits: assetd keys list)", id);
    CALL(s, "revoke_key", ad_st_in_tx(s, revoke_key_fn, id, NULL, NULL, err));
}

ad_status ad_store_list_keys(ad_store *s, ad_key_info **out, int *n, ad_err *err)
{
    CALL(s, "list_keys", s->meta->ops->list_keys(s->meta, out, n, err));
}

ad_status ad_store_get_job(ad_store *s, const char *id, ad_job *out, ad_err *err)
{
    memset(out, 0, sizeof *out);
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_ENOTFOUND, "job not found");
    CALL(s, "get_job", s->meta->ops->get_job(s->meta, id, out, err));
}

ad_status ad_store_claim_job(ad_store *s, int64_t lease_ms, ad_job *out, ad_err *err)
{
    memset(out, 0, sizeof *out);
    CALL(s, "claim_job", s->meta->ops->claim_job(s->meta, s->instance, ad_st_now_ms(), lease_ms, out, err));
}

ad_status ad_store_renew_lease(ad_store *s, const char *id, int64_t lease_ms, ad_err *err)
{
    CALL(s, "renew_lease", s->meta->ops->renew_lease(s->meta, id, s->instance, ad_st_now_ms() + lease_ms, err));
}

static ad_status fail_job_fn(ad_store_tx *tx, const void *id, const void *reason, const void *how, ad_err *err)
{
    const int64_t *h = how; /* final, delay */
    const ad_meta_ops *m = tx->s->meta->ops;
    ad_status rc = m->fail_job(tx->mt, id, tx->s->instance, reason, (int)h[0], ad_st_now_ms() + h[1], err);
    if (rc == AD_OK && h[0]) {
        char owner[40];
        snprintf(owner, sizeof owner, "job:%s", (const char *)id);
        rc = m->unpin(tx->mt, NULL, owner, ad_st_note_dropped, tx, err);
        if (rc == AD_OK)
            rc = ad_st_emit_job(tx, "job.failed", id, err);
    }
    return rc;
}

ad_status ad_store_fail_job(ad_store *s, const char *id, const char *reason, int final, int64_t delay_ms, ad_err *err)
{
    const int64_t how[2] = {final, delay_ms > 0 ? delay_ms : 0};
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_EINVAL, "malformed job id");
    CALL(s, "fail_job", ad_st_in_tx(s, fail_job_fn, id, reason ? reason : "", how, err));
}

/* ------------------------------------------- the blob rules' shared steps */

ad_status ad_st_unpin_fn(ad_store_tx *tx, const void *pin, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    const ad_blob_pin *p = pin;
    return tx->s->meta->ops->unpin(tx->mt, p->sha256, p->owner, ad_st_note_dropped, tx, err);
}

typedef struct {
    char (*v)[65];
    int n;
} dropped_list;

static void remember(void *ctx, const char *sha)
{
    dropped_list *l = ctx;
    char(*g)[65] = realloc(l->v, sizeof *g * (size_t)(l->n + 1));
    if (g == NULL)
        return; /* the blob stays until a sweep finds it unreferenced */
    l->v = g;
    snprintf(l->v[l->n++], 65, "%s", sha);
}

/* Collect one blob if, under its lock, nothing refers to it and it is
 * older than grace; its queue entry goes either way (it comes back when a
 * later transaction drops a reference again). The blob is removed while
 * the transaction holds the lock and before the dequeue commits: a crash
 * in between leaves a queue entry for a blob that is gone, which the next
 * run drops. */
void ad_st_gc_one(ad_store *s, const char *sha, int64_t grace, int *removed)
{
    const ad_meta_ops *m = s->meta->ops;
    ad_meta_tx *tx;
    ad_err err = AD_ERR_INIT;
    int64_t refs = 1, now = ad_st_now_ms();
    ad_blob_info info;
    if (m->begin(s->meta, &tx, &err) != AD_OK)
        return;
    ad_status rc = m->lock_blob(tx, sha, &err);
    if (rc == AD_OK)
        rc = m->blob_refs(s->meta, tx, sha, now, &refs, &err);
    if (rc == AD_OK && refs == 0) {
        ad_status st = s->blobs->ops->stat(s->blobs, sha, &info, &err);
        if (st == AD_OK && grace > 0 && now - info.mtime_ms < grace) {
            /* not yet: due when its grace ends. The enqueue keeps a later
             * due time, and a claimed entry's is its claim's lease (a
             * minute on PostgreSQL), so the defer sets it exactly */
            rc = m->gc_enqueue(tx, sha, info.mtime_ms + grace, &err);
            if (rc == AD_OK)
                rc = m->gc_defer(tx, sha, info.mtime_ms + grace, &err);
            goto end;
        }
        ad_err_clear(&err);
        /* what was derived from these bytes goes with them (the derived
         * blobs are queued here, in this transaction, so a crash cannot
         * leak them) */
        dropped_list derived = {0};
        rc = m->drop_derived(tx, NULL, sha, remember, &derived, &err);
        for (int i = 0; rc == AD_OK && i < derived.n; i++)
            rc = m->gc_enqueue(tx, derived.v[i], now, &err);
        free(derived.v);
        if (rc != AD_OK)
            goto end;
        if (st == AD_OK && (st = s->blobs->ops->remove(s->blobs, sha, &err)) == AD_OK && removed)
            (*removed)++;
        if (st != AD_OK && st != AD_ENOTFOUND)
            rc = st; /* keep it queued: try again later */
    }
    if (rc == AD_OK)
        rc = m->gc_dequeue(tx, sha, &err);
end:
    if (rc == AD_OK) {
        m->commit(tx, &err);
        return;
    }
    m->rollback(tx);
    /* not collected (the object store did not answer, say): due again in
     * two seconds rather than when its claim's lease ends */
    ad_err_clear(&err);
    if (m->begin(s->meta, &tx, &err) != AD_OK)
        return; /* the database is out too: the lease brings it back */
    if (m->gc_defer(tx, sha, ad_st_now_ms() + 2000, &err) == AD_OK)
        m->commit(tx, &err);
    else
        m->rollback(tx);
}

/* ------------------------------------------------------------ store copy */

static ad_status import_key_fn(ad_store_tx *tx, const void *k, const void *b, const void *c, ad_err *err)
{
    (void)b, (void)c;
    return tx->s->meta->ops->import_key(tx->mt, k, err);
}

ad_status ad_store_import_key(ad_store *s, const ad_key_info *k, ad_err *err)
{
    if (!ad_st_sha_ok(k->sha256, err) || !key_id_ok(k->id))
        return ad_err_set(err, AD_EINVAL, "malformed key record");
    CALL(s, "import_key", ad_st_in_tx(s, import_key_fn, k, NULL, NULL, err));
}

ad_status ad_store_list_jobs(ad_store *s, const char *after, int limit, ad_job **out, int *n, ad_err *err)
{
    *out = NULL;
    *n = 0;
    CALL(s, "list_jobs", s->meta->ops->list_jobs(s->meta, after ? after : "", limit, out, n, err));
}

ad_status ad_store_count_jobs(ad_store *s, int64_t counts[4], ad_err *err)
{
    CALL(s, "count_jobs", s->meta->ops->count_jobs(s->meta, counts, err));
}

ad_status ad_store_job_holds(ad_store *s, const char *id, char (*shas)[65], int max, int *n, ad_err *err)
{
    *n = 0;
    if (!ad_id_valid(id))
        return ad_err_set(err, AD_EINVAL, "malformed job id");
    CALL(s, "job_holds", s->meta->ops->job_holds(s->meta, id, shas, max, n, err));
}

static ad_status import_job(ad_store_tx *tx, const ad_job *j, const ad_blob_pin *holds, int n, ad_err *err)
{
    const ad_meta_ops *m = tx->s->meta->ops;
    char owner[40];
    snprintf(owner, sizeof owner, "job:%s", j->id);
    ad_status rc = m->import_job(tx->mt, j, err);
    for (int i = 0; rc == AD_OK && i < n; i++) {
        /* an unfinished job keeps holding its blobs; a finished one holds none */
        if (j->status == AD_JOB_QUEUED || j->status == AD_JOB_RUNNING)
            rc = m->pin_blob(tx->mt, holds[i].sha256, owner, 0, err);
        if (rc == AD_OK)
            rc = m->unpin(tx->mt, holds[i].sha256, holds[i].owner, ad_st_note_dropped, tx, err);
    }
    return rc;
}

ad_status ad_store_tx_import_job(ad_store_tx *tx, const ad_job *j, const ad_blob_pin *holds, int n, ad_err *err)
{
    if (!ad_id_valid(j->id) || !j->kind[0] || j->payload == NULL)
        return ad_err_set(err, AD_EINVAL, "malformed job record");
    CALL(tx->s, "import_job", import_job(tx, j, holds, n, err));
}
