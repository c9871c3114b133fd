/* test_store.c — the store conformance suite: the same checks, through the
 * ad_store_* wrappers, against every combination of parts (sqlite + fs in
 * a temporary folder; postgres + s3 on the servers scripts/test.sh starts,
 * each store in a schema and bucket of its own): assets, conversions, pins
 * and the collector, jobs under leases, keys, parallel writers, crash
 * leftovers, fault injection; and for sqlite the one-writer lock, private
 * files and the migration of a database of the previous schema. */
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/id.h"
#include "base/sha256.h"
#include "harness.h"
#include "store/store.h"
#include "store_env.h"

static const char *kinds[2];
static int nkinds;

__attribute__((constructor)) static void find_kinds(void) { nkinds = test_kinds(kinds); }

/* The one store of a test, and what reopens it. */
static test_store_env env;

static ad_store *open_tmp(const char *kind, char dir[64], int64_t grace_ms)
{
    ad_store *s = test_store_new(kind, &env, grace_ms, 1);
    snprintf(dir, 64, "%s", env.dir);
    return s;
}

static ad_store *open_store(const char *kind, const char *dir, int64_t grace_ms, int exclusive)
{
    if (strcmp(env.kind ? env.kind : "", kind) != 0 || strcmp(env.dir, dir) != 0) {
        memset(&env, 0, sizeof env); /* a sqlite data dir made by the test itself */
        env.kind = kind;
        snprintf(env.dir, sizeof env.dir, "%s", dir);
    }
    return test_store_open(&env, grace_ms, 0, exclusive);
}

static void rm_tree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("    cleanup failed\n");
}

static int blob_exists(ad_store *s, const char *sha)
{
    ad_blob_info info;
    ad_err e = AD_ERR_INIT;
    return ad_store_blob_stat(s, sha, &info, &e) == AD_OK;
}

/* Store bytes as a new asset; its id into id_out, its blob into sha_out. */
static ad_status add_asset(ad_store *s, const char *bytes, const char *custom, char id_out[33], char *sha_out)
{
    ad_err e = AD_ERR_INIT;
    ad_asset a = {0};
    ad_blob_pin pin;
    ad_status rc = ad_store_put_blob(s, bytes, strlen(bytes), &pin, &e);
    if (rc != AD_OK)
        return rc;
    ad_id_new(a.id, &e);
    memcpy(a.sha256, pin.sha256, 65);
    a.filename = (char *)"photo.jpg";
    a.content_type = (char *)"image/jpeg";
    a.size = (int64_t)strlen(bytes);
    a.width = 10;
    a.height = 20;
    ad_time_rfc3339(a.created_at);
    a.custom_data = (char *)(custom ? custom : "{}");
    rc = ad_store_insert_asset(s, &a, &pin, &e);
    if (rc != AD_OK)
        ad_store_unpin(s, &pin);
    memcpy(id_out, a.id, 33);
    if (sha_out)
        memcpy(sha_out, pin.sha256, 65);
    return rc;
}

/* Save bytes as conversion `name` of asset, in one transaction. */
static ad_status add_conversion(ad_store *s, const char *asset, const char *name, const char *bytes, char *sha_out)
{
    ad_err e = AD_ERR_INIT;
    ad_blob_pin pin;
    ad_store_tx *tx;
    ad_status rc = ad_store_put_blob(s, bytes, strlen(bytes), &pin, &e);
    if (rc != AD_OK)
        return rc;
    if (sha_out)
        memcpy(sha_out, pin.sha256, 65);
    ad_conversion c = {.size = (int64_t)strlen(bytes)};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.content_type, sizeof c.content_type, "image/png");
    memcpy(c.sha256, pin.sha256, 65);
    ad_time_rfc3339(c.created_at);
    if ((rc = ad_store_begin(s, &tx, &e)) != AD_OK)
        return rc;
    if ((rc = ad_store_tx_upsert_conversion(tx, asset, &c, &e)) == AD_OK &&
        (rc = ad_store_tx_release(tx, &pin, &e)) == AD_OK)
        return ad_store_commit(tx, &e);
    ad_store_rollback(tx);
    ad_store_unpin(s, &pin);
    return rc;
}

