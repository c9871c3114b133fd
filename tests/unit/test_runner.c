/* test_runner.c — job/runner: kinds and handlers, success recorded with
 * the effect, retries with backoff, final failures, unknown kinds, and a
 * lease kept alive by the heartbeat while a long job runs, on a real
 * store. */
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "job/runner.h"

typedef struct {
    int runs;
    int fail_first; /* transient failures before success */
    int sleep_ms;
} kind_state;

static ad_status run_slow(void *ctx, ad_store *s, const ad_job *job, void **state, int *final, ad_err *err)
{
    kind_state *k = ctx;
    (void)s, (void)job, (void)state, (void) final, (void)err;
    usleep((useconds_t)k->sleep_ms * 1000);
    return AD_OK;
}

static ad_status run_count(void *ctx, ad_store_tx *tx, const ad_job *job, void *state, char **result, int *final,
                           ad_err *err)
{
    kind_state *k = ctx;
    (void)tx, (void)state, (void) final;
    int n = __atomic_add_fetch(&k->runs, 1, __ATOMIC_SEQ_CST);
    if (n <= k->fail_first)
        return ad_err_set(err, AD_EIO, "transient trouble %d", n);
    char buf[64];
    snprintf(buf, sizeof buf, "{\"payload\":%s}", job->payload);
    *result = strdup(buf);
    return AD_OK;
}

static ad_status run_broken(void *ctx, ad_store_tx *tx, const ad_job *job, void *state, char **result, int *final,
                            ad_err *err)
{
    (void)ctx, (void)tx, (void)job, (void)state, (void)result;
    *final = 1;
    return ad_err_set(err, AD_ENOTFOUND, "the target is gone");
}

static ad_store *open_tmp(char dir[64], int exclusive)
{
    ad_store_config c = {.meta = "sqlite", .blobs = "fs", .data_dir = dir, .exclusive = exclusive};
    ad_store *s = NULL;
    ad_err e = AD_ERR_INIT;
    if (ad_store_open(&c, &s, &e) != AD_OK)
        printf("    open: %s\n", e.msg);
    return s;
}

static void add_job(ad_store *s, const char *kind, const char *payload, char id[33])
{
    ad_store_tx *tx;
    ad_err e = AD_ERR_INIT;
    ad_id_new(id, &e);
    if (ad_store_begin(s, &tx, &e) != AD_OK || ad_store_tx_insert_job(tx, id, kind, payload, NULL, NULL, &e) != AD_OK ||
        ad_store_commit(tx, &e) != AD_OK)
        printf("    add_job: %s\n", e.msg);
}

/* Wait until the job reaches status (up to ms); its record into out. */
static int wait_status(ad_store *s, const char *id, ad_job_status status, int ms, ad_job *out)
{
    for (int t = 0; t < ms; t += 20) {
        ad_err e = AD_ERR_INIT;
        if (ad_store_get_job(s, id, out, &e) == AD_OK) {
            if (out->status == status)
                return 1;
            ad_job_cleanup(out);
        }
        usleep(20 * 1000);
    }
    return 0;
}

