/* bg_params.h — validation of the query of
 * GET /api/v1/assets/:asset_id/addons/bg_remove, exactly as
 * ../shared/spec/bg_remove.md states it (rules and decisions), as a pure
 * function so every rule is tested in a table and fuzzed. */
#ifndef AD_API_BG_PARAMS_H
#define AD_API_BG_PARAMS_H

#include "api/query.h"
#include "cutout/options.h"
#include "store/records.h"

typedef enum { AD_BG_GET_IMAGE, AD_BG_SAVE_IMAGE, AD_BG_GET_IMAGE_AND_SAVE } ad_bg_mode;
typedef enum { AD_BG_NO_DISPOSITION, AD_BG_ADD_CONVERSION, AD_BG_ADD_NEW_ASSET } ad_bg_disposition;

typedef struct {
    ad_bg_mode mode;
    ad_bg_disposition disposition;                    /* AD_BG_NO_DISPOSITION for get_image */
    char conversion_name[AD_CONVERSION_NAME_MAX + 1]; /* add_conversion only */
    int inherit;                                      /* metadata=inherit (add_new_asset only) */
} ad_bg_request;

/* The spec's four parameters (mode, disposition, conversion_name,
 * metadata) as rows of base/decl.h, for the route table and the API
 * description; their values are checked by ad_bg_params_parse. */
#define AD_BG_NPARAMS 4
extern const ad_decl ad_bg_params[AD_BG_NPARAMS];

/* A refusal in the spec's error shape: HTTP 400, a machine code
 * ("missing_parameter" or "invalid_parameter"), a sentence, and the name of
 * the parameter at fault. */
typedef struct {
    const char *code;
    char message[200];
    char param[40];
} ad_bg_error;

/* Validate q. AD_OK fills out, and opt with the cut-out options the API
 * accepts (cutout/options.h; defaults for those not given); AD_EINVAL fills
 * e (the first rule broken, in a fixed order: unknown parameter, duplicate,
 * an option's value, mode, disposition, conversion_name, metadata). */
ad_status ad_bg_params_parse(const ad_query *q, ad_bg_request *out, ad_cutout_options *opt, ad_bg_error *e);

/* The one-shot route's query: output options only, by the same rules
 * (unknown, duplicate, a value, the rules between options). */
ad_status ad_bg_options_parse(const ad_query *q, ad_cutout_options *opt, ad_bg_error *e);

/* 1 when s matches ^[a-zA-Z0-9_-]{1,30}$ (the spec's conversion_name). */
int ad_bg_conversion_name_valid(const char *s);

const char *ad_bg_mode_name(ad_bg_mode m);

#endif