TEST(assets_round_trip_and_list_newest_first)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], ids[5][33];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        for (int i = 0; i < 5; i++) {
            char body[32];
            snprintf(body, sizeof body, "bytes-%d", i);
            CHECK(add_asset(s, body, "{\"k\":1}", ids[i], NULL) == AD_OK);
        }
        ad_asset a;
        ad_err e = AD_ERR_INIT;
        REQUIRE(ad_store_get_asset(s, ids[2], &a, &e) == AD_OK);
        CHECK(strcmp(a.filename, "photo.jpg") == 0 && a.size == 7 && a.width == 10 && a.height == 20);
        CHECK(strcmp(a.custom_data, "{\"k\":1}") == 0 && a.source_asset_id[0] == '\0' && a.nconversions == 0);
        CHECK(blob_exists(s, a.sha256));
        ad_asset dup = a;
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_store_insert_asset(s, &dup, NULL, &e2) == AD_ECONFLICT);
        ad_asset_cleanup(&a);
        ad_err e3 = AD_ERR_INIT;
        CHECK(ad_store_get_asset(s, "0123456789abcdef0123456789abcdef", &a, &e3) == AD_ENOTFOUND);
        ad_err e4 = AD_ERR_INIT;
        CHECK(ad_store_get_asset(s, "../../etc", &a, &e4) == AD_ENOTFOUND); /* checked before the backend */
        /* two pages of 3 then 2, newest first */
        ad_asset *v;
        int n;
        REQUIRE(ad_store_list_assets(s, NULL, 0, 3, &v, &n, &e) == AD_OK);
        CHECK(n == 3 && strcmp(v[0].id, ids[4]) == 0 && strcmp(v[2].id, ids[2]) == 0);
        int64_t cursor = v[2].seq;
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        /* an insert between pages does not disturb the second page */
        char late[33];
        CHECK(add_asset(s, "late", NULL, late, NULL) == AD_OK);
        REQUIRE(ad_store_list_assets(s, NULL, cursor, 3, &v, &n, &e) == AD_OK);
        CHECK(n == 2 && strcmp(v[0].id, ids[1]) == 0 && strcmp(v[1].id, ids[0]) == 0);
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        CHECK(ad_store_set_custom_data(s, ids[0], "{\"x\":[1,2]}", &e) == AD_OK);
        REQUIRE(ad_store_get_asset(s, ids[0], &a, &e) == AD_OK);
        CHECK(strcmp(a.custom_data, "{\"x\":[1,2]}") == 0);
        ad_asset_cleanup(&a);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(blobs_stream_in_and_read_back_by_range)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        ad_err e = AD_ERR_INIT;
        ad_store_writer *w;
        REQUIRE(ad_store_writer_new(s, &w, &e) == AD_OK);
        char chunk[1000];
        for (int i = 0; i < 300; i++) {
            memset(chunk, 'a' + i % 26, sizeof chunk);
            REQUIRE(ad_store_writer_write(w, chunk, sizeof chunk, &e) == AD_OK);
        }
        CHECK(ad_store_writer_size(w) == 300000);
        ad_blob_pin pin;
        REQUIRE(ad_store_writer_commit(w, &pin, &e) == AD_OK);
        CHECK(pin.size == 300000 && ad_sha256_valid(pin.sha256));
        ad_store_reader *r;
        REQUIRE(ad_store_reader_open(s, pin.sha256, &r, &e) == AD_OK);
        CHECK(ad_store_reader_size(r) == 300000);
        size_t got = 0;
        CHECK(ad_store_reader_read(r, 1999, chunk, 3, &got, &e) == AD_OK && got == 3);
        CHECK(chunk[0] == 'b' && chunk[1] == 'c' && chunk[2] == 'c');
        ad_store_reader_close(r);
        /* the same bytes again: the same address, and one copy */
        void *all;
        size_t len;
        REQUIRE(ad_store_blob_read_all(s, pin.sha256, 1 << 20, &all, &len, &e) == AD_OK);
        ad_blob_pin again;
        CHECK(ad_store_put_blob(s, all, len, &again, &e) == AD_OK && strcmp(again.sha256, pin.sha256) == 0);
        free(all);
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_store_blob_read_all(s, pin.sha256, 1000, &all, &len, &e2) == AD_ETOOBIG && all == NULL);
        CHECK(strstr(e2.msg, dir) == NULL); /* no server path in any message */
        ad_err e3 = AD_ERR_INIT;
        CHECK(ad_store_reader_open(s, "../../../../etc/passwd", &r, &e3) == AD_EINVAL);
        /* an abandoned writer leaves nothing */
        REQUIRE(ad_store_writer_new(s, &w, &e) == AD_OK);
        ad_store_writer_write(w, "half", 4, &e);
        ad_store_writer_abort(w);
        ad_store_unpin(s, &pin);
        CHECK(blob_exists(s, pin.sha256)); /* the second writer still holds it */
        ad_store_unpin(s, &again);
        CHECK(!blob_exists(s, pin.sha256)); /* nothing refers to it any more (no grace here) */
        ad_store_close(s);
        /* no staging file, no temporary left behind */
        char cmd[160];
        snprintf(cmd, sizeof cmd, "test -z \"$(find %s -name '*.tmp.*')\"", dir);
        CHECK(system(cmd) == 0);
        rm_tree(dir);
    }
}

