/* delivery.c — signed public URLs (../shared/spec/delivery.md, sections
 * 2-4): a key holder mints a URL for an original, a conversion or a
 * cut-out variant, and anyone may fetch it.
 *
 *   POST /api/v1/assets/:asset_id/delivery_urls   mint (every option
 *        validated here, so a public URL never fails for one)
 *   GET|HEAD /d/:signature/:asset_id/:variant/:options/:expires
 *
 * A URL names what it shows and how, in a canonical text that is signed
 * whole: HMAC-SHA256 over "assetd-delivery-1\n" + the path after the
 * signature, base64url, checked in constant time against every secret of
 * --delivery-secrets (the first signs). Variants are made on their first
 * request on the render pool, one render per key on an instance at a time
 * (the others wait for it), and kept in the store as derived blobs (kind
 * "variant", store/derived.c) shared by every instance, bounded by
 * --variant-store-mb and gone with their source. The asset (and the
 * conversion) is looked up on every request, so a deletion is a 404 at
 * once everywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "api/bg_params.h"
#include "base/clock.h"
#include "base/hex.h"
#include "base/hmac.h"
#include "base/log.h"
#include "base/sha256.h"
#include "image/image.h"
#include "image/transform.h"

#define SIGNED_PREFIX "assetd-delivery-1\n"
#define SIG_CHARS 43 /* base64url of 32 bytes, unpadded */
#define MAX_EXPIRES_IN 31536000

enum { V_ORIGINAL, V_CONVERSION, V_BG_REMOVE };

/* The bg_remove output options a variant may take (its format is the
 * transformation's). */
const char *const ad_delivery_bg_options[] = {"preset",     "bg_color",          "crop", "crop_margin", "channels",
                                              "foreground", "clear_transparent", NULL};
#define NBG (sizeof ad_delivery_bg_options / sizeof ad_delivery_bg_options[0] - 1)

/* What a URL names and how. */
typedef struct {
    int kind; /* V_* */
    char conversion[AD_CONVERSION_NAME_MAX + 1];
    int has_options;
    ad_transform t;
    ad_cutout_options cut; /* V_BG_REMOVE */
    int64_t expires;       /* unix seconds; 0: never */
} durl;

/* ---- the render pool's single flight -------------------------------- */

typedef struct waiter {
    ad_http_req *req;
    struct waiter *next;
} waiter;

typedef struct ad_delivery_flight {
    char key[65];
    waiter *waiters;
    struct ad_delivery_flight *next;
} flight;

/* ---- options ---------------------------------------------------------- */

static int bg_option(const char *name)
{
    for (size_t i = 0; i < NBG; i++)
        if (strcmp(ad_delivery_bg_options[i], name) == 0)
            return 1;
    return 0;
}

static void durl_init(durl *d, int kind)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    ad_transform_default(&d->t);
    ad_cutout_options_default(&d->cut);
}

/* Set one option from text; AD_EINVAL / AD_ENOTFOUND with the reason. */
static ad_status set_option(durl *d, const char *name, const char *value, ad_err *err)
{
    const ad_decl *row = ad_decl_find(ad_transform_params, ad_transform_nparams, name);
    d->has_options = 1;
    if (row)
        return ad_decl_set(row, &d->t, value, err);
    if (d->kind == V_BG_REMOVE && bg_option(name))
        return ad_cutout_option_set(&d->cut, name, value, 1, err);
    if (ad_cutout_option_find(name, 1) && !bg_option(name))
        return ad_err_set(err, AD_ENOTFOUND,
                          "option '%s' is not a delivery option (w, h, fit and format size and "
                          "encode a variant)",
                          name);
    if (bg_option(name))
        return ad_err_set(err, AD_ENOTFOUND, "option '%s' is for variant bg_remove only", name);
    return ad_err_set(err, AD_ENOTFOUND, "unknown option '%s' (w, h, fit, enlarge, format, q%s)", name,
                      d->kind == V_BG_REMOVE ? ", and bg_remove's output options" : "");
}

