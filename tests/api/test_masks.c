/* test_masks.c — stored masks (issue 26, ../shared/spec/delivery.md
 * section 1) against real servers: a model pass happens once per image.
 * After a first cut-out every variant (options, modes) answers
 * X-Mask: stored with exactly the bytes a fresh run makes (the one-shot
 * route, which stores nothing); after a restart too; on a postgres store
 * on a second instance, and two instances racing on the same first cut-out
 * leave one mask. A mask goes with the last asset holding its source bytes
 * (after the grace period), stays while another asset holds them; a
 * damaged or truncated mask is found, dropped and made again, never used;
 * the bound on the masks' bytes holds under many images; kill -9 while a
 * mask is written leaves nothing half-written that is read later.
 * Runs on sqlite, and on postgres + radosgw with ASSETD_TEST_STORE=postgres
 * (there the bound, the kill and the one-instance race are left to the
 * sqlite run: the metadata conformance suite runs postgres' eviction, and
 * the two-instance race is postgres' own). ASSETD_MASKS_SHORT=1 (the ASan
 * server's run) keeps the tests whose cost is not mostly model passes. */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"
#include "base/id.h"
#include "base/sha256.h"

static char *rocket_jpg;
static size_t rocket_len;

static void setup(void)
{
    api_setup();
    load_test_photo("rocket.jpg", &rocket_jpg, &rocket_len);
}

/* ---- the store behind the server's back ---- */

/* How many masks the store of dir has; -1 on failure. */
static int mask_count(const char *dir)
{
    char shas[16][65];
    return mask_blobs(dir, shas, 16);
}

/* Damage a stored blob behind the server's back: flip one byte in the
 * middle (truncate: cut it in half), in the file or in the bucket (and
 * drop every cached copy). */
static int damage_blob(const char *dir, const char *sha, int truncate_it)
{
    char path[600], cmd[2400];
    if (!on_postgres()) {
        snprintf(path, sizeof path, "%s/blobs/%.2s/%.2s/%s", dir, sha, sha + 2, sha);
    } else {
        snprintf(path, sizeof path, "%s.damaged", dir);
        char ns[24];
        store_name(dir, ns);
        snprintf(cmd, sizeof cmd,
                 "curl -sf -o %s --aws-sigv4 aws:amz:us-east-1:s3 --user %s:%s "
                 "-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' "
                 "%s/%s/blobs/%.2s/%.2s/%s",
                 path, getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK",
                 getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK",
                 getenv("ASSETD_TEST_S3_ENDPOINT"), ns, sha, sha + 2, sha);
        if (system(cmd) != 0)
            return 0;
    }
    char *b;
    size_t len;
    if (!read_file(path, &b, &len) || len < 32) {
        free(b);
        return 0;
    }
    if (truncate_it)
        len /= 2;
    else
        b[len / 2] ^= 0x5a;
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b, 1, len, f) == len;
    if (f)
        fclose(f);
    free(b);
    if (!ok || !on_postgres())
        return ok;
    char ns[24];
    store_name(dir, ns);
    snprintf(cmd, sizeof cmd,
             "curl -sf -X PUT -T %s --aws-sigv4 aws:amz:us-east-1:s3 --user %s:%s "
             "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' %s/%s/blobs/%.2s/%.2s/%s && rm -f %s/blob-cache/%.2s/%s",
             path, getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK",
             getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK",
             getenv("ASSETD_TEST_S3_ENDPOINT"), ns, sha, sha + 2, sha, dir, sha, sha);
    return system(cmd) == 0;
}

/* The blob is in the store (the file, or the object). */
static int blob_exists(const char *dir, const char *sha)
{
    char cmd[1400];
    if (!on_postgres()) {
        snprintf(cmd, sizeof cmd, "%s/blobs/%.2s/%.2s/%s", dir, sha, sha + 2, sha);
        return access(cmd, F_OK) == 0;
    }
    char ns[24];
    store_name(dir, ns);
    snprintf(cmd, sizeof cmd,
             "curl -sf -I -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user %s:%s "
             "-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' "
             "%s/%s/blobs/%.2s/%.2s/%s",
             getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK",
             getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK",
             getenv("ASSETD_TEST_S3_ENDPOINT"), ns, sha, sha + 2, sha);
    return system(cmd) == 0;
}

/* ---- the API ---- */

/* A cut-out of asset id with query: status; the X-Mask header into mask
 * ("" when absent); the body kept in r (the caller cleans up). */