TEST(conversions_replace_and_blobs_are_collected)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], id[33], other[33], one[65], two[65], three[65], orig[65];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        REQUIRE(add_asset(s, "original", NULL, id, orig) == AD_OK);
        REQUIRE(add_asset(s, "png-one", NULL, other, NULL) == AD_OK); /* shares bytes with a conversion */
        ad_err e = AD_ERR_INIT;
        CHECK(add_conversion(s, id, "cutout", "png-one", one) == AD_OK);
        CHECK(add_conversion(s, id, "cutout", "png-two", two) == AD_OK);
        ad_conversion c;
        REQUIRE(ad_store_get_conversion(s, id, "cutout", &c, &e) == AD_OK);
        CHECK(strcmp(c.sha256, two) == 0 && c.size == 7 && strcmp(c.content_type, "image/png") == 0);
        CHECK(blob_exists(s, one)); /* still the other asset's bytes */
        CHECK(add_conversion(s, id, "cutout", "png-three", three) == AD_OK);
        CHECK(!blob_exists(s, two)); /* replaced and unreferenced */
        ad_asset a;
        REQUIRE(ad_store_get_asset(s, id, &a, &e) == AD_OK);
        CHECK(a.nconversions == 1);
        ad_asset_cleanup(&a);
        CHECK(ad_store_delete_asset(s, id, &e) == AD_OK);
        CHECK(!blob_exists(s, orig) && !blob_exists(s, three));
        CHECK(blob_exists(s, one));
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_store_get_conversion(s, id, "cutout", &c, &e2) == AD_ENOTFOUND);
        ad_err e3 = AD_ERR_INIT;
        CHECK(ad_store_delete_asset(s, id, &e3) == AD_ENOTFOUND);
        char four[65];
        CHECK(add_conversion(s, id, "x", "png-four", four) == AD_ENOTFOUND);
        CHECK(!blob_exists(s, four)); /* the failed save left no orphan */
        ad_err e4 = AD_ERR_INIT;
        CHECK(ad_store_delete_conversion(s, other, "nope", &e4) == AD_ENOTFOUND);
        ad_store_close(s);
        rm_tree(dir);
    }
}

/* The race of issue 11: a writer has written bytes that another row holds
 * too, and that row is deleted before the writer's row commits. The pin
 * keeps the bytes; without it the collector took them. */
