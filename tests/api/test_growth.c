/* test_growth.c — cost that grows with the work, not with the store
 * (issue 31), on the real server: start-up does not look at every blob
 * (thousands of unreferenced blobs planted behind its back are still there
 * after a start, and `assetd store check --repair` is what finds and
 * removes them); a writer killed between publishing a blob and recording
 * it leaves an orphan the collector still finds, from its pin; the job
 * gauges come from counters (a hundred thousand finished jobs written
 * behind the server's back are counted, and kept counted through changes);
 * finished jobs are forgotten after the retention; SIGTERM during start-up
 * stops the server at once. The embedded store (its files are planted
 * directly). */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include "api/client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

static int count_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "find '%s/blobs' -type f ! -name '*.tmp.*' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p)
        pclose(p);
    return n;
}

/* A blob file nobody refers to, as a crash long ago might have left it. */
static void plant_blob(const char *dir, int i)
{
    char body[64], sha[65], path[600];
    int n = snprintf(body, sizeof body, "orphan %d", i);
    /* its address need not match its bytes for this test: nothing reads it */
    snprintf(sha, sizeof sha, "%064x", i + 1);
    snprintf(path, sizeof path, "%s/blobs/%.2s", dir, sha);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%.2s", dir, sha, sha + 2);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/blobs/%.2s/%.2s/%s", dir, sha, sha + 2, sha);
    /* written here, not by a shell: 2000 of them are a test's second */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int ok = fd >= 0 && write(fd, body, (size_t)n) == n;
    if (fd >= 0)
        close(fd);
    struct timespec two_hours_ago[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    if (!ok || utimensat(AT_FDCWD, path, two_hours_ago, 0) != 0)
        printf("    could not plant %s\n", sha);
}

static int sql(const char *dir, const char *stmt)
{
    char db[400];
    snprintf(db, sizeof db, "%s/assetd.db", dir);
    sqlite3 *c;
    if (sqlite3_open(db, &c) != SQLITE_OK)
        return 0;
    sqlite3_busy_timeout(c, 10000);
    int ok = sqlite3_exec(c, stmt, NULL, NULL, NULL) == SQLITE_OK;
    if (!ok)
        printf("    sql: %s\n", sqlite3_errmsg(c));
    sqlite3_close(c);
    return ok;
}

static int store_check(const char *dir, int repair, char *out, size_t len)
{
    char cmd[900];
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    snprintf(cmd, sizeof cmd, "'%s' --data-dir '%s' store check%s 2>&1", bin, dir, repair ? " --repair" : "");
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, len - 1, p) : 0;
    out[n] = '\0';
    int rc = p ? pclose(p) : -1;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(start_up_does_not_look_at_every_blob_and_store_check_does)
{
    if (on_postgres())
        SKIP("the embedded store's (its files are planted directly)");
    char dir[256], id[33], out[1024];
    server srv;
    temp_dir(dir, sizeof dir, "growth-start");
    REQUIRE(server_start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "kept.png", "image/png", astro_png, astro_len, id) == 201);
    server_kill(&srv, SIGTERM);
    for (int i = 0; i < 2000; i++)
        plant_blob(dir, i);
    int before = count_files(dir);
    REQUIRE(before >= 2001);
    REQUIRE(server_start(&srv, dir, NULL));
    sleep_ms(1500); /* a collection pass or two */
    CHECKF(count_files(dir) == before, "%d blobs before the start, %d after", before, count_files(dir));
    /* the reconciliation is explicit: it reports, then repairs */
    CHECK(store_check(dir, 0, out, sizeof out) == 3 && strstr(out, "2000 unreferenced"));
    CHECKF(store_check(dir, 1, out, sizeof out) == 0 && strstr(out, "removed") && strstr(out, "0 blobs missing"), "%s",
           out);
    CHECK(count_files(dir) == before - 2000);
    char path[128];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", id);
    CHECK(get(&srv, path, &r) == 200 && r.len == astro_len);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}

