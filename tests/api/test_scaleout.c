/* test_scaleout.c — many instances on one PostgreSQL + radosgw store
 * (issue 12), real servers started by scripts/test.sh: two instances
 * agree, directly and through nginx (packaging/nginx-assetd.conf, its
 * cache of delivery URLs too); a killed
 * instance's background saves are finished by the other once its lease
 * expires, each exactly once; the database and the object store killed
 * under load give JSON 503s, lose nothing acknowledged and leave no orphan,
 * and the service comes back without a restart; the same bytes uploaded
 * through both and deleted leave the survivor whole; `assetd store copy`
 * moves a SQLite store and the API answers the same. Needs
 * ASSETD_TEST_STORE=postgres and the servers' settings. */
#define HARNESS_SETUP setup
#include "harness.h"

#include <pthread.h>
#include <signal.h>

#include "api/client.h"
#include "base/sha256.h"

static char *rocket_jpg;
static size_t rocket_len;

static void setup(void)
{
    api_setup();
    load_test_photo("rocket.jpg", &rocket_jpg, &rocket_len);
}

static int servers_here(void)
{
    return on_postgres() && getenv("ASSETD_TEST_PG_URL") && getenv("ASSETD_TEST_S3_ENDPOINT");
}

/* Two instances, each with its own working folder, on one shared store. */
/* A store name of this run (runs on one database never share one). */
static const char *run_name(const char *name)
{
    static char buf[8][40];
    static int at;
    char *b = buf[at++ % 8];
    snprintf(b, 40, "%s%d", name, (int)getpid());
    return b;
}

static int start_pair(server *a, server *b, const char *store, const char *const *args_a, const char *const *args_b)
{
    char da[256], db[256];
    store = run_name(store);
    temp_dir(da, sizeof da, "a");
    temp_dir(db, sizeof db, "b");
    setenv("ASSETD_TEST_STORE_NAME", store, 1);
    int ok = server_start(a, da, args_a) && server_start(b, db, args_b);
    unsetenv("ASSETD_TEST_STORE_NAME");
    return ok;
}

