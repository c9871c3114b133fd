/* test_hardening.c — the smaller defects found by probing the running
 * server (issue 11), each against the real binary: private files, corrupt
 * and oversized images, no server path in any answer, uploads a browser
 * could run, numbers custom data cannot hold, and the source of a cut-out
 * deleted while it runs. */
#define HARNESS_SETUP setup
#include "harness.h"

#include <pthread.h>
#include <stdint.h>

#include "api/client.h"

static char *rocket_jpg;
static size_t rocket_len;

static void setup(void)
{
    api_setup();
    load_test_photo("rocket.jpg", &rocket_jpg, &rocket_len);
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

TEST(stored_files_are_private_to_the_service)
{
    char dir[256], id[33], p[600];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(p, sizeof p, "/api/v1/assets/%s", id);
    response r;
    REQUIRE(get(&s, p, &r) == 200);
    char sha[65];
    snprintf(sha, sizeof sha, "%s", jstr(r.json, "sha256"));
    response_cleanup(&r);
    CHECKF(mode_of(dir) == 0700, "data dir %o", mode_of(dir));
    snprintf(p, sizeof p, "%s/assetd.db", dir);
    CHECKF(mode_of(p) == 0600, "database %o", mode_of(p));
    snprintf(p, sizeof p, "%s/assetd.db-wal", dir);
    CHECKF(mode_of(p) == 0600, "wal %o", mode_of(p));
    snprintf(p, sizeof p, "%s/blobs/%.2s", dir, sha);
    CHECKF(mode_of(p) == 0700, "blob folder %o", mode_of(p));
    snprintf(p, sizeof p, "%s/blobs/%.2s/%.2s/%s", dir, sha, sha + 2, sha);
    CHECKF(mode_of(p) == 0600, "blob %o", mode_of(p));
    /* as another local user: nothing readable */
    if (geteuid() == 0 && system("command -v runuser >/dev/null && id nobody >/dev/null 2>&1") == 0) {
        char cmd[800];
        snprintf(cmd, sizeof cmd, "runuser -u nobody -- cat %s >/dev/null 2>&1", p);
        CHECK(system(cmd) != 0);
        snprintf(cmd, sizeof cmd, "runuser -u nobody -- cat %s/assetd.db >/dev/null 2>&1", dir);
        CHECK(system(cmd) != 0);
    }
    server_kill(&s, SIGTERM);
}

/* rocket.jpg with its frame header claiming w x h. */
static char *patched_jpeg(int w, int h, size_t *len)
{
    char *j = malloc(rocket_len);
    memcpy(j, rocket_jpg, rocket_len);
    for (size_t i = 2; i + 9 < rocket_len; i++)
        if ((unsigned char)j[i] == 0xff && ((unsigned char)j[i + 1] == 0xc0 || (unsigned char)j[i + 1] == 0xc2)) {
            j[i + 5] = (char)(h >> 8), j[i + 6] = (char)h, j[i + 7] = (char)(w >> 8), j[i + 8] = (char)w;
            break;
        }
    *len = rocket_len;
    return j;
}

static long cut_out(const server *s, const char *id, response *r)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", id);
    return get(s, path, r);
}

TEST(a_corrupt_jpeg_is_422_not_a_grey_cut_out)
{
    char dir[256], id[33];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    size_t len;
    char *bad = patched_jpeg(10000, 10000, &len); /* libjpeg: "premature end of data segment", a warning */
    REQUIRE(upload(&s, "bad.jpg", "image/jpeg", bad, len, id) == 201);
    response r;
    long st = cut_out(&s, id, &r);
    CHECKF(st == 422 && is_error_shape(&r) && strcmp(err_code(&r), "unprocessable_image") == 0, "status %ld", st);
    response_cleanup(&r);
    free(bad);
    server_kill(&s, SIGTERM);
}

