/* save.h — the rules of a bg_remove save, above the store: what the new
 * asset is called, its content type, how custom data and lineage are
 * inherited, what a save does when its source vanished. The store offers
 * data operations; these rules compose them in one transaction. Used by
 * save_image (at once) and by the "bg_remove_save" job (get_image_and_save,
 * in the background). */
#ifndef AD_API_SAVE_H
#define AD_API_SAVE_H

#include "job/runner.h"
#include "store/store.h"

typedef struct {
    char asset_id[AD_ID_LEN + 1];                     /* the source asset */
    int new_asset;                                    /* 0: add_conversion, 1: add_new_asset */
    char conversion_name[AD_CONVERSION_NAME_MAX + 1]; /* add_conversion */
    char new_asset_id[AD_ID_LEN + 1];                 /* add_new_asset: decided up front, so a re-run finds it */
    int inherit;                                      /* metadata=inherit */
    ad_blob_pin result;                               /* the result, a pinned blob */
    char content_type[64];                            /* the result's */
    int width, height;
    char mask[12]; /* "stored" or "computed" (X-Mask), echoed in the job's result; "" unknown */
} ad_save;

/* save_image: apply the save now, in one transaction that also releases
 * the result's pin. AD_ENOTFOUND when the source asset no longer exists
 * (nothing is saved). On failure the pin is released too (the result
 * becomes collectable). */
ad_status ad_save_now(ad_store *s, const ad_save *sv, ad_err *err);

/* get_image_and_save: record the save as a job (which holds the result
 * blob from now on) in one transaction; job_id gets its id. On failure
 * the pin is released. */
ad_status ad_save_enqueue(ad_store *s, const ad_save *sv, char job_id[AD_ID_LEN + 1], ad_err *err);

/* The job kind that performs a recorded save. */
extern const ad_job_kind ad_save_job_kind;

/* "<stem>.bg_removed.<ext>" for a source filename and result type, into
 * out (at most len bytes). */
void ad_save_filename(const char *source, const char *content_type, char *out, size_t len);

#endif
