/* test_soak.c — mixed load against the real server for a while: uploads,
 * metadata reads, listing, deletes, and bg_remove in every mode, from several
 * clients at once. Passes with zero errors besides intended 503s, peak RSS
 * after warm-up drifting less than 5 %, no file-descriptor growth, and no
 * more database connections than threads.
 * ASSETD_SOAK_SECONDS sets the duration (default 60; scripts/soak.sh runs the
 * 30-minute long mode). Prints the figures. */
#define HARNESS_SETUP setup
#include "harness.h"

#include <dirent.h>
#include <pthread.h>

#include "api/client.h"

static char *grace_jpg;
static size_t grace_len;

static void setup(void)
{
    api_setup();
    load_test_photo("grace_hopper.jpg", &grace_jpg, &grace_len);
}

static volatile int stop;
static char source_id[33]; /* the asset bg_remove runs on */

typedef struct {
    const server *s;
    int kind; /* 0: uploads/deletes, 1: metadata reads, 2: bg_remove */
    unsigned seed;
    long ops, errors, busy;
    char last_error[200];
} client;

static void note(client *c, long st, const char *what, long want)
{
    c->ops++;
    if (st == want)
        return;
    if (st == 503) {
        c->busy++;
        return;
    }
    c->errors++;
    snprintf(c->last_error, sizeof c->last_error, "%s -> %ld", what, st);
}

