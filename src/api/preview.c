/* preview.c — GET /api/v1/assets/:asset_id/preview?size=128|256|512: a
 * small WebP of an image asset (oriented, sRGB, fits size x size, never
 * enlarged), for thumbnails in the web console and in clients. A preview
 * is a function of the asset's bytes and the size, so its ETag is too and
 * it is kept in the cut-out cache under its own key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "http/range.h"
#include "image/image.h"

ad_http_resp *ad_handle_preview(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    ad_err err = AD_ERR_INIT;
    ad_asset a;
    int have_asset = 0, side = args->query.size; /* 128, 256 or 512: the route's row checked it */
    void *src = NULL, *webp = NULL;
    size_t src_len = 0, webp_len = 0;
    ad_http_resp *r = NULL;
    if ((r = ad_load_asset(api, args->asset_id, &a)) != NULL)
        goto out;
    have_asset = 1;
    if (a.width < 0) {
        r = ad_reply_error(415, "unsupported_media_type", "asset_id", "the asset is not an image (%s)",
                           a.content_type ? a.content_type : "unknown type");
        goto out;
    }
    char etag[80], key[100];
    snprintf(etag, sizeof etag, "\"p%d-%.64s\"", side, a.sha256);
    snprintf(key, sizeof key, "preview/%d/%.64s", side, a.sha256);
    if (ad_http_etag_match(ad_http_header(req, "If-None-Match"), etag)) {
        r = ad_http_resp_take(304, NULL, NULL, 0);
        ad_http_resp_header(r, "ETag", etag);
        goto out;
    }
    ad_lru_value *hit = api->cfg.cache ? ad_lru_get(api->cfg.cache, key) : NULL;
    if (hit) {
        const void *data = ad_lru_data(hit, &webp_len);
        if ((webp = malloc(webp_len ? webp_len : 1)) != NULL)
            memcpy(webp, data, webp_len);
        ad_lru_value_unref(hit);
    } else {
        ad_status st = ad_store_blob_read_all(api->cfg.store, a.sha256, api->cfg.max_body, &src, &src_len, &err);
        if (st == AD_OK)
            st = ad_image_preview(src, src_len, api->cfg.max_pixels, side, &webp, &webp_len, &err);
        if (st == AD_EUNSUPPORTED) {
            r = ad_reply_error(422, "unprocessable_image", "asset_id", "the asset's image cannot be decoded: %s",
                               err.msg);
            goto out;
        }
        if (st == AD_ETOOBIG) {
            r = ad_reply_error(413, "too_large", "asset_id", "%s", err.msg);
            goto out;
        }
        if (st != AD_OK) {
            r = ad_reply_status(st, &err, NULL);
            goto out;
        }
        if (api->cfg.cache)
            ad_lru_put(api->cfg.cache, key, webp, webp_len);
    }
    if (webp == NULL) {
        r = ad_reply_error(503, "out_of_memory", NULL, "out of memory");
        goto out;
    }
    r = ad_http_resp_take(200, "image/webp", webp, webp_len);
    webp = NULL;
    ad_http_resp_header(r, "ETag", etag);
    ad_http_resp_header(r, "Cache-Control", "private, max-age=86400");
    ad_http_resp_header(r, "X-Cache", hit ? "hit" : "miss");
out:
    free(src);
    free(webp);
    if (have_asset)
        ad_asset_cleanup(&a);
    return r;
}