static long cutout(const server *s, const char *id, const char *query, char mask[16], response *r)
{
    char path[400];
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove%s%s", id, *query ? "?" : "", query);
    long st = get(s, path, r);
    if (!header(r, "X-Mask", mask, 16))
        mask[0] = '\0';
    return st;
}

/* The same cut-out made from scratch: the one-shot route, which stores
 * nothing and always runs the model. */
static long fresh(const server *s, const char *query, const void *img, size_t len, response *r)
{
    char path[300];
    snprintf(path, sizeof path, "/api/v1/bg_remove%s%s", *query ? "?" : "", query);
    const char *h[] = {"Content-Type: image/jpeg", NULL};
    return request(s, "POST", path, h, 1, img, len, r);
}

/* The tests left out on this run (see the top). */
static int left_to_sqlite(void) { return on_postgres() || getenv("ASSETD_MASKS_SHORT"); }

/* Start a server on dir with the result cache off (every answer is made,
 * from a stored mask or not) and the extra args. */
static int start(server *s, const char *dir, const char *const *extra)
{
    /* the model's side is not what these tests are about (a mask is made,
     * kept, found, dropped): 640, the fast preset's prepared side, makes
     * each model pass about 60% of the default's; extra args come after
     * and win (the bound test counts masks of the default's size) */
    const char *args[24] = {"--cache-mb", "0", "--model-side", "640"};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return server_start(s, dir, args);
}

/* The same variant as stored answer and as fresh run: same status, same
 * bytes. */
static int same_as_fresh(const server *s, const char *id, const char *query, const char *want_mask)
{
    response a, b;
    char mask[16];
    long sa = cutout(s, id, query, mask, &a);
    long sb = fresh(s, query, rocket_jpg, rocket_len, &b);
    int ok = sa == 200 && sb == 200 && strcmp(mask, want_mask) == 0 && a.len == b.len && a.len > 0 &&
             memcmp(a.body, b.body, a.len) == 0;
    if (!ok)
        printf("    %s: %ld %ld mask=%s lens %zu %zu\n", query, sa, sb, mask, a.len, b.len);
    response_cleanup(&a);
    response_cleanup(&b);
    return ok;
}

TEST(variants_after_a_first_cutout_reuse_the_stored_mask_with_the_pixels_of_a_fresh_run)
{
    if (getenv("ASSETD_MASKS_SHORT"))
        SKIP("run with the plain server (the damage and lifetime tests cover the same paths under ASan)");
    char dir[256], id[33], mask[16];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "masks");
    REQUIRE(start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    REQUIRE(cutout(&srv, id, "", mask, &r) == 200);
    CHECK(strcmp(mask, "computed") == 0);
    response_cleanup(&r);
    CHECK(mask_count(dir) == 1);
    /* every finishing option, alone and together: stored, and the bytes of
     * a from-scratch run */
    static const char *const variants[] = {"",
                                           "bg_color=white",
                                           "format=webp",
                                           "format=jpg&bg_color=00ff00",
                                           "crop=true&crop_margin=10%25",
                                           "channels=alpha",
                                           "max_side=200",
                                           "foreground=off&clear_transparent=true",
                                           "crop=true&max_side=300&format=webp&bg_color=ff000080"};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        CHECK(same_as_fresh(&srv, id, variants[i], "stored"));
    CHECK(metric(&srv, "assetd_cutout_mask_total{result=\"computed\"}") == 1);
    CHECK(metric(&srv, "assetd_cutout_mask_total{result=\"stored\"}") ==
          (double)(sizeof variants / sizeof variants[0]));
    CHECK(metric(&srv, "assetd_mask_store_masks") == 1);
    /* the one-shot route stored nothing */
    CHECK(mask_count(dir) == 1);

    /* the save modes: stored too, said in the header and the job's result */
    char path[400];
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=w&"
             "bg_color=white",
             id);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(header(&r, "X-Mask", mask, sizeof mask) && strcmp(mask, "stored") == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_new_asset&format=webp", id);
    REQUIRE(get(&srv, path, &r) == 200);
    char job[64] = "";
    CHECK(header(&r, "X-Mask", mask, sizeof mask) && strcmp(mask, "stored") == 0);
    CHECK(header(&r, "X-Job-Id", job, sizeof job));
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    int done = 0;
    for (int i = 0; i < 200 && !done; i++) {
        REQUIRE(get(&srv, path, &r) == 200);
        if (strcmp(jstr(r.json, "status"), "succeeded") == 0) {
            done = 1;
            CHECK(strcmp(jstr(json_object_get(r.json, "result"), "mask"), "stored") == 0);
        }
        response_cleanup(&r);
        if (!done)
            sleep_ms(50);
    }
    CHECK(done);

    /* another preset is another model pass: its own mask, then stored */
    REQUIRE(cutout(&srv, id, "preset=fast", mask, &r) == 200);
    CHECK(strcmp(mask, "computed") == 0);
    response_cleanup(&r);
    CHECK(same_as_fresh(&srv, id, "preset=fast&bg_color=white", "stored"));
    CHECK(mask_count(dir) == 2);

    /* a restart finds them */
    server_kill(&srv, SIGTERM);
    REQUIRE(start(&srv, dir, NULL));
    CHECK(same_as_fresh(&srv, id, "crop=true", "stored"));
    CHECK(same_as_fresh(&srv, id, "preset=fast", "stored"));
    CHECK(metric(&srv, "assetd_cutout_mask_total{result=\"computed\"}") == -1);
    server_kill(&srv, SIGTERM);
}