TEST(a_pinned_blob_survives_the_delete_of_another_holder)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], holder[33], sha[65], job[33];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        ad_err e = AD_ERR_INIT;
        REQUIRE(add_asset(s, "shared cut-out", NULL, holder, sha) == AD_OK);
        ad_blob_pin pin;
        REQUIRE(ad_store_put_blob(s, "shared cut-out", 14, &pin, &e) == AD_OK); /* found there already */
        CHECK(ad_store_delete_asset(s, holder, &e) == AD_OK);                   /* drops the other reference */
        CHECK(blob_exists(s, sha));
        int n = 0;
        CHECK(ad_store_gc_run(s, &n, &e) == AD_OK && n == 0);
        /* the job takes the reference over from the pin */
        ad_store_tx *tx;
        ad_id_new(job, &e);
        REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
        CHECK(ad_store_tx_insert_job(tx, job, "test", "{}", NULL, &pin, &e) == AD_OK);
        CHECK(ad_store_commit(tx, &e) == AD_OK);
        CHECK(ad_store_gc_sweep(s, 0, &n, &e) == AD_OK && n == 0);
        CHECK(blob_exists(s, sha));
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(the_grace_period_keeps_young_unreferenced_blobs)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], id[33], sha[65];
        ad_store *s = open_tmp(kinds[b], dir, 400);
        REQUIRE(s != NULL);
        ad_err e = AD_ERR_INIT;
        REQUIRE(add_asset(s, "short-lived", NULL, id, sha) == AD_OK);
        REQUIRE(ad_store_delete_asset(s, id, &e) == AD_OK);
        int n = -1;
        CHECK(ad_store_gc_run(s, &n, &e) == AD_OK && n == 0);
        CHECK(ad_store_gc_sweep(s, 0, &n, &e) == AD_OK && n == 0);
        CHECK(blob_exists(s, sha));
        /* an object store keeps whole seconds: its blobs count as written
         * at the end of theirs */
        usleep(strcmp(kinds[b], "sqlite") == 0 ? 500 * 1000 : 1500 * 1000);
        CHECK(ad_store_gc_run(s, &n, &e) == AD_OK && n == 1);
        CHECK(!blob_exists(s, sha));
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(jobs_are_leased_taken_over_and_complete_once)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], id[33], job[33];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        REQUIRE(add_asset(s, "source", NULL, id, NULL) == AD_OK);
        ad_err e = AD_ERR_INIT;
        ad_blob_pin pin;
        REQUIRE(ad_store_put_blob(s, "job-png", 7, &pin, &e) == AD_OK);
        ad_store_tx *tx;
        ad_id_new(job, &e);
        REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
        REQUIRE(ad_store_tx_insert_job(tx, job, "save", "{\"n\":\"bg\"}", NULL, &pin, &e) == AD_OK);
        REQUIRE(ad_store_commit(tx, &e) == AD_OK);
        ad_job j;
        REQUIRE(ad_store_get_job(s, job, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_QUEUED && j.attempts == 0 && strcmp(j.payload, "{\"n\":\"bg\"}") == 0 &&
              strcmp(j.kind, "save") == 0);
        ad_job_cleanup(&j);
        /* a second instance on the same database (not exclusive) */
        ad_store *other = open_store(kinds[b], dir, 0, 0);
        REQUIRE(other != NULL);
        REQUIRE(ad_store_claim_job(s, 200, &j, &e) == AD_OK);
        CHECK(strcmp(j.id, job) == 0 && j.attempts == 1 && strcmp(j.owner, ad_store_instance(s)) == 0);
        ad_job_cleanup(&j);
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_store_claim_job(other, 200, &j, &e2) == AD_ENOTFOUND); /* leased */
        CHECK(ad_store_renew_lease(s, job, 200, &e) == AD_OK);
        usleep(300 * 1000); /* the lease runs out: the first instance stopped renewing */
        REQUIRE(ad_store_claim_job(other, 60000, &j, &e) == AD_OK);
        CHECK(strcmp(j.id, job) == 0 && j.attempts == 2 && strcmp(j.owner, ad_store_instance(other)) == 0);
        ad_job_cleanup(&j);
        ad_err e3 = AD_ERR_INIT;
        CHECK(ad_store_renew_lease(s, job, 200, &e3) == AD_ECONFLICT); /* the first one lost it */
        /* both run it: only the lease holder's "succeeded" commits */
        REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
        ad_err e4 = AD_ERR_INIT;
        CHECK(ad_store_tx_finish_job(tx, job, "{\"by\":\"first\"}", &e4) == AD_ECONFLICT);
        ad_store_rollback(tx);
        REQUIRE(ad_store_begin(other, &tx, &e) == AD_OK);
        CHECK(ad_store_tx_finish_job(tx, job, "{\"by\":\"second\"}", &e) == AD_OK);
        CHECK(ad_store_commit(tx, &e) == AD_OK);
        REQUIRE(ad_store_get_job(s, job, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_SUCCEEDED && j.finished_at[0] && j.result && strstr(j.result, "second"));
        ad_job_cleanup(&j);
        CHECK(!blob_exists(s, pin.sha256)); /* the job was its only holder */
        ad_err e5 = AD_ERR_INIT;
        CHECK(ad_store_claim_job(s, 200, &j, &e5) == AD_ENOTFOUND);
        ad_store_close(other);

        /* retries back off; a final failure releases what the job held */
        char job2[33];
        REQUIRE(ad_store_put_blob(s, "orphan-png", 10, &pin, &e) == AD_OK);
        ad_id_new(job2, &e);
        REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
        REQUIRE(ad_store_tx_insert_job(tx, job2, "save", "{}", NULL, &pin, &e) == AD_OK);
        REQUIRE(ad_store_commit(tx, &e) == AD_OK);
        REQUIRE(ad_store_claim_job(s, 60000, &j, &e) == AD_OK);
        ad_job_cleanup(&j);
        CHECK(ad_store_fail_job(s, job2, "disk hiccup", 0, 60000, &e) == AD_OK);
        ad_err e6 = AD_ERR_INIT;
        CHECK(ad_store_claim_job(s, 60000, &j, &e6) == AD_ENOTFOUND); /* backing off */
        REQUIRE(ad_store_get_job(s, job2, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_QUEUED && j.error && strcmp(j.error, "disk hiccup") == 0);
        ad_job_cleanup(&j);
        CHECK(blob_exists(s, pin.sha256)); /* the queued job still holds it */
        ad_store_close(s);
        s = open_store(kinds[b], dir, 0, 1); /* a restart: leases and run_after stay as recorded */
        REQUIRE(s != NULL);
        ad_err e7 = AD_ERR_INIT;
        CHECK(ad_store_claim_job(s, 60000, &j, &e7) == AD_ENOTFOUND);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(a_final_failure_releases_the_jobs_blob)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], job[33];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        ad_err e = AD_ERR_INIT;
        ad_blob_pin pin;
        ad_store_tx *tx;
        ad_job j;
        REQUIRE(ad_store_put_blob(s, "late-png", 8, &pin, &e) == AD_OK);
        ad_id_new(job, &e);
        REQUIRE(ad_store_begin(s, &tx, &e) == AD_OK);
        REQUIRE(ad_store_tx_insert_job(tx, job, "save", "{}", NULL, &pin, &e) == AD_OK);
        REQUIRE(ad_store_commit(tx, &e) == AD_OK);
        /* a runner died with it: a restarted exclusive (sqlite) store takes
         * it at once; any other instance once its lease ran out */
        int exclusive = strcmp(kinds[b], "sqlite") == 0;
        REQUIRE(ad_store_claim_job(s, exclusive ? 600000 : 300, &j, &e) == AD_OK);
        ad_job_cleanup(&j);
        ad_store_close(s);
        s = open_store(kinds[b], dir, 0, 1);
        REQUIRE(s != NULL);
        if (!exclusive) {
            ad_err e0 = AD_ERR_INIT;
            CHECK(ad_store_claim_job(s, 600000, &j, &e0) == AD_ENOTFOUND); /* still leased */
            usleep(400 * 1000);
        }
        REQUIRE(ad_store_claim_job(s, 600000, &j, &e) == AD_OK);
        CHECK(j.attempts == 2);
        ad_job_cleanup(&j);
        CHECK(ad_store_fail_job(s, job, "asset deleted", 1, 0, &e) == AD_OK);
        CHECK(!blob_exists(s, pin.sha256));
        REQUIRE(ad_store_get_job(s, job, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_FAILED && j.error && strcmp(j.error, "asset deleted") == 0 && j.finished_at[0]);
        ad_job_cleanup(&j);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(keys_are_looked_up_by_hash)
{
    for (int b = 1; b < nkinds; b++) { /* the other kinds here, sqlite below */
        char d[64];
        ad_store *s = open_tmp(kinds[b], d, 0);
        REQUIRE(s != NULL);
        ad_err e = AD_ERR_INIT;
        const char *h = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        char id[17], seen[17];
        int scope = -1;
        CHECK(ad_store_has_key(s, h, NULL, NULL, &e) == AD_ENOTFOUND);
        CHECK(ad_store_add_key(s, h, "ci", AD_SCOPE_READ, id, &e) == AD_OK &&
              ad_store_add_key(s, h, "twice", AD_SCOPE_ADMIN, NULL, &e) == AD_OK);
        CHECK(ad_store_has_key(s, h, seen, &scope, &e) == AD_OK && strcmp(seen, id) == 0 && scope == AD_SCOPE_READ);
        CHECK(ad_store_touch_key(s, id, &e) == AD_OK && ad_store_revoke_key(s, id, &e) == AD_OK);
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_store_has_key(s, h, NULL, NULL, &e2) == AD_ENOTFOUND);
        ad_key_info *v;
        int n;
        REQUIRE(ad_store_list_keys(s, &v, &n, &e) == AD_OK);
        CHECK(n == 1 && v[0].last_used_at[0] && v[0].revoked_at[0] && strcmp(v[0].label, "ci") == 0 &&
              v[0].scope == AD_SCOPE_READ);
        free(v);
        ad_store_close(s);
        rm_tree(d);
    }
    char dir[64];
    ad_store *s = open_tmp("sqlite", dir, 0);
    REQUIRE(s != NULL);
    ad_err e = AD_ERR_INIT;
    const char *h = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    char id[17], again[17], seen[17];
    int scope = -1;
    CHECK(ad_store_has_key(s, h, NULL, NULL, &e) == AD_ENOTFOUND);
    CHECK(ad_store_add_key(s, h, "ci", AD_SCOPE_WRITE, id, &e) == AD_OK &&
          ad_store_add_key(s, h, "twice", AD_SCOPE_READ, again, &e) == AD_OK);
    /* the first one stays, with its scope */
    CHECK(ad_store_has_key(s, h, seen, &scope, &e) == AD_OK && strcmp(seen, id) == 0 && scope == AD_SCOPE_WRITE);
    ad_err e7 = AD_ERR_INIT;
    CHECK(ad_store_add_key(s, h, "bad", 7, NULL, &e7) == AD_EINVAL);
    ad_key_info *v;
    int n;
    REQUIRE(ad_store_list_keys(s, &v, &n, &e) == AD_OK);
    CHECK(n == 1 && strcmp(v[0].id, id) == 0 && strcmp(v[0].label, "ci") == 0 && v[0].last_used_at[0] == '\0');
    free(v);
    CHECK(ad_store_touch_key(s, id, &e) == AD_OK);
    CHECK(ad_store_revoke_key(s, id, &e) == AD_OK);
    ad_err e5 = AD_ERR_INIT;
    CHECK(ad_store_has_key(s, h, NULL, NULL, &e5) == AD_ENOTFOUND); /* refused from now on */
    REQUIRE(ad_store_list_keys(s, &v, &n, &e) == AD_OK);
    CHECK(n == 1 && v[0].last_used_at[0] && v[0].revoked_at[0]);
    free(v);
    ad_err e6 = AD_ERR_INIT;
    CHECK(ad_store_revoke_key(s, "0000000000000000", &e6) == AD_ENOTFOUND);
    ad_store_close(s);
    const char *meta, *blobs;
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_store_kind_parts("mongodb", &meta, &blobs, NULL, &e2) == AD_EINVAL && strstr(e2.msg, "sqlite") != NULL);
    ad_store_config c = {.meta = "mongodb", .blobs = "fs", .data_dir = dir};
    ad_store *t = NULL;
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_store_open(&c, &t, &e3) == AD_EINVAL && strstr(e3.msg, "sqlite") != NULL);
    c.meta = "sqlite";
    c.blobs = "tape";
    ad_err e4 = AD_ERR_INIT;
    CHECK(ad_store_open(&c, &t, &e4) == AD_EINVAL && strstr(e4.msg, "fs") != NULL);
    rm_tree(dir);
}

