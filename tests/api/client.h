/* client.h — what the API tests share: start the real `assetd serve` binary
 * on a free port with a temporary data dir, talk HTTP to it with libcurl
 * (one keep-alive connection per thread), kill it, read its JSON. */
#ifndef AD_TESTS_API_CLIENT_H
#define AD_TESTS_API_CLIENT_H

/* each test file uses a different subset of these helpers */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define API_KEY "test-key-0123456789abcdef"

typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char log[300];
} server;

typedef struct {
    long status;
    char *body;
    size_t len;
    char *headers; /* raw header block */
    size_t hlen;
    json_t *json;  /* parsed body when it is JSON, else NULL */
} response;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t grow(char **buf, size_t *len, const void *data, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);
    if (b == NULL)
        return 0;
    memcpy(b + *len, data, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return n;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *ud)
{
    response *r = ud;
    return grow(&r->body, &r->len, p, sz * n);
}

static size_t header_cb(char *p, size_t sz, size_t n, void *ud)
{
    response *r = ud;
    /* a new status line (after 100 Continue) starts a new block */
    if (sz * n > 5 && strncmp(p, "HTTP/", 5) == 0)
        r->hlen = 0;
    return grow(&r->headers, &r->hlen, p, sz * n);
}

static void response_cleanup(response *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

/* Value of a response header (case-insensitive) into buf; NULL if absent. */
static const char *header(const response *r, const char *name, char *buf, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (eol == NULL)
            break;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = (size_t)(eol - v);
            if (vl >= len)
                vl = len - 1;
            memcpy(buf, v, vl);
            buf[vl] = '\0';
            return buf;
        }
        p = eol + 2;
    }
    return NULL;
}

static __thread CURL *thread_curl;
static long client_timeout_ms = 120000; /* per request */

static CURL *curl_handle(void)
{
    if (thread_curl == NULL)
        thread_curl = curl_easy_init();
    return thread_curl;
}

/* One request. hdrs: NULL-terminated list of "Name: value" (may be NULL);
 * auth: add the test key. Returns the status (0 on transport failure). */
static long request(const server *s, const char *method, const char *path, const char *const *hdrs, int auth,
                    const void *body, size_t len, response *r)
{
    CURL *c = curl_handle();
    char url[2048];
    struct curl_slist *list = NULL;
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, client_timeout_ms);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (auth)
        list = curl_slist_append(list, "Authorization: Bearer " API_KEY);
    list = curl_slist_append(list, "Expect:");
    for (int i = 0; hdrs && hdrs[i]; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);
    if (rc != CURLE_OK)
        return r->status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char ct[128];
    if (r->body && header(r, "Content-Type", ct, sizeof ct) && strcmp(ct, "application/json") == 0)
        r->json = json_loadb(r->body, r->len, 0, NULL);
    return r->status;
}

static long get(const server *s, const char *path, response *r) { return request(s, "GET", path, NULL, 1, NULL, 0, r); }

/* json_t string member or "" */
static const char *jstr(json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v ? v : "";
}

/* The error object's code/param of an error response ("" if absent). */
static const char *err_code(const response *r) { return jstr(json_object_get(r->json, "error"), "code"); }
static const char *err_param(const response *r)
{
    json_t *p = json_object_get(json_object_get(r->json, "error"), "param");
    return json_is_string(p) ? json_string_value(p) : "(null)";
}

/* 1 when j is an object with exactly these keys (NULL-terminated). */
static int has_exact_keys(json_t *j, const char *const *keys)
{
    if (!json_is_object(j))
        return 0;
    size_t n = 0;
    for (; keys[n]; n++)
        if (json_object_get(j, keys[n]) == NULL)
            return 0;
    return json_object_size(j) == n;
}

/* Every error must be {"error":{"code","message","param"}} and nothing else. */
static int is_error_shape(const response *r)
{
    static const char *const top[] = {"error", NULL}, *const inner[] = {"code", "message", "param", NULL};
    json_t *e = json_object_get(r->json, "error");
    json_t *p = json_object_get(e, "param");
    return has_exact_keys(r->json, top) && has_exact_keys(e, inner) && json_is_string(json_object_get(e, "code")) &&
           json_is_string(json_object_get(e, "message")) && (json_is_string(p) || json_is_null(p));
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (f == NULL)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *len = fread(*out, 1, (size_t)n, f);
    (*out)[*len] = '\0'; /* callers search it as text */
    fclose(f);
    return *len == (size_t)n;
}

