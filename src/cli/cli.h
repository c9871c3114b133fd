/* cli.h — the command-line front: one table of commands (main.c), each a
 * row with its name, how it is called and its handler; `assetd help` and
 * each command's usage are printed from the rows. Each command parses its
 * own arguments and wires modules together; no logic lives here. */
#ifndef AD_CLI_CLI_H
#define AD_CLI_CLI_H

#include <stdio.h>

#include "config/config.h"
#include "store/store.h"

/* One way to call a command: its arguments and what it then does. */
typedef struct {
    const char *args, *what;
} ad_cli_form;

typedef struct ad_cli_command ad_cli_command;

/* argv[0] is the command's name; self is the command's own row (for its
 * usage). Returns the process exit code (ad_status_exit's). */
typedef int (*ad_cli_run_fn)(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);

struct ad_cli_command {
    const char *name;
    ad_cli_form forms[3];     /* how it is called; unused ones are {NULL} */
    const char *more;         /* a paragraph for its own usage, or NULL */
    void (*options)(FILE *f); /* prints its options in its usage, or NULL */
    ad_cli_run_fn run;
    int images; /* needs libvips started (ad_image_startup) */
};

/* "usage: assetd NAME ARGS   what" for each form, then the command's
 * options and paragraph. */
void ad_cli_usage(FILE *f, const ad_cli_command *cmd);

/* Open the store the config names (--store, --data-dir, ...), refusing in
 * one line every setting the kind requires that is empty. exclusive: this
 * process is the one server writing to it (serve). */
ad_status ad_cli_open_store(const ad_config *cfg, int exclusive, ad_store **out, ad_err *err);

/* serve --welcome: the key to show (key: "" when it is ASSETD_API_KEY's),
 * from DATA_DIR/api-key or newly made and kept there (0600); then the
 * banner with what is actually in force. */
ad_status ad_cli_welcome_key(const ad_config *cfg, ad_store *store, char key[128], ad_err *err);
void ad_cli_welcome_banner(const ad_config *cfg, int port, const char *key);

/* The secrets that sign delivery URLs (secrets.c): --delivery-secrets,
 * else the embedded store's DATA_DIR/delivery-secret, made on first start
 * (0600); shared_store (many instances): refused without the setting.
 * *out: *n strings, released with ad_cli_secrets_free. */
ad_status ad_cli_delivery_secrets(const ad_config *cfg, int shared_store, char ***out, int *n, ad_err *err);
void ad_cli_secrets_free(char **v, int n);

/* "http://HOST:PORT" of the address listened on (a wildcard: this
 * machine's loopback). */
void ad_cli_origin(const ad_config *cfg, int port, char *buf, size_t len);

void ad_cmd_remove_options(FILE *f);
int ad_cmd_remove(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_serve(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_keys(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_migrate(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_store(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_backup(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_restore(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);
int ad_cmd_prepare(const ad_cli_command *self, ad_config *cfg, int argc, char **argv);

#endif