/* The value part of ad_decl_describe's "name=value". */
static void value_of(const ad_decl *row, const void *base, char *buf, size_t len)
{
    char t[256];
    ad_decl_describe(row, base, t, sizeof t);
    const char *eq = strchr(t, '=');
    snprintf(buf, len, "%s", eq ? eq + 1 : "");
}

/* Append ",name:value" (value percent-encoded outside [A-Za-z0-9._-]). */
static void append_option(char *out, size_t len, const char *name, const char *value)
{
    size_t at = strlen(out);
    at += (size_t)snprintf(out + at, at < len ? len - at : 0, "%s%s:", at ? "," : "", name);
    for (const unsigned char *p = (const unsigned char *)value; *p && at + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
            *p == '_' || *p == '-')
            out[at++] = (char)*p;
        else
            at += (size_t)snprintf(out + at, len - at, "%%%02X", *p);
    }
    out[at < len ? at : len - 1] = '\0';
}

/* The options' canonical text: those not at their default, in the rows'
 * order (transformation, then bg_remove's), "-" when none. */
static void canonical_options(const durl *d, char *out, size_t len)
{
    durl def;
    durl_init(&def, d->kind);
    char a[256], b[256];
    out[0] = '\0';
    for (int i = 0; i < ad_transform_nparams; i++) {
        value_of(&ad_transform_params[i], &d->t, a, sizeof a);
        value_of(&ad_transform_params[i], &def.t, b, sizeof b);
        if (strcmp(a, b) != 0)
            append_option(out, len, ad_transform_params[i].name, a);
    }
    if (d->kind == V_BG_REMOVE) {
        int n;
        const ad_option_decl *rows = ad_cutout_option_decls(&n);
        for (int i = 0; i < n; i++) {
            if (!bg_option(rows[i].name))
                continue;
            value_of(&rows[i], &d->cut, a, sizeof a);
            value_of(&rows[i], &def.cut, b, sizeof b);
            if (strcmp(a, b) != 0)
                append_option(out, len, rows[i].name, a);
        }
    }
    if (!out[0])
        snprintf(out, len, "-");
}

/* Parse a canonical options text back (a signed URL's: any failure means
 * it was not made by this version). */
static ad_status parse_options(durl *d, const char *text, ad_err *err)
{
    if (strcmp(text, "-") == 0)
        return AD_OK;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *item = buf; item && *item;) {
        char *next = strchr(item, ',');
        if (next)
            *next++ = '\0';
        char *colon = strchr(item, ':');
        if (colon == NULL)
            return ad_err_set(err, AD_EINVAL, "malformed options");
        *colon = '\0';
        char value[256];
        size_t n = 0;
        for (const char *p = colon + 1; *p && n + 1 < sizeof value; p++) {
            if (*p == '%' && ad_hex_value(p[1]) >= 0 && ad_hex_value(p[2]) >= 0) {
                value[n++] = (char)(ad_hex_value(p[1]) * 16 + ad_hex_value(p[2]));
                p += 2;
            } else {
                value[n++] = *p;
            }
        }
        value[n] = '\0';
        ad_status rc = set_option(d, item, value, err);
        if (rc != AD_OK)
            return rc;
        item = next;
    }
    return AD_OK;
}

static void variant_token(const durl *d, char *out, size_t len)
{
    if (d->kind == V_CONVERSION)
        snprintf(out, len, "conversion.%s", d->conversion);
    else
        snprintf(out, len, "%s", d->kind == V_BG_REMOVE ? "bg_remove" : "original");
}

