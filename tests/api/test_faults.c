/* test_faults.c — the server against a failing disk and a broken install:
 * a full disk (a small tmpfs as data dir) and a read-only data dir give JSON
 * 5xx answers, lose nothing acknowledged, leave no partial files, and the
 * service recovers when space or write access returns; a missing or corrupt
 * model stops start-up with a clear error and a non-zero exit. The disk tests
 * need root (mount); they are skipped, saying so, where mount is refused. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <sys/mount.h>

#include "api/client.h"
#include "base/sha256.h"

typedef struct {
    char id[33], sha[65];
} stored;

/* Upload n random bodies of len bytes; record the acknowledged ones. Returns
 * the number of 5xx answers whose body was not the JSON error shape. */
static int fill(const server *s, int n, size_t len, stored *acked, int *nacked, int *n5xx, unsigned *seed)
{
    char *buf = malloc(len);
    int badshape = 0;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < len; k++)
            buf[k] = (char)rand_r(seed);
        static const char *const h[] = {"Content-Type: application/octet-stream", NULL};
        response r;
        long st = request(s, "POST", "/api/v1/assets", h, 1, buf, len, &r);
        if (st == 201) {
            snprintf(acked[*nacked].id, 33, "%s", jstr(r.json, "id"));
            ad_sha256_hex(buf, len, acked[*nacked].sha);
            (*nacked)++;
        } else if (st >= 500) {
            (*n5xx)++;
            badshape += !is_error_shape(&r);
        }
        response_cleanup(&r);
    }
    free(buf);
    return badshape;
}

static int intact(const server *s, const stored *acked, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char path[128], got[65];
        snprintf(path, sizeof path, "/api/v1/assets/%s/file", acked[i].id);
        response f;
        bad += get(s, path, &f) != 200 ||
               (ad_sha256_hex(f.body ? f.body : "", f.len, got), strcmp(got, acked[i].sha) != 0);
        response_cleanup(&f);
    }
    return bad;
}

/* A tmpfs of size_mb at dir; 0 when mount is not allowed here. */
static int mount_small(const char *dir, int size_mb)
{
    char opt[32];
    snprintf(opt, sizeof opt, "size=%dm", size_mb);
    mkdir(dir, 0755);
    return mount("tmpfs", dir, "tmpfs", 0, opt) == 0;
}

TEST(a_full_disk_gives_json_5xx_loses_nothing_and_recovers)
{
    char base[256], dir[300];
    temp_dir(base, sizeof base, "mnt");
    snprintf(dir, sizeof dir, "%s", base);
    if (!mount_small(dir, 6))
        SKIP("cannot mount a tmpfs here (%s): needs root", strerror(errno));
    char data[320];
    snprintf(data, sizeof data, "%s/data", dir);
    server s;
    REQUIRE(server_start(&s, data, NULL));
    stored *acked = calloc(400, sizeof *acked);
    int nacked = 0, n5xx = 0;
    unsigned seed = 7;
    /* 6 MB of disk, 60 x 200 KB of uploads: the disk fills part-way */
    int badshape = fill(&s, 60, 200000, acked, &nacked, &n5xx, &seed);
    CHECKF(n5xx > 0 && nacked > 5, "acked %d, 5xx %d", nacked, n5xx);
    CHECKF(badshape == 0, "%d 5xx answers without the JSON error shape", badshape);
    CHECK(intact(&s, acked, nacked) == 0);
    CHECK(count_temporaries(data) == 0);
    response r;
    CHECK(get(&s, "/healthz", &r) == 200); /* still serving */
    response_cleanup(&r);
    /* space returns: writes work again without a restart */
    CHECK(mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "size=64m") == 0);
    int before = nacked;
    n5xx = 0;
    fill(&s, 5, 200000, acked, &nacked, &n5xx, &seed);
    CHECKF(nacked == before + 5 && n5xx == 0, "after remount: acked %d of 5", nacked - before);
    /* and everything acknowledged survives a kill -9 */
    server_kill(&s, SIGKILL);
    REQUIRE(server_start(&s, data, NULL));
    CHECK(intact(&s, acked, nacked) == 0);
    CHECK(count_temporaries(data) == 0);
    server_kill(&s, SIGTERM);
    free(acked);
    umount2(dir, MNT_DETACH);
}