TEST(one_exclusive_writer_per_data_dir_and_private_files)
{
    char dir[64];
    ad_store *s = open_tmp("sqlite", dir, 0);
    REQUIRE(s != NULL);
    ad_store_config c = {.meta = "sqlite", .blobs = "fs", .data_dir = dir, .exclusive = 1};
    ad_store *t = NULL;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_store_open(&c, &t, &e) == AD_ECONFLICT && strstr(e.msg, "another") != NULL);
    c.exclusive = 0; /* `assetd keys create` beside a running server */
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_store_open(&c, &t, &e2) == AD_OK);
    char id[33], sha[65], p[256];
    CHECK(add_asset(t, "private bytes", NULL, id, sha) == AD_OK);
    ad_store_close(t);
    struct stat st;
    snprintf(p, sizeof p, "%s/blobs/%.2s/%.2s/%s", dir, sha, sha + 2, sha);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(p, sizeof p, "%s/blobs/%.2s", dir, sha);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(p, sizeof p, "%s/assetd.db", dir);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(p, sizeof p, "%s/assetd.db-wal", dir);
    CHECK(stat(p, &st) != 0 || (st.st_mode & 0777) == 0600);
    ad_store_close(s);
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
        if (add_asset(w->s, body, NULL, id, NULL) != AD_OK)
            w->failures++;
    }
    return NULL;
}