static ad_status parse_variant_token(durl *d, const char *tok, ad_err *err)
{
    if (strcmp(tok, "original") == 0)
        durl_init(d, V_ORIGINAL);
    else if (strcmp(tok, "bg_remove") == 0)
        durl_init(d, V_BG_REMOVE);
    else if (strncmp(tok, "conversion.", 11) == 0 && ad_bg_conversion_name_valid(tok + 11)) {
        durl_init(d, V_CONVERSION);
        snprintf(d->conversion, sizeof d->conversion, "%s", tok + 11);
    } else
        return ad_err_set(err, AD_EINVAL, "unknown variant");
    return AD_OK;
}

/* ---- signing ---------------------------------------------------------- */

static void base64url(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = tbl[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = tbl[v & 63];
    }
    out[o] = '\0';
}

/* The signature of the path after it ("<asset_id>/<variant>/<options>/<expires>")
 * with secret, into sig (SIG_CHARS + 1). */
static void sign(const char *secret, const char *rest, char sig[SIG_CHARS + 1])
{
    char msg[1024];
    uint8_t mac[32];
    int n = snprintf(msg, sizeof msg, "%s%s", SIGNED_PREFIX, rest);
    ad_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac);
    base64url(mac, sizeof mac, sig);
}

static int signature_ok(const ad_api *api, const char *sig, const char *rest)
{
    int ok = 0;
    char want[SIG_CHARS + 1];
    if (strlen(sig) != SIG_CHARS)
        return 0;
    /* every secret is tried (no early exit: the time does not say which) */
    for (int i = 0; i < api->cfg.ndelivery_secrets; i++) {
        sign(api->cfg.delivery_secrets[i], rest, want);
        ok |= ad_ct_equal(want, sig, SIG_CHARS);
    }
    return ok;
}

/* ---- minting ---------------------------------------------------------- */

/* A JSON option value as the text the rows parse. */
static int option_text(json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        return snprintf(buf, len, "%s", json_string_value(v)) < (int)len;
    if (json_is_integer(v))
        return snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < (int)len;
    if (json_is_boolean(v))
        return snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false") > 0;
    return 0;
}

/* The result's pixels for the source's size, as the options make it. */
static double result_pixels(const durl *d, int W, int H)
{
    const ad_transform *t = &d->t;
    if (!t->w && !t->h)
        return (double)W * H;
    if (t->w && t->h && t->fit != AD_FIT_CONTAIN)
        return (double)t->w * t->h;
    double s = 1e30;
    if (t->w)
        s = (double)t->w / W;
    if (t->h && (double)t->h / H < s)
        s = (double)t->h / H;
    if (!t->enlarge && s > 1)
        s = 1;
    return (double)W * s * ((double)H * s);
}

static void rfc3339(int64_t unix_s, char *buf, size_t len)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