static int upstreamed_nginx(const server *a, const server *b, int *port, char dir[300])
{
    char conf[400], *text = NULL, cmd[1200];
    size_t len = 0;
    temp_dir(dir, 300, "nginx");
    mkdir(dir, 0777);
    chmod(dir, 0777);
    if (!read_file("packaging/nginx-assetd.conf", &text, &len))
        return 0;
    /* a free port: bind one, take its number, let it go */
    server probe;
    char pdir[256];
    temp_dir(pdir, sizeof pdir, "probe");
    unsetenv("ASSETD_TEST_STORE");
    int ok = server_start(&probe, pdir, NULL);
    setenv("ASSETD_TEST_STORE", "postgres", 1);
    if (!ok)
        return 0;
    *port = probe.port;
    server_kill(&probe, SIGTERM);
    char ups[300], listen[64];
    snprintf(ups, sizeof ups,
             "        server 127.0.0.1:%d max_fails=1 fail_timeout=2s;\n"
             "        server 127.0.0.1:%d max_fails=1 fail_timeout=2s;",
             a->port, b->port);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", *port);
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return 0;
    for (const char *p = text; *p;) {
        if (strncmp(p, "@DIR@", 5) == 0)
            fputs(dir, f), p += 5;
        else if (strncmp(p, "@UPSTREAMS@", 11) == 0)
            fputs(ups, f), p += 11;
        else if (strncmp(p, "@LISTEN@", 8) == 0)
            fputs(listen, f), p += 8;
        else
            fputc(*p++, f);
    }
    if (geteuid() == 0)
        fputs("user root;\n", f);
    fclose(f);
    free(text);
    snprintf(cmd, sizeof cmd, "nginx -p %s -c %s 2>%s/start.log", dir, conf, dir);
    if (system(cmd) != 0)
        return 0;
    for (int i = 0; i < 50; i++) {
        server edge = {.port = *port};
        response r;
        long st = request(&edge, "GET", "/healthz", NULL, 0, NULL, 0, &r);
        response_cleanup(&r);
        if (st == 200)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

static void nginx_stop(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "nginx -p %s -c %s/nginx.conf -s stop 2>/dev/null", dir, dir);
    if (system(cmd) != 0)
        printf("    nginx did not stop\n");
}

static char *asset_json(const server *s, const char *id)
{
    char path[160];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    char *out = NULL;
    if (get(s, path, &r) == 200)
        out = strdup(r.body);
    response_cleanup(&r);
    return out;
}

TEST(two_instances_agree_directly_and_through_nginx)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    server a, b;
    REQUIRE(start_pair(&a, &b, "scale1", NULL, NULL));
    int edge_port;
    char ndir[300];
    REQUIRE(upstreamed_nginx(&a, &b, &edge_port, ndir));
    server edge = {.port = edge_port};
    char id[33], path[300];
    /* upload through A, save through B, read through A and the edge */
    REQUIRE(upload(&a, "astro.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=cut", id);
    response r;
    REQUIRE(get(&b, path, &r) == 200);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", id);
    const char *h[] = {"Content-Type: application/json", NULL};
    const char *cd = "{\"sku\":\"B-7\"}";
    REQUIRE(request(&b, "PUT", path, h, 1, cd, strlen(cd), &r) == 200);
    response_cleanup(&r);
    char *ja = asset_json(&a, id), *jb = asset_json(&b, id), *je = asset_json(&edge, id);
    CHECK(ja && jb && je && strcmp(ja, jb) == 0 && strcmp(ja, je) == 0);
    CHECK(ja && strstr(ja, "\"cut\"") && strstr(ja, "B-7"));
    free(ja), free(jb), free(je);
    /* the conversion's bytes, through every door */
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/cut", id);
    response ca, ce;
    REQUIRE(get(&a, path, &ca) == 200 && get(&edge, path, &ce) == 200);
    CHECK(ca.len > 1000 && ca.len == ce.len && memcmp(ca.body, ce.body, ca.len) == 0);
    response_cleanup(&ca), response_cleanup(&ce);
    /* an upload through the edge, read back through both */
    char id2[33];
    REQUIRE(upload(&edge, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, id2) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", id2);
    REQUIRE(get(&a, path, &ca) == 200 && get(&b, path, &ce) == 200);
    CHECK(ca.len == rocket_len && ce.len == rocket_len && memcmp(ca.body, rocket_jpg, rocket_len) == 0);
    response_cleanup(&ca), response_cleanup(&ce);
    /* a delivery URL minted by A, through the edge: the second answer is
     * the edge's cached copy (packaging/nginx-assetd.conf, location /d/) */
    snprintf(path, sizeof path, "/api/v1/assets/%s/delivery_urls", id2);
    const char *body = "{\"options\":{\"w\":200}}";
    REQUIRE(request(&a, "POST", path, h, 1, body, strlen(body), &r) == 201);
    char dpath[1024], cs[32] = "";
    snprintf(dpath, sizeof dpath, "%s", jstr(r.json, "path"));
    response_cleanup(&r);
    const char *webp[] = {"Accept: image/webp", NULL};
    REQUIRE(request(&edge, "GET", dpath, webp, 0, NULL, 0, &ca) == 200);
    REQUIRE(request(&edge, "GET", dpath, webp, 0, NULL, 0, &ce) == 200);
    CHECK(header(&ce, "X-Cache-Status", cs, sizeof cs) && strcmp(cs, "HIT") == 0);
    CHECK(ca.len > 100 && ca.len == ce.len && memcmp(ca.body, ce.body, ca.len) == 0);
    response_cleanup(&ca), response_cleanup(&ce);
    nginx_stop(ndir);
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}

static int count_assets_named(const server *s, const char *suffix)
{
    response r;
    int n = 0;
    if (get(s, "/api/v1/assets?limit=100", &r) == 200) {
        json_t *items = json_object_get(r.json, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            const char *f = jstr(json_array_get(items, i), "filename");
            n += strlen(f) >= strlen(suffix) && strcmp(f + strlen(f) - strlen(suffix), suffix) == 0;
        }
    }
    response_cleanup(&r);
    return n;
}

TEST(a_killed_instances_saves_are_finished_by_the_other_once)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    server a, b;
    /* A records the saves and dies before running them; B runs jobs only
     * after A is gone, so what it runs are A's expired leases */
    const char *hold[] = {"--job-lease-ms", "1500", NULL};
    const char *later[] = {"--job-start-delay-ms", "4000", "--job-lease-ms", "1500", NULL};
    REQUIRE(start_pair(&a, &b, "scale2", hold, later));
    char src[33], path[300], jobs[6][64];
    REQUIRE(upload(&a, "src.png", "image/png", astro_png, astro_len, src) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_new_asset",
             src);
    for (int i = 0; i < 6; i++) {
        response r;
        REQUIRE(get(&a, path, &r) == 200);
        REQUIRE(header(&r, "X-Job-Id", jobs[i], sizeof jobs[i]));
        response_cleanup(&r);
    }
    double killed = now_s();
    server_kill(&a, SIGKILL);
    /* each job ends succeeded, and there is one new asset per job */
    double last = 0;
    for (int i = 0; i < 6; i++) {
        char jp[128];
        snprintf(jp, sizeof jp, "/api/v1/jobs/%.40s", jobs[i]);
        int done = 0;
        for (int t = 0; t < 300 && !done; t++) {
            response r;
            if (get(&b, jp, &r) == 200 && strcmp(jstr(r.json, "status"), "succeeded") == 0)
                done = 1;
            response_cleanup(&r);
            if (!done)
                sleep_ms(50);
        }
        CHECKF(done, "job %d not finished by the other instance", i);
        last = now_s();
    }
    printf("    6 jobs of the killed instance done by the other %.1f s after the kill (lease 1.5 s, the other "
           "held its jobs for 4 s)\n",
           last - killed);
    CHECK(count_assets_named(&b, ".bg_removed.png") == 6);
    server_kill(&b, SIGTERM);
}

typedef struct {
    const server *s;
    volatile int *stop;
    int acked, refused_json, other;
    char ids[400][33];
    char shas[400][65];
} uploader;

static void *keep_uploading(void *arg)
{
    uploader *u = arg;
    for (int i = 0; !*u->stop && u->acked < 400; i++) {
        char body[64], path[128], cth[] = "Content-Type: application/octet-stream";
        snprintf(body, sizeof body, "bytes %p %d %f", (void *)u, i, now_s());
        const char *h[] = {cth, NULL};
        response r;
        snprintf(path, sizeof path, "/api/v1/assets?filename=x%d.bin", i);
        long st = request(u->s, "POST", path, h, 1, body, strlen(body), &r);
        if (st == 201) {
            snprintf(u->ids[u->acked], 33, "%s", jstr(r.json, "id"));
            ad_sha256_hex(body, strlen(body), u->shas[u->acked]);
            u->acked++;
        } else if (st == 503 && is_error_shape(&r)) {
            u->refused_json++;
        } else {
            u->other++;
        }
        response_cleanup(&r);
        sleep_ms(20);
    }
    return NULL;
}

static pid_t pid_in(const char *path, int line)
{
    FILE *f = fopen(path, "r");
    char buf[64];
    pid_t pid = 0;
    for (int i = 0; f && i <= line && fgets(buf, sizeof buf, f); i++)
        if (i == line)
            pid = (pid_t)atoi(buf);
    if (f)
        fclose(f);
    return pid;
}

typedef struct {
    const server *s;
    int ok;
    char ids[20][33];
} same_bytes;

static void *upload_same(void *arg)
{
    same_bytes *u = arg;
    for (int i = 0; i < 20; i++)
        if (upload(u->s, "same.jpg", "image/jpeg", rocket_jpg, rocket_len, u->ids[u->ok]) == 201)
            u->ok++;
    return NULL;
}

TEST(the_same_bytes_through_both_instances_then_deletes_leave_the_survivor_whole)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    server a, b;
    const char *grace[] = {"--gc-grace", "0", NULL};
    REQUIRE(start_pair(&a, &b, "scale4", grace, grace));
    same_bytes ua = {.s = &a}, ub = {.s = &b};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, upload_same, &ua);
    pthread_create(&tb, NULL, upload_same, &ub);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(ua.ok == 20 && ub.ok == 20);
    /* delete all but B's last, through both, in parallel with a fresh upload */
    for (int i = 0; i < 20; i++) {
        char path[128];
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%s", ua.ids[i]);
        CHECK(request(&b, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
        response_cleanup(&r);
        if (i < 19) {
            snprintf(path, sizeof path, "/api/v1/assets/%s", ub.ids[i]);
            CHECK(request(&a, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
            response_cleanup(&r);
        }
    }
    char path[128];
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", ub.ids[19]);
    for (int k = 0; k < 2; k++) {
        response r;
        REQUIRE(get(k ? &b : &a, path, &r) == 200);
        CHECK(r.len == rocket_len && memcmp(r.body, rocket_jpg, rocket_len) == 0);
        response_cleanup(&r);
    }
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}

/* Two instances collect one queue (claims under a lease, FOR UPDATE SKIP
 * LOCKED): every candidate is looked at by one of them, once. Each counts
 * what it claimed (assetd_gc_candidates_total): the two sum to the
 * candidates there were, where a queue drained whole by both would count
 * each twice. */
TEST(two_instances_collecting_one_queue_take_each_candidate_once)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    enum { N = 150 };
    server a, b;
    /* a grace of a second: deletes queue their blobs for the collectors
     * (with none, the deleting request removes them itself) */
    const char *grace[] = {"--gc-grace", "1", NULL};
    REQUIRE(start_pair(&a, &b, "scalegc", grace, grace));
    static char ids[N][33];
    char body[1024];
    for (int i = 0; i < N; i++) {
        memset(body, 'a' + i % 26, sizeof body);
        snprintf(body, sizeof body, "candidate %d", i); /* bytes of its own */
        REQUIRE(upload(i % 2 ? &b : &a, "c.bin", "application/octet-stream", body, sizeof body, ids[i]) == 201);
    }
    sleep_ms(1200); /* every blob older than the grace: each is looked at once, not put back */
    double base = metric(&a, "assetd_gc_candidates_total") + metric(&b, "assetd_gc_candidates_total");
    /* all deleted, through both, while both collect */
    for (int i = 0; i < N; i++) {
        char path[80];
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%.32s", ids[i]);
        CHECK(request(i % 2 ? &a : &b, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
        response_cleanup(&r);
    }
    double removed = 0;
    for (int i = 0; i < 150 && removed < N; i++, sleep_ms(100))
        removed = metric(&a, "assetd_gc_removed_total") + metric(&b, "assetd_gc_removed_total");
    sleep_ms(1500); /* a double claim would show by now */
    double ca = metric(&a, "assetd_gc_candidates_total"), cb = metric(&b, "assetd_gc_candidates_total");
    printf("    %d candidates: instance A looked at %.0f, B at %.0f; %.0f removed\n", N, ca, cb, removed);
    CHECKF(removed == N, "%.0f of %d removed", removed, N);
    CHECKF(ca + cb - base == N, "%.0f candidates looked at for %d", ca + cb - base, N);
    for (int k = 0; k < 2; k++) {
        char path[80];
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%.32s/file", ids[k]);
        CHECK(get(k ? &b : &a, path, &r) == 404);
        response_cleanup(&r);
    }
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}

TEST(store_copy_moves_a_sqlite_store_and_the_api_answers_the_same)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    char dir[256], src[33], cut[33], plain[33], path[300];
    temp_dir(dir, sizeof dir, "sqlite");
    server s;
    unsetenv("ASSETD_TEST_STORE");
    REQUIRE(server_start(&s, dir, NULL));
    REQUIRE(upload(&s, "astro.png", "image/png", astro_png, astro_len, src) == 201);
    REQUIRE(upload(&s, "rocket.jpg", "image/jpeg", rocket_jpg, rocket_len, plain) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/custom_data", src);
    const char *h[] = {"Content-Type: application/json", NULL};
    response r;
    REQUIRE(request(&s, "PUT", path, h, 1, "{\"sku\":\"A1\"}", 12, &r) == 200);
    response_cleanup(&r);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_new_asset&metadata=inherit", src);
    REQUIRE(get(&s, path, &r) == 200);
    snprintf(cut, sizeof cut, "%s", jstr(r.json, "new_asset_id"));
    response_cleanup(&r);
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_conversion&conversion_name=c",
             src);
    char job[64];
    REQUIRE(get(&s, path, &r) == 200 && header(&r, "X-Job-Id", job, sizeof job));
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    for (int i = 0; i < 100; i++) {
        get(&s, path, &r);
        int done = strcmp(jstr(r.json, "status"), "succeeded") == 0;
        response_cleanup(&r);
        if (done)
            break;
        sleep_ms(50);
    }
    char *before[3] = {asset_json(&s, src), asset_json(&s, cut), asset_json(&s, plain)};
    response jb;
    REQUIRE(get(&s, path, &jb) == 200);
    server_kill(&s, SIGTERM);
    setenv("ASSETD_TEST_STORE", "postgres", 1);
    /* copy, twice: the second run finds everything there */
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    char url[600], ns[24], cmd[2000], out[1000];
    const char *argv[40];
    store_args("copy-target", argv, 0, url, ns);
    for (int run = 0; run < 2; run++) {
        snprintf(cmd, sizeof cmd,
                 "%s store copy --from sqlite --data-dir %s --to postgres --database-url '%s' --s3-endpoint %s "
                 "--s3-bucket %s --s3-access-key AK --s3-secret-key SK 2>&1",
                 bin, dir, url, getenv("ASSETD_TEST_S3_ENDPOINT"), ns);
        FILE *p = popen(cmd, "r");
        REQUIRE(p != NULL);
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        CHECKF(pclose(p) == 0, "%s", out);
        printf("    %s", out);
        CHECK(strstr(out, run ? "0 assets copied (3 were there already)" : "3 assets copied (0 were there") != NULL);
    }
    /* the new store answers the same */
    char pdir[256];
    temp_dir(pdir, sizeof pdir, "pg");
    setenv("ASSETD_TEST_STORE_NAME", ns, 1);
    REQUIRE(server_start(&s, pdir, NULL));
    unsetenv("ASSETD_TEST_STORE_NAME");
    const char *ids[3] = {src, cut, plain};
    for (int i = 0; i < 3; i++) {
        char *after = asset_json(&s, ids[i]);
        CHECKF(before[i] && after && strcmp(before[i], after) == 0, "asset %s:\n%s\n%s", ids[i], before[i], after);
        free(before[i]);
        free(after);
    }
    response ja;
    REQUIRE(get(&s, path, &ja) == 200);
    CHECK(strcmp(jb.body, ja.body) == 0);
    response_cleanup(&ja);
    response_cleanup(&jb);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", plain);
    REQUIRE(get(&s, path, &r) == 200);
    CHECK(r.len == rocket_len && memcmp(r.body, rocket_jpg, rocket_len) == 0);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}

typedef struct {
    const char *dir;
    server s;
    int ok;
} starter;

static void *start_one(void *arg)
{
    starter *st = arg;
    st->ok = server_start(&st->s, st->dir, NULL);
    return NULL;
}

/* N instances starting at once on an empty database migrate it exactly
 * once (under an advisory lock), and all of them come up. */
TEST(instances_starting_at_once_migrate_exactly_once)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    const char *ns = run_name("scale5");
    starter st[3];
    char dirs[3][256];
    pthread_t t[3];
    setenv("ASSETD_TEST_STORE_NAME", ns, 1);
    for (int i = 0; i < 3; i++) {
        temp_dir(dirs[i], sizeof dirs[i], "m");
        st[i] = (starter){.dir = dirs[i]};
        pthread_create(&t[i], NULL, start_one, &st[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    unsetenv("ASSETD_TEST_STORE_NAME");
    CHECK(st[0].ok && st[1].ok && st[2].ok);
    PGconn *c = PQconnectdb(getenv("ASSETD_TEST_PG_URL"));
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*), count(DISTINCT version) FROM %s.schema_migrations", ns);
    PGresult *q = PQexec(c, sql);
    CHECKF(PQresultStatus(q) == PGRES_TUPLES_OK && strcmp(PQgetvalue(q, 0, 0), PQgetvalue(q, 0, 1)) == 0 &&
               atoi(PQgetvalue(q, 0, 0)) >= 1,
           "%s", PQerrorMessage(c));
    PQclear(q);
    PQfinish(c);
    for (int i = 0; i < 3; i++)
        if (st[i].ok)
            server_kill(&st[i].s, SIGTERM);
}

/* A blob above the single-PUT size goes up in parts and comes back whole,
 * through the instance that stored it and through one that never saw it
 * (fetched from the object store into its read cache). */
TEST(a_large_upload_goes_up_in_parts_and_reads_back_whole)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the test servers");
    server a, b;
    REQUIRE(start_pair(&a, &b, "scale6", NULL, NULL));
    size_t len = 40u << 20;
    char *big = malloc(len), id[33], sha[65], got[65], path[128];
    REQUIRE(big != NULL);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)((i * 2654435761u) >> 13);
    ad_sha256_hex(big, len, sha);
    REQUIRE(upload(&a, "big.bin", "application/octet-stream", big, len, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", id);
    for (int k = 0; k < 2; k++) {
        response r;
        REQUIRE(get(k ? &b : &a, path, &r) == 200);
        ad_sha256_hex(r.body, r.len, got);
        CHECK(r.len == len && strcmp(got, sha) == 0);
        response_cleanup(&r);
    }
    const char *range[] = {"Range: bytes=30000000-30000099", NULL};
    response r;
    CHECK(request(&b, "GET", path, range, 1, NULL, 0, &r) == 206 && r.len == 100 &&
          memcmp(r.body, big + 30000000, 100) == 0);
    response_cleanup(&r);
    free(big);
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}

/* Last of the file: a radosgw restarted takes ~18 s over its first bucket
 * creation, which every test after this one would wait out at its start. */
TEST(losing_the_database_and_the_object_store_loses_nothing_acknowledged)
{
    if (!servers_here() || !getenv("ASSETD_TEST_PG_TMP") || !getenv("ASSETD_TEST_CEPH_DIR"))
        SKIP("needs the servers scripts/test.sh starts");
    server a, b;
    const char *grace[] = {"--gc-grace", "0", NULL};
    REQUIRE(start_pair(&a, &b, "scale3", grace, grace));
    volatile int stop = 0;
    uploader ua = {.s = &a, .stop = &stop}, ub = {.s = &b, .stop = &stop};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, keep_uploading, &ua);
    pthread_create(&tb, NULL, keep_uploading, &ub);
    sleep_ms(800);
    char pid_file[600], cmd[1500];
    const char *pg = getenv("ASSETD_TEST_PG_TMP"), *ceph = getenv("ASSETD_TEST_CEPH_DIR");
    /* the database goes away (kill -9 of the postmaster and its backends) */
    snprintf(pid_file, sizeof pid_file, "%s/data/postmaster.pid", pg);
    pid_t post = pid_in(pid_file, 0);
    REQUIRE(post > 0);
    snprintf(cmd, sizeof cmd, "kill -9 %d; pkill -9 -P %d; true", (int)post, (int)post);
    CHECK(system(cmd) == 0);
    sleep_ms(1500);
    /* gone (a zombie counts: nobody may reap it here), so its pid file
     * names nobody and the restart below may take the data dir */
    for (int i = 0; i < 100; i++) {
        char st[64], line[128] = "";
        snprintf(st, sizeof st, "/proc/%d/status", (int)post);
        FILE *f = fopen(st, "r");
        while (f && fgets(line, sizeof line, f) && strncmp(line, "State:", 6) != 0)
            ;
        if (f)
            fclose(f);
        if (f == NULL || strstr(line, "Z (zombie)"))
            break;
        sleep_ms(100);
    }
    unlink(pid_file);
    snprintf(cmd, sizeof cmd, "rm -f %s/.s.PGSQL.*", pg); /* its socket's lock file too */
    CHECK(system(cmd) == 0);
    int refused_db = ua.refused_json + ub.refused_json;
    /* back: the same cluster on the same port */
    snprintf(cmd, sizeof cmd,
             "%s /usr/lib/postgresql/15/bin/pg_ctl -D %s/data -l %s/pg.log -w -t 30 -o \"-c listen_addresses=127.0.0.1 "
             "-p %s -c unix_socket_directories=%s -c fsync=off -c full_page_writes=off -c "
             "max_connections=300\" start >/dev/null",
             geteuid() == 0 ? "runuser -u postgres --" : "", pg, pg, getenv("PGPORT") ? getenv("PGPORT") : "55432", pg);
    CHECK(system(cmd) == 0);
    sleep_ms(1000);
    int acked_mid = ua.acked + ub.acked;
    /* the object store goes away (kill -9 of radosgw), then comes back */
    snprintf(pid_file, sizeof pid_file, "%s/pids", ceph);
    pid_t rgw = pid_in(pid_file, 2);
    REQUIRE(rgw > 0);
    kill(rgw, SIGKILL);
    sleep_ms(3500);
    int refused_s3 = ua.refused_json + ub.refused_json - refused_db;
    snprintf(cmd, sizeof cmd,
             "radosgw -c %s/ceph.conf -n client.rgw.gw -f >>%s/log/rgw.out 2>&1 & echo $! >> %s/pids; "
             "for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:7480/ && exit 0; sleep 0.1; done; exit 1",
             ceph, ceph, ceph);
    CHECK(system(cmd) == 0);
    sleep_ms(1500);
    stop = 1;
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    int acked = ua.acked + ub.acked;
    printf("    %d uploads acknowledged (%d before the object store went), 503 JSON while the database was down: "
           "%d, while the object store was down: %d, other answers: %d\n",
           acked, acked_mid, refused_db, refused_s3, ua.other + ub.other);
    CHECK(refused_db > 0 && refused_s3 > 0); /* it did notice, and said so in JSON */
    CHECK(ua.other + ub.other == 0);
    CHECK(acked > acked_mid); /* and came back without a restart */
    /* every acknowledged upload is there, whole, through either instance */
    int lost = 0;
    uploader *all[] = {&ua, &ub};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < all[k]->acked; i++) {
            char path[128];
            snprintf(path, sizeof path, "/api/v1/assets/%s/file", all[k]->ids[i]);
            response r;
            char sha[65] = "";
            if (get(k ? &a : &b, path, &r) == 200)
                ad_sha256_hex(r.body, r.len, sha);
            if (strcmp(sha, all[k]->shas[i]) != 0 && lost < 3)
                printf("    lost: %ld %.200s\n", r.status, r.body ? r.body : "");
            lost += strcmp(sha, all[k]->shas[i]) != 0;
            response_cleanup(&r);
        }
    CHECKF(lost == 0, "%d acknowledged uploads lost or damaged", lost);
    /* no orphan: after the collector, objects = rows that refer to them */
    sleep_ms(2500);
    PGconn *c = PQconnectdb(getenv("ASSETD_TEST_PG_URL"));
    char sql[600];
    const char *ns = run_name("scale3");
    snprintf(sql, sizeof sql,
             "SELECT count(DISTINCT sha256) FROM (SELECT sha256 FROM %s.assets UNION SELECT sha256 FROM "
             "%s.conversions UNION SELECT sha256 FROM %s.blob_pins UNION SELECT blob_sha256 FROM %s.derived) x",
             ns, ns, ns, ns);
    PGresult *q = PQexec(c, sql);
    int referenced = PQresultStatus(q) == PGRES_TUPLES_OK ? atoi(PQgetvalue(q, 0, 0)) : -1;
    PQclear(q);
    PQfinish(c);
    snprintf(cmd, sizeof cmd,
             "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user AK:SK -H 'x-amz-content-sha256: "
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' "
             "'%s/%s?list-type=2&max-keys=1000&prefix=blobs%%2F' | grep -o '<Key>' | wc -l",
             getenv("ASSETD_TEST_S3_ENDPOINT"), ns);
    FILE *p = popen(cmd, "r");
    int objects = -1;
    if (p) {
        if (fscanf(p, "%d", &objects) != 1)
            objects = -1;
        pclose(p);
    }
    CHECKF(objects == referenced && referenced == acked, "%d objects, %d referenced, %d acknowledged", objects,
           referenced, acked);
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
}