TEST(parallel_writers_lose_nothing_and_never_see_busy)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64];
        ad_store *s = open_tmp(kinds[b], dir, 0);
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
        REQUIRE(ad_store_list_assets(s, NULL, 0, 1000, &v, &n, &e) == AD_OK);
        CHECK(n == 160);
        for (int i = 0; i < n; i++)
            ad_asset_cleanup(&v[i]);
        free(v);
        ad_store_stats st;
        ad_store_get_stats(s, &st);
        CHECK(st.calls >= 320 && st.errors == 0);
        ad_store_close(s);
        rm_tree(dir);
    }
}

/* Deletes and re-uploads of the same bytes from several threads: every
 * asset that exists can be read back, whatever the interleaving. */
typedef struct {
    ad_store *s;
    int lost;
} churn_arg;

static void *churn(void *p)
{
    churn_arg *c = p;
    for (int i = 0; i < 60; i++) {
        char id[33], sha[65];
        ad_err e = AD_ERR_INIT;
        if (add_asset(c->s, "the same bytes everywhere", NULL, id, sha) != AD_OK || !blob_exists(c->s, sha))
            c->lost++;
        if (ad_store_delete_asset(c->s, id, &e) != AD_OK)
            c->lost++;
    }
    return NULL;
}

TEST(shared_bytes_survive_concurrent_deletes)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], keep[33], sha[65];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        pthread_t t[4];
        churn_arg c[4];
        for (int i = 0; i < 4; i++) {
            c[i] = (churn_arg){s, 0};
            pthread_create(&t[i], NULL, churn, &c[i]);
        }
        int lost = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            lost += c[i].lost;
        }
        CHECK(lost == 0);
        REQUIRE(add_asset(s, "the same bytes everywhere", NULL, keep, sha) == AD_OK);
        CHECK(blob_exists(s, sha));
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(a_crash_between_write_and_commit_leaves_an_orphan_the_next_start_removes)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], id[33], kept[65];
        int exclusive = strcmp(kinds[b], "sqlite") == 0;
        ad_store *s = open_tmp(kinds[b], dir, 60000);
        REQUIRE(s != NULL);
        if (!exclusive) { /* a writer's pin that outlives it by 200 ms, not an hour */
            ad_store_close(s);
            s = test_store_open(&env, 60000, 200, 1);
            REQUIRE(s != NULL);
        }
        ad_err e = AD_ERR_INIT;
        CHECK(add_asset(s, "kept bytes", NULL, id, kept) == AD_OK);
        ad_blob_pin orphan;
        CHECK(ad_store_put_blob(s, "orphan bytes", 12, &orphan, &e) == AD_OK);
        int n = -1;
        CHECK(ad_store_gc_sweep(s, 0, &n, &e) == AD_OK && n == 0); /* pinned, and young */
        ad_store_close(s);                                         /* "crash": the row never commits */
        /* sqlite: the exclusive opener drops the dead writer's pin and sweeps
         * at start; a shared store waits for the pin to expire and the grace
         * period (here none) */
        s = exclusive ? open_store(kinds[b], dir, 60000, 1) : test_store_open(&env, 0, 200, 1);
        REQUIRE(s != NULL);
        if (!exclusive)
            usleep(300 * 1000);
        CHECK(ad_store_gc_sweep(s, 1, &n, &e) == AD_OK && n == 1);
        CHECK(!blob_exists(s, orphan.sha256) && blob_exists(s, kept));
        CHECK(ad_store_gc_sweep(s, 1, &n, &e) == AD_OK && n == 0);
        ad_store_close(s);
        rm_tree(dir);
    }
}

