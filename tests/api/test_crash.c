/* test_crash.c — crash consistency: kill -9 the server at random moments
 * while clients upload, delete, save conversions and record background jobs,
 * then restart it and check that
 *   - every acknowledged upload is there and intact (hash of the bytes served
 *     = what was sent), every acknowledged delete stays deleted;
 *   - nothing is half-visible: every listed asset's bytes match its sha256;
 *   - no temporary or unreferenced file is left after start-up;
 *   - every recorded job completes exactly once.
 * ASSETD_CRASH_ITERATIONS sets the number of kill/restart rounds (default 4;
 * the long mode in scripts/crash.sh runs 100+). One data dir for all rounds,
 * so damage would accumulate. */
#define HARNESS_SETUP setup
#include "harness.h"

#include <dirent.h>
#include <pthread.h>

#include "api/client.h"

/* Saves, restarts and kills are what is tested, not the mask's detail: the
 * servers run at the fast preset's prepared side (a model pass ~60%). */
static void setup(void)
{
    api_setup();
    setenv("ASSETD_MODEL_SIDE", "640", 0);
}
#include "base/sha256.h"

enum { MAX_ACKED = 200000, MAX_JOBS = 2000 };

typedef struct {
    char id[33];
    char sha[65];
    int deleted;  /* acknowledged delete */
    int deleting; /* a delete was sent: unacknowledged, it may or may not have happened */
} acked;

static struct {
    pthread_mutex_t lock;
    acked up[MAX_ACKED];
    int nup;
    char jobs[MAX_JOBS][33], job_assets[MAX_JOBS][33];
    int njobs;
    int conversions; /* acknowledged save_image conversions (names c0..) */
} state = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char source[33];
static volatile int stop_clients;
static unsigned seed_base;

typedef struct {
    const server *s;
    int kind; /* 0: uploads + deletes, 1: saves and jobs */
    unsigned seed;
} client;

static void *client_thread(void *arg)
{
    client *c = arg;
    char *buf = malloc(300000);
    while (!stop_clients) {
        int r = (int)(rand_r(&c->seed) % 100);
        if (c->kind == 0 && r < 80) {
            size_t len = 1 + rand_r(&c->seed) % 20000;
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)rand_r(&c->seed);
            char id[33], sha[65];
            ad_sha256_hex(buf, len, sha);
            if (upload(c->s, "crash.bin", "application/octet-stream", buf, len, id) == 201) {
                pthread_mutex_lock(&state.lock);
                if (state.nup < MAX_ACKED) {
                    acked *a = &state.up[state.nup++];
                    memcpy(a->id, id, 33);
                    memcpy(a->sha, sha, 65);
                }
                pthread_mutex_unlock(&state.lock);
            }
            sleep_ms(20); /* leave the cores to the cut-outs too */
        } else if (c->kind == 0) {
            pthread_mutex_lock(&state.lock);
            int k = state.nup ? (int)(rand_r(&c->seed) % (unsigned)state.nup) : -1;
            char id[33] = "";
            if (k >= 0 && !state.up[k].deleted && !state.up[k].deleting) {
                memcpy(id, state.up[k].id, 33);
                state.up[k].deleting = 1;
            }
            pthread_mutex_unlock(&state.lock);
            if (!id[0])
                continue;
            char path[128];
            snprintf(path, sizeof path, "/api/v1/assets/%s", id);
            response resp;
            if (request(c->s, "DELETE", path, NULL, 1, NULL, 0, &resp) == 204) {
                pthread_mutex_lock(&state.lock);
                state.up[k].deleted = 1;
                pthread_mutex_unlock(&state.lock);
            }
            response_cleanup(&resp);
        } else {
            char path[300], job[64], newid[64];
            response resp;
            int as_job = r < 60;
            pthread_mutex_lock(&state.lock);
            int conv = state.conversions;
            pthread_mutex_unlock(&state.lock);
            if (as_job)
                snprintf(path, sizeof path,
                         "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_new_asset",
                         source);
            else
                snprintf(path, sizeof path,
                         "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion"
                         "&conversion_name=c%d",
                         source, conv);
            if (get(c->s, path, &resp) == 200) {
                pthread_mutex_lock(&state.lock);
                if (as_job && header(&resp, "X-Job-Id", job, sizeof job) &&
                    header(&resp, "X-New-Asset-Id", newid, sizeof newid) && state.njobs < MAX_JOBS) {
                    snprintf(state.jobs[state.njobs], 33, "%.32s", job);
                    snprintf(state.job_assets[state.njobs++], 33, "%.32s", newid);
                } else if (!as_job && conv == state.conversions) {
                    state.conversions++;
                }
                pthread_mutex_unlock(&state.lock);
            }
            response_cleanup(&resp);
        }
    }
    free(buf);
    curl_easy_cleanup(thread_curl);
    thread_curl = NULL;
    return NULL;
}

static int count_blobs(const char *dir)
{
    char p[512];
    snprintf(p, sizeof p, "%s/blobs", dir);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "find %s -type f | wc -l", p);
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f) {
        if (fscanf(f, "%d", &n) != 1)
            n = -1;
        pclose(f);
    }
    return n;
}

