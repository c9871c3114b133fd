/* store_bench.c — the stores under load, from outside (issue 12): the
 * embedded SQLite store against PostgreSQL + S3 with one instance, and one
 * against two instances on PostgreSQL + S3, all in the same run:
 *   - metadata GET /api/v1/assets/:id rate (8 clients, keep-alive);
 *   - upload rate (4 clients, 10 KB bodies);
 *   - a 1 MB download, p50 and p99: local file vs an object the instance
 *     has not seen (fetched from S3) vs one it has (its read cache);
 *   - job takeover: kill -9 of the instance holding a job's lease, to the
 *     job done by the other (goal: lease + <= 1 s).
 * Needs ASSETD_TEST_PG_URL and ASSETD_TEST_S3_ENDPOINT (bench/store.sh
 * starts the servers). Environment: ASSETD_BIN. */
#include <pthread.h>

#include "../tests/api/client.h"

static volatile int stop;
static char ids[64][33];
static int nids;

typedef struct {
    const server *const *servers;
    int nservers, which;
    long ok, errors;
    double *lat;
    int nlat, cap;
} client;

static void *reader(void *arg)
{
    client *c = arg;
    for (long i = 0; !stop; i++) {
        char path[96];
        snprintf(path, sizeof path, "/api/v1/assets/%s", ids[i % nids]);
        response r;
        double t0 = now_s();
        long st = get(c->servers[(c->which + i) % c->nservers], path, &r);
        double dt = now_s() - t0;
        response_cleanup(&r);
        if (st == 200) {
            c->ok++;
            if (c->nlat < c->cap)
                c->lat[c->nlat++] = dt;
        } else {
            c->errors++;
        }
    }
    return NULL;
}

static void *uploader(void *arg)
{
    client *c = arg;
    char body[10240];
    for (long i = 0; !stop; i++) {
        snprintf(body, sizeof body, "%p %ld %f", (void *)c, i, now_s());
        memset(body + strlen(body), 'x', sizeof body - strlen(body));
        char id[33];
        if (upload(c->servers[(c->which + i) % c->nservers], "b.bin", "application/octet-stream", body, sizeof body,
                   id) == 201)
            c->ok++;
        else
            c->errors++;
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n ? v[(int)(p * (n - 1) + 0.5)] : 0;
}

/* requests/s of fn with n clients for secs over the servers; p99 (ms) of reads */
static double load(void *(*fn)(void *), const server *const *servers, int nservers, int n, double secs, double *p99)
{
    pthread_t t[16];
    client c[16];
    stop = 0;
    for (int i = 0; i < n; i++) {
        c[i] = (client){.servers = servers, .nservers = nservers, .which = i, .cap = 200000};
        c[i].lat = malloc(sizeof(double) * (size_t)c[i].cap);
        pthread_create(&t[i], NULL, fn, &c[i]);
    }
    sleep_ms((int)(secs * 1000));
    stop = 1;
    long ok = 0, errors = 0;
    int all = 0;
    double *lat = malloc(sizeof(double) * 200000 * (size_t)n);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        ok += c[i].ok;
        errors += c[i].errors;
        memcpy(lat + all, c[i].lat, sizeof(double) * (size_t)c[i].nlat);
        all += c[i].nlat;
        free(c[i].lat);
    }
    if (p99)
        *p99 = pct(lat, all, 0.99) * 1000;
    free(lat);
    if (errors)
        printf("    (%ld errors)\n", errors);
    return (double)ok / secs;
}

static int start(server *s, const char *kind, const char *store, const char *const *extra)
{
    char dir[256];
    temp_dir(dir, sizeof dir, kind);
    if (strcmp(kind, "postgres") == 0) {
        setenv("ASSETD_TEST_STORE", "postgres", 1);
        setenv("ASSETD_TEST_STORE_NAME", store, 1);
    } else {
        unsetenv("ASSETD_TEST_STORE");
    }
    int ok = server_start(s, dir, extra);
    unsetenv("ASSETD_TEST_STORE_NAME");
    return ok;
}

