/* cmd_store.c — `assetd migrate` (bring a store's schema up to date; the
 * server also does it at start, under a lock) and `assetd store copy`
 * (move everything from one store to another, e.g. from the embedded
 * SQLite one to PostgreSQL + S3): wiring around store/copy.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/backup.h"
#include "store/copy.h"

/* assetd migrate --dry-run: what would change, touching nothing */
static int migrate_plan(const ad_config *cfg)
{
    ad_store_config sc = {.data_dir = cfg->data_dir, .database_url = cfg->database_url};
    ad_err err = AD_ERR_INIT;
    int have = 0, want = 0;
    const char *const *steps = NULL;
    if (ad_store_kind_parts(cfg->store, &sc.meta, &sc.blobs, NULL, &err) != AD_OK ||
        ad_store_schema_plan(&sc, &have, &want, &steps, &err) != AD_OK) {
        fprintf(stderr, "assetd migrate: %s\n", err.msg);
        return ad_status_exit(err.code);
    }
    if (have > want) {
        printf("assetd migrate: the %s store has schema version %d; this assetd knows up to %d: it would refuse "
               "to open it (use the newer binary)\n",
               cfg->store, have, want);
        return 3;
    }
    if (have == want) {
        printf("assetd migrate: the %s store's schema is up to date (version %d): nothing to do\n", cfg->store, have);
        return 0;
    }
    printf("assetd migrate: the %s store is at schema version %d%s; migrating would apply:\n", cfg->store, have,
           have == 0 ? " (none yet: it would be made whole)" : "");
    for (int v = have + 1; v <= want; v++)
        printf("  %s\n", steps[v - 1]);
    return 0;
}

int ad_cmd_migrate(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    ad_err err = AD_ERR_INIT;
    ad_store *s = NULL;
    if (argc == 2 && strcmp(argv[1], "--dry-run") == 0)
        return migrate_plan(cfg);
    if (argc != 1) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    if (ad_cli_open_store(cfg, 0, &s, &err) != AD_OK) {
        fprintf(stderr, "assetd migrate: %s\n", err.msg);
        return ad_status_exit(err.code);
    }
    ad_store_close(s);
    printf("assetd migrate: the %s store's schema is up to date\n", cfg->store);
    return 0;
}

static void progress(void *ctx, const ad_copy_report *r)
{
    (void)ctx;
    if ((r->assets + r->assets_there) % 100 == 0)
        fprintf(stderr, "assetd store copy: %d assets copied, %d there already, %d blobs (%.1f MiB)\n", r->assets,
                r->assets_there, r->blobs, (double)r->bytes / 1048576.0);
}

/* assetd store check [--repair] [--rate N] */
static int store_check(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    int repair = 0;
    double rate = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--repair") == 0) {
            repair = 1;
        } else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
            rate = atof(argv[++i]);
        } else {
            ad_cli_usage(stderr, self);
            return 2;
        }
    }
    ad_err err = AD_ERR_INIT;
    ad_store *s = NULL;
    ad_store_check_report r;
    ad_status st = ad_cli_open_store(cfg, 0, &s, &err);
    if (st == AD_OK)
        st = ad_store_check(s, repair, rate, &r, &err);
    ad_store_close(s);
    if (st != AD_OK) {
        fprintf(stderr, "assetd store check: %s\n", err.msg);
        return 1;
    }
    printf("assetd store check: %lld blobs, %lld unreferenced (%.1f MiB)%s; %lld assets, %lld blobs missing\n",
           (long long)r.blobs, (long long)r.orphans, (double)r.orphan_bytes / 1048576.0,
           repair ? (r.removed == r.orphans ? ", removed" : ", some not removed (in use meanwhile)") : "",
           (long long)r.rows, (long long)r.missing);
    return r.missing > 0 || (r.orphans > 0 && !repair) ? 3 : 0;
}

int ad_cmd_store(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    if (argc >= 2 && strcmp(argv[1], "check") == 0)
        return store_check(self, cfg, argc, argv);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else
            from = to = NULL, i = argc;
    }
    if (argc < 2 || strcmp(argv[1], "copy") != 0 || from == NULL || to == NULL) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    ad_err err = AD_ERR_INIT;
    ad_store *src = NULL, *dst = NULL;
    int rc = 1;
    char *kind = cfg->store, *dir = cfg->data_dir, work[4200];
    /* the source: the store of kind `from` at --data-dir */
    cfg->store = (char *)from;
    ad_status st = ad_cli_open_store(cfg, 0, &src, &err);
    /* the destination: kind `to` with the store settings given, and a local
     * working folder of its own for staging */
    snprintf(work, sizeof work, "%s/.store-copy", dir);
    cfg->store = (char *)to;
    cfg->data_dir = work;
    if (st == AD_OK)
        st = ad_cli_open_store(cfg, 0, &dst, &err);
    cfg->store = kind;
    cfg->data_dir = dir;
    ad_copy_report r;
    if (st == AD_OK && (st = ad_store_copy(src, dst, progress, NULL, &r, &err)) == AD_OK) {
        printf("assetd store copy: %d assets copied (%d were there already), %d blobs (%.1f MiB, every SHA-256 "
               "checked), %d API key hashes, %d jobs copied (%d were there already)\n",
               r.assets, r.assets_there, r.blobs, (double)r.bytes / 1048576.0, r.keys, r.jobs, r.jobs_there);
        rc = 0;
    }
    if (rc)
        fprintf(stderr, "assetd store copy: %s (run it again to resume)\n", err.msg);
    ad_store_close(dst);
    ad_store_close(src);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
    if (strchr(work, '\'') == NULL && system(cmd) != 0)
        fprintf(stderr, "assetd store copy: could not remove %s\n", work);
    return rc;
}

/* assetd backup --to PATH (the store of --data-dir, a server running or not) */
int ad_cmd_backup(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    const char *to = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else
            to = NULL, i = argc;
    if (to == NULL || strcmp(cfg->store, "sqlite") != 0) {
        if (strcmp(cfg->store, "sqlite") != 0)
            fprintf(stderr, "assetd backup: the embedded store only; a postgres store is backed up with pg_dump and "
                            "the bucket's versioning (docs/operate.md)\n");
        ad_cli_usage(stderr, self);
        return 2;
    }
    ad_err err = AD_ERR_INIT;
    ad_backup_report r;
    if (ad_backup_take(cfg->data_dir, to, &r, &err) != AD_OK) {
        fprintf(stderr, "assetd backup: %s\n", err.msg);
        return 1;
    }
    printf("assetd backup: %lld assets, %lld blobs (%.1f MiB) in %s (manifest.json names every SHA-256)\n",
           (long long)r.assets, (long long)r.blobs, (double)r.bytes / 1048576.0, to);
    return 0;
}

/* assetd restore PATH (into --data-dir, new or empty) */
int ad_cmd_restore(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    if (argc != 2) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    ad_err err = AD_ERR_INIT;
    ad_backup_report r;
    if (ad_backup_restore(argv[1], cfg->data_dir, &r, &err) != AD_OK) {
        fprintf(stderr, "assetd restore: %s (nothing was written)\n", err.msg);
        return 1;
    }
    printf("assetd restore: %lld assets, %lld blobs (%.1f MiB, every SHA-256 checked) into %s\n", (long long)r.assets,
           (long long)r.blobs, (double)r.bytes / 1048576.0, cfg->data_dir);
    return 0;
}