/* Walk every listed asset: its served bytes must hash to its sha256. Returns
 * the number of distinct blobs referenced (assets, conversions, stored
 * masks), or -1. */
static char (*ref_shas)[65]; /* filled by check_listing */

static int cmp_sha(const void *a, const void *b) { return strcmp(a, b); }

static int check_listing(const server *s, int *bad, int full, unsigned *rs)
{
    int seen = 0;
    char path[200], next[64] = "";
    size_t cap = 4096;
    char(*shas)[65] = malloc(cap * 65);
    int nsha = 0;
    *bad = 0;
    for (int pages = 0; pages < 10000; pages++) {
        snprintf(path, sizeof path, "/api/v1/assets?limit=100%s%s", next[0] ? "&cursor=" : "", next);
        response r;
        if (get(s, path, &r) != 200) {
            response_cleanup(&r);
            free(shas);
            return -1;
        }
        json_t *items = json_object_get(r.json, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *a = json_array_get(items, i);
            char fp[128], got[65];
            /* every asset's bytes in the last round; otherwise the newest 300
             * (the ones the crash could have hit) and a sample of the rest */
            int verify = full || seen++ < 300 || rand_r(rs) % 50 == 0;
            snprintf(fp, sizeof fp, "/api/v1/assets/%s/file", jstr(a, "id"));
            if (verify) {
                response f;
                if (get(s, fp, &f) != 200 || (ad_sha256_hex(f.body ? f.body : "", f.len, got), 0) ||
                    strcmp(got, jstr(a, "sha256")) != 0 ||
                    (json_int_t)f.len != json_integer_value(json_object_get(a, "size")))
                    (*bad)++;
                response_cleanup(&f);
            }
            json_t *convs = json_object_get(a, "conversions");
            if ((size_t)nsha + json_array_size(convs) + 1 >= cap) {
                cap = cap * 2 + json_array_size(convs);
                shas = realloc(shas, cap * 65);
            }
            snprintf(shas[nsha++], 65, "%.64s", jstr(a, "sha256"));
            (void)0;
            for (size_t k = 0; k < json_array_size(convs); k++) {
                char cp[200], etag[80];
                snprintf(cp, sizeof cp, "/api/v1/assets/%s/conversions/%s", jstr(a, "id"),
                         jstr(json_array_get(convs, k), "name"));
                response cr;
                if (request(s, "HEAD", cp, NULL, 1, NULL, 0, &cr) == 200 && header(&cr, "ETag", etag, sizeof etag)) {
                    etag[65] = '\0';
                    snprintf(shas[nsha++], 65, "%.64s", etag + 1);
                } else {
                    (*bad)++;
                }
                response_cleanup(&cr);
            }
        }
        json_t *nc = json_object_get(r.json, "next_cursor");
        snprintf(next, sizeof next, "%s", json_is_string(nc) ? json_string_value(nc) : "");
        response_cleanup(&r);
        if (!next[0])
            break;
    }
    /* stored masks' blobs are referenced too (by their rows); the crash
     * test makes no delivery variants */
    if ((size_t)nsha + 4096 >= cap) {
        cap += 4096;
        shas = realloc(shas, cap * 65);
    }
    int nmasks = mask_blobs(s->dir, shas + nsha, 4096);
    if (nmasks < 0) {
        free(shas);
        return -1;
    }
    nsha += nmasks;
    /* distinct blobs: sort, then drop repeats (shared bytes are stored once) */
    qsort(shas, (size_t)nsha, 65, cmp_sha);
    int u = 0;
    for (int i = 0; i < nsha; i++)
        if (u == 0 || strcmp(shas[u - 1], shas[i]) != 0)
            memmove(shas[u++], shas[i], 65);
    free(ref_shas);
    ref_shas = shas;
    return u;
}

/* Referenced blobs with no file (lost data): print them. */
static int missing_blobs(const char *dir, int n)
{
    int missing = 0;
    for (int i = 0; i < n; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/blobs/%.2s/%.2s/%s", dir, ref_shas[i], ref_shas[i] + 2, ref_shas[i]);
        if (access(p, F_OK) != 0) {
            printf("    referenced blob has no file: %s\n", ref_shas[i]);
            missing++;
        }
    }
    return missing;
}