static void fill(const server *s)
{
    char body[2048];
    for (nids = 0; nids < 64; nids++) {
        snprintf(body, sizeof body, "asset %d %f", nids, now_s());
        if (upload(s, "a.bin", "application/octet-stream", body, strlen(body), ids[nids]) != 201)
            exit(1);
    }
}

/* p50 and p99 (ms) of downloading each of the n 1 MB assets once. */
static void downloads(const server *s, char (*mb)[33], int n, double *p50, double *p99)
{
    double lat[64];
    for (int i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof path, "/api/v1/assets/%s/file", mb[i]);
        response r;
        double t0 = now_s();
        get(s, path, &r);
        lat[i] = (now_s() - t0) * 1000;
        response_cleanup(&r);
    }
    *p99 = pct(lat, n, 0.99);
    *p50 = pct(lat, n, 0.5);
}

static void upload_mb(const server *s, char (*mb)[33], int n)
{
    size_t len = 1 << 20;
    char *buf = malloc(len);
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < len; k++)
            buf[k] = (char)(k * 31 + (size_t)i * 7 + (size_t)(now_s() * 1000));
        if (upload(s, "mb.bin", "application/octet-stream", buf, len, mb[i]) != 201)
            exit(1);
    }
    free(buf);
}

/* ---- search at 100k assets: a filtered page against an unfiltered one */

#define BIG 100000

/* Rows for BIG assets cloned from the one asset of the store (its blob
 * shared), with custom data of 50 SKUs and 10 colours and their index
 * entries (store/custom_index.h), written by SQL: sqlite with the server
 * stopped (it is the only writer), postgres beside it. */
static const char *const fill_sqlite[] = {
    "BEGIN",
    "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 100000)"
    " INSERT INTO assets(id, seq, filename, content_type, size, sha256, width, height, created_at, custom_data)"
    " SELECT lower(hex(randomblob(16))), t.seq + i, (CASE i % 3 WHEN 0 THEN 'shoe-' WHEN 1 THEN 'hat-' ELSE"
    " 'shirt-' END) || i || '.png', CASE i % 4 WHEN 0 THEN 'image/jpeg' ELSE 'image/png' END, t.size, t.sha256,"
    " t.width, t.height, t.created_at, '{\"sku\":\"S' || (i % 50) || '\",\"color\":\"c' || (i % 10) ||"
    " '\",\"dims\":{\"w\":' || (800 + (i % 4) * 100) || '}}' FROM g, (SELECT * FROM assets LIMIT 1) t",
    "INSERT INTO custom_index(path, key, tag, seq) SELECT 'sku', json_extract(custom_data, '$.sku'), 's', seq"
    " FROM assets WHERE seq > 1",
    "INSERT INTO custom_index(path, key, tag, seq) SELECT 'color', json_extract(custom_data, '$.color'), 's', seq"
    " FROM assets WHERE seq > 1",
    "INSERT INTO custom_index(path, key, tag, seq) SELECT 'dims.w', json_extract(custom_data, '$.dims.w'), 'n',"
    " seq FROM assets WHERE seq > 1",
    "COMMIT",
    "ANALYZE",
};
static const char *const fill_postgres[] = {
    "INSERT INTO assets(id, filename, content_type, size, sha256, width, height, created_at, custom_data)"
    " SELECT md5(random()::text || i), (CASE i % 3 WHEN 0 THEN 'shoe-' WHEN 1 THEN 'hat-' ELSE 'shirt-' END) || i"
    " || '.png', CASE i % 4 WHEN 0 THEN 'image/jpeg' ELSE 'image/png' END, t.size, t.sha256, t.width, t.height,"
    " t.created_at, '{\"sku\":\"S' || (i % 50) || '\",\"color\":\"c' || (i % 10) || '\",\"dims\":{\"w\":' ||"
    " (800 + (i % 4) * 100) || '}}' FROM generate_series(1, 100000) i, (SELECT * FROM assets LIMIT 1) t",
    "INSERT INTO custom_index(path, key, tag, seq) SELECT 'sku', custom_data::jsonb->>'sku', 's', seq FROM assets"
    " WHERE seq > 1",
    "INSERT INTO custom_index(path, key, tag, seq) SELECT 'color', custom_data::jsonb->>'color', 's', seq FROM"
    " assets WHERE seq > 1",
    "INSERT INTO custom_index(path, key, tag, seq) SELECT 'dims.w', custom_data::jsonb->'dims'->>'w', 'n', seq"
    " FROM assets WHERE seq > 1",
    "ANALYZE",
};

