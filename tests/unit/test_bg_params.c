/* test_bg_params.c — every validation rule of the bg_remove endpoint
 * (../shared/spec/bg_remove.md), table-driven: mode x disposition x
 * parameters, missing, unknown, duplicated, misplaced, too long, bad
 * characters, bad escapes. */
#include "api/bg_params.h"
#include "harness.h"

typedef struct {
    const char *query;
    const char *code; /* NULL: accepted */
    const char *param;
    ad_bg_mode mode;
    ad_bg_disposition disp;
    const char *name;
    int inherit;
} row;

#define OK(q, m, d, n, i)         \
    {                             \
        q, NULL, NULL, m, d, n, i \
    }
#define BAD(q, c, p)           \
    {                          \
        q, c, p, 0, 0, NULL, 0 \
    }
#define GI AD_BG_GET_IMAGE
#define SI AD_BG_SAVE_IMAGE
#define GS AD_BG_GET_IMAGE_AND_SAVE
#define NO AD_BG_NO_DISPOSITION
#define AC AD_BG_ADD_CONVERSION
#define AN AD_BG_ADD_NEW_ASSET
#define MISS "missing_parameter"
#define INV "invalid_parameter"

static const row table[] = {
    /* defaults and every accepted combination */
    OK("", GI, NO, "", 0),
    OK("mode=get_image", GI, NO, "", 0),
    OK("mode=get_image&disposition=add_conversion", GI, NO, "", 0), /* disposition ignored */
    OK("mode=get_image&disposition=bogus", GI, NO, "", 0),          /* ignored entirely */
    OK("mode=get_image&disposition=add_conversion&conversion_name=bad%20name", GI, NO, "", 0),
    OK("mode=get_image&disposition=add_new_asset&metadata=inherit", GI, NO, "", 0),
    OK("mode=save_image&disposition=add_conversion&conversion_name=cutout", SI, AC, "cutout", 0),
    OK("mode=save_image&disposition=add_new_asset", SI, AN, "", 0),
    OK("mode=save_image&disposition=add_new_asset&metadata=inherit", SI, AN, "", 1),
    OK("mode=get_image_and_save&disposition=add_conversion&conversion_name=A-z_09", GS, AC, "A-z_09", 0),
    OK("mode=get_image_and_save&disposition=add_new_asset", GS, AN, "", 0),
    OK("mode=get_image_and_save&disposition=add_new_asset&metadata=inherit", GS, AN, "", 1),
    OK("conversion_name=x&disposition=add_conversion&mode=save_image", SI, AC, "x", 0), /* any order */
    OK("mode=save_image&disposition=add_conversion&conversion_name=abcdefghijklmnopqrstuvwxyz0123", SI, AC,
       "abcdefghijklmnopqrstuvwxyz0123", 0),                          /* 30 characters */
    OK("mode=save_image&&disposition=add_new_asset&", SI, AN, "", 0), /* empty pieces skipped */
    /* mode */
    BAD("mode=get", INV, "mode"),
    BAD("mode=", INV, "mode"),
    BAD("mode", INV, "mode"),
    BAD("mode=GET_IMAGE", INV, "mode"),
    BAD("mode=get_image&mode=get_image", INV, "mode"),
    /* disposition required and known in the save modes */
    BAD("mode=save_image", MISS, "disposition"),
    BAD("mode=get_image_and_save", MISS, "disposition"),
    BAD("mode=save_image&disposition=add", INV, "disposition"),
    BAD("mode=save_image&disposition=", INV, "disposition"),
    BAD("mode=save_image&disposition=add_new_asset&disposition=add_new_asset", INV, "disposition"),
    /* conversion_name */
    BAD("mode=save_image&disposition=add_conversion", MISS, "conversion_name"),
    BAD("mode=get_image_and_save&disposition=add_conversion", MISS, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=abcdefghijklmnopqrstuvwxyz01234", INV,
        "conversion_name"), /* 31 characters */
    BAD("mode=save_image&disposition=add_conversion&conversion_name=a.b", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=a%2Fb", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=..%2F..%2Fetc", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=a+b", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=%C3%A9t%C3%A9", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=x';DROP%20TABLE%20assets;--", INV,
        "conversion_name"),
    BAD("mode=save_image&disposition=add_conversion&conversion_name=a&conversion_name=b", INV, "conversion_name"),
    BAD("mode=save_image&disposition=add_new_asset&conversion_name=x", INV, "conversion_name"),
    /* metadata */
    BAD("mode=save_image&disposition=add_conversion&conversion_name=x&metadata=inherit", INV, "metadata"),
    BAD("mode=save_image&disposition=add_new_asset&metadata=copy", INV, "metadata"),
    BAD("mode=save_image&disposition=add_new_asset&metadata=", INV, "metadata"),
    BAD("mode=save_image&disposition=add_new_asset&metadata=inherit&metadata=inherit", INV, "metadata"),
    BAD("metadata=inherit", INV, "metadata"), /* get_image: rule still applies */
    BAD("mode=get_image&metadata=inherit", INV, "metadata"),
    BAD("mode=get_image&disposition=add_new_asset&metadata=x", INV, "metadata"),
    /* not part of this endpoint */
    BAD("sharpen=1", INV, "sharpen"),
    /* the output options: values checked by name, and their rules */
    BAD("format=gif", INV, "format"),
    BAD("format=png&format=png", INV, "format"),
    BAD("bg_color=notacolour", INV, "bg_color"),
    BAD("crop=yes", INV, "crop"),
    BAD("crop_margin=10", INV, "crop_margin"), /* needs crop=true */
    BAD("crop=true&crop_margin=10em", INV, "crop_margin"),
    BAD("max_side=-1", INV, "max_side"),
    BAD("preset=slow", INV, "preset"),
    BAD("channels=alpha&bg_color=fff", INV, "bg_color"),
    BAD("format=jpg&clear_transparent=true", INV, "clear_transparent"),
    BAD("mode=save_image&disposition=add_new_asset&foreground=maybe", INV, "foreground"),
    BAD("mode=get_image&Mode=get_image", INV, "Mode"),
    BAD("mode=save_image&disposition=add_new_asset&new_asset_id=abc", INV, "new_asset_id"),
};