TEST(kill_9_at_random_moments_loses_nothing_acknowledged)
{
    int iterations = getenv("ASSETD_CRASH_ITERATIONS") ? atoi(getenv("ASSETD_CRASH_ITERATIONS")) : 4;
    char dir[256];
    temp_dir(dir, sizeof dir, "data");
    seed_base = (unsigned)time(NULL);
    printf("    %d iterations, seed %u, data %s\n", iterations, seed_base, dir);
    server s;
    /* no grace period: an unreferenced blob goes as soon as it is dropped,
     * so "blobs on disk = blobs referenced" can be checked at any time */
    const char *const args[] = {"--gc-grace", "0", NULL};
    REQUIRE(server_start(&s, dir, args));
    REQUIRE(upload(&s, "source.png", "image/png", astro_png, astro_len, source) == 201);
    int lost = 0, resurrected = 0, halfvisible = 0, temporaries = 0, orphans = 0, jobs_bad = 0, conv_lost = 0;
    for (int it = 0; it < iterations; it++) {
        stop_clients = 0;
        int first_this_round = state.nup;
        client cl[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            cl[i] = (client){.s = &s, .kind = i == 3, .seed = seed_base + (unsigned)(it * 4 + i)};
            pthread_create(&t[i], NULL, client_thread, &cl[i]);
        }
        unsigned rs = seed_base + (unsigned)it;
        int saves_before = state.njobs + state.conversions;
        sleep_ms(1500 + (int)(rand_r(&rs) % 5000));
        /* a round ends after at least one save (a cut-out takes seconds on a
         * busy machine), then at a random moment within the next ones */
        for (int w = 0; w < 300 && state.njobs + state.conversions == saves_before; w++)
            sleep_ms(100);
        sleep_ms((int)(rand_r(&rs) % 2500));
        server_kill(&s, SIGKILL); /* mid-flight: uploads, fsyncs, commits, jobs */
        stop_clients = 1;
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        REQUIRE(server_start(&s, dir, args));
        /* right after start-up: no temporaries, no unreferenced blobs */
        temporaries += count_temporaries(dir);
        /* every recorded job completes, exactly once */
        for (int j = 0; j < state.njobs; j++) {
            char path[128];
            snprintf(path, sizeof path, "/api/v1/jobs/%s", state.jobs[j]);
            int ok = 0;
            for (int w = 0; w < 400 && !ok; w++) {
                response r;
                ok = get(&s, path, &r) == 200 && strcmp(jstr(r.json, "status"), "succeeded") == 0;
                response_cleanup(&r);
                if (!ok)
                    sleep_ms(50);
            }
            snprintf(path, sizeof path, "/api/v1/assets/%s", state.job_assets[j]);
            response a;
            ok = ok && get(&s, path, &a) == 200;
            response_cleanup(&a);
            jobs_bad += !ok;
        }
        /* acknowledged uploads intact, acknowledged deletes stay deleted:
         * all of them in the last round, else this round's and a sample */
        int full = it == iterations - 1;
        for (int k = 0; k < state.nup; k++) {
            if (!full && k < first_this_round && rand_r(&rs) % 20 != 0)
                continue;
            char path[128];
            snprintf(path, sizeof path, "/api/v1/assets/%s/file", state.up[k].id);
            response f;
            long st = get(&s, path, &f);
            char got[65];
            ad_sha256_hex(f.body ? f.body : "", f.len, got);
            int intact = st == 200 && strcmp(got, state.up[k].sha) == 0;
            if (state.up[k].deleted) {
                resurrected += st != 404;
            } else if (state.up[k].deleting) {
                lost += st != 404 && !intact; /* gone or whole, nothing between */
            } else if (!intact) {
                lost++;
                printf("    acknowledged upload %s: status %ld, %s\n", state.up[k].id, st,
                       st == 200 ? "bytes differ" : "missing");
            }
            response_cleanup(&f);
        }
        /* acknowledged conversions exist */
        char path[128];
        snprintf(path, sizeof path, "/api/v1/assets/%s", source);
        response src;
        if (get(&s, path, &src) == 200) {
            json_t *convs = json_object_get(src.json, "conversions");
            for (int c = 0; c < state.conversions; c++) {
                char name[16];
                snprintf(name, sizeof name, "c%d", c);
                int found = 0;
                for (size_t q = 0; q < json_array_size(convs); q++)
                    found |= strcmp(jstr(json_array_get(convs, q), "name"), name) == 0;
                conv_lost += !found;
            }
        } else {
            conv_lost++;
        }
        response_cleanup(&src);
        int bad = 0;
        int referenced = check_listing(&s, &bad, full, &rs);
        halfvisible += bad;
        int blobs = count_blobs(dir);
        int gone = referenced > 0 ? missing_blobs(dir, referenced) : 0;
        lost += gone;
        /* blobs on disk = blobs referenced (acknowledged jobs are done; an
         * unacknowledged one may still hold its spooled blob) */
        orphans += referenced < 0 || blobs - (referenced - gone) != 0;
        printf("    round %d: %d uploads acked, %d jobs, %d conversions, %d blobs on disk, %d referenced\n", it,
               state.nup, state.njobs, state.conversions, blobs, referenced);
        fflush(stdout);
    }
    CHECKF(lost == 0, "%d acknowledged uploads lost or damaged", lost);
    CHECKF(resurrected == 0, "%d acknowledged deletes undone", resurrected);
    CHECKF(halfvisible == 0, "%d listed assets not intact", halfvisible);
    CHECKF(temporaries == 0, "%d temporary files after start-up", temporaries);
    CHECKF(orphans == 0, "%d rounds with unreferenced blobs", orphans);
    CHECKF(jobs_bad == 0, "%d jobs not completed exactly once", jobs_bad);
    CHECKF(conv_lost == 0, "%d acknowledged conversions lost", conv_lost);
    CHECK(state.nup > 0);
    server_kill(&s, SIGTERM);
}