TEST(images_declared_larger_than_any_decoder_are_413_with_their_size)
{
    char dir[256], id[33];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    size_t jl;
    char *jpeg = patched_jpeg(65535, 65535, &jl);
    /* a PNG 2^31-1 x 1 and a lossless WebP 16384 x 16384: headers only */
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0, 0, 13,
                                        'I',  'H', 'D', 'R', 0x7f, 0xff, 0xff, 0xff, 0,    0, 0, 1,
                                        8,    2,   0,   0,   0,    0xc9, 0x6d, 0x6d, 0x53, 0, 0, 0,
                                        0,    'I', 'E', 'N', 'D',  0xae, 0x42, 0x60, 0x82};
    unsigned char webp[50] = {'R', 'I', 'F', 'F', 42,  0,  0, 0, 'W', 'E', 'B',
                              'P', 'V', 'P', '8', 'L', 25, 0, 0, 0,   0x2f};
    uint32_t bits = (16384 - 1) | ((uint32_t)(16384 - 1) << 14) | (1u << 28);
    memcpy(webp + 21, &bits, 4); /* little-endian here */
    static const struct {
        const char *name, *type, *dims;
    } rows[] = {{"huge.jpg", "image/jpeg", "65535x65535"},
                {"huge.png", "image/png", "2147483647x1"},
                {"huge.webp", "image/webp", "16384x16384"}};
    const void *data[] = {jpeg, png, webp};
    size_t lens[] = {jl, sizeof png, sizeof webp};
    for (int i = 0; i < 3; i++) {
        REQUIRE(upload(&s, rows[i].name, rows[i].type, data[i], lens[i], id) == 201);
        response r;
        long st = cut_out(&s, id, &r);
        CHECKF(st == 413 && strcmp(err_code(&r), "too_many_pixels") == 0 &&
                   strstr(jstr(json_object_get(r.json, "error"), "message"), rows[i].dims) != NULL,
               "%s: status %ld %s", rows[i].name, st, r.body ? r.body : "");
        response_cleanup(&r);
    }
    free(jpeg);
    server_kill(&s, SIGTERM);
}

TEST(no_answer_carries_a_server_path)
{
    char dir[256], id[33], bad_id[33];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    size_t len;
    char *bad = patched_jpeg(10000, 10000, &len);
    REQUIRE(upload(&s, "bad.jpg", "image/jpeg", bad, len, bad_id) == 201);
    free(bad);
    server_kill(&s, SIGTERM);
    /* the stored file is now over the body limit it is read back with */
    const char *small[] = {"--max-body", "500000", NULL};
    REQUIRE(server_start(&s, dir, small));
    response r;
    long st = cut_out(&s, id, &r);
    CHECKF(st == 413 && r.body && strstr(r.body, dir) == NULL && strstr(r.body, "/blobs/") == NULL, "%ld %s", st,
           r.body ? r.body : "");
    response_cleanup(&r);
    st = cut_out(&s, bad_id, &r);
    CHECKF(st == 422 && r.body && strstr(r.body, dir) == NULL, "%ld %s", st, r.body ? r.body : "");
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}

TEST(uploads_a_browser_could_run_are_downloads_never_pages)
{
    char dir[256], html[33], png[33], path[160], v[400];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    const char *page = "<html><script>alert(document.cookie)</script></html>";
    REQUIRE(upload(&s, "page.html", "text/html", page, strlen(page), html) == 201);
    REQUIRE(upload(&s, "photo.png", "image/png", astro_png, astro_len, png) == 201);
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", html);
    REQUIRE(get(&s, path, &r) == 200);
    CHECK(header(&r, "X-Content-Type-Options", v, sizeof v) && strcmp(v, "nosniff") == 0);
    CHECKF(header(&r, "Content-Disposition", v, sizeof v) && strncmp(v, "attachment;", 11) == 0 &&
               strstr(v, "filename=\"page.html\""),
           "%s", v);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", png);
    REQUIRE(get(&s, path, &r) == 200);
    CHECKF(header(&r, "Content-Disposition", v, sizeof v) && strncmp(v, "inline;", 7) == 0 &&
               strstr(v, "filename=\"photo.png\""),
           "%s", v);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets", &r) == 200 && header(&r, "X-Content-Type-Options", v, sizeof v));
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}

