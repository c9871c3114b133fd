/* main.c — assetd's entry point: global settings, then one command. */
#include <stdio.h>
#include <string.h>

#include "base/version.h"
#include "cli/cli.h"
#include "image/image.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: assetd COMMAND [options]\n"
               "\n"
               "commands:\n"
               "  serve                        run the HTTP service (--listen, --data-dir, ...)\n"
               "  keys create|list|revoke      API keys of the service's store (assetd keys for more)\n"
               "  migrate                      bring the store's schema up to date (serve does it too)\n"
               "  store copy --from K --to K   copy a whole store to another (assetd store for more)\n"
               "  remove INPUT OUTPUT.png      cut out the subject of one image\n"
               "  remove -o DIR INPUT...       cut out a batch into DIR (progress on stderr)\n"
               "      --mask                   write the 8-bit mask instead of the RGBA cut-out\n"
               "  prepare                      calibrate the int8 model once and cache the optimised graph\n"
               "  help                         this text\n"
               "\n"
               "settings (flag, environment variable):\n");
    ad_config_print_help(f);
}

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
    };
    ad_status rc = ad_store_kind_parts(cfg->store, &sc.meta, &sc.blobs, err);
    if (rc != AD_OK)
        return rc;
    if (strcmp(cfg->store, "postgres") == 0) {
        /* one line naming everything missing */
        char missing[256] = "";
        const struct {
            const char *v, *name;
        } need[] = {{cfg->database_url, "--database-url"},
                    {cfg->s3_endpoint, "--s3-endpoint"},
                    {cfg->s3_bucket, "--s3-bucket"},
                    {cfg->s3_access_key, "--s3-access-key"},
                    {cfg->s3_secret_key, "--s3-secret-key"}};
        for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
            if (!need[i].v[0])
                snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
                         need[i].name);
        if (missing[0])
            return ad_err_set(err, AD_EINVAL, "--store postgres needs %s", missing);
    }
    return ad_store_open(&sc, out, err);
}

int main(int argc, char **argv)
{
    ad_config cfg;
    ad_err err = AD_ERR_INIT;
    int rc = 2;
    if (ad_config_load(&cfg, &argc, argv, &err) != AD_OK) {
        fprintf(stderr, "assetd: %s\n", err.msg);
        goto out;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("assetd %s\n", AD_VERSION);
        rc = 0;
        goto out;
    }
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        rc = argc < 2 ? 2 : 0;
        goto out;
    }
    if (ad_image_startup(argv[0], &err) != AD_OK) {
        fprintf(stderr, "assetd: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (strcmp(argv[1], "remove") == 0) {
        rc = ad_cmd_remove(&cfg, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "serve") == 0) {
        rc = ad_cmd_serve(&cfg, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "keys") == 0) {
        rc = ad_cmd_keys(&cfg, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "migrate") == 0) {
        rc = ad_cmd_migrate(&cfg, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "prepare") == 0) {
        rc = ad_cmd_prepare(&cfg, argc - 1, argv + 1);
    } else if (strcmp(argv[1], "store") == 0) {
        rc = ad_cmd_store(&cfg, argc - 1, argv + 1);
    } else {
        fprintf(stderr, "assetd: unknown command '%s' (try: assetd help)\n", argv[1]);
        rc = 2;
    }
    ad_image_shutdown();
out:
    ad_config_cleanup(&cfg);
    return rc;
}
