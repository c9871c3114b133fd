/* test_store.c — the store conformance suite: the same checks run against
 * every backend through its table of functions. Today: sqlite (a temporary
 * folder). A later backend adds one line to `backends`. */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/id.h"
#include "harness.h"
#include "store/store.h"

static const char *backends[] = {"sqlite"};

static ad_store *open_tmp(const char *backend, char dir[64])
{
    snprintf(dir, 64, "/tmp/assetd-store-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return NULL;
    ad_store *s = NULL;
    ad_err e = AD_ERR_INIT;
    if (ad_store_open(backend, dir, &s, &e) != AD_OK)
        printf("    open: %s\n", e.msg);
    return s;
}

static void rm_tree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("    cleanup failed\n");
}

static int blob_on_disk(ad_store *s, const char *sha)
{
    char p[4096];
    ad_err e = AD_ERR_INIT;
    return s->ops->blob_path(s, sha, p, sizeof p, &e) == AD_OK && access(p, F_OK) == 0;
}

/* Store bytes as a new asset; returns its id in id_out. */
static ad_status add_asset(ad_store *s, const char *bytes, const char *custom, char id_out[33])
{
    ad_err e = AD_ERR_INIT;
    ad_asset a = {0};
    ad_status rc = s->ops->put_blob(s, bytes, strlen(bytes), a.sha256, &e);
    if (rc != AD_OK)
        return rc;
    ad_id_new(a.id, &e);
    a.filename = (char *)"photo.jpg";
    a.content_type = (char *)"image/jpeg";
    a.size = (int64_t)strlen(bytes);
    a.width = 10;
    a.height = 20;
    ad_time_rfc3339(a.created_at);
    a.custom_data = (char *)(custom ? custom : "{}");
    rc = s->ops->insert_asset(s, &a, &e);
    memcpy(id_out, a.id, 33);
    return rc;
}

TEST(assets_round_trip_and_list_newest_first)
{
    for (size_t b = 0; b < sizeof backends / sizeof *backends; b++) {
        char dir[64], ids[5][33];
        ad_store *s = open_tmp(backends[b], dir);
        REQUIRE(s != NULL);
        for (int i = 0; i < 5; i++) {
            char body[32];
            snprintf(body, sizeof body, "bytes-%d", i);
            CHECK(add_asset(s, body, "{\"k\":1}", ids[i]) == AD_OK);
        }
        ad_asset a;
        ad_err e = AD_ERR_INIT;
        REQUIRE(s->ops->get_asset(s, ids[2], &a, &e) == AD_OK);
        CHECK(strcmp(a.filename, "photo.jpg") == 0 && a.size == 7 && a.width == 10 && a.height == 20);
        CHECK(strcmp(a.custom_data, "{\"k\":1}") == 0 && a.source_asset_id[0] == '\0' && a.nconversions == 0);
        CHECK(blob_on_disk(s, a.sha256));
        ad_asset dup = a;
        ad_err e2 = AD_ERR_INIT;
        CHECK(s->ops->insert_asset(s, &dup, &e2) == AD_ECONFLICT);
        ad_asset_cleanup(&a);
        ad_err e3 = AD_ERR_INIT;
        CHECK(s->ops->get_asset(s, "0123456789abcdef0123456789abcdef", &a, &e3) == AD_ENOTFOUND);
        /* two pages of 3 then 2, newest first */
        ad_asset *v;
        int n;
        REQUIRE(s->ops->list_assets(s, 0, 3, &v, &n, &e) == AD_OK);
        CHECK(n == 3 && strcmp(v[0].id, ids[4]) == 0 && strcmp(v[2].id, ids[2]) == 0);
        int64_t cursor = v[2].seq;
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        /* an insert between pages does not disturb the second page */
        char late[33];
        CHECK(add_asset(s, "late", NULL, late) == AD_OK);
        REQUIRE(s->ops->list_assets(s, cursor, 3, &v, &n, &e) == AD_OK);
        CHECK(n == 2 && strcmp(v[0].id, ids[1]) == 0 && strcmp(v[1].id, ids[0]) == 0);
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        CHECK(s->ops->set_custom_data(s, ids[0], "{\"x\":[1,2]}", &e) == AD_OK);
        REQUIRE(s->ops->get_asset(s, ids[0], &a, &e) == AD_OK);
        CHECK(strcmp(a.custom_data, "{\"x\":[1,2]}") == 0);
        ad_asset_cleanup(&a);
        ad_store_close(s);
        rm_tree(dir);
    }
}

