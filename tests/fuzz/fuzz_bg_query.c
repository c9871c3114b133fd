/* fuzz_bg_query.c — the query string of bg_remove: strict percent-decoding
 * (api/query) and every validation rule (api/bg_params), with the output
 * options (cutout/options). Invariants: an accepted request is one the
 * spec allows, and its options keep their rules and bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/bg_params.h"
#include "api/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *qs = malloc(size + 1);
    if (qs == NULL)
        return 0;
    memcpy(qs, data, size);
    qs[size] = '\0';
    ad_query q = {0};
    if (ad_query_parse(qs, 32, &q, NULL) == AD_OK) {
        ad_bg_request req;
        ad_cutout_options opt;
        ad_bg_error e;
        if (ad_bg_params_parse(&q, &req, &opt, &e) == AD_OK) {
            if (req.mode != AD_BG_GET_IMAGE && req.disposition == AD_BG_NO_DISPOSITION)
                abort(); /* a save without a disposition */
            if (req.disposition == AD_BG_ADD_CONVERSION && !ad_bg_conversion_name_valid(req.conversion_name))
                abort();
            if (req.inherit && req.disposition != AD_BG_ADD_NEW_ASSET)
                abort();
            const char *param = NULL;
            ad_err oe = AD_ERR_INIT;
            if (ad_cutout_options_check(&opt, &param, &oe) != AD_OK)
                abort();
            for (int i = 0; i < 4; i++)
                if (opt.crop_margin.v[i] < 0 || opt.crop_margin.v[i] > (opt.crop_margin.percent[i] ? 100 : 10000))
                    abort();
            if (opt.max_side < 0 || opt.max_side > 65535)
                abort();
            char d[512];
            ad_cutout_options_describe(&opt, d, sizeof d);
        } else if (strcmp(e.code, "missing_parameter") != 0 && strcmp(e.code, "invalid_parameter") != 0) {
            abort();
        }
        /* the one-shot route's parser: options only, by the same rules */
        if (ad_bg_options_parse(&q, &opt, &e) == AD_OK) {
            const char *param = NULL;
            ad_err oe = AD_ERR_INIT;
            if (ad_cutout_options_check(&opt, &param, &oe) != AD_OK)
                abort();
        } else if (strcmp(e.code, "invalid_parameter") != 0) {
            abort();
        }
    }
    ad_query_cleanup(&q);
    free(qs);
    return 0;
}
