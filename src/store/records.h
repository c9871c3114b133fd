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
    char finished_at[32];         /* "" while unfinished */
    char owner[AD_ID_LEN + 1];    /* the instance holding the lease ("" when none) */
    int64_t lease_until_ms;       /* wall clock, ms */
    char asset_id[AD_ID_LEN + 1]; /* the asset it works on ("" when none) */
    int64_t seq;                  /* insertion order, for listing */
} ad_job;

void ad_job_cleanup(ad_job *j);

/* The jobs list's filters (integrations.md section 2). */
typedef struct {
    int status;                   /* an ad_job_status, or -1: any */
    char asset_id[AD_ID_LEN + 1]; /* "" any */
} ad_job_filter;

/* The assets list's filters (integrations.md section 3), combined with
 * AND; an empty field does not filter. Custom data is matched on a dotted
 * path of object keys: a string equal to value, a number equal to value
 * read as a number, true/false, null (store/custom_index.h). */
#define AD_FILTER_CUSTOM_MAX 8
#define AD_CUSTOM_PATH_MAX 200
#define AD_CUSTOM_VALUE_MAX 512
typedef struct {
    char path[AD_CUSTOM_PATH_MAX + 1];   /* "dims.w" */
    char value[AD_CUSTOM_VALUE_MAX + 1]; /* as sent */
} ad_custom_match;

typedef struct {
    ad_custom_match custom[AD_FILTER_CUSTOM_MAX];
    int ncustom;
    char filename_prefix[256];
    char content_type[128];                     /* "image/png", or a family "image/" (the '*' dropped) */
    char created_after[32], created_before[32]; /* as created_at is stored (UTC, ms, "Z") */
    char source_asset_id[AD_ID_LEN + 1];
    char has_conversion[AD_CONVERSION_NAME_MAX + 1];
    int oldest_first; /* order=oldest: seq ascending */
} ad_asset_filter;

/* Webhooks (integrations.md section 1): an endpoint subscribed to events
 * ("*" or a comma-separated list), and the deliveries of each event to it
 * (an outbox row per event and endpoint, written in the transaction of
 * the change) with a log of every attempt. */
#define AD_WEBHOOK_SECRET_LEN 38 /* "whsec_" + 32 hex */
typedef struct {
    char id[AD_ID_LEN + 1];
    char *url;         /* owned */
    char events[256];  /* "*" or "asset.created,job.failed" */
    char *description; /* owned */
    char secret[AD_WEBHOOK_SECRET_LEN + 1];
    char created_at[32];
} ad_webhook;

void ad_webhook_cleanup(ad_webhook *w);

/* A delivery claimed for sending, with what sending needs. */
typedef struct {
    int64_t seq;
    char webhook_id[AD_ID_LEN + 1];
    char event_id[48];
    char type[32];
    char *body;   /* owned: the event's JSON, sent as is */
    int attempts; /* this one included */
    int64_t created_ms;
    char *url; /* owned */
    char secret[AD_WEBHOOK_SECRET_LEN + 1];
    char lease[AD_ID_LEN + 1]; /* the claim that holds it (each claim its own) */
} ad_webhook_delivery;

void ad_webhook_delivery_cleanup(ad_webhook_delivery *d);

/* One attempt, as logged. */
typedef struct {
    int64_t seq;
    char event_id[48];
    char type[32];
    int attempt;
    int status;      /* HTTP status, 0 when none came */
    char error[160]; /* "" when none */
    int64_t duration_ms;
    char at[32];
    int64_t at_ms;
} ad_webhook_attempt;

/* How a delivery attempt ended. */
typedef enum { AD_DELIVERY_SUCCEEDED, AD_DELIVERY_RETRY, AD_DELIVERY_GAVE_UP } ad_delivery_outcome;

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
    int64_t blob_cache_mb;      /* local copies of remote blobs kept for reads */
    int64_t blob_cache_entries; /* and at most this many of them */
    int64_t timeout_ms;         /* remote parts: a call with no answer this long fails (0: 5 s) */
} ad_store_config;

#endif