TEST(a_writer_killed_between_publish_and_record_leaves_an_orphan_that_is_collected)
{
    if (on_postgres())
        SKIP("the embedded store's (its files are planted directly)");
    char dir[256], id[33];
    server srv;
    temp_dir(dir, sizeof dir, "growth-orphan");
    const char *args[] = {"--gc-grace", "0", NULL};
    /* the window between a blob's publishing and its row: 3 s wide */
    setenv("ASSETD_TEST_PUBLISH_DELAY_MS", "3000", 1);
    int up = server_start(&srv, dir, args);
    unsetenv("ASSETD_TEST_PUBLISH_DELAY_MS");
    REQUIRE(up);
    int before = count_files(dir);
    pid_t child = fork();
    if (child == 0) { /* the upload, killed with its server */
        char tmp[33];
        upload(&srv, "lost.png", "image/png", astro_png, astro_len, tmp);
        _exit(0);
    }
    int published = 0;
    for (int i = 0; i < 100 && !published; i++, sleep_ms(50))
        published = count_files(dir) > before;
    CHECK(published);
    server_kill(&srv, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK(count_files(dir) == before + 1);
    /* at the restart the dead writer's pin names the blob: collected
     * without a look at the other blobs */
    REQUIRE(server_start(&srv, dir, args));
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++, sleep_ms(50))
        gone = count_files(dir) == before;
    CHECK(gone);
    REQUIRE(upload(&srv, "fine.png", "image/png", astro_png, astro_len, id) == 201);
    server_kill(&srv, SIGTERM);
}

/* Deleted within their grace, blobs are collected when it ends, on both
 * stores: the bench found PostgreSQL's waiting out the collector's claim
 * lease (a minute) instead, 4 to 41 of 100 still there after 60 s. */
TEST(blobs_deleted_within_their_grace_are_collected_when_it_ends)
{
    char dir[256], ids[20][33], path[96];
    server srv;
    temp_dir(dir, sizeof dir, "growth-grace");
    const char *args[] = {"--gc-grace", "2", NULL};
    REQUIRE(server_start(&srv, dir, args));
    double removed0 = metric(&srv, "assetd_gc_removed_total");
    for (int i = 0; i < 20; i++) {
        char body[64];
        snprintf(body, sizeof body, "grace %d %f", i, now_s());
        REQUIRE(upload(&srv, "g.bin", "application/octet-stream", body, strlen(body), ids[i]) == 201);
    }
    double t0 = now_s();
    for (int i = 0; i < 20; i++) {
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%.32s", ids[i]);
        CHECK(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
        response_cleanup(&r);
    }
    /* the grace (2 s), then a collector waking each second, with room */
    while (metric(&srv, "assetd_gc_removed_total") - removed0 < 20 && now_s() - t0 < 10)
        sleep_ms(100);
    double removed = metric(&srv, "assetd_gc_removed_total") - removed0;
    printf("    %.0f of 20 collected in %.1f s\n", removed, now_s() - t0);
    CHECKF(removed == 20, "%.0f of 20 collected within 10 s", removed);
    server_kill(&srv, SIGTERM);
}

TEST(job_gauges_come_from_counters_and_retention_forgets_old_jobs)
{
    if (on_postgres())
        SKIP("the embedded store's (its files are planted directly)");
    char dir[256], id[33];
    server srv;
    temp_dir(dir, sizeof dir, "growth-jobs");
    REQUIRE(server_start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "a.png", "image/png", astro_png, astro_len, id) == 201);
    server_kill(&srv, SIGTERM);
    /* 100,000 finished jobs, 99,000 of them two years old, written behind
     * the server's back: the counters follow every row (triggers) */
    REQUIRE(sql(dir, "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 100000)"
                     " INSERT INTO jobs(id, kind, payload, status, created_at, finished_at, seq)"
                     " SELECT printf('%032x', i), 'save', '{}', 2, '2024-01-01T00:00:00.000Z',"
                     " CASE WHEN i <= 99000 THEN '2024-01-01T00:00:00.000Z' ELSE '2099-01-01T00:00:00.000Z' END,"
                     " i FROM g"));
    REQUIRE(server_start(&srv, dir, NULL));
    CHECK(metric(&srv, "assetd_jobs{status=\"succeeded\"}") == 100000);
    CHECK(metric(&srv, "assetd_jobs{status=\"queued\"}") == 0);
    server_kill(&srv, SIGTERM);
    /* retention: the first pass runs 10 s after start (here 0.5 s) */
    const char *args[] = {"--job-retention-days", "365", NULL};
    setenv("ASSETD_TEST_FIRST_PRUNE_MS", "500", 1);
    int started = server_start(&srv, dir, args);
    unsetenv("ASSETD_TEST_FIRST_PRUNE_MS");
    REQUIRE(started);
    int pruned = 0;
    for (int i = 0; i < 300 && !pruned; i++, sleep_ms(100))
        pruned = metric(&srv, "assetd_jobs{status=\"succeeded\"}") == 1000;
    CHECK(pruned);
    response r;
    CHECK(get(&srv, "/api/v1/jobs/00000000000000000000000000000001", &r) == 404);
    response_cleanup(&r);
    CHECK(get(&srv, "/api/v1/jobs/000000000000000000000000000186a0", &r) == 200); /* 100000: kept */
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}

