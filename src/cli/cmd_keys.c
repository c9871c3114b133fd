/* cmd_keys.c — `assetd keys create`: make an API key, store its hash in the
 * data dir's store, print the key (the only time it is ever shown). */
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/sha256.h"
#include "cli/cli.h"
#include "store/store.h"

int ad_cmd_keys(ad_config *cfg, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "create") != 0) {
        fprintf(stderr, "usage: assetd keys create [--data-dir DIR]\n");
        return 2;
    }
    ad_err err = AD_ERR_INIT;
    ad_store *store = NULL;
    char a[AD_ID_LEN + 1], b[AD_ID_LEN + 1], key[80], sha[65];
    int rc = 1;
    /* 256 random bits */
    if (ad_id_new(a, &err) != AD_OK || ad_id_new(b, &err) != AD_OK)
        goto out;
    snprintf(key, sizeof key, "adk_%s%s", a, b);
    ad_sha256_hex(key, strlen(key), sha);
    if (ad_cli_open_store(cfg, 0, &store, &err) != AD_OK || ad_store_add_key(store, sha, &err) != AD_OK)
        goto out;
    printf("%s\n", key);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "assetd keys: %s\n", err.msg);
    ad_store_close(store);
    return rc;
}
