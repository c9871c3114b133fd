/* http_bench.c — the service under load, from the outside: starts
 * `assetd serve` (a private data dir), uploads the given photos and prints
 *   - cold start: process start to the first cut-out answered;
 *   - bg_remove (get_image) throughput and p50/p95 latency at concurrency
 *     1, 2 and 4 (cache off, so every request runs the model) and the
 *     server's peak RSS at each level (a fresh server per level);
 *   - a repeated request with the cache on, as a fraction of the first;
 *   - GET /api/v1/assets/:id rate and p99 while cut-outs run.
 *
 *   http_bench [-n REQUESTS] [-d SECONDS] [-c CONC | -e] PHOTO...
 * -c runs only that concurrency level; -e only the rest (cold start, cache,
 * reads), so bench/run.sh can interleave the peer between levels.
 * Environment: ASSETD_BIN (default build/assetd). */
#include <pthread.h>

#include "../tests/api/client.h"

static char ids[16][33];
static int nids;
static char *photos[16];
static size_t photo_len[16];
static const char *photo_type[16];

static double percentile(double *v, int n, double p)
{
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    int k = (int)(p * (n - 1) + 0.5);
    return n ? v[k] : 0;
}

static void upload_all(const server *s)
{
    for (int i = 0; i < nids; i++)
        if (upload(s, "photo", photo_type[i], photos[i], photo_len[i], ids[i]) != 201) {
            fprintf(stderr, "upload failed\n");
            exit(1);
        }
}

typedef struct {
    const server *s;
    int n, next_index;
    double *lat;
    int *counter;
    pthread_mutex_t *lock;
    int errors;
} worker;

