/* backup.h — `assetd backup` and `assetd restore` for the embedded store
 * (sqlite + fs): an online backup into a folder with a manifest, and a
 * restore that checks every byte before it writes one. See backup.c and
 * docs/operate.md. (A PostgreSQL + S3 store is backed up with the tools of
 * each part: docs/operate.md.) */
#ifndef AD_STORE_BACKUP_H
#define AD_STORE_BACKUP_H

#include <stdint.h>

#include "base/err.h"

/* The newest schema a restore accepts (the embedded store's). */
#define AD_BACKUP_SCHEMA_MAX 6

typedef struct {
    int64_t assets, blobs, bytes;
} ad_backup_report;

/* Back up the store of data_dir (a server may be running on it) into the
 * new folder to. */
ad_status ad_backup_take(const char *data_dir, const char *to, ad_backup_report *r, ad_err *err);

/* Check the backup in from, then copy it into data_dir (new, or empty).
 * AD_EINVAL (with the reason) for a damaged or foreign backup,
 * AD_EUNSUPPORTED for a newer schema, AD_ECONFLICT for a used data_dir. */
ad_status ad_backup_restore(const char *from, const char *data_dir, ad_backup_report *r, ad_err *err);

#endif
