/* records.h — the rows a store keeps (assets, conversions, jobs) and the
 * settings a store is opened with; shared by the store's two parts and its
 * users.
 *
 * Ownership: an ad_asset / ad_job filled by a getter belongs to the caller
 * and is released with ad_asset_cleanup / ad_job_cleanup. */
#ifndef AD_STORE_RECORDS_H
#define AD_STORE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"

/* The longest conversion name (the spec's ^[a-zA-Z0-9_-]{1,30}$); every
 * buffer holding one is AD_CONVERSION_NAME_MAX + 1 bytes. */
#define AD_CONVERSION_NAME_MAX 30

typedef struct {
    char name[AD_CONVERSION_NAME_MAX + 1];
    char content_type[128];
    int64_t size; /* bytes */
    char sha256[65];
    char created_at[32];
} ad_conversion;

typedef struct {
    char id[AD_ID_LEN + 1];
    char *filename;     /* owned */
    char *content_type; /* owned */
    int64_t size;       /* bytes */
    char sha256[65];
    int width, height; /* -1 when not an image */
    char created_at[32];
    char *custom_data;                   /* owned; JSON object text */
    char source_asset_id[AD_ID_LEN + 1]; /* "" when no lineage */
    int64_t seq;                         /* insertion order, for listing */
    ad_conversion *conversions;          /* owned */
    int nconversions;
} ad_asset;

void ad_asset_cleanup(ad_asset *a);

typedef enum { AD_JOB_QUEUED, AD_JOB_RUNNING, AD_JOB_SUCCEEDED, AD_JOB_FAILED } ad_job_status;
const char *ad_job_status_name(ad_job_status s);

/* A background job: a kind (which handler runs it) and a payload (JSON
 * object text the handler alone reads). */
typedef struct {
    char id[AD_ID_LEN + 1];
    char kind[32];
    ad_job_status status;
    int attempts;
    char *payload; /* owned */
    char *error;   /* owned; NULL when none */
    char *result;  /* owned; JSON object text or NULL */
    char created_at[32];
    char finished_at[32];      /* "" while unfinished */
    char owner[AD_ID_LEN + 1]; /* the instance holding the lease ("" when none) */
    int64_t lease_until_ms;    /* wall clock, ms */
} ad_job;

void ad_job_cleanup(ad_job *j);

typedef struct {
    int64_t size;     /* bytes */
    int64_t mtime_ms; /* when it was written, wall clock */
} ad_blob_info;

/* A derived blob (store/derived.c): made from a source blob, kept to be
 * used again, found by key (a hex SHA-256 of what it was made from and
 * how), gone with its source. Kinds: "mask" (api/masks.c: a model's mask),
 * "variant" (api/delivery.c: a rendered delivery variant). */
typedef struct {
    char key[65];
    char kind[16];
    char source_sha256[65]; /* it goes when this blob goes */
    char blob_sha256[65];   /* the derived bytes' own blob */
    int64_t bytes;          /* the derived blob's size */
    int64_t used_ms;        /* last use, wall clock */
} ad_derived_row;

/* An API key as listed: never the key, only what identifies it. */
typedef struct {
    char sha256[65]; /* the key's hash (for store copy; never shown) */
    char id[17];     /* 16 lowercase hex, shown to operators */
    char label[128];
    char created_at[32];
    char last_used_at[32]; /* "" when never */
    char revoked_at[32];   /* "" while valid */
    int scope;             /* ad_scope */
} ad_key_info;

/* What a key may do: read = GET and HEAD; write = everything but managing
 * keys and webhooks; admin = everything. A key of an older store is admin. */
typedef enum { AD_SCOPE_READ, AD_SCOPE_WRITE, AD_SCOPE_ADMIN, AD_SCOPE_COUNT } ad_scope;

/* "read", "write", "admin"; ad_scope_parse: the scope, or -1. */
const char *ad_scope_name(int scope);
int ad_scope_parse(const char *name);

/* How to open a store: which two parts, and their settings. Strings are
 * lent for the duration of ad_store_open. */
typedef struct {
    const char *meta;     /* metadata part: "sqlite", "postgres" */
    const char *blobs;    /* blob part: "fs", "s3" */
    const char *data_dir; /* local folder: the sqlite database, fs blobs, temporaries */
    int64_t gc_grace_ms;  /* an unreferenced blob younger than this is never removed */
    int64_t pin_ttl_ms;   /* a writer's pin outlives a writer that died this long */
    int exclusive;        /* the only process writing (`assetd serve` on sqlite): locked */
    /* postgres */
    const char *database_url; /* libpq URI */
    /* s3 */
    const char *s3_endpoint, *s3_bucket, *s3_region, *s3_access_key, *s3_secret_key;
    int64_t blob_cache_mb; /* local copies of remote blobs kept for reads */
} ad_store_config;

#endif