TEST(injected_faults_fail_cleanly_and_leave_no_row)
{
    for (int b = 0; b < nkinds; b++) {
        char dir[64], id[33], sha[65];
        ad_store *s = open_tmp(kinds[b], dir, 0);
        REQUIRE(s != NULL);
        ad_store_inject_fault(s, "insert_asset", AD_EIO, 1);
        CHECK(add_asset(s, "faulty", NULL, id, sha) == AD_EIO);
        ad_asset a;
        ad_err e = AD_ERR_INIT;
        CHECK(ad_store_get_asset(s, id, &a, &e) == AD_ENOTFOUND);
        CHECK(!blob_exists(s, sha)); /* unpinned and collected */
        ad_store_inject_fault(s, "commit", AD_EBUSY, 1);
        CHECK(add_asset(s, "faulty", NULL, id, sha) == AD_EBUSY);
        ad_err e2 = AD_ERR_INIT;
        CHECK(ad_store_get_asset(s, id, &a, &e2) == AD_ENOTFOUND);
        ad_store_inject_fault(s, "writer_commit", AD_EIO, 1);
        ad_blob_pin pin;
        ad_err e3 = AD_ERR_INIT;
        CHECK(ad_store_put_blob(s, "never", 5, &pin, &e3) == AD_EIO);
        CHECK(add_asset(s, "faulty", NULL, id, sha) == AD_OK); /* the faults were one-shot */
        ad_store_stats st;
        ad_store_get_stats(s, &st);
        CHECK(st.errors >= 3);
        ad_store_close(s);
        rm_tree(dir);
    }
}