TEST(jobs_run_retry_and_fail_by_kind)
{
    char dir[64] = "/tmp/assetd-runner-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    ad_store *s = open_tmp(dir, 1);
    REQUIRE(s != NULL);
    kind_state ok = {0}, flaky = {.fail_first = 2}, hopeless = {.fail_first = 1000};
    ad_job_kind kinds[] = {
        {"count", NULL, run_count, NULL, &ok},
        {"flaky", NULL, run_count, NULL, &flaky},
        {"hopeless", NULL, run_count, NULL, &hopeless},
        {"broken", NULL, run_broken, NULL, NULL},
    };
    ad_jobrunner_config rc = {.kinds = kinds, .nkinds = 4, .max_attempts = 3, .backoff_ms = 10, .lease_ms = 5000};
    ad_jobrunner *r;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_jobrunner_start(s, &rc, &r, &e) == AD_OK);
    char a[33], b[33], c[33], d[33], u[33];
    add_job(s, "count", "{\"n\":1}", a);
    add_job(s, "flaky", "{}", b);
    add_job(s, "hopeless", "{}", c);
    add_job(s, "broken", "{}", d);
    add_job(s, "from-the-future", "{}", u);
    ad_jobrunner_kick(r);
    ad_job j;
    REQUIRE(wait_status(s, a, AD_JOB_SUCCEEDED, 5000, &j));
    CHECK(j.attempts == 1 && j.result && strcmp(j.result, "{\"payload\":{\"n\":1}}") == 0 && j.finished_at[0]);
    ad_job_cleanup(&j);
    REQUIRE(wait_status(s, b, AD_JOB_SUCCEEDED, 5000, &j));
    CHECK(j.attempts == 3 && flaky.runs == 3 && j.error == NULL); /* two retries, then done */
    ad_job_cleanup(&j);
    REQUIRE(wait_status(s, c, AD_JOB_FAILED, 5000, &j));
    CHECK(j.attempts == 3 && hopeless.runs == 3 && j.error && strstr(j.error, "transient trouble 3"));
    ad_job_cleanup(&j);
    REQUIRE(wait_status(s, d, AD_JOB_FAILED, 5000, &j));
    CHECK(j.attempts == 1 && j.error && strstr(j.error, "gone")); /* final at once */
    ad_job_cleanup(&j);
    REQUIRE(wait_status(s, u, AD_JOB_FAILED, 5000, &j));
    CHECK(j.error && strstr(j.error, "unknown job kind"));
    ad_job_cleanup(&j);
    CHECK(ok.runs == 1);
    ad_jobrunner_stop(r);
    ad_store_close(s);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

TEST(the_heartbeat_keeps_a_long_job_from_being_taken_over)
{
    char dir[64] = "/tmp/assetd-runner-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    ad_store *s = open_tmp(dir, 1);
    REQUIRE(s != NULL);
    ad_store *other = open_tmp(dir, 0); /* a second instance on the same database */
    REQUIRE(other != NULL);
    /* the job outlasts its lease three times over; the lease is long enough
     * that a renewal delayed by a slow fsync (an ASan build on a busy disk:
     * once, at 300 ms) does not lose it */
    kind_state slow = {.sleep_ms = 3000};
    ad_job_kind kinds[] = {{"slow", run_slow, run_count, NULL, &slow}};
    ad_jobrunner_config rc = {.kinds = kinds, .nkinds = 1, .max_attempts = 3, .backoff_ms = 10, .lease_ms = 1000};
    ad_jobrunner *r;
    ad_err e = AD_ERR_INIT;
    char id[33];
    add_job(s, "slow", "{}", id);
    REQUIRE(ad_jobrunner_start(s, &rc, &r, &e) == AD_OK);
    ad_job held;
    REQUIRE(wait_status(s, id, AD_JOB_RUNNING, 5000, &held)); /* the runner has it */
    CHECK(strcmp(held.owner, ad_store_instance(s)) == 0);
    ad_job_cleanup(&held);
    int stolen = 0;
    for (int t = 0; t < 3500; t += 50) { /* the other instance keeps trying */
        ad_job j;
        ad_err e2 = AD_ERR_INIT;
        if (ad_store_claim_job(other, 300, &j, &e2) == AD_OK) {
            stolen++;
            ad_job_cleanup(&j);
        }
        usleep(50 * 1000);
    }
    ad_job j;
    REQUIRE(wait_status(s, id, AD_JOB_SUCCEEDED, 5000, &j));
    CHECK(j.attempts == 1);
    ad_job_cleanup(&j);
    CHECK(stolen == 0 && slow.runs == 1);
    ad_jobrunner_stop(r);
    ad_store_close(other);
    ad_store_close(s);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}
