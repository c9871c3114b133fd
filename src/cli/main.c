/* main.c — assetd's entry point: global settings, then one command from
 * the table below. A new command is one row here and its handler. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/version.h"
#include "cli/cli.h"
#include "image/image.h"
#include "image/transform.h"

static const ad_cli_command commands[] = {
    {"serve", {{"", "run the HTTP service (--listen, --data-dir, ...)"}}, NULL, NULL, ad_cmd_serve, 1},
    {"remove",
     {{"[options] INPUT OUTPUT", "cut out the subject of one image ('-': standard input / output)"},
      {"[options] -o DIR INPUT...", "cut out a batch into DIR (DIR/<name>.png; progress on stderr)"}},
     NULL,
     ad_cmd_remove_options,
     ad_cmd_remove,
     1},
    {"keys",
     {{"create [--label TEXT] [--scope read|write|admin]",
       "make an API key (scope: write unless said; read = GET/HEAD; admin = also keys and webhooks); print it once"},
      {"list", "id, scope, label, created, last used, revoked"},
      {"revoke ID", "refuse the key from now on"}},
     "(the store of --store, --data-dir ..., as `assetd serve` uses it)",
     NULL,
     ad_cmd_keys,
     0},
    {"migrate",
     {{"", "bring the store's schema up to date (serve does it too)"},
      {"--dry-run", "say what it would change, touching nothing"}},
     "(the store of --store, --data-dir, --database-url ...)",
     NULL,
     ad_cmd_migrate,
     0},
    {"store",
     {{"copy --from KIND --to KIND", "copy a whole store to another (sqlite -> postgres)"},
      {"check [--repair] [--rate N]",
       "every blob against the rows: unreferenced ones (removed with --repair), missing ones; N blobs/s at most"}},
     "e.g. assetd --data-dir DIR --database-url URL --s3-endpoint URL --s3-bucket NAME \\\n"
     "         --s3-access-key K --s3-secret-key S store copy --from sqlite --to postgres\n"
     "Copies every asset, conversion, custom data, lineage, key hash and job; checks every\n"
     "blob's SHA-256; can be run again to resume (what is there already is left alone).",
     NULL,
     ad_cmd_store,
     0},
    {"backup",
     {{"--to PATH", "back up the embedded store of --data-dir (online: a server may run) into the new folder PATH"}},
     "PATH gets assetd.db (SQLite's online backup), the blobs it refers to and manifest.json (every SHA-256).",
     NULL,
     ad_cmd_backup,
     0},
    {"restore",
     {{"PATH", "check every byte of the backup in PATH, then restore it into --data-dir (new or empty)"}},
     "A damaged backup is refused with the reason, before anything is written.",
     NULL,
     ad_cmd_restore,
     0},
    {"prepare", {{"", "calibrate the int8 model once and cache the optimised graph"}}, NULL, NULL, ad_cmd_prepare, 1},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void help(FILE *f)
{
    fprintf(f, "usage: assetd [settings] COMMAND [arguments]   (assetd COMMAND --help for one)\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        for (int k = 0; k < 3 && commands[i].forms[k].what; k++) {
            char call[128];
            snprintf(call, sizeof call, "%s %s", commands[i].name, commands[i].forms[k].args);
            fprintf(f, "  %-34s %s\n", call, commands[i].forms[k].what);
        }
    fprintf(f, "  %-34s %s\n", "help", "this text");
    fprintf(f, "\nexit codes:\n");
    for (int c = 0; c < AD_STATUS_COUNT; c++)
        fprintf(f, "  %-3d %s\n", ad_status_exit((ad_status)c), ad_status_help((ad_status)c));
    fprintf(f, "  %-3d %s\n", 1, "any other failure");
    fprintf(f, "\nsettings (flag or --flag=value, environment variable; a flag goes before or after the command):\n");
    ad_config_print_help(f);
    /* what this build's libvips can encode for delivery URLs (format=auto) */
    ad_err err = AD_ERR_INIT;
    int avif = ad_image_startup(NULL, &err) == AD_OK && ad_image_can_avif();
    fprintf(f, "\ndelivery formats (/d/ URLs, format=auto on Accept): WebP, JPEG, PNG, and AVIF: %s\n",
            avif ? "yes (libheif with an AV1 encoder)"
                 : "no (this libvips has no AV1 encoder: AVIF is answered as WebP; Debian 12's libheif1 has one)");
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
        help(argc < 2 ? stderr : stdout);
        rc = argc < 2 ? 2 : 0;
        goto out;
    }
    const ad_cli_command *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (cmd == NULL) {
        fprintf(stderr, "assetd: unknown command '%s' (try: assetd help)\n", argv[1]);
        goto out;
    }
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        ad_cli_usage(stdout, cmd);
        rc = 0;
        goto out;
    }
    if (cmd->images && ad_image_startup(argv[0], &err) != AD_OK) {
        fprintf(stderr, "assetd: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    rc = cmd->run(cmd, &cfg, argc - 1, argv + 1);
    if (cmd->images)
        ad_image_shutdown();
out:
    ad_config_cleanup(&cfg);
    return rc;
}