ad_http_resp *ad_handle_mint(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    size_t len = 0;
    const char *body = ad_http_body(req, &len);
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
    ad_http_resp *r = NULL;
    ad_asset a = {0};
    ad_err err = AD_ERR_INIT;
    durl d;
    durl_init(&d, V_ORIGINAL);
    if (!json_is_object(j)) {
        r = ad_reply_error(400, "invalid_body", NULL,
                           "the body must be a JSON object (variant, options, expires_in)%s%s", j ? "" : ": ",
                           j ? "" : je.text);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "variant") != 0 && strcmp(key, "options") != 0 && strcmp(key, "expires_in") != 0) {
            r = ad_reply_error(400, "invalid_parameter", key, "unknown field '%.64s' (variant, options, expires_in)",
                               key);
            goto out;
        }
    }
    v = json_object_get(j, "variant");
    const char *variant = json_is_string(v) ? json_string_value(v) : v && !json_is_null(v) ? NULL : "original";
    if (variant && strcmp(variant, "original") == 0)
        durl_init(&d, V_ORIGINAL);
    else if (variant && strcmp(variant, "bg_remove") == 0)
        durl_init(&d, V_BG_REMOVE);
    else if (variant && strncmp(variant, "conversion/", 11) == 0 && ad_bg_conversion_name_valid(variant + 11)) {
        durl_init(&d, V_CONVERSION);
        snprintf(d.conversion, sizeof d.conversion, "%s", variant + 11);
    } else {
        r = ad_reply_error(400, "invalid_parameter", "variant",
                           "variant must be \"original\", \"conversion/<name>\" or \"bg_remove\"");
        goto out;
    }
    v = json_object_get(j, "expires_in");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > MAX_EXPIRES_IN) {
            r = ad_reply_error(400, "invalid_parameter", "expires_in",
                               "expires_in must be an integer number of seconds, 1 to %d (or absent: no expiry)",
                               MAX_EXPIRES_IN);
            goto out;
        }
        d.expires = (int64_t)time(NULL) + json_integer_value(v);
    }
    v = json_object_get(j, "options");
    if (v && !json_is_null(v) && !json_is_object(v)) {
        r = ad_reply_error(400, "invalid_parameter", "options", "options must be a JSON object");
        goto out;
    }
    json_t *ov;
    json_object_foreach(v, key, ov)
    {
        char text[256], param[80];
        snprintf(param, sizeof param, "options.%.64s", key);
        if (!option_text(ov, text, sizeof text)) {
            r = ad_reply_error(400, "invalid_parameter", param, "option %.64s must be a string, integer or boolean",
                               key);
            goto out;
        }
        if (set_option(&d, key, text, &err) != AD_OK) {
            r = ad_reply_error(400, "invalid_parameter", param, "%s", err.msg);
            goto out;
        }
    }
    if (d.kind == V_BG_REMOVE) {
        const char *p = NULL;
        if (ad_cutout_options_check(&d.cut, &p, &err) != AD_OK) {
            char param[80];
            snprintf(param, sizeof param, "options.%s", p ? p : "");
            r = ad_reply_error(400, "invalid_parameter", param, "%s", err.msg);
            goto out;
        }
    }
    if ((r = ad_load_asset(api, args->asset_id, &a)) != NULL)
        goto out;
    int W = a.width, H = a.height;
    if (d.kind == V_CONVERSION) {
        const ad_conversion *c = NULL;
        for (int i = 0; i < a.nconversions; i++)
            if (strcmp(a.conversions[i].name, d.conversion) == 0)
                c = &a.conversions[i];
        if (c == NULL) {
            r = ad_reply_error(404, "not_found", "variant", "the asset has no conversion %s", d.conversion);
            goto out;
        }
        /* a conversion is a cut-out of the asset: at most its size */
        if (ad_image_extension(c->content_type) == NULL)
            W = H = -1;
    }
    if ((d.has_options || d.kind == V_BG_REMOVE) && W <= 0) {
        r = ad_reply_error(415, "unsupported_media_type", "variant",
                           "the %s is not an image this service can decode: it can be delivered as it is, without "
                           "options",
                           d.kind == V_CONVERSION ? "conversion" : "asset");
        goto out;
    }
    if (W > 0 && result_pixels(&d, W, H) > (double)api->cfg.max_pixels) {
        r = ad_reply_error(400, "invalid_parameter", d.t.w ? "options.w" : "options.h",
                           "the result would have %.0f pixels; the limit is %llu", result_pixels(&d, W, H),
                           (unsigned long long)api->cfg.max_pixels);
        goto out;
    }
    if (api->cfg.ndelivery_secrets == 0) {
        r = ad_reply_error(503, "unavailable", NULL, "delivery is not configured (--delivery-secrets)");
        goto out;
    }
    char tok[64], opts[512], rest[768], sig[SIG_CHARS + 1], path[900], url[1400], when[32];
    variant_token(&d, tok, sizeof tok);
    canonical_options(&d, opts, sizeof opts);
    snprintf(rest, sizeof rest, "%s/%s/%s/%" PRId64, a.id, tok, opts, d.expires);
    sign(api->cfg.delivery_secrets[0], rest, sig);
    snprintf(path, sizeof path, "/d/%s/%s", sig, rest);
    snprintf(url, sizeof url, "%s%s", ad_api_public_url(api), path);
    json_t *o = json_pack("{s:s, s:s}", "url", url, "path", path);
    if (d.expires) {
        rfc3339(d.expires, when, sizeof when);
        json_object_set_new(o, "expires_at", json_string(when));
    } else {
        json_object_set_new(o, "expires_at", json_null());
    }
    r = ad_reply_json(201, o);
    ad_http_resp_header(r, "Cache-Control", "no-store");