/* A data dir of the previous release (jobs with bg_remove columns) opens:
 * its queued job becomes a kind + payload and keeps holding its blob. */
TEST(a_version_1_database_is_migrated)
{
    char dir[64], db[128];
    snprintf(dir, sizeof dir, "/tmp/assetd-store-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/assetd.db", dir);
    sqlite3 *h;
    REQUIRE(sqlite3_open(db, &h) == SQLITE_OK);
    char sha[65], sql[2048];
    ad_sha256_hex("hello", 5, sha);
    snprintf(
        sql, sizeof sql,
        "CREATE TABLE assets(id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, filename TEXT NOT NULL,"
        " content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, width INTEGER, height INTEGER,"
        " created_at TEXT NOT NULL, custom_data TEXT NOT NULL, source_asset_id TEXT);"
        "CREATE TABLE conversions(asset_id TEXT NOT NULL, name TEXT NOT NULL, content_type TEXT NOT NULL,"
        " size INTEGER NOT NULL, sha256 TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY(asset_id, name));"
        "CREATE TABLE api_keys(sha256 TEXT PRIMARY KEY, created_at TEXT NOT NULL);"
        "CREATE TABLE jobs(id TEXT PRIMARY KEY, kind TEXT NOT NULL, status INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, error TEXT, result TEXT, created_at TEXT NOT NULL, finished_at TEXT,"
        " run_after INTEGER NOT NULL DEFAULT 0, asset_id TEXT NOT NULL, new_asset INTEGER NOT NULL,"
        " conversion_name TEXT, new_asset_id TEXT, inherit INTEGER NOT NULL, png_sha256 TEXT NOT NULL,"
        " png_size INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL);"
        "CREATE INDEX jobs_due ON jobs(status, run_after);"
        "INSERT INTO jobs VALUES('0123456789abcdef0123456789abcdef', 'bg_remove_save', 1, 1, NULL, NULL,"
        " '2026-11-01T00:00:00.000Z', NULL, 0, 'fedcba9876543210fedcba9876543210', 0, 'cut', '', 0, '%s', 5,"
        " 2, 3);",
        sha);
    REQUIRE(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    ad_store *s = open_store("sqlite", dir, 0, 1);
    REQUIRE(s != NULL);
    ad_job j;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_store_get_job(s, "0123456789abcdef0123456789abcdef", &j, &e) == AD_OK);
    CHECK(j.status == AD_JOB_QUEUED && j.attempts == 1 && strcmp(j.kind, "bg_remove_save") == 0);
    CHECK(j.payload && strstr(j.payload, "\"conversion_name\":\"cut\"") && strstr(j.payload, sha) &&
          strstr(j.payload, "add_conversion"));
    ad_job_cleanup(&j);
    ad_blob_pin pin;
    REQUIRE(ad_store_put_blob(s, "hello", 5, &pin, &e) == AD_OK);
    CHECK(strcmp(pin.sha256, sha) == 0);
    ad_store_unpin(s, &pin);
    int n = -1;
    CHECK(ad_store_gc_sweep(s, 1, &n, &e) == AD_OK && n == 0); /* the job's hold came along */
    ad_store_close(s);
    s = open_store("sqlite", dir, 0, 1); /* and once migrated, it stays so */
    CHECK(s != NULL);
    ad_store_close(s);
    rm_tree(dir);
}
