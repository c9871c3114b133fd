/* store.h — where assets, conversions, API keys and background jobs live.
 *
 * A backend is a table of functions (ad_store_ops) behind a base struct, as
 * sqlite's VFS and curl's TLS backends are; ad_store_open picks one by name.
 * Blobs are content-addressed by SHA-256 and written durably before any row
 * points at them; a blob is removed only when no asset, conversion or
 * unfinished job refers to it. Every function may be called from any thread.
 *
 * Ownership: ad_asset / ad_job filled by a getter belong to the caller and are
 * released with ad_asset_cleanup / ad_job_cleanup. */
#ifndef AD_STORE_STORE_H
#define AD_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"

typedef struct {
    char name[64];
    char content_type[128];
    int64_t size;
    char sha256[65];
    char created_at[32];
} ad_conversion;

typedef struct {
    char id[AD_ID_LEN + 1];
    char *filename;     /* owned */
    char *content_type; /* owned */
    int64_t size;       /* bytes */
    char sha256[65];
    int width, height;  /* -1 when not an image */
    char created_at[32];
    char *custom_data;  /* owned; JSON object text */
    char source_asset_id[AD_ID_LEN + 1]; /* "" when no lineage */
    int64_t seq;        /* insertion order, for listing */
    ad_conversion *conversions; /* owned */
    int nconversions;
} ad_asset;

void ad_asset_cleanup(ad_asset *a);

typedef enum { AD_JOB_QUEUED, AD_JOB_RUNNING, AD_JOB_SUCCEEDED, AD_JOB_FAILED } ad_job_status;
const char *ad_job_status_name(ad_job_status s);

/* The one kind of job so far: save a bg_remove result. */
typedef struct {
    char id[AD_ID_LEN + 1];
    char kind[32];
    ad_job_status status;
    int attempts;
    char *error;  /* owned; NULL when none */
    char *params; /* owned; JSON object text */
    char *result; /* owned; JSON object text or NULL */
    char created_at[32];
    char finished_at[32]; /* "" while unfinished */
} ad_job;

void ad_job_cleanup(ad_job *j);

/* What a bg_remove save does; shared by save_image (now) and jobs (later). */
typedef struct {
    char asset_id[AD_ID_LEN + 1];   /* the source asset */
    int new_asset;                  /* 0: add_conversion, 1: add_new_asset */
    char conversion_name[64];       /* add_conversion */
    char new_asset_id[AD_ID_LEN + 1]; /* add_new_asset: id decided up front */
    int inherit;                    /* metadata=inherit */
    char png_sha256[65];            /* the result, already a durable blob */
    int64_t png_size;
    int width, height;
} ad_save;

typedef struct ad_store ad_store;

typedef struct {
    const char *name;
    ad_status (*open)(const char *location, ad_store **out, ad_err *err);
    void (*close)(ad_store *s);

    /* blobs */
    ad_status (*put_blob)(ad_store *s, const void *data, size_t len, char sha256_out[65], ad_err *err);
    ad_status (*blob_path)(ad_store *s, const char *sha256, char *buf, size_t len, ad_err *err);

    /* assets: insert fails with AD_ECONFLICT when the id exists */
    ad_status (*insert_asset)(ad_store *s, const ad_asset *a, ad_err *err);
    ad_status (*get_asset)(ad_store *s, const char *id, ad_asset *out, ad_err *err);
    /* newest first, seq < before (before <= 0: from the newest); *out is an
     * array of *n assets the caller frees with ad_asset_cleanup each + free */
    ad_status (*list_assets)(ad_store *s, int64_t before, int limit, ad_asset **out, int *n, ad_err *err);
    ad_status (*delete_asset)(ad_store *s, const char *id, ad_err *err);
    ad_status (*set_custom_data)(ad_store *s, const char *id, const char *json, ad_err *err);
    ad_status (*get_conversion)(ad_store *s, const char *asset_id, const char *name, ad_conversion *out,
                                ad_err *err);
    ad_status (*delete_conversion)(ad_store *s, const char *asset_id, const char *name, ad_err *err);

    /* the effect of a bg_remove save, atomically; idempotent */
    ad_status (*apply_save)(ad_store *s, const ad_save *save, ad_err *err);

    /* API keys, stored as SHA-256 hex of the key */
    ad_status (*add_key)(ad_store *s, const char *key_sha256, ad_err *err);
    ad_status (*has_key)(ad_store *s, const char *key_sha256, ad_err *err); /* AD_OK or AD_ENOTFOUND */

    /* jobs */
    ad_status (*insert_job)(ad_store *s, const char *id, const ad_save *save, ad_err *err);
    ad_status (*get_job)(ad_store *s, const char *id, ad_job *out, ad_err *err);
    /* claim the oldest due queued job (AD_ENOTFOUND when none); *save filled */
    ad_status (*claim_job)(ad_store *s, char id_out[AD_ID_LEN + 1], ad_save *save, int *attempts, ad_err *err);
    /* run the save and mark the job succeeded in one transaction */
    ad_status (*complete_job)(ad_store *s, const char *id, const ad_save *save, ad_err *err);
    /* record a failed attempt: requeue after delay_ms, or fail for good */
    ad_status (*fail_job)(ad_store *s, const char *id, const char *reason, int final, int64_t delay_ms,
                          ad_err *err);
    /* at start-up: running jobs of a previous process go back to queued */
    ad_status (*recover_jobs)(ad_store *s, int *n, ad_err *err);

    /* at start-up, while no other process writes: remove blobs nothing refers
     * to (a crash between writing a blob and committing its row leaves one);
     * *n is how many were removed */
    ad_status (*sweep_orphans)(ad_store *s, int *n, ad_err *err);
} ad_store_ops;

/* Every backend embeds this first. */
struct ad_store {
    const ad_store_ops *ops;
};

/* Open the backend called `name` at `location` (for sqlite: a folder).
 * Unknown names fail with AD_EINVAL listing the known ones. */
ad_status ad_store_open(const char *name, const char *location, ad_store **out, ad_err *err);
void ad_store_close(ad_store *s);

extern const ad_store_ops ad_store_sqlite_ops;

#endif