out:
    ad_asset_cleanup(&a);
    json_decref(j);
    return r;
}

/* ---- serving ---------------------------------------------------------- */

static void count(ad_api *api, const char *result, size_t bytes)
{
    if (api->cfg.metrics == NULL)
        return;
    char l[40];
    snprintf(l, sizeof l, "result=\"%s\"", result);
    ad_metrics_add(api->cfg.metrics, "assetd_delivery_total", l, 1);
    if (bytes)
        ad_metrics_add(api->cfg.metrics, "assetd_delivery_bytes_total", "", (double)bytes);
}

/* What every /d/ answer carries, errors included. */
static ad_http_resp *public_headers(ad_http_resp *r, const durl *d, int vary)
{
    char cc[64];
    if (r == NULL)
        return r;
    int ok = ad_http_resp_status(r) < 400;
    if (!ok)
        snprintf(cc, sizeof cc, "no-store");
    else if (d->expires == 0)
        snprintf(cc, sizeof cc, "public, max-age=31536000, immutable");
    else {
        int64_t left = d->expires - (int64_t)time(NULL);
        snprintf(cc, sizeof cc, "public, max-age=%" PRId64, left > 0 ? left : 0);
    }
    ad_http_resp_header(r, "Cache-Control", cc);
    if (vary)
        ad_http_resp_header(r, "Vary", "Accept");
    ad_http_resp_header(r, "Access-Control-Allow-Origin", "*");
    return r;
}

/* The key of a variant: the source's bytes, what is made and how, the
 * format it is encoded in (auto: what the client takes), and for
 * bg_remove the mask it is made from (the model and preset). */
static void variant_key(ad_api *api, const durl *d, const char *source, const char *opts, const ad_accept *acc,
                        char key[65])
{
    char tok[64], fmt[16], mask[65] = "", text[1200];
    variant_token(d, tok, sizeof tok);
    if (d->t.format != AD_OUT_AUTO)
        snprintf(fmt, sizeof fmt, "%d", d->t.format);
    else
        snprintf(fmt, sizeof fmt, "auto-%s", acc->avif && ad_image_can_avif() ? "avif" : acc->webp ? "webp" : "other");
    if (d->kind == V_BG_REMOVE)
        ad_masks_key(api, source, d->cut.preset, mask);
    int n = snprintf(text, sizeof text, "assetd-variant-1\n%s\n%s\n%s\n%s\n%s", source, tok, opts, fmt, mask);
    ad_sha256_hex(text, (size_t)n, key);
}

/* The media type of a stored variant, from its first bytes. */
static const char *sniff(const uint8_t *b, size_t n)
{
    if (n >= 8 && memcmp(b, "\x89PNG", 4) == 0)
        return "image/png";
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "image/jpeg";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
        return "image/avif";
    return "application/octet-stream";
}

static const char *stored_type(ad_api *api, const char *sha)
{
    ad_store_reader *rd = NULL;
    ad_err err = AD_ERR_INIT;
    uint8_t head[16];
    size_t got = 0;
    const char *t = "application/octet-stream";
    if (ad_store_reader_open(api->cfg.store, sha, &rd, &err) == AD_OK &&
        ad_store_reader_read(rd, 0, head, sizeof head, &got, &err) == AD_OK)
        t = sniff(head, got);
    ad_store_reader_close(rd);
    return t;
}

/* The media type a variant is encoded in when the URL and Accept say it
 * (NULL: format=auto for a client that takes neither AVIF nor WebP, PNG or
 * JPEG by the result's alpha: read from the bytes). */