TEST(a_mask_goes_with_the_last_asset_holding_its_source_bytes)
{
    char dir[256], a[33], b[33], mask[16], shas[4][65];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "masks-gc");
    const char *const args[] = {"--gc-grace", "1", NULL};
    REQUIRE(start(&srv, dir, args));
    /* two assets with the same bytes */
    REQUIRE(upload(&srv, "a.jpg", "image/jpeg", rocket_jpg, rocket_len, a) == 201);
    REQUIRE(upload(&srv, "b.jpg", "image/jpeg", rocket_jpg, rocket_len, b) == 201);
    REQUIRE(cutout(&srv, a, "", mask, &r) == 200);
    response_cleanup(&r);
    REQUIRE(mask_blobs(dir, shas, 4) == 1);
    /* one of them goes: b still holds the bytes, so the mask stays */
    char path[200];
    snprintf(path, sizeof path, "/api/v1/assets/%s", a);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    sleep_ms(3500); /* past the grace period and a collector run */
    CHECK(mask_count(dir) == 1 && blob_exists(dir, shas[0]));
    REQUIRE(cutout(&srv, b, "bg_color=white", mask, &r) == 200);
    CHECK(strcmp(mask, "stored") == 0);
    response_cleanup(&r);
    /* the last one goes: after the grace period, the mask and its blob too */
    snprintf(path, sizeof path, "/api/v1/assets/%s", b);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        sleep_ms(100);
        gone = mask_count(dir) == 0 && !blob_exists(dir, shas[0]);
    }
    CHECK(gone);
    CHECK(metric(&srv, "assetd_mask_store_masks") == 0 && metric(&srv, "assetd_mask_store_bytes") == 0);
    /* the same bytes uploaded again: computed anew */
    REQUIRE(upload(&srv, "c.jpg", "image/jpeg", rocket_jpg, rocket_len, a) == 201);
    REQUIRE(cutout(&srv, a, "", mask, &r) == 200);
    CHECK(strcmp(mask, "computed") == 0);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}

TEST(a_damaged_or_truncated_mask_is_dropped_and_made_again_never_used)
{
    char dir[256], id[33], mask[16], shas[4][65];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "masks-damage");
    REQUIRE(start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    REQUIRE(cutout(&srv, id, "", mask, &r) == 200);
    response_cleanup(&r);
    for (int truncate_it = 0; truncate_it < 2; truncate_it++) {
        REQUIRE(mask_blobs(dir, shas, 4) == 1);
        REQUIRE(damage_blob(dir, shas[0], truncate_it));
        /* found, dropped, computed: the answer is a fresh run's */
        CHECK(same_as_fresh(&srv, id, "bg_color=white", "computed"));
        CHECK(metric(&srv, "assetd_cutout_mask_total{result=\"damaged\"}") == truncate_it + 1);
        /* stored again, whole: the next one reads it */
        CHECK(same_as_fresh(&srv, id, "crop=true", "stored"));
    }
    server_kill(&srv, SIGTERM);
}

/* The test photo with n bytes after its end: other bytes, other source
 * (decoders stop at the end of the image). */
static char *variant_photo(int n, size_t *len)
{
    char *b = malloc(rocket_len + 16);
    memcpy(b, rocket_jpg, rocket_len);
    snprintf(b + rocket_len, 16, "%015d", n);
    *len = rocket_len + 15;
    return b;
}