static void *client_thread(void *arg)
{
    client *c = arg;
    char mine[64][33];
    int nmine = 0;
    while (!stop) {
        response r;
        int pick = (int)(rand_r(&c->seed) % 100);
        if (c->kind == 0) {
            char id[33];
            if (pick < 70 || nmine == 0) {
                int photo = pick % 2;
                long st = upload(c->s, photo ? "grace.jpg" : "astro.png", photo ? "image/jpeg" : "image/png",
                                 photo ? grace_jpg : astro_png, photo ? grace_len : astro_len, id);
                note(c, st, "upload", 201);
                if (st == 201 && nmine < 64)
                    memcpy(mine[nmine++], id, 33);
            } else {
                char path[128];
                snprintf(path, sizeof path, "/api/v1/assets/%s", mine[--nmine]);
                note(c, request(c->s, "DELETE", path, NULL, 1, NULL, 0, &r), "delete", 204);
                response_cleanup(&r);
            }
            sleep_ms(20);
        } else if (c->kind == 1) {
            if (pick < 50) {
                note(c, get(c->s, "/api/v1/assets?limit=20", &r), "list", 200);
                json_t *items = json_object_get(r.json, "items");
                char path[128] = "";
                if (json_array_size(items) > 0)
                    snprintf(path, sizeof path, "/api/v1/assets/%s",
                             jstr(json_array_get(items, rand_r(&c->seed) % json_array_size(items)), "id"));
                response_cleanup(&r);
                if (path[0]) {
                    long st = get(c->s, path, &r);
                    if (st != 404) /* deleted meanwhile by the other client: fine */
                        note(c, st, "get asset", 200);
                    response_cleanup(&r);
                }
            } else {
                note(c, get(c->s, "/healthz", &r), "healthz", 200);
                response_cleanup(&r);
            }
        } else {
            static const char *const modes[] = {
                "",
                "?mode=save_image&disposition=add_conversion&conversion_name=soak",
                "?mode=save_image&disposition=add_new_asset&metadata=inherit",
                "?mode=get_image_and_save&disposition=add_conversion&conversion_name=soak2",
                "?mode=get_image_and_save&disposition=add_new_asset",
            };
            char path[300];
            snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove%s", source_id, modes[pick % 5]);
            note(c, get(c->s, path, &r), "bg_remove", 200);
            response_cleanup(&r);
        }
    }
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

/* The process's fds, not counting the database's (*db gets those: each
 * thread that touches the store opens its own SQLite connection the first
 * time it does, which may be late in a run; that is bounded by the thread
 * count, checked apart) nor the staging files of uploads in flight
 * (*staging gets those: bounded by the requests in flight, checked apart;
 * on a fast machine an upload is in flight at nearly every sample, and
 * one such fd read as growth). */
static int fd_count(pid_t pid, int *db, int *staging)
{
    char path[64], link[330], target[256];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    *db = 0;
    *staging = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "%s/%s", path, de->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        size_t tl = strlen(target);
        if (tl > 10 && strcmp(target + tl - 10, "/assetd.db") == 0)
            (*db)++;
        else if (strstr(target, "/blobs/stage.tmp.") && !strstr(target, "(deleted)"))
            (*staging)++;
        else if (!(tl > 14 && strcmp(target + tl - 14, "/assetd.db-wal") == 0))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static int thread_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* What the process's fds point at, one per line, into buf (for a failure
 * message: which kind of fd grew). */
static void fd_targets(pid_t pid, char *buf, size_t len)
{
    char path[64], link[330], target[256];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    size_t used = 0;
    buf[0] = '\0';
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "%s/%s", path, de->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        int w = snprintf(buf + used, len - used, "      %s -> %s\n", de->d_name, target);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (d)
        closedir(d);
}

TEST(mixed_load_no_errors_no_rss_drift_no_fd_growth)
{
    int secs = getenv("ASSETD_SOAK_SECONDS") ? atoi(getenv("ASSETD_SOAK_SECONDS")) : 60;
    char dir[256];
    temp_dir(dir, sizeof dir, "data");
    server *s = calloc(1, sizeof *s);
    REQUIRE(server_start(s, dir, NULL));
    REQUIRE(upload(s, "source.png", "image/png", astro_png, astro_len, source_id) == 201);
    enum { N = 4 };
    client c[N];
    pthread_t t[N];
    int kinds[N] = {0, 1, 1, 2};
    for (int i = 0; i < N; i++) {
        c[i] = (client){.s = s, .kind = kinds[i], .seed = 1234u + (unsigned)i};
        pthread_create(&t[i], NULL, client_thread, &c[i]);
    }
    /* warm-up: the first fifth (at least 10 s); then compare the first and
     * last fifth of the rest: peak RSS in each window, fewest fds in each */
    int warm = secs / 5 > 10 ? secs / 5 : 10;
    int rest = secs - warm, win = rest / 5 > 3 ? rest / 5 : 3;
    long peak1 = 0, peak2 = 0, first_rss = 0;
    int fd1 = 1 << 30, fd2 = 1 << 30, db_max = 0, threads_min = 1 << 30, staging_max = 0;
    static char fds_then[8192], fds_now[8192];
    for (int sec = 0; sec < secs; sec++) {
        sleep_ms(1000);
        long rss = proc_status_kib(s->pid, "VmRSS");
        int db = 0, staging = 0, fds = fd_count(s->pid, &db, &staging), threads = thread_count(s->pid);
        db_max = db > db_max ? db : db_max;
        staging_max = staging > staging_max ? staging : staging_max;
        threads_min = threads < threads_min ? threads : threads_min;
        if (sec == 0)
            first_rss = rss;
        if (sec >= warm && sec < warm + win) {
            peak1 = rss > peak1 ? rss : peak1;
            if (fds < fd1)
                fd_targets(s->pid, fds_then, sizeof fds_then);
            fd1 = fds < fd1 ? fds : fd1;
        }
        if (sec >= secs - win) {
            peak2 = rss > peak2 ? rss : peak2;
            if (fds < fd2)
                fd_targets(s->pid, fds_now, sizeof fds_now);
            fd2 = fds < fd2 ? fds : fd2;
        }
    }
    stop = 1;
    long ops = 0, errors = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ops += c[i].ops;
        errors += c[i].errors;
        busy += c[i].busy;
        if (c[i].errors)
            printf("    client %d: %ld errors, last: %s\n", i, c[i].errors, c[i].last_error);
    }
    double drift = peak1 > 0 ? 100.0 * (double)(peak2 - peak1) / (double)peak1 : 100;
    printf("    soak %d s: %ld requests (%ld bg_remove), %ld errors, %ld intended 503s\n", secs, ops, c[3].ops, errors,
           busy);
    printf("    RSS: %ld MiB at start, peak %ld MiB after warm-up, %ld MiB at the end: drift %+.2f%%\n",
           first_rss / 1024, peak1 / 1024, peak2 / 1024, drift);
    printf("    fds (besides the database's): %d after warm-up, %d at the end; database connections at most %d, "
           "threads %d\n",
           fd1, fd2, db_max, threads_min);
    CHECK(errors == 0);
    CHECKF(drift < 5.0, "RSS drift %.2f%%", drift);
    CHECKF(db_max <= threads_min, "%d database connections for %d threads", db_max, threads_min);
    /* one request in flight per client, and the job runner's one save */
    CHECKF(staging_max <= N + 1, "%d staging files open at once for %d clients", staging_max, N);
    CHECKF(fd2 <= fd1, "fds grew from %d to %d; after warm-up:\n%s    at the end:\n%s", fd1, fd2, fds_then, fds_now);
    CHECK(c[3].ops > 0 && ops > 100);
    server_kill(s, SIGTERM);
    free(s);
}
