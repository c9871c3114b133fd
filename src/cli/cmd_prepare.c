/* cmd_prepare.c — `assetd prepare`: make the model the config selects ready
 * to start quickly — calibrate the int8 model if this machine has not yet,
 * build and cache the optimised graph — and say what runs. scripts/setup.sh
 * calls it, so neither the first server start nor the first test pays. */
#include <stdio.h>

#include "base/clock.h"
#include "base/parallel.h"
#include "calib/model_open.h"
#include "cli/cli.h"

int ad_cmd_prepare(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    ad_err err = AD_ERR_INIT;
    ad_model *model = NULL;
    if (argc > 1) {
        ad_cli_usage(stderr, self);
        return 2;
    }
    double t0 = ad_clock_ms();
    if (ad_calib_open_model(cfg, ad_cpu_count(), (int)cfg->model_side, &model, &err) != AD_OK) {
        fprintf(stderr, "assetd: %s\n", err.msg);
        return 1;
    }
    int vnni = ad_model_cpu_has_vnni(), bits = ad_calib_weight_bits(cfg);
    const char *why =
        bits == 8 ? (vnni ? " (int8 weights, VNNI)" : " (int8 weights without VNNI: int8_weights 8, may saturate)")
        : vnni    ? " (7-bit weights: int8_weights 7)"
                  : " (7-bit weights: this CPU has no VNNI, full 8-bit would saturate)";
    printf("model %s, %s, side %d, ONNX Runtime %s: ready in %.1f s%s\n", cfg->model, ad_calib_precision(cfg),
           ad_model_side(model), ad_model_runtime_version(model), (ad_clock_ms() - t0) / 1000.0,
           ad_calib_int8(cfg) ? why : "");
    ad_model_close(model);
    return 0;
}