/* The blob folder on its own tmpfs, remounted read-only under the running
 * server (the database's files stay open for writing, which the kernel does
 * not allow to remount read-only: that half is the full-disk test's). */
TEST(a_read_only_blob_store_gives_json_5xx_and_recovers)
{
    char base[256], data[320], blobs[340];
    temp_dir(base, sizeof base, "data");
    snprintf(data, sizeof data, "%s", base);
    mkdir(data, 0755);
    snprintf(blobs, sizeof blobs, "%s/blobs", data);
    if (!mount_small(blobs, 32))
        SKIP("cannot mount a tmpfs here (%s): needs root", strerror(errno));
    server s;
    REQUIRE(server_start(&s, data, NULL));
    stored acked[40];
    int nacked = 0, n5xx = 0;
    unsigned seed = 11;
    fill(&s, 5, 10000, acked, &nacked, &n5xx, &seed);
    REQUIRE(nacked == 5);
    int ro = 0;
    for (int i = 0; i < 50 && !ro; i++) /* EBUSY while a blob is being written */
        if (!(ro = mount("tmpfs", blobs, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0))
            sleep_ms(20);
    REQUIRE(ro);
    int badshape = fill(&s, 5, 10000, acked, &nacked, &n5xx, &seed);
    CHECKF(nacked == 5 && n5xx == 5 && badshape == 0, "read-only: acked %d, 5xx %d, bad shape %d", nacked - 5, n5xx,
           badshape);
    CHECK(intact(&s, acked, nacked) == 0); /* reads still work */
    response r;
    CHECK(get(&s, "/api/v1/assets?limit=100", &r) == 200 &&
          json_array_size(json_object_get(r.json, "items")) == 5); /* no half-made asset */
    response_cleanup(&r);
    REQUIRE(mount("tmpfs", blobs, "tmpfs", MS_REMOUNT, "size=32m") == 0);
    n5xx = 0;
    fill(&s, 3, 10000, acked, &nacked, &n5xx, &seed);
    CHECKF(nacked == 8 && n5xx == 0, "writable again: acked %d", nacked - 5);
    CHECK(intact(&s, acked, nacked) == 0);
    CHECK(count_temporaries(data) == 0);
    server_kill(&s, SIGTERM);
    umount2(blobs, MNT_DETACH);
}

/* Run `assetd serve` expecting it to exit; returns its exit status and the
 * tail of its log in out. */
static int serve_exit(const char *data_dir, const char *const *args, char *out, size_t len)
{
    char dir[256], log[300];
    if (data_dir)
        snprintf(dir, sizeof dir, "%s", data_dir);
    else
        temp_dir(dir, sizeof dir, "data");
    temp_dir(log, sizeof log - 8, "serve"); /* outside data_dir, which may be read-only */
    strcat(log, ".log");
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[20] = {bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir};
        int n = 6;
        for (int i = 0; args[i]; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        dup2(fd, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    for (int i = 0; i < 600; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        if (i == 599) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(out, len, "did not exit");
            return -1;
        }
        sleep_ms(50);
    }
    char *text = NULL;
    size_t tl = 0;
    read_file(log, &text, &tl);
    snprintf(out, len, "%s", text ? text : "");
    free(text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A data dir that became read-only while the server was down: start-up
 * refuses it clearly, and once writable again everything is there. */
TEST(a_read_only_data_dir_at_start_is_refused_clearly_and_nothing_is_lost)
{
    char dir[256], data[320], log[4096];
    temp_dir(dir, sizeof dir, "mnt");
    if (!mount_small(dir, 16))
        SKIP("cannot mount a tmpfs here (%s): needs root", strerror(errno));
    snprintf(data, sizeof data, "%s/data", dir);
    server s;
    REQUIRE(server_start(&s, data, NULL));
    stored acked[8];
    int nacked = 0, n5xx = 0;
    unsigned seed = 5;
    fill(&s, 3, 5000, acked, &nacked, &n5xx, &seed);
    REQUIRE(nacked == 3);
    server_kill(&s, SIGKILL);
    REQUIRE(mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0);
    static const char *const none[] = {NULL};
    int rc = serve_exit(data, none, log, sizeof log);
    CHECKF(rc > 0 && strstr(log, "not writable"), "exit %d: %s", rc, log);
    REQUIRE(mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "size=16m") == 0);
    REQUIRE(server_start(&s, data, NULL));
    CHECK(intact(&s, acked, nacked) == 0);
    server_kill(&s, SIGTERM);
    umount2(dir, MNT_DETACH);
}

TEST(a_missing_or_corrupt_model_stops_start_up_clearly)
{
    char log[4096], dir[256], model[320];
    const char *missing[] = {"--model-dir", "/nonexistent/models", NULL};
    int rc = serve_exit(NULL, missing, log, sizeof log);
    CHECKF(rc != 0 && rc != -1 && strstr(log, "isnet-medium.onnx") != NULL, "rc %d log: %s", rc, log);
    temp_dir(dir, sizeof dir, "models");
    mkdir(dir, 0755);
    snprintf(model, sizeof model, "%s/isnet-medium.onnx", dir);
    FILE *f = fopen(model, "wb");
    REQUIRE(f != NULL);
    for (int i = 0; i < 100000; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    const char *corrupt[] = {"--model-dir", dir, NULL};
    rc = serve_exit(NULL, corrupt, log, sizeof log);
    CHECKF(rc != 0 && rc != -1 && strstr(log, "error") != NULL, "rc %d log: %s", rc, log);
    const char *bad_store[] = {"--store", "nosuch", NULL};
    rc = serve_exit(NULL, bad_store, log, sizeof log);
    CHECKF(rc != 0 && strstr(log, "sqlite") != NULL, "rc %d log: %s", rc, log); /* lists the known ones */
}

/* The model "file" is a FIFO nobody writes yet: start-up blocks in the
 * model load, which is exactly the window /healthz must report. */
TEST(healthz_is_503_until_the_model_is_loaded)
{
    char mdir[256], fifo[300], dir[256], log[300];
    temp_dir(mdir, sizeof mdir, "models");
    mkdir(mdir, 0755);
    snprintf(fifo, sizeof fifo, "%s/isnet-medium.onnx", mdir);
    REQUIRE(mkfifo(fifo, 0644) == 0);
    temp_dir(dir, sizeof dir, "data");
    snprintf(log, sizeof log, "%s.log", dir);
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    server s = {0};
    s.pid = fork();
    if (s.pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        setenv("ASSETD_API_KEY", API_KEY, 1);
        execl(bin, bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--model-dir", mdir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && s.port == 0; i++) {
        char *text = NULL;
        size_t len = 0;
        if (read_file(log, &text, &len) && strstr(text, "port="))
            s.port = atoi(strstr(text, "port=") + 5);
        free(text);
        sleep_ms(50);
    }
    REQUIRE(s.port > 0);
    response r;
    char ra[16];
    CHECK(request(&s, "GET", "/healthz", NULL, 0, NULL, 0, &r) == 503 && is_error_shape(&r) &&
          header(&r, "Retry-After", ra, sizeof ra));
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets", &r) == 503 && is_error_shape(&r));
    response_cleanup(&r);
    CHECK(request(&s, "GET", "/api/v1/assets", NULL, 0, NULL, 0, &r) == 401); /* the key is still checked */
    response_cleanup(&r);
    /* an empty "model" arrives: start-up fails clearly, non-zero */
    int fd = open(fifo, O_WRONLY);
    close(fd);
    int status = 0;
    for (int i = 0; i < 200 && waitpid(s.pid, &status, WNOHANG) != s.pid; i++)
        sleep_ms(50);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) != 0, "status %d", status);
    char *text = NULL;
    size_t len = 0;
    CHECK(read_file(log, &text, &len) && strstr(text, "error serve:") != NULL);
    free(text);
}
