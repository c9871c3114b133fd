/* assets.c — the asset and conversion routes: list, read, delete, custom
 * data, file download, conversions; and jobs. Upload is upload.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/custom_data.h"
#include "api/internal.h"
#include "http/multipart.h"
#include "image/image.h"
#include "store/records_json.h"

ad_http_resp *ad_parse_custom_data(ad_api *api, const char *text, size_t len, char **out)
{
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_custom_data_normalise(text, len, api->cfg.max_custom_data, out, &err);
    if (st == AD_OK)
        return NULL;
    if (st == AD_ETOOBIG)
        return ad_reply_error(413, "too_large", "custom_data", "%s", err.msg);
    if (st == AD_EINVAL)
        return ad_reply_error(400, "invalid_parameter", "custom_data", "%s", err.msg);
    return ad_reply_status(st, &err, "custom_data");
}

ad_http_resp *ad_handle_list(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_http_resp *r = NULL;
    ad_asset *v = NULL;
    int n = 0;
    /* both checked by the route's rows (route.c) */
    int64_t limit = args->query.limit, cursor = args->query.cursor[0] ? strtoll(args->query.cursor, NULL, 10) : 0;
    ad_err err = AD_ERR_INIT;
    ad_store *s = api->cfg.store;
    /* one more than asked tells whether another page exists */
    ad_status st = ad_store_list_assets(s, &args->query.filter, cursor, (int)limit + 1, &v, &n, &err);
    if (st != AD_OK) {
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, ad_asset_json(&v[i]));
    json_t *next = json_null();
    if (n > limit) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, v[limit - 1].seq);
        json_decref(next);
        next = json_string(buf);
    }
    r = ad_reply_json(200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
out:
    for (int i = 0; i < n; i++)
        ad_asset_cleanup(&v[i]);
    free(v);
    return r;
}

ad_http_resp *ad_handle_get_asset(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_asset a;
    ad_http_resp *r = ad_load_asset(api, args->asset_id, &a);
    if (r == NULL) {
        r = ad_reply_json(200, ad_asset_json(&a));
        ad_asset_cleanup(&a);
    }
    return r;
}

ad_http_resp *ad_handle_delete_asset(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_http_resp *r = ad_reply_asset_status(ad_store_delete_asset(api->cfg.store, args->asset_id, &err), &err);
    return r ? r : ad_http_resp_take(204, NULL, NULL, 0);
}

ad_http_resp *ad_handle_put_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_err err = AD_ERR_INIT;
    char *custom = NULL;
    size_t len;
    const char *body = ad_http_body(req, &len);
    ad_http_resp *r = ad_parse_custom_data(api, body, len, &custom);
    if (r)
        goto out;
    r = ad_reply_asset_status(ad_store_set_custom_data(api->cfg.store, args->asset_id, custom, &err), &err);
    if (r == NULL)
        r = ad_handle_get_asset(api, req, args);
out:
    free(custom);
    return r;
}

ad_http_resp *ad_handle_get_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_asset a;
    ad_http_resp *r = ad_load_asset(api, args->asset_id, &a);
    if (r)
        return r;
    json_t *j = json_loads(a.custom_data ? a.custom_data : "{}", 0, NULL);
    ad_asset_cleanup(&a);
    r = j ? ad_reply_json(200, j) : ad_reply_error(500, "internal", NULL, "stored custom data does not parse");
    ad_http_resp_header(r, "Cache-Control", "private, no-cache");
    return r;
}

/* PATCH: an RFC 7396 merge patch applied in one transaction that holds the
 * row against every other writer (concurrent patches of other keys all
 * land), under the limits of PUT. */