/* Every server a test started, so none outlives the test binary even when a
 * REQUIRE returns early. */
static pid_t started_pids[64];
static int nstarted;

static void kill_started(void)
{
    for (int i = 0; i < nstarted; i++)
        if (started_pids[i] > 0 && kill(started_pids[i], 0) == 0) {
            kill(started_pids[i], SIGKILL);
            waitpid(started_pids[i], NULL, 0);
        }
}

/* ASSETD_TEST_STORE=postgres: every server runs on the test PostgreSQL
 * and radosgw, its store named after its data dir (a schema and a bucket),
 * so a restart on the same dir finds its store and other dirs never see
 * it. Leases are short: a killed instance's jobs come back in 1.5 s. */
static int on_postgres(void) { return getenv("ASSETD_TEST_STORE") && strcmp(getenv("ASSETD_TEST_STORE"), "postgres") == 0; }

static void store_name(const char *dir, char ns[24])
{
    const char *shared = getenv("ASSETD_TEST_STORE_NAME"); /* instances sharing one store */
    if (shared && *shared) {
        snprintf(ns, 24, "%s", shared);
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a of the path */
    for (const char *p = dir; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(ns, 24, "s%08x%08x", h, (uint32_t)strlen(dir) * 2654435761u);
}

static void quiet(void *arg, const char *msg) { (void)arg, (void)msg; }

static int store_args(const char *dir, const char **argv, int n, char url[600], char ns[24])
{
    const char *base = getenv("ASSETD_TEST_PG_URL");
    store_name(dir, ns);
    PGconn *c = PQconnectdb(base);
    PQsetNoticeProcessor(c, quiet, NULL);
    char sql[96];
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", ns);
    PGresult *r = PQexec(c, sql);
    PQclear(r);
    PQfinish(c);
    snprintf(url, 600, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', ns);
    const char *add[] = {"--store",
                         "postgres",
                         "--database-url",
                         url,
                         "--s3-endpoint",
                         getenv("ASSETD_TEST_S3_ENDPOINT"),
                         "--s3-bucket",
                         ns,
                         "--s3-access-key",
                         getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK",
                         "--s3-secret-key",
                         getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK",
                         "--job-lease-ms",
                         "1500",
                         /* instances of one store sign delivery URLs alike */
                         "--delivery-secrets",
                         getenv("ASSETD_TEST_DELIVERY_SECRETS") ? getenv("ASSETD_TEST_DELIVERY_SECRETS")
                                                                : "test-delivery-secret-0123456789abcdef"};
    size_t nadd = sizeof add / sizeof add[0];
    if (getenv("ASSETD_TEST_DELIVERY_SECRETS") && !*getenv("ASSETD_TEST_DELIVERY_SECRETS"))
        nadd -= 2; /* "": started without, to see the refusal */
    for (size_t i = 0; i < nadd; i++)
        argv[n++] = add[i];
    return n;
}

/* The stored masks' blob addresses (derived blobs of kind "mask") (up to max) of the store of dir; -1 on
 * failure. */
static int mask_blobs(const char *dir, char (*shas)[65], int max)
{
    int n = 0;
    if (!on_postgres()) {
        char path[400];
        sqlite3 *db;
        sqlite3_stmt *st;
        snprintf(path, sizeof path, "%s/assetd.db", dir);
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(db);
            return -1;
        }
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, "SELECT blob_sha256 FROM derived WHERE kind='mask' ORDER BY used_ms", -1, &st, NULL) != SQLITE_OK) {
            sqlite3_close(db);
            return -1;
        }
        while (sqlite3_step(st) == SQLITE_ROW && n < max)
            snprintf(shas[n++], 65, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
    }
    char ns[24], url[600];
    store_name(dir, ns);
    const char *base = getenv("ASSETD_TEST_PG_URL");
    snprintf(url, sizeof url, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', ns);
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, "SELECT blob_sha256 FROM derived WHERE kind='mask' ORDER BY used_ms");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        n = -1;
    for (int i = 0; n >= 0 && i < PQntuples(r) && n < max; i++)
        snprintf(shas[n++], 65, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

/* Remove a stored blob behind the server's back (a disk fault, a lost
 * object): the file, or the object and every instance's cached copy. */
static int remove_blob_behind(const char *dir, const char *sha)
{
    char cmd[1400];
    if (!on_postgres()) {
        snprintf(cmd, sizeof cmd, "%s/blobs/%.2s/%.2s/%s", dir, sha, sha + 2, sha);
        return unlink(cmd) == 0;
    }
    char ns[24];
    store_name(dir, ns);
    snprintf(cmd, sizeof cmd,
             "curl -sf -X DELETE --aws-sigv4 aws:amz:us-east-1:s3 --user %s:%s "
             "-H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' "
             "%s/%s/blobs/%.2s/%.2s/%s && rm -f %s/blob-cache/%.2s/%s",
             getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK",
             getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK",
             getenv("ASSETD_TEST_S3_ENDPOINT"), ns, sha, sha + 2, sha, dir, sha, sha);
    return system(cmd) == 0;
}

/* `assetd keys VERB ...` on the store of dir (as the server opens it): its
 * standard output into out. */
static int keys_cli(const char *dir, const char *const *args, char *out, size_t len)
{
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    int p[2];
    if (pipe(p) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[60] = {bin, "--data-dir", dir};
        int n = 3;
        char url[600], ns[24];
        if (on_postgres())
            n = store_args(dir, argv, n, url, ns);
        argv[n++] = "keys";
        for (int i = 0; args[i] && n < 58; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        dup2(p[1], 1);
        close(p[0]);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < len && (k = read(p[0], out + got, len - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    if (strcmp(args[0], "create") == 0) /* the key alone */
        out[strcspn(out, "\n")] = '\0';
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Start `assetd serve` on 127.0.0.1:0 over dir with extra args
 * (NULL-terminated); wait for /healthz 200. Returns 1 on success. */
/* Fork `assetd serve` on 127.0.0.1:0 over dir (and the test store's
 * settings) with extra args, its output appended to log; the child's pid. */
static pid_t spawn_serve(const char *dir, const char *const *extra, const char *log)
{
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[60] = {bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir};
        int n = 6;
        char url[600], ns[24];
        if (on_postgres())
            n = store_args(dir, argv, n, url, ns);
        for (int i = 0; extra && extra[i] && n < 58; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        setenv("ASSETD_API_KEY", API_KEY, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static int server_start(server *s, const char *dir, const char *const *extra)
{
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->log, sizeof s->log, "%s.log", dir);
    struct stat st;
    off_t from = stat(s->log, &st) == 0 ? st.st_size : 0;
    s->pid = spawn_serve(dir, extra, s->log);
    if (nstarted == 0)
        atexit(kill_started);
    if (nstarted < 64)
        started_pids[nstarted++] = s->pid;
    s->port = 0;
    for (int i = 0; i < 600 && s->port == 0; i++) {
        char *text = NULL;
        size_t len = 0;
        if (read_file(s->log, &text, &len) && (off_t)len > from) {
            const char *p = strstr(text + from, "port=");
            if (p)
                s->port = atoi(p + 5);
        }
        free(text);
        if (s->port == 0)
            sleep_ms(50);
    }
    if (s->port == 0)
        return 0;
    for (int i = 0; i < 600; i++) {
        response r;
        long st2 = request(s, "GET", "/healthz", NULL, 0, NULL, 0, &r);
        response_cleanup(&r);
        if (st2 == 200)
            return 1;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            return 0;
        sleep_ms(50);
    }
    return 0;
}

static void server_kill(server *s, int sig)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, sig);
    int status;
    waitpid(s->pid, &status, 0);
    for (int i = 0; i < nstarted; i++)
        if (started_pids[i] == s->pid)
            started_pids[i] = 0;
    s->pid = 0;
}

/* A request with another key than the suite's. */
static long as_key(const server *s, const char *key, const char *method, const char *path, const char *body,
                   response *r)
{
    char auth[420];
    snprintf(auth, sizeof auth, "Authorization: Bearer %.380s", key);
    const char *h[] = {auth, "Content-Type: application/json", NULL};
    return request(s, method, path, h, 0, body, body ? strlen(body) : 0, r);
}

/* A counter or gauge of /metrics (the first series whose line starts with
 * prefix); -1 when absent. */
static double metric(const server *s, const char *prefix)
{
    response r;
    double v = -1;
    if (get(s, "/metrics", &r) == 200 && r.body) {
        for (const char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
            if (strncmp(p, prefix, strlen(prefix)) == 0 && p[strlen(prefix)] == ' ') {
                v = atof(p + strlen(prefix) + 1);
                break;
            }
    }
    response_cleanup(&r);
    return v;
}

/* A fresh temporary folder name (not created: the server creates it). */
static void temp_dir(char *buf, size_t len, const char *tag)
{
    char base[200];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%.170s/assetd-api-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL)
        abort();
    snprintf(buf, len, "%s/%s", base, tag);
}

/* Upload a raw body; returns the new asset's id into id (33 bytes) or "". */
static long upload(const server *s, const char *filename, const char *ctype, const void *data, size_t len, char *id)
{
    char path[512], cth[160];
    snprintf(path, sizeof path, "/api/v1/assets?filename=%s", filename);
    snprintf(cth, sizeof cth, "Content-Type: %s", ctype);
    const char *h[] = {cth, NULL};
    response r;
    long st = request(s, "POST", path, h, 1, data, len, &r);
    snprintf(id, 33, "%s", st == 201 ? jstr(r.json, "id") : "");
    response_cleanup(&r);
    return st;
}

/* PNG header: width, height, colour type (6 = RGBA). */
static int png_info(const response *r, int *w, int *h, int *ctype)
{
    const unsigned char *b = (const unsigned char *)r->body;
    if (r->len < 33 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(b + 12, "IHDR", 4) != 0)
        return 0;
    *w = (int)((uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19]);
    *h = (int)((uint32_t)b[20] << 24 | (uint32_t)b[21] << 16 | (uint32_t)b[22] << 8 | b[23]);
    *ctype = b[25];
    return 1;
}

/* A photo from the test data (ASSETD_TESTDATA, default deps/testdata);
 * exits the test binary when it is missing. */
static void load_test_photo(const char *name, char **out, size_t *len)
{
    char path[512];
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    snprintf(path, sizeof path, "%s/%s", td, name);
    if (!read_file(path, out, len)) {
        printf("no test photo %s\n", path);
        exit(1);
    }
}

/* The photo most suites upload (a 512x512 RGB PNG: the astronaut), and
 * the opening every suite shares: libcurl once, that photo loaded. A
 * suite with more to set up calls api_setup first. */
static char *astro_png;
static size_t astro_len;

static void api_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    load_test_photo("astronaut.png", &astro_png, &astro_len);
}

/* Files whose name says they are temporary, anywhere below dir. */
static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".tmp"))
            n++;
        else if (de->d_type == DT_DIR)
            n += count_temporaries(p);
    }
    if (d)
        closedir(d);
    return n;
}

/* A "Vm...:" figure of /proc/PID/status in KiB (VmRSS, VmHWM), -1 if none. */
static long proc_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t fl = strlen(field);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            kb = atol(line + fl + 1);
    if (f)
        fclose(f);
    return kb;
}

/* A raw connection to the server (for what libcurl would not send), or -1. */
static int connect_to(const server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A GET on a thread of its own (its own connection): for requests that
 * must overlap. With a body, a POST of it (content_type its header). */
typedef struct {
    const server *s;
    const char *path;
    const void *body; /* NULL: GET */
    size_t body_len;
    const char *content_type;
    long status;
    char code[32];        /* the error's code ("" for a 2xx or no JSON error) */
    char retry_after[32]; /* "" when absent */
    int error_shape;      /* the body has the error shape */
} call;

static void *call_thread(void *arg)
{
    call *c = arg;
    response r;
    if (c->body) {
        char cth[200];
        snprintf(cth, sizeof cth, "Content-Type: %s", c->content_type ? c->content_type : "application/octet-stream");
        const char *h[] = {cth, NULL};
        c->status = request(c->s, "POST", c->path, h, 1, c->body, c->body_len, &r);
    } else {
        c->status = get(c->s, c->path, &r);
    }
    c->error_shape = is_error_shape(&r);
    snprintf(c->code, sizeof c->code, "%s", c->status / 100 != 2 && err_code(&r) ? err_code(&r) : "");
    if (!header(&r, "Retry-After", c->retry_after, sizeof c->retry_after))
        c->retry_after[0] = '\0';
    response_cleanup(&r);
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

#endif
