/* welcome.c — `assetd serve --welcome 1` (what ./scripts/run.sh starts):
 * a key for the person at the terminal, and a banner whose URL, data dir,
 * key and example commands are the ones actually in force, printed by the
 * binary so that no script has to guess them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"
#include "base/id.h"
#include "base/sha256.h"
#include "cli/cli.h"

ad_status ad_cli_welcome_key(const ad_config *cfg, ad_store *store, char key[128], ad_err *err)
{
    char path[4200], sha[65];
    void *text = NULL;
    size_t len = 0;
    key[0] = '\0';
    if (cfg->api_key[0])
        return AD_OK; /* shown as $ASSETD_API_KEY: never printed */
    snprintf(path, sizeof path, "%s/api-key", cfg->data_dir);
    if (ad_file_read(path, 127, &text, &len, NULL) == AD_OK) {
        snprintf(key, 128, "%.*s", (int)len, (const char *)text);
        free(text);
        key[strcspn(key, "\r\n")] = '\0';
        ad_sha256_hex(key, strlen(key), sha);
        if (ad_store_has_key(store, sha, NULL, NULL, NULL) == AD_OK)
            return AD_OK; /* the key of an earlier quick start, still valid */
    }
    /* a new key, kept where the next quick start finds it */
    char a[AD_ID_LEN + 1], b[AD_ID_LEN + 1];
    ad_status rc = ad_id_new(a, err);
    if (rc == AD_OK)
        rc = ad_id_new(b, err);
    if (rc != AD_OK)
        return rc;
    snprintf(key, 128, "adk_%s%s", a, b);
    ad_sha256_hex(key, strlen(key), sha);
    /* the person at the terminal runs this server: every right */
    if ((rc = ad_store_add_key(store, sha, "quick start", AD_SCOPE_ADMIN, NULL, err)) != AD_OK)
        return rc;
    char line[140];
    int n = snprintf(line, sizeof line, "%s\n", key);
    return ad_file_write_atomic(path, line, (size_t)n, 0600, err);
}

void ad_cli_welcome_banner(const ad_config *cfg, int port, const char *key)
{
    char photo[4200], url[300];
    ad_cli_origin(cfg, port, url, sizeof url);
    struct stat st;
    if (ad_config_deps_path("testdata/grace_hopper.jpg", photo, sizeof photo) != AD_OK || stat(photo, &st) != 0)
        snprintf(photo, sizeof photo, "photo.jpg");
    const char *k = key[0] ? key : "$ASSETD_API_KEY";
    printf("\n"
           "assetd is ready on %s   (data: %s; Ctrl-C stops)\n"
           "API key: %s\n"
           "\n"
           "Open the web console: %s/   (paste the key into it)\n"
           "API description: %s/api/v1/openapi.json   metrics: %s/metrics\n"
           "\n"
           "Or try it from a shell (paste into another terminal):\n"
           "  KEY=%s\n"
           "  ID=$(curl -sf -H \"Authorization: Bearer $KEY\" -H \"Content-Type: image/jpeg\" \\\n"
           "       --data-binary @%s \\\n"
           "       \"%s/api/v1/assets?filename=photo.jpg\" | sed -E 's/.*\"id\":\"([0-9a-f]{32})\".*/\\1/')\n"
           "  curl -sf -H \"Authorization: Bearer $KEY\" -o cutout.png \\\n"
           "       \"%s/api/v1/assets/$ID/addons/bg_remove\" && echo \"wrote cutout.png\"\n"
           "\n",
           url, cfg->data_dir, key[0] ? key : "the one in ASSETD_API_KEY", url, url, url, k, photo, url, url);
    if (key[0])
        printf("(the key is kept in %s/api-key; `assetd keys list` shows every key)\n\n", cfg->data_dir);
    fflush(stdout);
}
