/* cli.h — the command-line front: each command parses its own arguments and
 * wires modules together; no logic lives here. */
#ifndef AD_CLI_CLI_H
#define AD_CLI_CLI_H

#include "config/config.h"
#include "infer/model.h"
#include "store/store.h"

/* Open the model the config names (shared by remove and serve). threads is
 * the intra-op thread count to use when the config leaves it at 0. */
ad_status ad_cli_open_model(const ad_config *cfg, int threads, ad_model **out, ad_err *err);

/* Open the store the config names (--store, --data-dir, ...). exclusive:
 * this process is the one server writing to it (serve). */
ad_status ad_cli_open_store(const ad_config *cfg, int exclusive, ad_store **out, ad_err *err);

int ad_cmd_remove(ad_config *cfg, int argc, char **argv);
int ad_cmd_serve(ad_config *cfg, int argc, char **argv);
int ad_cmd_keys(ad_config *cfg, int argc, char **argv);

#endif