TEST(every_rule_of_the_spec)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const row *r = &table[i];
        ad_query q;
        ad_err qe = AD_ERR_INIT;
        ad_bg_request req;
        ad_cutout_options opt;
        ad_bg_error e = {0};
        ad_status qrc = ad_query_parse(r->query, 32, &q, &qe);
        CHECKF(qrc == AD_OK, "[%s] query: %s", r->query, qe.msg);
        ad_status rc = qrc == AD_OK ? ad_bg_params_parse(&q, &req, &opt, &e) : AD_EINVAL;
        if (r->code == NULL) {
            CHECKF(rc == AD_OK, "[%s] refused: %s (%s)", r->query, e.message, e.param);
            if (rc == AD_OK)
                CHECKF(req.mode == r->mode && req.disposition == r->disp && strcmp(req.conversion_name, r->name) == 0 &&
                           req.inherit == r->inherit,
                       "[%s] parsed wrong", r->query);
        } else {
            CHECKF(rc == AD_EINVAL && e.code && strcmp(e.code, r->code) == 0 && strcmp(e.param, r->param) == 0,
                   "[%s] want %s/%s, got rc %d %s/%s", r->query, r->code, r->param, rc, e.code ? e.code : "-", e.param);
            CHECKF(e.message[0] != '\0', "[%s] no message", r->query);
        }
        ad_query_cleanup(&q);
    }
}

TEST(query_parser_decodes_and_keeps_duplicates)
{
    ad_query q;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_query_parse("a=1&a=2&b=%41+c&flag&=x", 10, &q, &e) == AD_OK);
    REQUIRE(q.n == 5);
    CHECK(strcmp(q.v[0].key, "a") == 0 && strcmp(q.v[0].value, "1") == 0);
    CHECK(strcmp(q.v[1].value, "2") == 0);
    CHECK(strcmp(q.v[2].value, "A c") == 0);
    CHECK(strcmp(q.v[3].key, "flag") == 0 && q.v[3].value == NULL);
    CHECK(q.v[4].key[0] == '\0' && strcmp(q.v[4].value, "x") == 0);
    ad_query_cleanup(&q);
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "%00=1", "a=b%2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ad_err e2 = AD_ERR_INIT;
        CHECKF(ad_query_parse(bad[i], 10, &q, &e2) == AD_EINVAL, "%s accepted", bad[i]);
        ad_query_cleanup(&q);
    }
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_query_parse("a&b&c&d", 3, &q, &e3) == AD_EINVAL);
    ad_query_cleanup(&q);
}