static void *cut_worker(void *arg)
{
    worker *w = arg;
    for (;;) {
        pthread_mutex_lock(w->lock);
        int k = (*w->counter)++;
        pthread_mutex_unlock(w->lock);
        if (k >= w->n)
            break;
        char path[160];
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", ids[k % nids]);
        double t0 = now_s();
        response r;
        long st = get(w->s, path, &r);
        response_cleanup(&r);
        w->lat[k] = now_s() - t0;
        w->errors += st != 200;
    }
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

static volatile int stop_reads;

typedef struct {
    const server *s;
    long n;
    double *lat; /* first 200000 */
} reader;

static void *read_worker(void *arg)
{
    reader *r = arg;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/assets/%s", ids[0]);
    while (!stop_reads) {
        double t0 = now_s();
        response resp;
        get(r->s, path, &resp);
        response_cleanup(&resp);
        if (r->n < 200000)
            r->lat[r->n] = now_s() - t0;
        r->n++;
    }
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

static void *background_cuts(void *arg)
{
    const server *s = arg;
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", ids[0]);
    while (!stop_reads) {
        response r;
        get(s, path, &r);
        response_cleanup(&r);
    }
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

/* A fresh server on a private data dir, the photos uploaded, one cut-out
 * answered 200; *elapsed (may be NULL): seconds from process start to it. */
static int start_and_cut(server *s, const char **args, double *elapsed)
{
    char dir[256], path[160];
    temp_dir(dir, sizeof dir, "bench");
    double t0 = now_s();
    if (!server_start(s, dir, args))
        return 0;
    upload_all(s);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", ids[0]);
    response r;
    long st = get(s, path, &r);
    response_cleanup(&r);
    if (elapsed)
        *elapsed = now_s() - t0;
    return st == 200;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int requests = 8, read_secs = 10, only_conc = 0, extras_only = 0;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a += 2) {
        if (strcmp(argv[a], "-n") == 0 && a + 1 < argc)
            requests = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "-d") == 0 && a + 1 < argc)
            read_secs = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "-c") == 0 && a + 1 < argc)
            only_conc = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "-e") == 0)
            extras_only = 1, a--;
    }
    for (; a < argc && nids < 16; a++, nids++) {
        if (!read_file(argv[a], &photos[nids], &photo_len[nids])) {
            fprintf(stderr, "cannot read %s\n", argv[a]);
            return 2;
        }
        photo_type[nids] = strstr(argv[a], ".png") ? "image/png" : "image/jpeg";
    }
    if (nids == 0) {
        fprintf(stderr, "usage: http_bench [-n REQUESTS] [-d SECONDS] [-c CONC | -e] PHOTO...\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char dir[256];

    /* 1. concurrency levels, a fresh server for each, warmed by one call */
    if (!extras_only)
        printf("%-12s %10s %10s %10s %10s %12s\n", "concurrency", "img/s", "p50_s", "p95_s", "errors", "peak_RSS_MiB");
    for (int conc = 1; conc <= 4 && !extras_only; conc *= 2) {
        if (only_conc && conc != only_conc)
            continue;
        server s;
        const char *args[] = {"--cache-mb", "0", "--queue-depth", "64", NULL};
        if (!start_and_cut(&s, args, NULL))
            return 1;
        double *lat = calloc((size_t)requests, sizeof *lat);
        int counter = 0;
        pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        worker w[4];
        pthread_t t[4];
        double start = now_s();
        for (int i = 0; i < conc; i++) {
            w[i] = (worker){.s = &s, .n = requests, .lat = lat, .counter = &counter, .lock = &lock};
            pthread_create(&t[i], NULL, cut_worker, &w[i]);
        }
        int errors = 0;
        for (int i = 0; i < conc; i++) {
            pthread_join(t[i], NULL);
            errors += w[i].errors;
        }
        double el = now_s() - start;
        long hwm = proc_status_kib(s.pid, "VmHWM");
        printf("%-12d %10.3f %10.2f %10.2f %10d %12ld\n", conc, requests / el, percentile(lat, requests, 0.5),
               percentile(lat, requests, 0.95), errors, hwm / 1024);
        fflush(stdout);
        free(lat);
        server_kill(&s, SIGTERM);
    }
    if (only_conc)
        return 0;

    /* 2. cold start: process start to the first cut-out answered */
    {
        server s;
        double cold;
        if (!start_and_cut(&s, NULL, &cold))
            return 1;
        printf("cold start (process start -> first cut-out answered, incl. upload): %.2f s\n", cold);
        server_kill(&s, SIGTERM);
    }

    /* 3. the cache, and reads while cut-outs run */
    temp_dir(dir, sizeof dir, "bench");
    server s;
    if (!server_start(&s, dir, NULL))
        return 1;
    upload_all(&s);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", ids[0]);
    response r;
    double t0 = now_s();
    get(&s, path, &r);
    double first = now_s() - t0;
    response_cleanup(&r);
    t0 = now_s();
    get(&s, path, &r);
    double second = now_s() - t0;
    response_cleanup(&r);
    printf("same asset and options again: %.1f ms vs %.1f ms the first time (%.2f%%)\n", second * 1e3, first * 1e3,
           100 * second / first);
    server_kill(&s, SIGTERM);

    temp_dir(dir, sizeof dir, "bench");
    const char *nocache[] = {"--cache-mb", "0", NULL};
    if (!server_start(&s, dir, nocache))
        return 1;
    upload_all(&s);
    pthread_t bg, rt[8];
    reader rd[8];
    stop_reads = 0;
    pthread_create(&bg, NULL, background_cuts, &s);
    sleep_ms(500);
    for (int i = 0; i < 8; i++) {
        rd[i] = (reader){.s = &s, .lat = calloc(200000, sizeof(double))};
        pthread_create(&rt[i], NULL, read_worker, &rd[i]);
    }
    sleep_ms(read_secs * 1000);
    stop_reads = 1;
    long total = 0;
    double *all = calloc(8 * 200000, sizeof(double));
    long nall = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(rt[i], NULL);
        total += rd[i].n;
        for (long k = 0; k < rd[i].n && k < 200000; k++)
            all[nall++] = rd[i].lat[k];
        free(rd[i].lat);
    }
    pthread_join(bg, NULL);
    qsort(all, (size_t)nall, sizeof *all, cmp_double);
    printf("GET /api/v1/assets/:id while cut-outs run (8 clients, keep-alive): %.0f req/s, p50 %.2f ms, p99 %.2f ms\n",
           (double)total / read_secs, 1e3 * all[nall / 2], 1e3 * all[(long)(nall * 0.99)]);
    free(all);
    /* the same with wrk (Debian's), when installed: a client in C with its
     * own threads, so the figure is the server's, not libcurl's */
    if (system("command -v wrk >/dev/null 2>&1") == 0) {
        stop_reads = 0;
        pthread_create(&bg, NULL, background_cuts, &s);
        sleep_ms(500);
        char cmd[600], line[256];
        snprintf(cmd, sizeof cmd,
                 "wrk -t2 -c8 -d%ds --latency -H 'Authorization: Bearer %s' http://127.0.0.1:%d/api/v1/assets/%s "
                 "2>&1",
                 read_secs, API_KEY, s.port, ids[0]);
        /* BENCH_PERF=1: where the server spends the read load, from perf
         * (Debian's linux-perf) sampling it during the wrk run. */
        char perf_data[] = "/tmp/assetd-perf-XXXXXX";
        FILE *perf = NULL;
        int use_perf =
            getenv("BENCH_PERF") && system("command -v perf >/dev/null 2>&1") == 0 && mkstemp(perf_data) >= 0;
        if (use_perf) {
            char pc[300];
            snprintf(pc, sizeof pc, "perf record -q -F 499 -g -p %d -o %s -- sleep %d 2>/dev/null", (int)s.pid,
                     perf_data, read_secs > 1 ? read_secs - 1 : 1);
            perf = popen(pc, "r");
        }
        FILE *w = popen(cmd, "r");
        double rps = 0, p50 = -1, p99 = -1;
        while (w && fgets(line, sizeof line, w)) {
            char unit[8] = "";
            double v;
            if (sscanf(line, "Requests/sec: %lf", &v) == 1)
                rps = v;
            else if (sscanf(line, " 50%% %lf%7s", &v, unit) == 2)
                p50 = strcmp(unit, "us") == 0 ? v / 1e3 : strcmp(unit, "s") == 0 ? v * 1e3 : v;
            else if (sscanf(line, " 99%% %lf%7s", &v, unit) == 2)
                p99 = strcmp(unit, "us") == 0 ? v / 1e3 : strcmp(unit, "s") == 0 ? v * 1e3 : v;
        }
        if (w)
            pclose(w);
        stop_reads = 1;
        pthread_join(bg, NULL);
        printf("GET /api/v1/assets/:id while cut-outs run (wrk, 2 threads, 8 connections): %.0f req/s, p50 %.2f ms, "
               "p99 %.2f ms\n",
               rps, p50, p99);
        if (perf) {
            pclose(perf);
            char rc[700];
            printf("# perf: the server's samples during the wrk run (self %%): by library, then the top\n"
                   "# functions outside ONNX Runtime (which is the cut-outs running beside the reads)\n");
            fflush(stdout);
            snprintf(rc, sizeof rc,
                     "{ perf report -i %s --no-children --sort dso --stdio -g none | grep -v '^#' | grep -v '^$' | "
                     "head -8; perf report -i %s --no-children --sort dso,symbol --stdio -g none | grep -v '^#' | "
                     "grep -v '^$' | grep -v onnxruntime | head -16; } 2>/dev/null",
                     perf_data, perf_data);
            if (system(rc) != 0)
                printf("(perf report failed)\n");
        }
        if (use_perf)
            unlink(perf_data);
    }
    server_kill(&s, SIGTERM);
    return 0;
}