/* p50 of n GETs of path, ms */
static double page_ms(const server *s, const char *path, int n)
{
    double lat[200];
    for (int i = 0; i < n && i < 200; i++) {
        response r;
        double t0 = now_s();
        long st = get(s, path, &r);
        lat[i] = (now_s() - t0) * 1000;
        int items = (int)json_array_size(json_object_get(r.json, "items"));
        response_cleanup(&r);
        if (st != 200 || items == 0) {
            fprintf(stderr, "store_bench: %s: %ld, %d items\n", path, st, items);
            exit(1);
        }
    }
    return pct(lat, n, 0.5);
}

static void search_figures(const char *label, const server *s)
{
    static const struct {
        const char *what, *query;
    } rows[] = {
        {"custom_data.sku (2%)", "custom_data.sku=S7"},
        {"custom_data.color (10%) + dims.w", "custom_data.color=c3&custom_data.dims.w=1100"},
        {"filename_prefix=shoe-9 (~4%)", "filename_prefix=shoe-9"},
        {"content_type=image/jpeg (25%)", "content_type=image%2Fjpeg"},
        {"content_type=image/* (100%)", "content_type=image%2F%2A"},
        {"filename_prefix=hat-1234 (11 rows)", "filename_prefix=hat-1234"},
        {"custom_data.sku, oldest first", "custom_data.sku=S7&order=oldest"},
    };
    double base = page_ms(s, "/api/v1/assets?limit=20", 100);
    printf("  %-10s unfiltered page of 20: %.2f ms (p50)\n", label, base);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v1/assets?limit=20&%s", rows[i].query);
        double f = page_ms(s, path, 100);
        printf("  %-10s %-36s %7.2f ms  (%.2fx the unfiltered page; goal <= 3x)\n", label, rows[i].what, f, f / base);
    }
}

static int fill_big_sqlite(server *s)
{
    char db[300], dir[256], id[33], body[32] = "one asset";
    snprintf(dir, sizeof dir, "%s", s->dir);
    if (upload(s, "seed.bin", "application/octet-stream", body, strlen(body), id) != 201)
        return 0;
    server_kill(s, SIGTERM);
    snprintf(db, sizeof db, "%s/assetd.db", dir);
    sqlite3 *c;
    if (sqlite3_open(db, &c) != SQLITE_OK)
        return 0;
    for (size_t i = 0; i < sizeof fill_sqlite / sizeof fill_sqlite[0]; i++)
        if (sqlite3_exec(c, fill_sqlite[i], NULL, NULL, NULL) != SQLITE_OK) {
            fprintf(stderr, "store_bench: %s\n", sqlite3_errmsg(c));
            sqlite3_close(c);
            return 0;
        }
    sqlite3_close(c);
    unsetenv("ASSETD_TEST_STORE");
    return server_start(s, dir, NULL);
}