ad_http_resp *ad_handle_patch_custom_data(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_err err = AD_ERR_INIT;
    ad_store_tx *tx = NULL;
    ad_asset a = {0};
    char *merged = NULL;
    ad_http_resp *r = NULL;
    size_t len;
    const char *body = ad_http_body(req, &len);
    const char *ct = ad_http_header(req, "Content-Type");
    size_t ctl = ct ? strcspn(ct, "; ") : 0;
    if (ct == NULL || ctl != 28 || strncasecmp(ct, "application/merge-patch+json", 28) != 0)
        return ad_reply_error(415, "unsupported_media_type", "Content-Type",
                              "a custom-data patch is Content-Type: application/merge-patch+json (RFC 7396)");
    ad_status st = ad_store_begin(api->cfg.store, &tx, &err);
    if (st == AD_OK)
        st = ad_store_tx_lock_asset_for_update(tx, args->asset_id, &err);
    if (st == AD_OK)
        st = ad_store_tx_get_asset(tx, args->asset_id, &a, &err);
    if (st != AD_OK) {
        r = ad_reply_asset_status(st, &err);
        goto out;
    }
    st = ad_custom_data_merge(a.custom_data, body ? body : "", len, api->cfg.max_custom_data, &merged, &err);
    if (st != AD_OK) {
        r = st == AD_ETOOBIG  ? ad_reply_error(413, "too_large", "custom_data", "%s", err.msg)
            : st == AD_EINVAL ? ad_reply_error(400, "invalid_parameter", "custom_data", "%s", err.msg)
                              : ad_reply_status(st, &err, "custom_data");
        goto out;
    }
    st = ad_store_tx_set_custom_data(tx, args->asset_id, merged, &err);
    if (st == AD_OK) {
        st = ad_store_commit(tx, &err);
        tx = NULL;
    }
    r = ad_reply_asset_status(st, &err);
    if (r == NULL)
        r = ad_handle_get_asset(api, req, args);
out:
    ad_store_rollback(tx);
    ad_asset_cleanup(&a);
    free(merged);
    return r;
}

ad_http_resp *ad_handle_get_file(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_asset a;
    ad_http_resp *r = ad_load_asset(api, args->asset_id, &a);
    if (r == NULL) {
        r = ad_reply_blob(api, req, a.sha256, a.content_type, a.filename,
                          AD_BLOB_IMMUTABLE | (args->query.download ? AD_BLOB_ATTACHMENT : 0));
        ad_asset_cleanup(&a);
    }
    return r;
}

ad_http_resp *ad_handle_get_conversion(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_err err = AD_ERR_INIT;
    ad_conversion c;
    ad_status st = ad_store_get_conversion(api->cfg.store, args->asset_id, args->conversion_name, &c, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "conversion_name", "no conversion '%s' on this asset",
                              args->conversion_name);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    /* saved as "<conversion>.<ext>" */
    char name[80];
    const char *slash = strchr(c.content_type, '/');
    snprintf(name, sizeof name, "%s.%s", c.name,
             slash && strcmp(slash + 1, "jpeg") != 0 ? slash + 1
             : slash                                 ? "jpg"
                                                     : "bin");
    return ad_reply_blob(api, req, c.sha256, c.content_type, name, args->query.download ? AD_BLOB_ATTACHMENT : 0);
}

ad_http_resp *ad_handle_delete_conversion(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_delete_conversion(api->cfg.store, args->asset_id, args->conversion_name, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "conversion_name", "no conversion '%s' on this asset",
                              args->conversion_name);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return ad_http_resp_take(204, NULL, NULL, 0);
}

ad_http_resp *ad_handle_list_jobs(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_job_filter f = {.status = args->query.job_status - 1};
    snprintf(f.asset_id, sizeof f.asset_id, "%s", args->query.asset_id);
    int64_t limit = args->query.limit, cursor = args->query.cursor[0] ? strtoll(args->query.cursor, NULL, 10) : 0;
    ad_job *v = NULL;
    int n = 0;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_list_job_page(api->cfg.store, &f, cursor, (int)limit + 1, &v, &n, &err);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, ad_job_to_json(&v[i]));
    char buf[32];
    if (n > limit)
        snprintf(buf, sizeof buf, "%" PRId64, v[limit - 1].seq);
    ad_http_resp *r = ad_reply_json(
        200, json_pack("{s:o, s:o}", "items", items, "next_cursor", n > limit ? json_string(buf) : json_null()));
    for (int i = 0; i < n; i++)
        ad_job_cleanup(&v[i]);
    free(v);
    return r;
}

ad_http_resp *ad_handle_get_job(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_job j;
    ad_status st = ad_store_get_job(api->cfg.store, args->job_id, &j, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "job_id", "no job with this id");
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    ad_http_resp *r = ad_reply_json(200, ad_job_to_json(&j));
    ad_job_cleanup(&j);
    return r;
}