TEST(the_bound_on_stored_masks_holds_least_recently_used_out_first)
{
    if (left_to_sqlite())
        SKIP("run on sqlite with the plain server (see the top of this file)");
    char dir[256], ids[12][33], mask[16];
    server srv;
    response r;
    temp_dir(dir, sizeof dir, "masks-bound");
    /* 1 MiB: about nine masks of this model */
    const char *const args[] = {"--mask-store-mb", "1", "--model-side", "896", NULL};
    REQUIRE(start(&srv, dir, args));
    int over = 0, stored_first = 0;
    for (int i = 0; i < 12; i++) {
        size_t len;
        char *img = variant_photo(i, &len);
        REQUIRE(upload(&srv, "v.jpg", "image/jpeg", img, len, ids[i]) == 201);
        free(img);
        REQUIRE(cutout(&srv, ids[i], "", mask, &r) == 200);
        response_cleanup(&r);
        if (metric(&srv, "assetd_mask_store_bytes") > 1048576)
            over++;
        /* the first image is used all along: never the least recently used */
        if (i < 8) {
            REQUIRE(cutout(&srv, ids[0], "bg_color=white", mask, &r) == 200);
            stored_first += strcmp(mask, "stored") == 0;
            response_cleanup(&r);
        }
    }
    CHECK(over == 0);
    CHECK(stored_first == 8);
    double n = metric(&srv, "assetd_mask_store_masks");
    CHECK(n >= 2 && n < 12);
    CHECK(mask_count(dir) == (int)n);
    /* the oldest unused ones went; the newest is there */
    REQUIRE(cutout(&srv, ids[11], "bg_color=white", mask, &r) == 200);
    CHECK(strcmp(mask, "stored") == 0);
    response_cleanup(&r);
    REQUIRE(cutout(&srv, ids[1], "bg_color=white", mask, &r) == 200);
    CHECK(strcmp(mask, "computed") == 0);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}

/* A cut-out on a thread of its own (its own connection): the answer kept. */
typedef struct {
    const server *s;
    const char *id, *query;
    long status;
    char mask[16];
    char *body;
    size_t len;
} cutout_call;

static void *cutout_thread(void *arg)
{
    cutout_call *c = arg;
    response r;
    c->status = cutout(c->s, c->id, c->query, c->mask, &r);
    c->body = malloc(r.len + 1);
    memcpy(c->body, r.body ? r.body : "", r.len);
    c->len = r.len;
    response_cleanup(&r);
    return NULL;
}

