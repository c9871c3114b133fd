/* test_backup.c — backups that restore (issue 32, the embedded store):
 * `assetd backup` taken while the server runs and a client keeps
 * uploading; `assetd restore` into a new data dir, served by a new
 * server: every asset acknowledged before the backup began is there
 * byte-exact, with its custom data, conversions and lineage, and the jobs
 * and keys too; an upload acknowledged during the backup is whole or
 * absent. A damaged backup (a blob's byte, the database) and one of a
 * newer schema are refused with the reason, writing nothing. And an upgrade:
 * a store made by the previous release (tests/fixtures/store-v5) opens,
 * migrates and serves everything, with what the migration added filled
 * from what was there; a store newer than the binary is refused. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include "api/client.h"

static int cli(const char *args, char *out, size_t len)
{
    char cmd[2000];
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, len - 1, p) : 0;
    out[n] = '\0';
    int rc = p ? pclose(p) : -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#define MAXW 4000
static struct {
    const server *s;
    volatile int stop;
    char ids[MAXW][33];
    double acked_at[MAXW];
    int n;
} writer;

static void *write_loop(void *arg)
{
    (void)arg;
    while (!writer.stop && writer.n < MAXW) {
        char body[64], id[33];
        snprintf(body, sizeof body, "during the backup %d", writer.n);
        if (upload(writer.s, "w.bin", "application/octet-stream", body, strlen(body), id) == 201) {
            memcpy(writer.ids[writer.n], id, 33);
            writer.acked_at[writer.n] = now_s();
            writer.n++;
        }
    }
    return NULL;
}

static int same_file(const server *s, const char *id, const void *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", id);
    response r;
    int ok = get(s, path, &r) == 200 && r.len == len && memcmp(r.body, data, len) == 0;
    response_cleanup(&r);
    return ok;
}

TEST(an_online_backup_restores_everything_acknowledged_before_it)
{
    char dir[256], bk[300], rdir[300], out[4096], args[1200], ids[10][33], job[64], child[64], key[256];
    server s, rs;
    response r;
    temp_dir(dir, sizeof dir, "backup-src");
    snprintf(bk, sizeof bk, "%s-backup", dir);
    snprintf(rdir, sizeof rdir, "%s-restored", dir);
    REQUIRE(server_start(&s, dir, NULL));
    for (int i = 0; i < 10; i++) {
        REQUIRE(upload(&s, "p.png", "image/png", astro_png, astro_len, ids[i]) == 201);
        char cpath[128], doc[64];
        snprintf(cpath, sizeof cpath, "/api/v1/assets/%.32s/custom_data", ids[i]);
        snprintf(doc, sizeof doc, "{\"sku\":\"S%d\",\"n\":%d}", i, i);
        REQUIRE(request(&s, "PUT", cpath, NULL, 1, doc, strlen(doc), &r) == 200);
        response_cleanup(&r);
    }
    /* a conversion and a child, saved by jobs */
    char path[600];
    snprintf(
        path, sizeof path,
        "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_conversion&conversion_name=cut",
        ids[0]);
    REQUIRE(get(&s, path, &r) == 200 && header(&r, "X-Job-Id", job, sizeof job));
    response_cleanup(&r);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset&metadata=inherit", ids[1]);
    REQUIRE(get(&s, path, &r) == 200);
    snprintf(child, sizeof child, "%s", jstr(r.json, "new_asset_id"));
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    int done = 0;
    for (int i = 0; i < 400 && !done; i++, sleep_ms(50)) {
        done = get(&s, path, &r) == 200 && strcmp(jstr(r.json, "status"), "succeeded") == 0;
        response_cleanup(&r);
    }
    REQUIRE(done);
    const char *kargs[] = {"create", "--scope", "read", NULL};
    REQUIRE(keys_cli(dir, kargs, key, sizeof key));

    /* the backup, while a client keeps uploading */
    writer.s = &s;
    writer.stop = 0;
    writer.n = 0;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, write_loop, NULL) == 0);
    sleep_ms(300);
    double began = now_s();
    snprintf(args, sizeof args, "--data-dir '%s' backup --to '%s'", dir, bk);
    int rc = cli(args, out, sizeof out);
    sleep_ms(300);
    writer.stop = 1;
    pthread_join(t, NULL);
    CHECKF(rc == 0 && strstr(out, "manifest.json"), "%s", out);
    server_kill(&s, SIGTERM);
    int before = 0;
    for (int i = 0; i < writer.n; i++)
        before += writer.acked_at[i] < began;
    CHECKF(before > 3 && writer.n > before, "%d uploads before the backup, %d in all", before, writer.n);

    /* restored into a new data dir, served */
    snprintf(args, sizeof args, "--data-dir '%s' restore '%s'", rdir, bk);
    CHECKF(cli(args, out, sizeof out) == 0 && strstr(out, "every SHA-256 checked"), "%s", out);
    REQUIRE(server_start(&rs, rdir, NULL));
    for (int i = 0; i < 10; i++) {
        CHECKF(same_file(&rs, ids[i], astro_png, astro_len), "asset %d", i);
        snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", ids[i]);
        REQUIRE(get(&rs, path, &r) == 200);
        CHECK(json_integer_value(json_object_get(r.json, "n")) == i);
        response_cleanup(&r);
    }
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/cut", ids[0]);
    CHECK(get(&rs, path, &r) == 200 && r.len > 1000);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s", child);
    CHECK(get(&rs, path, &r) == 200 && strcmp(jstr(r.json, "source_asset_id"), ids[1]) == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    CHECK(get(&rs, path, &r) == 200 && strcmp(jstr(r.json, "status"), "succeeded") == 0);
    response_cleanup(&r);
    CHECK(as_key(&rs, key, "GET", "/api/v1/assets?limit=1", NULL, &r) == 200); /* the key, hashed, came too */
    response_cleanup(&r);
    CHECK(get(&rs, "/api/v1/assets?custom_data.sku=S3", &r) == 200 &&
          json_array_size(json_object_get(r.json, "items")) == 1); /* search's index came too */
    response_cleanup(&r);
    int whole = 0, absent = 0, broken = 0;
    for (int i = 0; i < writer.n; i++) {
        char body[64];
        snprintf(body, sizeof body, "during the backup %d", i);
        snprintf(path, sizeof path, "/api/v1/assets/%s", writer.ids[i]);
        long st = get(&rs, path, &r);
        response_cleanup(&r);
        if (st == 200 && same_file(&rs, writer.ids[i], body, strlen(body)))
            whole++;
        else if (st == 404 && writer.acked_at[i] >= began)
            absent++;
        else
            broken++;
    }
    CHECKF(broken == 0 && whole >= before, "%d whole, %d absent (acknowledged during it), %d broken", whole, absent,
           broken);
    server_kill(&rs, SIGTERM);

    /* damaged backups are refused, and nothing is written */
    char bad[400], cmd[1400];
    /* each damage is a shell command run in the copy (B=its folder) */
    static const struct {
        const char *damage, *why;
    } rows[] = {
        {"f=$(find \"$B/blobs\" -type f | head -1); printf 'X' | dd of=\"$f\" bs=1 seek=10 conv=notrunc 2>/dev/null",
         "hash to"},
        {"f=$(find \"$B/blobs\" -type f | head -1); rm \"$f\"", "missing"},
        {"truncate -s 4096 \"$B/assetd.db\"", "database is damaged"},
        {"sed -i 's/\"schema_version\": [0-9]*/\"schema_version\": 99/' \"$B/manifest.json\"", "schema version 99"},
        {"rm \"$B/manifest.json\"", "not a backup"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(bad, sizeof bad, "%s-bad%zu", dir, i);
        snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", bk, bad);
        REQUIRE(system(cmd) == 0);
        char damage[1200];
        snprintf(damage, sizeof damage, "B='%s'; %s", bad, rows[i].damage);
        REQUIRE(system(damage) == 0);
        char target[500];
        snprintf(target, sizeof target, "%s-target%zu", dir, i);
        snprintf(args, sizeof args, "--data-dir '%s' restore '%s'", target, bad);
        rc = cli(args, out, sizeof out);
        CHECKF(rc != 0 && strstr(out, rows[i].why) && access(target, F_OK) != 0, "row %zu: %d %s", i, rc, out);
    }
    /* and a backup never overwrites */
    snprintf(args, sizeof args, "--data-dir '%s' backup --to '%s'", dir, bk);
    CHECK(cli(args, out, sizeof out) != 0 && strstr(out, "exists"));
}

/* tests/fixtures/store-v5: an embedded store made by the previous release
 * (commit 544112d, schema 5): two assets sharing bytes, custom data, a
 * conversion saved by a job, a child with lineage, a read key. */
#define FIX_A "d057255b68e1e27ab3dcbbd925de5c4d"
#define FIX_B "d0bf8f376e1eb36e5a4066aa6e35ebdd"
#define FIX_C "c4ac1763a8a070cf342267524b1ae902"
#define FIX_JOB "3bdf9489817f6945805a21d8c6f6bd16"
#define FIX_KEY "adk_462e4969dd3e0be2d5f3c0f5d035cc84e260124a01a2ae06cc131719a1a77470"

TEST(a_store_made_by_the_previous_release_migrates_and_serves)
{
    char dir[256], cmd[800];
    server s;
    response r;
    temp_dir(dir, sizeof dir, "upgrade");
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/store-v5 '%s' && chmod -R go-rwx '%s'", dir, dir);
    REQUIRE(system(cmd) == 0);
    /* --dry-run says what would change, and changes nothing */
    char out[2048], args[600];
    snprintf(args, sizeof args, "--data-dir '%s' migrate --dry-run", dir);
    CHECKF(cli(args, out, sizeof out) == 0 && strstr(out, "schema version 5") && strstr(out, "6: search"), "%s", out);
    CHECK(cli(args, out, sizeof out) == 0 && strstr(out, "schema version 5")); /* still 5 */
    REQUIRE(server_start(&s, dir, NULL));
    /* everything there before is served as before */
    CHECK(get(&s, "/api/v1/assets/" FIX_A, &r) == 200 &&
          json_integer_value(json_object_get(json_object_get(json_object_get(r.json, "custom_data"), "dims"), "w")) ==
              800 &&
          json_array_size(json_object_get(r.json, "conversions")) == 1);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets/" FIX_C, &r) == 200 && strcmp(jstr(r.json, "source_asset_id"), FIX_B) == 0);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets/" FIX_A "/conversions/cut", &r) == 200 && r.len > 100);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets/" FIX_B "/file", &r) == 200 && r.len > 1000);
    response_cleanup(&r);
    CHECK(as_key(&s, FIX_KEY, "GET", "/api/v1/assets?limit=1", NULL, &r) == 200);
    response_cleanup(&r);
    CHECK(as_key(&s, FIX_KEY, "DELETE", "/api/v1/assets/" FIX_A, NULL, &r) == 403); /* still read-only */
    response_cleanup(&r);
    /* what the migration added, filled from what was there: the job's asset
     * and the jobs list, the search index of existing custom data, the
     * finished jobs' counter */
    CHECK(get(&s, "/api/v1/jobs/" FIX_JOB, &r) == 200 && strcmp(jstr(r.json, "asset_id"), FIX_A) == 0 &&
          strcmp(jstr(r.json, "status"), "succeeded") == 0);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/jobs?asset_id=" FIX_A, &r) == 200 && json_array_size(json_object_get(r.json, "items")) == 1);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets?custom_data.dims.w=800", &r) == 200 &&
          json_array_size(json_object_get(r.json, "items")) == 1 &&
          strcmp(jstr(json_array_get(json_object_get(r.json, "items"), 0), "id"), FIX_A) == 0);
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets?custom_data.sku=X2", &r) == 200 &&
          json_array_size(json_object_get(r.json, "items")) == 2); /* B and its child, which inherited it */
    response_cleanup(&r);
    CHECK(metric(&s, "assetd_jobs{status=\"succeeded\"}") == 1);
    /* and it keeps working: a new asset, a search that finds it */
    char id[33];
    REQUIRE(upload(&s, "new.png", "image/png", astro_png, astro_len, id) == 201);
    CHECK(get(&s, "/api/v1/assets?filename_prefix=new", &r) == 200 &&
          json_array_size(json_object_get(r.json, "items")) == 1);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
    /* a binary older than the store refuses it, before touching it: the
     * schema says 6 now; a store claiming a newer one is refused */
    char db[400];
    snprintf(db, sizeof db, "%s/assetd.db", dir);
    sqlite3 *c;
    REQUIRE(sqlite3_open(db, &c) == SQLITE_OK);
    sqlite3_stmt *st;
    int version = -1;
    if (sqlite3_prepare_v2(c, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    CHECK(version == 6);
    CHECK(cli(args, out, sizeof out) == 0 && strstr(out, "up to date (version 6)"));
    CHECK(sqlite3_exec(c, "PRAGMA user_version=99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(c);
    pid_t pid = spawn_serve(dir, NULL, s.log);
    int status = 0;
    waitpid(pid, &status, 0);
    char *log = NULL;
    size_t len = 0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 0 && read_file(s.log, &log, &len) &&
          strstr(log, "schema version 99"));
    free(log);
}