TEST(custom_data_numbers_a_double_cannot_hold_are_refused)
{
    char dir[256], id[33], path[160];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    const char *h[] = {"Content-Type: application/json", NULL};
    response r;
    const char *tiny = "{\"weight\":1e-400}";
    CHECK(request(&s, "PUT", path, h, 1, tiny, strlen(tiny), &r) == 400 && strcmp(err_param(&r), "custom_data") == 0);
    response_cleanup(&r);
    const char *fine = "{\"weight\":\"1e-400\"}";
    CHECK(request(&s, "PUT", path, h, 1, fine, strlen(fine), &r) == 200);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}

typedef struct {
    const server *s;
    char path[300];
    long status;
    char new_id[64], job[64];
} later_call;

static void *call_later(void *arg)
{
    later_call *c = arg;
    response r;
    c->status = get(c->s, c->path, &r);
    if (!header(&r, "X-New-Asset-Id", c->new_id, sizeof c->new_id))
        c->new_id[0] = '\0';
    if (!header(&r, "X-Job-Id", c->job, sizeof c->job))
        c->job[0] = '\0';
    response_cleanup(&r);
    return NULL;
}

/* save_image answers 404 and saves nothing; an acknowledged
 * get_image_and_save still creates the asset it announced, without
 * lineage (README, "Where the spec is silent"). */
TEST(the_source_deleted_while_its_cut_out_runs)
{
    char dir[256], a[33], b[33], path[160];
    temp_dir(dir, sizeof dir, "data");
    server s;
    /* background saves wait until a restart, so the delete surely comes
     * between the answer and the save */
    const char *args[] = {"--job-start-delay-ms", "600000", NULL};
    REQUIRE(server_start(&s, dir, args));
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, a) == 201);
    REQUIRE(upload(&s, "b.jpg", "image/jpeg", rocket_jpg, rocket_len, b) == 201);
    later_call save = {.s = &s}, bg = {.s = &s};
    snprintf(save.path, sizeof save.path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset&metadata=inherit", a);
    snprintf(bg.path, sizeof bg.path,
             "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_new_asset&metadata=inherit",
             b);
    pthread_t t;
    pthread_create(&t, NULL, call_later, &save);
    sleep_ms(150); /* the cut-out is running */
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s", a);
    CHECK(request(&s, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    pthread_join(t, NULL);
    CHECKF(save.status == 404, "save_image after the delete: %ld", save.status);
    int assets = 0;
    REQUIRE(get(&s, "/api/v1/assets", &r) == 200);
    assets = (int)json_array_size(json_object_get(r.json, "items"));
    response_cleanup(&r);
    CHECK(assets == 1); /* b alone: nothing was saved */
    /* get_image_and_save: answered, then the source goes before the job runs */
    call_later(&bg);
    REQUIRE(bg.status == 200 && bg.new_id[0] && bg.job[0]);
    snprintf(path, sizeof path, "/api/v1/assets/%s", b);
    CHECK(request(&s, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
    REQUIRE(server_start(&s, dir, NULL));
    bg.s = &s;
    snprintf(path, sizeof path, "/api/v1/jobs/%s", bg.job);
    int done = 0;
    for (int i = 0; i < 200 && !done; i++) {
        REQUIRE(get(&s, path, &r) == 200);
        done = strcmp(jstr(r.json, "status"), "succeeded") == 0 || strcmp(jstr(r.json, "status"), "failed") == 0;
        if (done)
            CHECKF(strcmp(jstr(r.json, "status"), "succeeded") == 0, "job %s", jstr(r.json, "error"));
        response_cleanup(&r);
        sleep_ms(50);
    }
    snprintf(path, sizeof path, "/api/v1/assets/%s", bg.new_id);
    REQUIRE(get(&s, path, &r) == 200);
    CHECK(json_is_null(json_object_get(r.json, "source_asset_id")));
    CHECK(json_object_size(json_object_get(r.json, "custom_data")) == 0);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}