TEST(two_cutouts_racing_on_a_first_mask_leave_one_and_agree)
{
    if (left_to_sqlite())
        SKIP("run on sqlite with the plain server (see the top of this file)");
    char dir[256], id[33];
    server srv;
    temp_dir(dir, sizeof dir, "masks-race");
    const char *const args[] = {"--workers", "2", NULL};
    REQUIRE(start(&srv, dir, args));
    REQUIRE(upload(&srv, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    cutout_call c[2] = {{&srv, id, "", 0, "", NULL, 0}, {&srv, id, "", 0, "", NULL, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, cutout_thread, &c[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(c[0].status == 200 && c[1].status == 200);
    CHECK(c[0].len == c[1].len && memcmp(c[0].body, c[1].body, c[0].len) == 0);
    for (int i = 0; i < 2; i++)
        free(c[i].body);
    CHECK(mask_count(dir) == 1);
    CHECK(metric(&srv, "assetd_mask_store_masks") == 1);
    CHECK(same_as_fresh(&srv, id, "bg_color=white", "stored"));
    server_kill(&srv, SIGTERM);
}

TEST(kill_9_while_a_mask_is_written_leaves_nothing_that_is_read)
{
    if (left_to_sqlite())
        SKIP("run on sqlite with the plain server (see the top of this file)");
    char dir[256], id[33], shas[8][65];
    server srv;
    temp_dir(dir, sizeof dir, "masks-kill");
    REQUIRE(start(&srv, dir, NULL));
    /* the reference: a fresh run */
    response ref;
    REQUIRE(fresh(&srv, "", rocket_jpg, rocket_len, &ref) == 200);
    /* kill -9 at moments spread over a first cut-out (the model pass, the
     * mask's write, the answer), a new asset each round */
    static const int at_ms[] = {700, 950, 1100, 1250};
    for (size_t k = 0; k < sizeof at_ms / sizeof at_ms[0]; k++) {
        size_t len;
        char *img = variant_photo(100 + (int)k, &len);
        REQUIRE(upload(&srv, "k.jpg", "image/jpeg", img, len, id) == 201);
        free(img);
        cutout_call c = {&srv, id, "", 0, "", NULL, 0};
        pthread_t t;
        pthread_create(&t, NULL, cutout_thread, &c);
        sleep_ms(at_ms[k]);
        server_kill(&srv, SIGKILL);
        pthread_join(t, NULL);
        free(c.body);
        REQUIRE(start(&srv, dir, NULL));
        /* every mask the store names is whole */
        int n = mask_blobs(dir, shas, 8);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            if (on_postgres()) {
                CHECK(blob_exists(dir, shas[i]));
                continue;
            }
            char path[1200], got[65], *b;
            size_t blen;
            snprintf(path, sizeof path, "%s/blobs/%.2s/%.2s/%s", dir, shas[i], shas[i] + 2, shas[i]);
            CHECK(read_file(path, &b, &blen));
            ad_sha256_hex(b, blen, got);
            CHECK(strcmp(got, shas[i]) == 0);
            free(b);
        }
        /* and the cut-out after the restart is a fresh run's, whatever
         * moment the kill hit */
        response r;
        char mask[16];
        REQUIRE(cutout(&srv, id, "", mask, &r) == 200);
        CHECK(r.len == ref.len && memcmp(r.body, ref.body, r.len) == 0);
        CHECK(strcmp(mask, "stored") == 0 || strcmp(mask, "computed") == 0);
        response_cleanup(&r);
    }
    response_cleanup(&ref);
    CHECK(metric(&srv, "assetd_cutout_mask_total{result=\"damaged\"}") == -1);
    server_kill(&srv, SIGTERM);
}

TEST(a_second_instance_reads_the_first_ones_masks_postgres)
{
    if (getenv("ASSETD_MASKS_SHORT"))
        SKIP("run with the plain server");
    if (!on_postgres())
        SKIP("needs ASSETD_TEST_STORE=postgres (one store, two instances)");
    char dir1[256], dir2[256], id[33], id2[33], mask[16], name[40];
    server a, b;
    response r;
    temp_dir(dir1, sizeof dir1, "masks-a");
    temp_dir(dir2, sizeof dir2, "masks-b");
    char nid[AD_ID_LEN + 1];
    ad_id_new(nid, NULL);
    snprintf(name, sizeof name, "m%.16s", nid);
    setenv("ASSETD_TEST_STORE_NAME", name, 1);
    REQUIRE(start(&a, dir1, NULL));
    REQUIRE(start(&b, dir2, NULL));
    unsetenv("ASSETD_TEST_STORE_NAME");
    REQUIRE(upload(&a, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id) == 201);
    REQUIRE(cutout(&a, id, "", mask, &r) == 200);
    CHECK(strcmp(mask, "computed") == 0);
    response_cleanup(&r);
    /* the other instance never ran the model for it */
    CHECK(same_as_fresh(&b, id, "bg_color=white&crop=true", "stored"));
    CHECK(metric(&b, "assetd_cutout_mask_total{result=\"computed\"}") == -1);

    /* both at once on a new image's first cut-out: one mask is kept */
    size_t len;
    char *img = variant_photo(7, &len);
    REQUIRE(upload(&b, "v.jpg", "image/jpeg", img, len, id2) == 201);
    free(img);
    cutout_call c[2] = {{&a, id2, "", 0, "", NULL, 0}, {&b, id2, "", 0, "", NULL, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, cutout_thread, &c[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(c[0].status == 200 && c[1].status == 200);
    CHECK(c[0].len == c[1].len && c[0].len > 0 && memcmp(c[0].body, c[1].body, c[0].len) == 0);
    for (int i = 0; i < 2; i++)
        free(c[i].body);
    char ns_dir[300];
    snprintf(ns_dir, sizeof ns_dir, "%s", dir1);
    setenv("ASSETD_TEST_STORE_NAME", name, 1);
    CHECK(mask_count(ns_dir) == 2);
    unsetenv("ASSETD_TEST_STORE_NAME");
    CHECK(metric(&a, "assetd_mask_store_masks") == 2);
    char ma[16], mb[16];
    response ra, rb;
    REQUIRE(cutout(&a, id2, "format=webp", ma, &ra) == 200);
    REQUIRE(cutout(&b, id2, "format=webp", mb, &rb) == 200);
    CHECK(strcmp(ma, "stored") == 0 && strcmp(mb, "stored") == 0);
    CHECK(ra.len == rb.len && memcmp(ra.body, rb.body, ra.len) == 0);
    response_cleanup(&ra);
    response_cleanup(&rb);
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}
