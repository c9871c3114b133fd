/* cli.h — the command-line front: each command parses its own arguments and
 * wires modules together; no logic lives here. */
#ifndef AD_CLI_CLI_H
#define AD_CLI_CLI_H

#include "config/config.h"
#include "store/store.h"

/* Open the store the config names (--store, --data-dir, ...). exclusive:
 * this process is the one server writing to it (serve). */
ad_status ad_cli_open_store(const ad_config *cfg, int exclusive, ad_store **out, ad_err *err);

/* serve --welcome: the key to show (key: "" when it is ASSETD_API_KEY's),
 * from DATA_DIR/api-key or newly made and kept there (0600); then the
 * banner with what is actually in force. */
ad_status ad_cli_welcome_key(const ad_config *cfg, ad_store *store, char key[128], ad_err *err);
void ad_cli_welcome_banner(const ad_config *cfg, int port, const char *key);

int ad_cmd_remove(ad_config *cfg, int argc, char **argv);
int ad_cmd_serve(ad_config *cfg, int argc, char **argv);
int ad_cmd_keys(ad_config *cfg, int argc, char **argv);
int ad_cmd_migrate(ad_config *cfg, int argc, char **argv);
int ad_cmd_store(ad_config *cfg, int argc, char **argv);
int ad_cmd_prepare(ad_config *cfg, int argc, char **argv);

#endif