TEST(sigterm_during_start_up_stops_at_once)
{
    if (on_postgres())
        SKIP("the embedded store's (its files are planted directly)");
    char dir[256], log[300];
    temp_dir(dir, sizeof dir, "growth-sigterm");
    snprintf(log, sizeof log, "%s.log", dir);
    for (int delay = 100; delay <= 500; delay += 400) {
        pid_t pid = spawn_serve(dir, NULL, log);
        sleep_ms(delay);
        double t0 = now_s();
        kill(pid, SIGTERM);
        int status = 0, done = 0;
        while (now_s() - t0 < 5 && !(done = waitpid(pid, &status, WNOHANG) == pid))
            sleep_ms(10);
        if (!done) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        CHECKF(done && now_s() - t0 < 1.0, "SIGTERM %d ms into the start: %s after %.2f s", delay,
               done ? "exited" : "still running", now_s() - t0);
    }
}

/* The S3 part of a postgres store, behind the server's back (curl signs). */
static int s3_cli(const char *ns, const char *method, const char *key, const char *data, char *out, size_t len)
{
    char cmd[1600];
    snprintf(cmd, sizeof cmd,
             "curl -sf -X %s --aws-sigv4 aws:amz:us-east-1:s3 --user %s:%s -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "
             "%s%s%s '%s/%s/%s'",
             method, getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK",
             getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK",
             data ? "--data-binary '" : "", data ? data : "", data ? "'" : "", getenv("ASSETD_TEST_S3_ENDPOINT"), ns,
             key);
    FILE *p = popen(cmd, "r");
    size_t n = p && out ? fread(out, 1, len - 1, p) : 0;
    if (out)
        out[n] = '\0';
    return p && pclose(p) == 0;
}

/* Objects under blobs/ in the bucket (a listing, by the test). */
static int objects_in(const char *ns)
{
    static char out[1 << 20];
    if (!s3_cli(ns, "GET", "?list-type=2&max-keys=1000&prefix=blobs%2F", NULL, out, sizeof out))
        return -1;
    int n = 0;
    for (const char *p = out; (p = strstr(p, "<Key>")) != NULL; p += 5)
        n++;
    return n;
}

/* The same on the postgres + S3 store: objects nobody refers to, put in
 * the bucket behind the server's back, are still there after a start and
 * a collection pass or two (nothing lists the bucket), until `assetd store
 * check --repair` reconciles the bucket with the rows. */
TEST(start_up_on_postgres_does_not_list_the_bucket_and_store_check_does)
{
    if (!on_postgres() || !getenv("ASSETD_TEST_S3_ENDPOINT"))
        SKIP("needs ASSETD_TEST_STORE=postgres");
    enum { N = 60 };
    char dir[256], id[33], ns[24], url[600], key[128], body[32], out[2048];
    server srv;
    temp_dir(dir, sizeof dir, "growth-pg");
    store_name(dir, ns);
    const char *grace[] = {"--gc-grace", "0", NULL};
    REQUIRE(server_start(&srv, dir, grace));
    REQUIRE(upload(&srv, "kept.png", "image/png", astro_png, astro_len, id) == 201);
    server_kill(&srv, SIGTERM);
    for (int i = 0; i < N; i++) {
        char sha[65];
        snprintf(sha, sizeof sha, "%064x", i + 1);
        snprintf(key, sizeof key, "blobs/%.2s/%.2s/%s", sha, sha + 2, sha);
        snprintf(body, sizeof body, "orphan %d", i);
        CHECK(s3_cli(ns, "PUT", key, body, NULL, 0));
    }
    int before = objects_in(ns);
    REQUIRE(before == N + 1);
    REQUIRE(server_start(&srv, dir, grace));
    sleep_ms(2500); /* a start, and collection passes with no grace at all */
    CHECKF(objects_in(ns) == before, "%d objects before the start, %d after", before, objects_in(ns));
    /* the reconciliation is explicit */
    const char *argv[40];
    int n = store_args(dir, argv, 0, url, ns);
    char cmd[3000];
    int at = snprintf(cmd, sizeof cmd, "'%s'", getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd");
    for (int i = 0; i < n && at < (int)sizeof cmd - 200; i++)
        at += snprintf(cmd + at, sizeof cmd - (size_t)at, " '%s'", argv[i]);
    snprintf(cmd + at, sizeof cmd - (size_t)at, " --gc-grace 0 store check --repair 2>&1");
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[got] = '\0';
    int rc = p ? pclose(p) : -1;
    CHECKF(WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && strstr(out, "removed"), "%s", out);
    CHECKF(objects_in(ns) == 1, "%d objects after the repair", objects_in(ns));
    char path[128];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", id);
    CHECK(get(&srv, path, &r) == 200 && r.len == astro_len);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}