static const char *known_type(const durl *d, const ad_accept *acc)
{
    switch (ad_transform_resolve(d->t.format, acc, 0)) {
    case AD_OUT_WEBP:
        return "image/webp";
    case AD_OUT_AVIF:
        return "image/avif";
    case AD_OUT_PNG:
        return "image/png";
    default:
        return d->t.format == AD_OUT_JPG ? "image/jpeg" : NULL;
    }
}

/* A render on the render pool. */
typedef struct {
    ad_api *api;
    durl d;
    char key[65];
    char source[65];
    ad_accept acc;
    int vary;
} render_task;

static flight *find_flight(ad_api *api, const char *key)
{
    for (flight *f = api->flights; f; f = f->next)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

/* Take the flight of key off the list: its waiters are the caller's. */
static waiter *land(ad_api *api, const char *key)
{
    pthread_mutex_lock(&api->flights_lock);
    waiter *w = NULL;
    for (flight **p = &api->flights; *p; p = &(*p)->next)
        if (strcmp((*p)->key, key) == 0) {
            flight *f = *p;
            *p = f->next;
            w = f->waiters;
            free(f);
            break;
        }
    pthread_mutex_unlock(&api->flights_lock);
    return w;
}

/* Make the variant: the bytes of its source transformed (bg_remove: the
 * cut-out, from the stored mask when there is one, as pixels). */
static ad_http_resp *render(render_task *t, ad_transformed *out)
{
    ad_api *api = t->api;
    ad_err err = AD_ERR_INIT;
    void *src = NULL;
    size_t len = 0;
    ad_http_resp *r = NULL;
    ad_status st = ad_store_blob_read_all(api->cfg.store, t->source, api->cfg.max_body, &src, &len, &err);
    if (st != AD_OK) {
        r = st == AD_ENOTFOUND ? ad_reply_error(404, "not_found", "asset_id", "the asset was deleted")
                               : ad_reply_status(st, &err, NULL);
        goto out;
    }
    if (t->d.kind != V_BG_REMOVE) {
        st = ad_image_transform(src, len, api->cfg.max_pixels, &t->d.t, &t->acc, out, &err);
    } else {
        ad_cutout_result res = {0};
        ad_mask_origin origin;
        if ((r = ad_bg_cutout(api, src, len, &t->d.cut, "asset_id", t->source, AD_CUTOUT_PIXELS, &res, &origin,
                              &err)) != NULL)
            goto out;
        /* cover keeps the subject in view (a crop is the subject already) */
        int focus[4] = {res.subject.left, res.subject.top, res.subject.width, res.subject.height};
        st = ad_image_transform_pixmap(&res.pixels, t->d.cut.crop ? NULL : focus, &t->d.t, &t->acc, out, &err);
        ad_cutout_result_cleanup(&res);
    }
    if (st == AD_ETOOBIG)
        r = ad_reply_error(413, "too_many_pixels", "asset_id", "%s", err.msg);
    else if (st == AD_EUNSUPPORTED)
        r = ad_reply_error(422, "unprocessable_image", "asset_id", "the image cannot be processed: %s", err.msg);
    else if (st != AD_OK)
        r = ad_reply_status(st, &err, NULL);
out:
    free(src);
    return r;
}

static void run_render(void *arg)
{
    render_task *t = arg;
    ad_api *api = t->api;
    ad_transformed out = {0};
    ad_err err = AD_ERR_INIT;
    char sha[65] = "";
    double t0 = ad_clock_ms();
    ad_http_resp *failed = render(t, &out);
    if (failed == NULL) {
        ad_sha256_hex(out.data, out.len, sha);
        /* kept for every instance; when it cannot be, it is still served */
        ad_blob_pin pin;
        int stored = 0;
        if (api->cfg.variant_store_bytes > 0 &&
            ad_store_put_blob(api->cfg.store, out.data, out.len, &pin, &err) == AD_OK &&
            ad_store_put_derived(api->cfg.store, "variant", t->key, t->source, &pin, api->cfg.variant_store_bytes,
                                 &stored, &err) != AD_OK)
            ad_log(AD_LOG_WARN, "delivery", "variant not stored (rendered again next time): %s", err.msg);
        if (api->cfg.metrics)
            ad_metrics_observe(api->cfg.metrics, "assetd_delivery_render_seconds", "", (ad_clock_ms() - t0) / 1000.0);
    }
    ad_log(AD_LOG_INFO, "delivery", "render %s ms=%.0f bytes=%zu", failed ? "failed" : "ok", ad_clock_ms() - t0,
           out.len);
    waiter *w = land(api, t->key);
    while (w) {
        waiter *next = w->next;
        ad_http_resp *r;
        if (failed) {
            r = next ? ad_http_resp_copy(failed) : failed;
            if (!next)
                failed = NULL;
        } else {
            void *copy = malloc(out.len ? out.len : 1);
            if (copy)
                memcpy(copy, out.data, out.len);
            r = copy ? ad_http_resp_take(200, out.content_type, copy, out.len)
                     : ad_reply_error(503, "out_of_memory", NULL, "out of memory");
            if (copy) {
                char etag[70];
                snprintf(etag, sizeof etag, "\"%s\"", sha);
                ad_http_resp_header(r, "ETag", etag);
            }
            count(api, "rendered", out.len);
        }
        ad_api_finish(api, w->req, public_headers(r, &t->d, t->vary));
        free(w);
        w = next;
    }
    if (failed)
        ad_http_resp_free(failed);
    free(out.data);
    free(t);
}

/* Render the variant for req, or wait for the render already under way. */
static ad_http_resp *render_later(ad_api *api, ad_http_req *req, render_task *t)
{
    waiter *w = calloc(1, sizeof *w);
    if (w == NULL) {
        free(t);
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    }
    w->req = req;
    pthread_mutex_lock(&api->flights_lock);
    flight *f = find_flight(api, t->key);
    if (f) {
        /* the same variant is being made: wait for it */
        ad_http_defer(req);
        w->next = f->waiters;
        f->waiters = w;
        pthread_mutex_unlock(&api->flights_lock);
        free(t);
        count(api, "joined", 0);
        return AD_DEFERRED;
    }
    if ((f = calloc(1, sizeof *f)) == NULL) {
        pthread_mutex_unlock(&api->flights_lock);
        free(w);
        free(t);
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    }
    memcpy(f->key, t->key, sizeof f->key);
    f->waiters = w;
    f->next = api->flights;
    api->flights = f;
    pthread_mutex_unlock(&api->flights_lock);
    ad_http_defer(req);
    if (ad_workpool_submit(api->cfg.render_pool, run_render, t) == AD_OK)
        return AD_DEFERRED;
    /* the render queue is full: refused now, so a flood of first renders
     * cannot take what API traffic needs */
    char key[65];
    memcpy(key, t->key, sizeof key);
    free(t);
    w = land(api, key); /* this request and any that joined meanwhile */
    count(api, "busy", 0);
    while (w) {
        waiter *next = w->next;
        ad_http_resp *r = ad_reply_error(503, "busy", NULL, "the render queue is full; retry later");
        ad_http_resp_header(r, "Retry-After", "2");
        if (w->req == req) {
            /* answered by the caller through the router, as any deferred one */
            ad_api_finish(api, req, r);
        } else {
            ad_api_finish(api, w->req, r);
        }
        free(w);
        w = next;
    }
    return AD_DEFERRED;
}

ad_http_resp *ad_handle_delivery(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    durl d;
    ad_err err = AD_ERR_INIT;
    ad_asset a = {0};
    ad_http_resp *r = NULL;
    int vary = 0;
    char rest[768];
    durl_init(&d, V_ORIGINAL);
    snprintf(rest, sizeof rest, "%s/%s/%s/%s", args->asset_id, args->variant, args->options, args->expires);
    if (!signature_ok(api, args->signature, rest)) {
        count(api, "forbidden", 0);
        r = ad_reply_error(403, "invalid_signature", "signature",
                           "this URL's signature does not match it (a changed URL, or a secret no longer listed)");
        goto out;
    }
    char *end;
    long long exp = strtoll(args->expires, &end, 10);
    /* a signed URL that does not parse was not made by this version */
    if (*end || exp < 0 || parse_variant_token(&d, args->variant, &err) != AD_OK ||
        parse_options(&d, args->options, &err) != AD_OK) {
        count(api, "forbidden", 0);
        r = ad_reply_error(403, "invalid_signature", "signature", "this URL was not made by this server's version");
        goto out;
    }
    d.expires = exp;
    if (exp && (int64_t)time(NULL) >= exp) {
        count(api, "expired", 0);
        r = ad_reply_error(410, "expired", NULL, "this URL has expired");
        goto out;
    }
    /* looked up on every request: a deletion is a 404 at once */
    ad_status st = ad_store_get_asset(api->cfg.store, args->asset_id, &a, &err);
    if (st == AD_ENOTFOUND) {
        count(api, "not_found", 0);
        r = ad_reply_error(404, "not_found", "asset_id", "the asset was deleted");
        goto out;
    }
    if (st != AD_OK) {
        r = ad_reply_status(st, &err, NULL);
        goto out;
    }
    const char *source = a.sha256, *ctype = a.content_type;
    if (d.kind == V_CONVERSION) {
        source = NULL;
        for (int i = 0; i < a.nconversions; i++)
            if (strcmp(a.conversions[i].name, d.conversion) == 0) {
                source = a.conversions[i].sha256;
                ctype = a.conversions[i].content_type;
            }
        if (source == NULL) {
            count(api, "not_found", 0);
            r = ad_reply_error(404, "not_found", "variant", "the conversion was deleted");
            goto out;
        }
    }
    if (!d.has_options && d.kind != V_BG_REMOVE) {
        /* the stored bytes as they are */
        r = ad_reply_blob(api, req, source, ctype, NULL, AD_BLOB_PUBLIC);
        count(api, ad_http_resp_status(r) == 304 ? "not_modified" : "original", 0);
        goto out;
    }
    vary = d.t.format == AD_OUT_AUTO;
    ad_accept acc;
    ad_accept_parse(ad_http_header(req, "Accept"), &acc);
    char opts[512], key[65], blob[65];
    canonical_options(&d, opts, sizeof opts);
    variant_key(api, &d, source, opts, &acc, key);
    if (api->cfg.variant_store_bytes > 0 && ad_store_get_derived(api->cfg.store, key, blob, &err) == AD_OK) {
        r = ad_reply_blob(api, req, blob, known_type(&d, &acc) ? known_type(&d, &acc) : stored_type(api, blob), NULL,
                          AD_BLOB_PUBLIC);
        if (ad_http_resp_status(r) != 500) {
            count(api, ad_http_resp_status(r) == 304 ? "not_modified" : "stored", 0);
            goto out;
        }
        /* its bytes are gone (a lost object): forgotten, made again */
        ad_http_resp_free(r);
        r = NULL;
        ad_err e2 = AD_ERR_INIT;
        ad_store_drop_derived(api->cfg.store, key, blob, &e2);
    }
    render_task *t = calloc(1, sizeof *t);
    if (t == NULL) {
        r = ad_reply_error(503, "out_of_memory", NULL, "out of memory");
        goto out;
    }
    t->api = api;
    t->d = d;
    t->acc = acc;
    t->vary = vary;
    memcpy(t->key, key, sizeof t->key);
    snprintf(t->source, sizeof t->source, "%s", source);
    r = render_later(api, req, t);
out:
    ad_asset_cleanup(&a);
    return r == AD_DEFERRED ? r : public_headers(r, &d, vary);
}
