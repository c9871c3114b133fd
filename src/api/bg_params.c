/* bg_params.c — see bg_params.h. Where the spec is silent (decisions in
 * bg_remove.md, plus): an empty value is an invalid value; for
 * mode=get_image, disposition and conversion_name are ignored entirely (not
 * even their values are checked), while unknown or repeated parameters and
 * metadata's rule still apply, metadata's rule being judged against the
 * disposition given. */
#include "api/bg_params.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The spec's four, in the order their values are checked below; the
 * route table lists them (and the API description is made from these
 * rows), the checks below read their values by the spec's rules. */
const ad_decl ad_bg_params[AD_BG_NPARAMS] = {
    {.name = "mode",
     .type = AD_DECL_ENUM,
     .choices = "get_image|save_image|get_image_and_save",
     .def = "get_image",
     .help = "get_image: answer the cut-out; save_image: save it, answer JSON; "
             "get_image_and_save: answer it and save it in the background (a job)"},
    {.name = "disposition",
     .type = AD_DECL_ENUM,
     .choices = "add_conversion|add_new_asset",
     .def = "",
     .help = "required by save_image and get_image_and_save; ignored by get_image"},
    {.name = "conversion_name",
     .type = AD_DECL_STRING,
     .min = 1,
     .max = AD_CONVERSION_NAME_MAX,
     .def = "",
     .pattern = "^[a-zA-Z0-9_-]{1,30}$",
     .expects = "^[a-zA-Z0-9_-]{1,30}$",
     .help = "required with disposition=add_conversion, refused otherwise"},
    {.name = "metadata",
     .type = AD_DECL_ENUM,
     .choices = "inherit",
     .def = "",
     .help = "only with disposition=add_new_asset: copy custom data and set lineage"},
};

static ad_status refuse(ad_bg_error *e, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ad_status refuse(ad_bg_error *e, const char *code, const char *param, const char *fmt, ...)
{
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return AD_EINVAL;
}

int ad_bg_conversion_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > AD_CONVERSION_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

const char *ad_bg_mode_name(ad_bg_mode m)
{
    return m == AD_BG_SAVE_IMAGE ? "save_image" : m == AD_BG_GET_IMAGE_AND_SAVE ? "get_image_and_save" : "get_image";
}

/* The names in q: each once, each one of the spec's four (when spec is
 * given: their values into spec[]) or an output option (set into opt). */
static ad_status take_names(const ad_query *q, const char *spec[AD_BG_NPARAMS], ad_cutout_options *opt, ad_bg_error *e)
{
    ad_cutout_options_default(opt);
    for (int i = 0; i < q->n; i++) {
        int k = -1;
        for (int j = 0; j < AD_BG_NPARAMS && spec; j++)
            if (strcmp(q->v[i].key, ad_bg_params[j].name) == 0)
                k = j;
        char shown[40];
        snprintf(shown, sizeof shown, "%.39s", q->v[i].key);
        if (k < 0 && ad_cutout_option_find(q->v[i].key, 1) == NULL)
            return refuse(e, "invalid_parameter", shown, "unknown parameter '%s' for this endpoint", shown);
        for (int j = 0; j < i; j++)
            if (strcmp(q->v[j].key, q->v[i].key) == 0)
                return refuse(e, "invalid_parameter", shown, "parameter '%s' given more than once", shown);
        /* "?mode" with no '=' is an empty value */
        const char *v = q->v[i].value ? q->v[i].value : "";
        if (k < 0) {
            ad_err err = AD_ERR_INIT;
            if (ad_cutout_option_set(opt, q->v[i].key, v, 1, &err) != AD_OK)
                return refuse(e, "invalid_parameter", shown, "%s", err.msg);
            continue;
        }
        spec[k] = v;
    }
    return AD_OK;
}

/* The rules between the options, once all are set. */
static ad_status check_options(const ad_cutout_options *opt, ad_bg_error *e)
{
    ad_err oerr = AD_ERR_INIT;
    const char *param = NULL;
    if (ad_cutout_options_check(opt, &param, &oerr) != AD_OK)
        return refuse(e, "invalid_parameter", param, "%s", oerr.msg);
    return AD_OK;
}

ad_status ad_bg_options_parse(const ad_query *q, ad_cutout_options *opt, ad_bg_error *e)
{
    if (take_names(q, NULL, opt, e) != AD_OK)
        return AD_EINVAL;
    return check_options(opt, e);
}

ad_status ad_bg_params_parse(const ad_query *q, ad_bg_request *out, ad_cutout_options *opt, ad_bg_error *e)
{
    const char *val[AD_BG_NPARAMS] = {NULL};
    memset(out, 0, sizeof *out);
    if (take_names(q, val, opt, e) != AD_OK)
        return AD_EINVAL;
    const char *mode = val[0], *disp = val[1], *name = val[2], *meta = val[3];

    if (mode == NULL || strcmp(mode, "get_image") == 0)
        out->mode = AD_BG_GET_IMAGE;
    else if (strcmp(mode, "save_image") == 0)
        out->mode = AD_BG_SAVE_IMAGE;
    else if (strcmp(mode, "get_image_and_save") == 0)
        out->mode = AD_BG_GET_IMAGE_AND_SAVE;
    else
        return refuse(e, "invalid_parameter", "mode", "mode must be get_image, save_image or get_image_and_save%s", "");

    ad_bg_disposition d = AD_BG_NO_DISPOSITION;
    int disp_known = disp && (strcmp(disp, "add_conversion") == 0 || strcmp(disp, "add_new_asset") == 0);
    if (disp_known)
        d = strcmp(disp, "add_conversion") == 0 ? AD_BG_ADD_CONVERSION : AD_BG_ADD_NEW_ASSET;

    if (out->mode != AD_BG_GET_IMAGE) {
        if (disp == NULL)
            return refuse(e, "missing_parameter", "disposition", "disposition is required when mode is %s",
                          ad_bg_mode_name(out->mode));
        if (!disp_known)
            return refuse(e, "invalid_parameter", "disposition",
                          "disposition must be add_conversion or add_new_asset%s", "");
        if (d == AD_BG_ADD_CONVERSION) {
            if (name == NULL)
                return refuse(e, "missing_parameter", "conversion_name",
                              "conversion_name is required when disposition is add_conversion%s", "");
            if (!ad_bg_conversion_name_valid(name))
                return refuse(e, "invalid_parameter", "conversion_name",
                              "conversion_name must match ^[a-zA-Z0-9_-]{1,30}$%s", "");
            snprintf(out->conversion_name, sizeof out->conversion_name, "%s", name);
        } else if (name != NULL) {
            return refuse(e, "invalid_parameter", "conversion_name",
                          "conversion_name is only allowed when disposition is add_conversion%s", "");
        }
        out->disposition = d;
    }
    if (meta != NULL) {
        if (d != AD_BG_ADD_NEW_ASSET)
            return refuse(e, "invalid_parameter", "metadata",
                          "metadata is only allowed when disposition is add_new_asset%s", "");
        if (strcmp(meta, "inherit") != 0)
            return refuse(e, "invalid_parameter", "metadata", "metadata must be inherit%s", "");
        out->inherit = out->mode != AD_BG_GET_IMAGE;
    }
    return check_options(opt, e);
}
