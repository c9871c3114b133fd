/* test_save.c — api/save: the rules of a bg_remove save on a real store:
 * names, content type, inheritance and lineage, idempotent re-runs, what
 * happens when the source vanished, and that a failed save leaves no
 * orphan blob. */
#include <unistd.h>

#include "api/save.h"
#include "harness.h"

static ad_store *open_tmp(char dir[64])
{
    snprintf(dir, 64, "/tmp/assetd-save-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return NULL;
    ad_store_config c = {.meta = "sqlite", .blobs = "fs", .data_dir = dir, .exclusive = 1};
    ad_store *s = NULL;
    ad_err e = AD_ERR_INIT;
    if (ad_store_open(&c, &s, &e) != AD_OK)
        printf("    open: %s\n", e.msg);
    return s;
}

static void cleanup(ad_store *s, const char *dir)
{
    char cmd[96];
    ad_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("    cleanup failed\n");
}

static ad_status add_source(ad_store *s, const char *filename, const char *custom, char id[33])
{
    ad_err e = AD_ERR_INIT;
    ad_asset a = {0};
    ad_blob_pin pin;
    ad_status rc = ad_store_put_blob(s, "source bytes", 12, &pin, &e);
    ad_id_new(a.id, &e);
    memcpy(a.sha256, pin.sha256, 65);
    a.filename = (char *)filename;
    a.content_type = (char *)"image/jpeg";
    a.size = 12;
    a.width = a.height = 10;
    ad_time_rfc3339(a.created_at);
    a.custom_data = (char *)custom;
    if (rc == AD_OK)
        rc = ad_store_insert_asset(s, &a, &pin, &e);
    memcpy(id, a.id, 33);
    return rc;
}

static ad_save result_for(ad_store *s, const char *src, const char *bytes, int new_asset)
{
    ad_save sv = {0};
    ad_err e = AD_ERR_INIT;
    memcpy(sv.asset_id, src, 33);
    sv.new_asset = new_asset;
    if (new_asset)
        ad_id_new(sv.new_asset_id, &e);
    else
        snprintf(sv.conversion_name, sizeof sv.conversion_name, "cutout");
    snprintf(sv.content_type, sizeof sv.content_type, "image/png");
    sv.width = sv.height = 10;
    if (ad_store_put_blob(s, bytes, strlen(bytes), &sv.result, &e) != AD_OK)
        printf("    put: %s\n", e.msg);
    return sv;
}

static int blob_exists(ad_store *s, const char *sha)
{
    ad_blob_info info;
    ad_err e = AD_ERR_INIT;
    return ad_store_blob_stat(s, sha, &info, &e) == AD_OK;
}

TEST(a_new_asset_is_named_after_its_source_and_inherits_on_request)
{
    char dir[64], src[33];
    ad_store *s = open_tmp(dir);
    REQUIRE(s != NULL);
    REQUIRE(add_source(s, "shoe.side.jpg", "{\"sku\":\"A1\"}", src) == AD_OK);
    ad_err e = AD_ERR_INIT;
    ad_save sv = result_for(s, src, "cut-out one", 1);
    sv.inherit = 1;
    CHECK(ad_save_now(s, &sv, &e) == AD_OK);
    ad_asset a;
    REQUIRE(ad_store_get_asset(s, sv.new_asset_id, &a, &e) == AD_OK);
    CHECK(strcmp(a.filename, "shoe.side.bg_removed.png") == 0 && strcmp(a.content_type, "image/png") == 0);
    CHECK(strcmp(a.custom_data, "{\"sku\":\"A1\"}") == 0 && strcmp(a.source_asset_id, src) == 0);
    ad_asset_cleanup(&a);
    ad_save plain = result_for(s, src, "cut-out two", 1);
    CHECK(ad_save_now(s, &plain, &e) == AD_OK);
    REQUIRE(ad_store_get_asset(s, plain.new_asset_id, &a, &e) == AD_OK);
    CHECK(strcmp(a.custom_data, "{}") == 0 && a.source_asset_id[0] == '\0');
    ad_asset_cleanup(&a);
    char name[300];
    ad_save_filename("photo", "image/jpeg", name, sizeof name);
    CHECK(strcmp(name, "photo.bg_removed.jpg") == 0);
    ad_save_filename(".hidden", "image/webp", name, sizeof name);
    CHECK(strcmp(name, ".hidden.bg_removed.webp") == 0);
    cleanup(s, dir);
}

TEST(a_recorded_save_runs_once_and_again_harmlessly)
{
    char dir[64], src[33];
    ad_store *s = open_tmp(dir);
    REQUIRE(s != NULL);
    REQUIRE(add_source(s, "a.jpg", "{}", src) == AD_OK);
    ad_err e = AD_ERR_INIT;
    ad_save sv = result_for(s, src, "cut-out png", 1);
    char job[33];
    REQUIRE(ad_save_enqueue(s, &sv, job, &e) == AD_OK);
    ad_job j;
    REQUIRE(ad_store_claim_job(s, 60000, &j, &e) == AD_OK);
    CHECK(strcmp(j.kind, ad_save_job_kind.name) == 0);
    void *state = NULL;
    int final = 0;
    char *result = NULL;
    REQUIRE(ad_save_job_kind.prepare(NULL, s, &j, &state, &final, &e) == AD_OK);
    for (int run = 0; run < 2; run++) { /* a crash after the effect but before "succeeded": run again */
        ad_store_tx *tx;
        REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
        CHECK(ad_save_job_kind.apply(NULL, tx, &j, state, &result, &final, &e) == AD_OK);
        CHECK(result && strstr(result, sv.new_asset_id));
        free(result);
        result = NULL;
        if (run == 0)
            CHECK(ad_store_commit(tx, &e) == AD_OK);
        else
            CHECK(ad_store_tx_finish_job(tx, j.id, "{}", &e) == AD_OK && ad_store_commit(tx, &e) == AD_OK);
    }
    ad_save_job_kind.free_state(state);
    ad_job_cleanup(&j);
    ad_asset *v;
    int n;
    REQUIRE(ad_store_list_assets(s, NULL, 0, 10, &v, &n, &e) == AD_OK);
    CHECK(n == 2); /* the source and one new asset */
    for (int i = 0; i < n; i++)
        ad_asset_cleanup(&v[i]);
    free(v);
    cleanup(s, dir);
}

TEST(a_vanished_source_is_a_404_now_and_a_lineage_free_asset_later)
{
    char dir[64], src[33];
    ad_store *s = open_tmp(dir);
    REQUIRE(s != NULL);
    REQUIRE(add_source(s, "gone.jpg", "{\"k\":1}", src) == AD_OK);
    ad_err e = AD_ERR_INIT;
    ad_save now = result_for(s, src, "too late now", 1);
    now.inherit = 1;
    ad_save conv = result_for(s, src, "too late conv", 0);
    ad_save later = result_for(s, src, "acknowledged", 1);
    later.inherit = 1;
    char job[33];
    REQUIRE(ad_save_enqueue(s, &later, job, &e) == AD_OK);
    REQUIRE(ad_store_delete_asset(s, src, &e) == AD_OK);
    /* save_image: nothing saved, 404, and the result is not left behind */
    ad_err e2 = AD_ERR_INIT, e3 = AD_ERR_INIT;
    CHECK(ad_save_now(s, &now, &e2) == AD_ENOTFOUND);
    CHECK(ad_save_now(s, &conv, &e3) == AD_ENOTFOUND);
    ad_asset a;
    ad_err e4 = AD_ERR_INIT;
    CHECK(ad_store_get_asset(s, now.new_asset_id, &a, &e4) == AD_ENOTFOUND);
    CHECK(!blob_exists(s, now.result.sha256) && !blob_exists(s, conv.result.sha256));
    /* the job was acknowledged with X-New-Asset-Id: the asset is created,
     * without the lineage or custom data of a source that no longer exists */
    ad_job j;
    REQUIRE(ad_store_claim_job(s, 60000, &j, &e) == AD_OK);
    void *state = NULL;
    int final = 0;
    char *result = NULL;
    ad_store_tx *tx;
    REQUIRE(ad_save_job_kind.prepare(NULL, s, &j, &state, &final, &e) == AD_OK);
    REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
    CHECK(ad_save_job_kind.apply(NULL, tx, &j, state, &result, &final, &e) == AD_OK);
    CHECK(ad_store_tx_finish_job(tx, j.id, result, &e) == AD_OK && ad_store_commit(tx, &e) == AD_OK);
    free(result);
    ad_save_job_kind.free_state(state);
    ad_job_cleanup(&j);
    REQUIRE(ad_store_get_asset(s, later.new_asset_id, &a, &e) == AD_OK);
    CHECK(strcmp(a.custom_data, "{}") == 0 && a.source_asset_id[0] == '\0');
    CHECK(strcmp(a.filename, "asset.bg_removed.png") == 0);
    ad_asset_cleanup(&a);
    CHECK(blob_exists(s, later.result.sha256));
    cleanup(s, dir);
}