static int fill_big_postgres(server *s, const char *ns)
{
    char id[33], body[32] = "one asset", url[600];
    if (upload(s, "seed.bin", "application/octet-stream", body, strlen(body), id) != 201)
        return 0;
    const char *base = getenv("ASSETD_TEST_PG_URL");
    snprintf(url, sizeof url, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', ns);
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    for (size_t i = 0; ok && i < sizeof fill_postgres / sizeof fill_postgres[0]; i++) {
        PGresult *r = PQexec(c, fill_postgres[i]);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "store_bench: %s\n", PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return ok;
}

/* ---- growth: the same figures at 1k and 100k assets (issue 31) ------- */

/* n assets cloned from the store's one (its blob shared), by SQL */
static int grow_sqlite(const char *dir, int n)
{
    char db[300], stmt[1024];
    snprintf(db, sizeof db, "%s/assetd.db", dir);
    snprintf(stmt, sizeof stmt,
             "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d)"
             " INSERT INTO assets(id, seq, filename, content_type, size, sha256, width, height, created_at,"
             " custom_data) SELECT lower(hex(randomblob(16))), t.seq + i, 'g-' || i || '.bin', t.content_type, t.size,"
             " t.sha256, t.width, t.height, t.created_at, '{}' FROM g, (SELECT * FROM assets LIMIT 1) t;"
             "ANALYZE",
             n - 1);
    sqlite3 *c;
    if (sqlite3_open(db, &c) != SQLITE_OK)
        return 0;
    int ok = sqlite3_exec(c, stmt, NULL, NULL, NULL) == SQLITE_OK;
    if (!ok)
        fprintf(stderr, "store_bench: %s\n", sqlite3_errmsg(c));
    sqlite3_close(c);
    return ok;
}

static int grow_postgres(const char *ns, int n)
{
    char url[600], stmt[1024];
    const char *base = getenv("ASSETD_TEST_PG_URL");
    snprintf(url, sizeof url, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', ns);
    snprintf(stmt, sizeof stmt,
             "INSERT INTO assets(id, filename, content_type, size, sha256, width, height, created_at, custom_data)"
             " SELECT md5(random()::text || i), 'g-' || i || '.bin', t.content_type, t.size, t.sha256, t.width,"
             " t.height, t.created_at, '{}' FROM generate_series(1, %d) i, (SELECT * FROM assets LIMIT 1) t",
             n - 1);
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, stmt);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    /* vacuumed and analysed now: autovacuum's pass over a million new
     * rows would otherwise land in the timed reads (GET p99 doubled) */
    if (ok) {
        r = PQexec(c, "VACUUM ANALYZE assets");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok)
        fprintf(stderr, "store_bench: %s\n", PQerrorMessage(c));
    PQfinish(c);
    return ok;
}

/* Start a server on dir (kind's store), timing the listener and health. */
static int timed_start(server *s, const char *kind, const char *ns, const char *dir, double *listen_ms,
                       double *healthy_ms)
{
    if (strcmp(kind, "postgres") == 0) {
        setenv("ASSETD_TEST_STORE", "postgres", 1);
        setenv("ASSETD_TEST_STORE_NAME", ns, 1);
    } else {
        unsetenv("ASSETD_TEST_STORE");
    }
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->log, sizeof s->log, "%s.log", dir);
    unlink(s->log);
    static const char *const gc_soon[] = {"--gc-grace", "1", NULL}; /* the GC column's wait */
    double t0 = now_s();
    s->pid = spawn_serve(dir, gc_soon, s->log);
    unsetenv("ASSETD_TEST_STORE_NAME");
    s->port = 0;
    while (s->port == 0 && now_s() - t0 < 120) {
        char *text = NULL;
        size_t len = 0;
        if (read_file(s->log, &text, &len)) {
            const char *p = strstr(text, "port=");
            if (p)
                s->port = atoi(p + 5);
        }
        free(text);
        if (s->port == 0)
            sleep_ms(2);
    }
    *listen_ms = (now_s() - t0) * 1000;
    for (int ok = 0; !ok && now_s() - t0 < 120; sleep_ms(5)) {
        response r;
        ok = request(s, "GET", "/healthz", NULL, 0, NULL, 0, &r) == 200;
        response_cleanup(&r);
    }
    *healthy_ms = (now_s() - t0) * 1000;
    return s->port != 0;
}

/* p50 and p99 of n GETs of path, ms */
static void lat(const server *s, const char *path, int n, double *p50, double *p99)
{
    static double v[1000];
    n = n < 1000 ? n : 1000;
    for (int i = 0; i < n; i++) {
        response r;
        double t0 = now_s();
        get(s, path, &r);
        v[i] = (now_s() - t0) * 1000;
        response_cleanup(&r);
    }
    *p50 = pct(v, n, 0.5);
    if (p99)
        *p99 = pct(v, n, 0.99);
}

typedef struct {
    double listen, healthy, get50, get99, first, deep, filtered, sparse, metrics, uploads, rss_mib, gc_ms, gc_looked;
} growth_row;

/* Delete the assets (distinct blobs each), then wait for the collector:
 * ms until every blob is removed, and candidates looked at per deletion
 * (the server runs with a 1 s grace; its collector wakes each second). */
static int gc_after_deletes(const server *s, char (*del)[33], int n, double *ms, double *looked)
{
    double looked0 = metric(s, "assetd_gc_candidates_total"), removed0 = metric(s, "assetd_gc_removed_total");
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        char path[96];
        response r;
        snprintf(path, sizeof path, "/api/v1/assets/%.32s", del[i]);
        long st = request(s, "DELETE", path, NULL, 1, NULL, 0, &r);
        response_cleanup(&r);
        if (st != 204)
            return 0;
    }
    while (metric(s, "assetd_gc_removed_total") - removed0 < n && now_s() - t0 < 60)
        sleep_ms(20);
    *ms = (now_s() - t0) * 1000;
    *looked = (metric(s, "assetd_gc_candidates_total") - looked0) / n;
    if (metric(s, "assetd_gc_removed_total") - removed0 >= n)
        return 1;
    fprintf(stderr, "store_bench: GC removed %.0f of %d blobs in 60 s (%.0f candidates looked at); log %s\n",
            metric(s, "assetd_gc_removed_total") - removed0, n, metric(s, "assetd_gc_candidates_total") - looked0,
            s->log);
    if (getenv("ASSETD_BENCH_KEEP_LOG")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "grep -v 'route=' %s | tail -40 >&2", s->log);
        if (system(cmd) != 0)
            return 0;
    }
    return 0;
}