static ad_save conversion_save(ad_store *s, const char *asset, const char *name, const char *png)
{
    ad_save sv = {0};
    ad_err e = AD_ERR_INIT;
    memcpy(sv.asset_id, asset, 33);
    snprintf(sv.conversion_name, sizeof sv.conversion_name, "%s", name);
    s->ops->put_blob(s, png, strlen(png), sv.png_sha256, &e);
    sv.png_size = (int64_t)strlen(png);
    sv.width = 10;
    sv.height = 20;
    return sv;
}

TEST(conversions_replace_and_blobs_are_collected)
{
    for (size_t b = 0; b < sizeof backends / sizeof *backends; b++) {
        char dir[64], id[33], other[33];
        ad_store *s = open_tmp(backends[b], dir);
        REQUIRE(s != NULL);
        REQUIRE(add_asset(s, "original", NULL, id) == AD_OK);
        REQUIRE(add_asset(s, "png-one", NULL, other) == AD_OK); /* shares bytes with a conversion */
        ad_err e = AD_ERR_INIT;
        ad_save one = conversion_save(s, id, "cutout", "png-one");
        CHECK(s->ops->apply_save(s, &one, &e) == AD_OK);
        ad_save two = conversion_save(s, id, "cutout", "png-two");
        CHECK(s->ops->apply_save(s, &two, &e) == AD_OK);
        ad_conversion c;
        REQUIRE(s->ops->get_conversion(s, id, "cutout", &c, &e) == AD_OK);
        CHECK(strcmp(c.sha256, two.png_sha256) == 0 && c.size == 7);
        CHECK(blob_on_disk(s, one.png_sha256)); /* still the other asset's bytes */
        ad_save three = conversion_save(s, id, "cutout", "png-three");
        CHECK(s->ops->apply_save(s, &three, &e) == AD_OK);
        CHECK(!blob_on_disk(s, two.png_sha256)); /* replaced and unreferenced */
        ad_asset a;
        REQUIRE(s->ops->get_asset(s, id, &a, &e) == AD_OK);
        CHECK(a.nconversions == 1);
        char orig_sha[65];
        memcpy(orig_sha, a.sha256, 65);
        ad_asset_cleanup(&a);
        CHECK(s->ops->delete_asset(s, id, &e) == AD_OK);
        CHECK(!blob_on_disk(s, orig_sha) && !blob_on_disk(s, three.png_sha256));
        CHECK(blob_on_disk(s, one.png_sha256));
        ad_err e2 = AD_ERR_INIT;
        CHECK(s->ops->get_conversion(s, id, "cutout", &c, &e2) == AD_ENOTFOUND);
        ad_err e3 = AD_ERR_INIT;
        CHECK(s->ops->delete_asset(s, id, &e3) == AD_ENOTFOUND);
        ad_err e4 = AD_ERR_INIT;
        ad_save gone = conversion_save(s, id, "x", "png-four");
        CHECK(s->ops->apply_save(s, &gone, &e4) == AD_ENOTFOUND);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(new_asset_save_inherits_and_is_idempotent)
{
    for (size_t b = 0; b < sizeof backends / sizeof *backends; b++) {
        char dir[64], id[33];
        ad_store *s = open_tmp(backends[b], dir);
        REQUIRE(s != NULL);
        REQUIRE(add_asset(s, "source", "{\"sku\":\"A1\"}", id) == AD_OK);
        ad_err e = AD_ERR_INIT;
        ad_save sv = conversion_save(s, id, "", "cutout-png");
        sv.new_asset = 1;
        sv.inherit = 1;
        ad_id_new(sv.new_asset_id, &e);
        CHECK(s->ops->apply_save(s, &sv, &e) == AD_OK);
        CHECK(s->ops->apply_save(s, &sv, &e) == AD_OK); /* again: no second asset */
        ad_asset a;
        REQUIRE(s->ops->get_asset(s, sv.new_asset_id, &a, &e) == AD_OK);
        CHECK(strcmp(a.custom_data, "{\"sku\":\"A1\"}") == 0 && strcmp(a.source_asset_id, id) == 0);
        CHECK(strcmp(a.filename, "photo.bg_removed.png") == 0 && strcmp(a.content_type, "image/png") == 0);
        ad_asset_cleanup(&a);
        ad_save plain = conversion_save(s, id, "", "cutout-png-2");
        plain.new_asset = 1;
        ad_id_new(plain.new_asset_id, &e);
        CHECK(s->ops->apply_save(s, &plain, &e) == AD_OK);
        REQUIRE(s->ops->get_asset(s, plain.new_asset_id, &a, &e) == AD_OK);
        CHECK(strcmp(a.custom_data, "{}") == 0 && a.source_asset_id[0] == '\0');
        ad_asset_cleanup(&a);
        ad_asset *v;
        int n;
        REQUIRE(s->ops->list_assets(s, 0, 10, &v, &n, &e) == AD_OK);
        CHECK(n == 3);
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(jobs_claim_recover_retry_and_complete_once)
{
    for (size_t b = 0; b < sizeof backends / sizeof *backends; b++) {
        char dir[64], id[33], job[33], claimed[33];
        ad_store *s = open_tmp(backends[b], dir);
        REQUIRE(s != NULL);
        REQUIRE(add_asset(s, "source", NULL, id) == AD_OK);
        ad_err e = AD_ERR_INIT;
        ad_save sv = conversion_save(s, id, "bg", "job-png");
        ad_id_new(job, &e);
        REQUIRE(s->ops->insert_job(s, job, &sv, &e) == AD_OK);
        ad_job j;
        REQUIRE(s->ops->get_job(s, job, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_QUEUED && j.attempts == 0 && strstr(j.params, "\"bg\"") != NULL);
        ad_job_cleanup(&j);
        ad_save got;
        int attempts;
        REQUIRE(s->ops->claim_job(s, claimed, &got, &attempts, &e) == AD_OK);
        CHECK(strcmp(claimed, job) == 0 && attempts == 1 && strcmp(got.png_sha256, sv.png_sha256) == 0);
        ad_err e2 = AD_ERR_INIT;
        CHECK(s->ops->claim_job(s, claimed, &got, &attempts, &e2) == AD_ENOTFOUND); /* running: not claimable */
        int n;
        CHECK(s->ops->recover_jobs(s, &n, &e) == AD_OK && n == 1); /* a restart */
        REQUIRE(s->ops->claim_job(s, claimed, &got, &attempts, &e) == AD_OK);
        CHECK(attempts == 2);
        CHECK(s->ops->fail_job(s, job, "disk hiccup", 0, 60000, &e) == AD_OK);
        ad_err e3 = AD_ERR_INIT;
        CHECK(s->ops->claim_job(s, claimed, &got, &attempts, &e3) == AD_ENOTFOUND); /* backing off */
        CHECK(s->ops->complete_job(s, job, &got, &e) == AD_OK);
        CHECK(s->ops->complete_job(s, job, &got, &e) == AD_OK); /* twice: still one conversion */
        ad_asset a;
        REQUIRE(s->ops->get_asset(s, id, &a, &e) == AD_OK);
        CHECK(a.nconversions == 1 && strcmp(a.conversions[0].name, "bg") == 0);
        ad_asset_cleanup(&a);
        REQUIRE(s->ops->get_job(s, job, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_SUCCEEDED && j.finished_at[0] && j.result && strstr(j.result, "bg"));
        ad_job_cleanup(&j);
        /* a job whose asset vanished fails for good and frees its blob */
        char job2[33];
        ad_save sv2 = conversion_save(s, id, "late", "orphan-png");
        ad_id_new(job2, &e);
        REQUIRE(s->ops->insert_job(s, job2, &sv2, &e) == AD_OK);
        REQUIRE(s->ops->delete_asset(s, id, &e) == AD_OK);
        CHECK(blob_on_disk(s, sv2.png_sha256)); /* the queued job still holds it */
        CHECK(s->ops->fail_job(s, job2, "asset deleted", 1, 0, &e) == AD_OK);
        CHECK(!blob_on_disk(s, sv2.png_sha256));
        REQUIRE(s->ops->get_job(s, job2, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_FAILED && j.error && strcmp(j.error, "asset deleted") == 0);
        ad_job_cleanup(&j);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(keys_are_looked_up_by_hash)
{
    char dir[64];
    ad_store *s = open_tmp("sqlite", dir);
    REQUIRE(s != NULL);
    ad_err e = AD_ERR_INIT;
    const char *h = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    CHECK(s->ops->has_key(s, h, &e) == AD_ENOTFOUND);
    CHECK(s->ops->add_key(s, h, &e) == AD_OK && s->ops->add_key(s, h, &e) == AD_OK);
    CHECK(s->ops->has_key(s, h, &e) == AD_OK);
    ad_store_close(s);
    ad_err e2 = AD_ERR_INIT;
    ad_store *t = NULL;
    CHECK(ad_store_open("mongodb", dir, &t, &e2) == AD_EINVAL && strstr(e2.msg, "sqlite") != NULL);
    rm_tree(dir);
}

typedef struct {
    ad_store *s;
    int failures;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < 40; i++) {
        char body[64], id[33];
        snprintf(body, sizeof body, "w%p-%d", (void *)w, i);
        if (add_asset(w->s, body, NULL, id) != AD_OK)
            w->failures++;
    }
    return NULL;
}

TEST(parallel_writers_lose_nothing_and_never_see_busy)
{
    char dir[64];
    ad_store *s = open_tmp("sqlite", dir);
    REQUIRE(s != NULL);
    pthread_t t[4];
    writer_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (writer_arg){s, 0};
        pthread_create(&t[i], NULL, writer, &w[i]);
    }
    int fails = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        fails += w[i].failures;
    }
    CHECK(fails == 0);
    ad_asset *v;
    int n;
    ad_err e = AD_ERR_INIT;
    REQUIRE(s->ops->list_assets(s, 0, 1000, &v, &n, &e) == AD_OK);
    CHECK(n == 160);
    for (int i = 0; i < n; i++)
        ad_asset_cleanup(&v[i]);
    free(v);
    ad_store_close(s);
    rm_tree(dir);
}

TEST(orphan_blobs_are_swept_and_referenced_ones_kept)
{
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        char dir[64], id[33], orphan[65];
        ad_store *s = open_tmp(backends[b], dir);
        REQUIRE(s != NULL);
        ad_err e = AD_ERR_INIT;
        CHECK(add_asset(s, "kept bytes", NULL, id) == AD_OK);
        /* a blob whose row never committed (crash in between) */
        CHECK(s->ops->put_blob(s, "orphan bytes", 12, orphan, &e) == AD_OK);
        int n = -1;
        CHECK(s->ops->sweep_orphans(s, &n, &e) == AD_OK && n == 1);
        CHECK(!blob_on_disk(s, orphan));
        ad_asset a;
        REQUIRE(s->ops->get_asset(s, id, &a, &e) == AD_OK);
        CHECK(blob_on_disk(s, a.sha256));
        ad_asset_cleanup(&a);
        CHECK(s->ops->sweep_orphans(s, &n, &e) == AD_OK && n == 0);
        ad_store_close(s);
        rm_tree(dir);
    }
}
