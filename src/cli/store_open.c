/* store_open.c — the store the settings name, opened for a command. */
#include <string.h>

#include "cli/cli.h"

ad_status ad_cli_open_store(const ad_config *cfg, int exclusive, ad_store **out, ad_err *err)
{
    ad_store_config sc = {
        .data_dir = cfg->data_dir,
        .gc_grace_ms = cfg->gc_grace * 1000,
        .exclusive = exclusive,
        .database_url = cfg->database_url,
        .s3_endpoint = cfg->s3_endpoint,
        .s3_bucket = cfg->s3_bucket,
        .s3_region = cfg->s3_region,
        .s3_access_key = cfg->s3_access_key,
        .s3_secret_key = cfg->s3_secret_key,
        .blob_cache_mb = cfg->blob_cache_mb,
        .blob_cache_entries = cfg->blob_cache_entries,
        .timeout_ms = cfg->store_timeout * 1000,
    };
    const char *const *requires = NULL;
    ad_status rc = ad_store_kind_parts(cfg->store, &sc.meta, &sc.blobs, &requires, err);
    if (rc != AD_OK)
        return rc;
    /* one line naming everything missing */
    char missing[256] = "";
    for (int i = 0; requires[i]; i++) {
        const char *v = ad_config_str(cfg, requires[i]);
        if (v && *v)
            continue;
        char flag[64];
        ad_config_flag(requires[i], flag, sizeof flag);
        size_t used = strlen(missing);
        snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", flag);
    }
    if (missing[0])
        return ad_err_set(err, AD_EINVAL, "--store %s needs %s", cfg->store, missing);
    return ad_store_open(&sc, out, err);
}