#define GROWTH_DELETES 100 /* 10% of the smallest store */

static int fail_why(const char *what)
{
    fprintf(stderr, "store_bench: growth: %s failed\n", what);
    return 0;
}

static int growth_row_of(const char *kind, const char *ns, const char *dir, int n, growth_row *g)
{
    server s;
    double l, h;
    if (!timed_start(&s, kind, ns, dir, &l, &h))
        return fail_why("the first start");
    char id[33], body[64];
    snprintf(body, sizeof body, "seed %f", now_s());
    if (upload(&s, "seed.bin", "application/octet-stream", body, strlen(body), id) != 201)
        return fail_why("the seed's upload");
    server_kill(&s, SIGTERM);
    if (!(strcmp(kind, "sqlite") == 0 ? grow_sqlite(dir, n) : grow_postgres(ns, n)))
        return fail_why("the seed");
    /* the seed's dirty pages written out now, not during the timed start
     * (its first fsync would wait for hundreds of MB of someone else's) */
    sync();
    /* the figures: a cold start over n assets (the median of three, a
     * single start is noise-bound at ~50 ms), then reads */
    double ls[3], hs[3];
    for (int i = 0; i < 3; i++) {
        if (i > 0)
            server_kill(&s, SIGTERM);
        if (!timed_start(&s, kind, ns, dir, &ls[i], &hs[i]))
            return fail_why("the timed start");
    }
    g->listen = pct(ls, 3, 0.5);
    g->healthy = pct(hs, 3, 0.5);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    lat(&s, path, 1000, &g->get50, &g->get99);
    lat(&s, "/api/v1/assets?limit=20", 100, &g->first, NULL);
    snprintf(path, sizeof path, "/api/v1/assets?limit=20&cursor=%d", n / 2);
    lat(&s, path, 100, &g->deep, NULL);
    /* filtered first pages: two filters that most rows match (the clones
     * are g-<i>.bin, all of one type), and one that a single row matches */
    lat(&s, "/api/v1/assets?limit=20&content_type=application/octet-stream&filename_prefix=g-", 100, &g->filtered,
        NULL);
    lat(&s, "/api/v1/assets?limit=20&filename_prefix=seed", 100, &g->sparse, NULL);
    lat(&s, "/metrics", 50, &g->metrics, NULL);
    double t0 = now_s();
    int ok = 0;
    static char made[GROWTH_DELETES][33];
    for (int i = 0; i < GROWTH_DELETES; i++) {
        char b[64];
        snprintf(b, sizeof b, "growth %d %f", i, now_s());
        ok += upload(&s, "u.bin", "application/octet-stream", b, strlen(b), made[i]) == 201;
    }
    g->uploads = ok / (now_s() - t0);
    g->rss_mib = proc_status_kib(s.pid, "VmRSS") / 1024.0;
    /* the collector's work for as many deletions as 10% of the smallest
     * store: the same count at every size, so the figure is the cost of a
     * deletion, which must not grow with the store */
    int gc_ok = ok == GROWTH_DELETES && gc_after_deletes(&s, made, GROWTH_DELETES, &g->gc_ms, &g->gc_looked);
    server_kill(&s, SIGTERM);
    if (ok != GROWTH_DELETES)
        return fail_why("the uploads");
    return gc_ok ? 1 : fail_why("the collection");
}

