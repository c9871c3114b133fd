/* cmd_keys.c — `assetd keys`: create a key with its scope (its hash
 * stored, the key printed once), list keys (never the key itself), revoke
 * one. Works
 * beside a running server: a revoked key is refused by it at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/sha256.h"
#include "cli/cli.h"
#include "store/store.h"

static int create(ad_store *store, const char *label, int scope, ad_err *err)
{
    char a[AD_ID_LEN + 1], b[AD_ID_LEN + 1], key[80], sha[65], id[17];
    /* 256 random bits */
    if (ad_id_new(a, err) != AD_OK || ad_id_new(b, err) != AD_OK)
        return 1;
    snprintf(key, sizeof key, "adk_%s%s", a, b);
    ad_sha256_hex(key, strlen(key), sha);
    if (ad_store_add_key(store, sha, label, scope, id, err) != AD_OK)
        return 1;
    printf("%s\n", key);
    fprintf(stderr, "assetd keys: created key %s (scope %s)%s%s\n", id, ad_scope_name(scope), label ? " labelled " : "",
            label ? label : "");
    return 0;
}

static int list(ad_store *store, ad_err *err)
{
    ad_key_info *v;
    int n;
    if (ad_store_list_keys(store, &v, &n, err) != AD_OK)
        return 1;
    printf("%-16s  %-5s  %-24s  %-24s  %-24s  %s\n", "id", "scope", "created", "last used", "revoked", "label");
    for (int i = 0; i < n; i++)
        printf("%-16s  %-5s  %-24s  %-24s  %-24s  %s\n", v[i].id, ad_scope_name(v[i].scope), v[i].created_at,
               v[i].last_used_at[0] ? v[i].last_used_at : "never", v[i].revoked_at[0] ? v[i].revoked_at : "-",
               v[i].label);
    free(v);
    return 0;
}

int ad_cmd_keys(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    const char *label = NULL;
    int scope = AD_SCOPE_WRITE, rc = 1;
    if (argc < 2) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "create") == 0) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
                label = argv[++i];
            } else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc) {
                if ((scope = ad_scope_parse(argv[++i])) < 0) {
                    fprintf(stderr, "assetd keys: --scope is read, write or admin, not '%s'\n", argv[i]);
                    return 2;
                }
            } else {
                ad_cli_usage(stderr, self);
                return 2;
            }
        }
    } else if (!(strcmp(verb, "list") == 0 && argc == 2) && !(strcmp(verb, "revoke") == 0 && argc == 3)) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    ad_err err = AD_ERR_INIT;
    ad_store *store = NULL;
    if (ad_cli_open_store(cfg, 0, &store, &err) != AD_OK)
        goto out;
    if (strcmp(verb, "create") == 0)
        rc = create(store, label, scope, &err);
    else if (strcmp(verb, "list") == 0)
        rc = list(store, &err);
    else if ((rc = ad_store_revoke_key(store, argv[2], &err) != AD_OK) == 0)
        fprintf(stderr, "assetd keys: key %s revoked\n", argv[2]);
out:
    if (rc)
        fprintf(stderr, "assetd keys: %s\n", err.msg);
    ad_store_close(store);
    return rc;
}