static void growth_figures(void)
{
    /* 1M on the embedded store; PostgreSQL stops at 100k unless
     * ASSETD_BENCH_PG_1M is set (its 1M seed, ANALYZE and the server's
     * first reads take minutes of a 2-core machine's bench run) */
    static const int sizes[3] = {1000, 100000, 1000000};
    static const char *const kinds[2] = {"sqlite", "postgres"};
    printf(
        "growth (issue 31): the same figures at 1k, 100k and 1M assets (postgres: 1M with ASSETD_BENCH_PG_1M=1), each "
        "a new server "
        "process over the store (seeded by SQL: rows cloned from one uploaded asset); ms unless named; start-up: the "
        "median of three starts; GET: p50 and p99 of 1000; \"dense\": a first page "
        "under two filters most rows match, \"sparse\": under one a single row matches; RSS after the reads and %d "
        "uploads; GC: %d of those uploads deleted (10%% of the 1k "
        "store), ms until all their blobs are removed (1 s grace, a collector waking each second) and candidates "
        "looked at per deletion\n",
        GROWTH_DELETES, GROWTH_DELETES);
    printf("  %-9s %7s %7s %8s %7s %7s %7s %8s %6s %6s %8s %9s %7s %7s %6s\n", "store", "assets", "listen", "healthy",
           "GET p50", "GET p99", "list 1", "list deep", "dense", "sparse", "/metrics", "uploads/s", "RSS MiB", "GC ms",
           "GC/del");
    for (int k = 0; k < 2; k++) {
        growth_row g[3];
        int nsizes = k == 0 || getenv("ASSETD_BENCH_PG_1M") ? 3 : 2;
        for (int i = 0; i < nsizes; i++) {
            char dir[256], ns[32];
            temp_dir(dir, sizeof dir, kinds[k]);
            snprintf(ns, sizeof ns, "growth%d%d%d", k, i, (int)getpid());
            if (!growth_row_of(kinds[k], ns, dir, sizes[i], &g[i])) {
                fprintf(stderr, "store_bench: growth on %s at %d failed\n", kinds[k], sizes[i]);
                return;
            }
            printf("  %-9s %7d %7.0f %8.0f %7.2f %7.2f %7.2f %8.2f %6.2f %6.2f %8.2f %9.0f %7.1f %7.0f %6.2f\n",
                   kinds[k], sizes[i], g[i].listen, g[i].healthy, g[i].get50, g[i].get99, g[i].first, g[i].deep,
                   g[i].filtered, g[i].sparse, g[i].metrics, g[i].uploads, g[i].rss_mib, g[i].gc_ms, g[i].gc_looked);
        }
        const growth_row *L = &g[nsizes - 1];
        printf("  %-9s %7s %7.2f %8.2f %7.2f %7.2f %7.2f %8.2f %6.2f %6.2f %8.2f %9.2f %7.2f %7.2f %6.2f   (largest / "
               "1k; goal <= 1.5)\n",
               kinds[k], "ratio", L->listen / g[0].listen, L->healthy / g[0].healthy, L->get50 / g[0].get50,
               L->get99 / g[0].get99, L->first / g[0].first, L->deep / g[0].deep, L->filtered / g[0].filtered,
               L->sparse / g[0].sparse, L->metrics / g[0].metrics, g[0].uploads / L->uploads, L->rss_mib / g[0].rss_mib,
               L->gc_ms / g[0].gc_ms, L->gc_looked / g[0].gc_looked);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!getenv("ASSETD_TEST_PG_URL") || !getenv("ASSETD_TEST_S3_ENDPOINT")) {
        fprintf(stderr, "store_bench: needs ASSETD_TEST_PG_URL and ASSETD_TEST_S3_ENDPOINT (bench/store.sh)\n");
        return 2;
    }
    char name[3][32];
    for (int i = 0; i < 3; i++)
        snprintf(name[i], sizeof name[i], "bench%d%d", i, (int)getpid());
    if (getenv("ASSETD_BENCH_SEARCH_ONLY")) /* the search figures alone */
        goto search;
    if (getenv("ASSETD_BENCH_GROWTH_ONLY")) { /* the growth figures alone */
        growth_figures();
        return 0;
    }
    server lite, pg1, pg2a, pg2b;
    const char *lease[] = {"--job-lease-ms", "5000", "--cache-mb", "0", NULL};
    if (!start(&lite, "sqlite", NULL, NULL) || !start(&pg1, "postgres", name[0], NULL) ||
        !start(&pg2a, "postgres", name[1], lease) || !start(&pg2b, "postgres", name[1], lease)) {
        fprintf(stderr, "store_bench: a server did not start\n");
        return 1;
    }
    const server *one_lite[] = {&lite}, *one_pg[] = {&pg1}, *two_pg[] = {&pg2a, &pg2b};
    printf("%-34s %14s %14s %14s\n", "", "sqlite x1", "postgres x1", "postgres x2");
    double r[3], p[3], u[3];
    fill(&lite);
    r[0] = load(reader, one_lite, 1, 8, 3, &p[0]);
    fill(&pg1);
    r[1] = load(reader, one_pg, 1, 8, 3, &p[1]);
    fill(&pg2a);
    r[2] = load(reader, two_pg, 2, 8, 3, &p[2]);
    printf("%-34s %14.0f %14.0f %14.0f   (x2 / x1: %.2f; postgres x1 / sqlite: %.2f)\n", "GET /assets/:id, req/s", r[0],
           r[1], r[2], r[2] / r[1], r[1] / r[0]);
    printf("%-34s %14.2f %14.2f %14.2f\n", "GET p99, ms", p[0], p[1], p[2]);
    u[0] = load(uploader, one_lite, 1, 4, 3, NULL);
    u[1] = load(uploader, one_pg, 1, 4, 3, NULL);
    u[2] = load(uploader, two_pg, 2, 4, 3, NULL);
    printf("%-34s %14.0f %14.0f %14.0f   (x2 / x1: %.2f; postgres x1 / sqlite: %.2f)\n", "uploads (10 KB), /s", u[0],
           u[1], u[2], u[2] / u[1], u[1] / u[0]);
    /* 1 MB downloads: a local file; an object the instance has not seen;
     * the same object again (its read cache) */
    char mb_lite[32][33], mb_pg[32][33];
    double a50, a99, b50, b99, c50, c99;
    upload_mb(&lite, mb_lite, 32);
    upload_mb(&pg2a, mb_pg, 32);
    downloads(&lite, mb_lite, 32, &a50, &a99);
    downloads(&pg2b, mb_pg, 32, &b50, &b99);
    downloads(&pg2b, mb_pg, 32, &c50, &c99);
    printf("1 MB download, ms (p50 / p99): local file %.2f / %.2f; from S3, not yet seen %.2f / %.2f (+%.2f ms "
           "p50); seen before (local cache) %.2f / %.2f\n",
           a50, a99, b50, b99, b50 - a50, c50, c99);
    /* cut-outs: CPU-bound on these two cores, reported per instance anyway */
    {
        char *photo = NULL, cid[33];
        size_t plen;
        char pp[300];
        const char *tdir = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
        snprintf(pp, sizeof pp, "%s/grace_hopper.jpg", tdir);
        if (read_file(pp, &photo, &plen) && upload(&pg2a, "g.jpg", "image/jpeg", photo, plen, cid) == 201) {
            double t0c = now_s();
            int n = 0;
            for (int i = 0; i < 4; i++) {
                char path[200];
                response cr;
                /* the instances run with --cache-mb 0: every request runs the model */
                snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", cid);
                n += get(i % 2 ? &pg2b : &pg2a, path, &cr) == 200;
                response_cleanup(&cr);
            }
            printf("cut-outs through two instances (cache off), one at a time: %.2f img/s per instance\n",
                   n / (now_s() - t0c) / 2);
        }
        free(photo);
    }
    /* takeover: A holds a job's lease and dies; B finishes it */
    server_kill(&pg2a, SIGKILL);
    server_kill(&pg2b, SIGTERM);
    setenv("ASSETD_TEST_JOB_PAUSE_MS", "600000", 1);
    if (!start(&pg2a, "postgres", name[2], lease))
        return 1;
    unsetenv("ASSETD_TEST_JOB_PAUSE_MS");
    if (!start(&pg2b, "postgres", name[2], lease))
        return 1;
    char *png = NULL, src[33], path[300], job[64];
    size_t len;
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    snprintf(path, sizeof path, "%s/rocket.jpg", td);
    if (!read_file(path, &png, &len) || upload(&pg2a, "r.jpg", "image/jpeg", png, len, src) != 201)
        return 1;
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_conversion&conversion_name=c",
             src);
    response rr;
    if (get(&pg2a, path, &rr) != 200 || !header(&rr, "X-Job-Id", job, sizeof job))
        return 1;
    response_cleanup(&rr);
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    for (int i = 0; i < 100; i++) { /* A has it: running, leased */
        get(&pg2b, path, &rr);
        int running = strcmp(jstr(rr.json, "status"), "running") == 0;
        response_cleanup(&rr);
        if (running)
            break;
        sleep_ms(20);
    }
    double t0 = now_s();
    server_kill(&pg2a, SIGKILL);
    double done = -1;
    for (int i = 0; i < 2000 && done < 0; i++) {
        get(&pg2b, path, &rr);
        if (strcmp(jstr(rr.json, "status"), "succeeded") == 0)
            done = now_s() - t0;
        response_cleanup(&rr);
        sleep_ms(10);
    }
    printf("job takeover: kill -9 of the lease holder to the job done by the other instance: %.2f s (lease 5.0 s, "
           "renewed every 1.7 s: at most 5.0 s left at the kill; goal lease + 1 s)\n",
           done);
    server_kill(&pg2b, SIGTERM);
    server_kill(&lite, SIGTERM);
    server_kill(&pg1, SIGTERM);
    free(png);

search:;
    /* search: 100k assets per store, a filtered page against the
     * unfiltered one, each the median of 100 requests in a row */
    printf("search at %d assets (a page of 20; integrations.md section 3):\n", BIG);
    server big_lite, big_pg;
    char bigname[32];
    snprintf(bigname, sizeof bigname, "benchbig%d", (int)getpid());
    if (!start(&big_lite, "sqlite", NULL, NULL) || !fill_big_sqlite(&big_lite) ||
        !start(&big_pg, "postgres", bigname, NULL) || !fill_big_postgres(&big_pg, bigname)) {
        fprintf(stderr, "store_bench: could not fill the stores for search\n");
        return 1;
    }
    search_figures("sqlite", &big_lite);
    search_figures("postgres", &big_pg);
    server_kill(&big_lite, SIGTERM);
    server_kill(&big_pg, SIGTERM);
    if (!getenv("ASSETD_BENCH_SEARCH_ONLY"))
        growth_figures();
    return 0;
}
