/* cmd_serve.c — `assetd serve`: wire store, work pool, API, HTTP server,
 * model and job runner together, then wait for SIGINT/SIGTERM. The listener
 * comes up before the model so /healthz can say "starting" (503). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/ratelimit.h"
#include "api/save.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/version.h"
#include "base/sha256.h"
#include "base/workpool.h"
#include "calib/model_open.h"
#include "cli/cli.h"
#include "http/server.h"
#include "job/runner.h"
#include "webhook/dispatch.h"
#include "store/store.h"

/* A preset's own model (fast, best: another side), opened by the api on
 * the preset's first request */
typedef struct {
    const ad_config *cfg;
    int threads;
} preset_opener;

static ad_status open_preset_model(void *ctx, int preset, ad_model **out, ad_err *err)
{
    const preset_opener *po = ctx;
    int side = ad_cutout_preset_side(po->cfg, preset);
    ad_log(AD_LOG_INFO, "serve", "opening the model for preset=%s (side %d)", ad_cutout_preset(preset)->name, side);
    return ad_calib_open_model(po->cfg, po->threads, side, out, err);
}

/* SIGINT and SIGTERM are taken by one thread at any moment: before the
 * server is ready (opening the store, loading the model) nothing has been
 * acknowledged yet, so it exits at once; once ready it hands the signal to
 * the main thread, which drains and stops. */
static int ready_flag;
static int stop_pipe[2] = {-1, -1};

static void *watch_signals(void *arg)
{
    const sigset_t *set = arg;
    int sig = 0;
    sigwait(set, &sig);
    if (!__atomic_load_n(&ready_flag, __ATOMIC_ACQUIRE)) {
        ad_log(AD_LOG_INFO, "serve", "signal %d during start-up: stopped", sig);
        _exit(0);
    }
    if (write(stop_pipe[1], &sig, sizeof sig) != (ssize_t)sizeof sig)
        _exit(0);
    return NULL;
}

int ad_cmd_serve(const ad_cli_command *self, ad_config *cfg, int argc, char **argv)
{
    ad_err err = AD_ERR_INIT;
    ad_store *store = NULL;
    ad_workpool *pool = NULL, *io_pool = NULL, *render_pool = NULL;
    char **secrets = NULL;
    ad_ratelimit *ratelimit = NULL;
    int nsecrets = 0;
    ad_api *api = NULL;
    ad_http_server *http = NULL;
    ad_lru *cache = NULL;
    ad_model *model = NULL;
    ad_jobrunner *jobs = NULL;
    ad_dispatcher *hooks = NULL;
    ad_metrics *metrics = NULL;
    int rc = 1;
    if (argc > 1) {
        fprintf(stderr, "assetd serve: unexpected argument '%s' (settings: assetd help)\n", argv[1]);
        return 2;
    }
    /* signals are taken by sigwait below; every thread started from here
     * inherits the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    pthread_t watcher;
    if (pipe(stop_pipe) != 0 || pthread_create(&watcher, NULL, watch_signals, &stop) != 0) {
        fprintf(stderr, "assetd serve: cannot watch for signals\n");
        return 1;
    }
    pthread_detach(watcher);
    signal(SIGPIPE, SIG_IGN);

    if (ad_cli_open_store(cfg, 1, &store, &err) != AD_OK)
        goto fail;
    /* a test hook (docs/robustness.md): widen the window between a blob's
     * write and its row's commit, where races with deletes live */
    const char *delay = getenv("ASSETD_TEST_PUBLISH_DELAY_MS");
    if (delay && atoi(delay) > 0)
        ad_store_inject_publish_delay(store, atoi(delay));
    /* what a crash left is known without looking at every blob: the pins
     * of writers that died name their blobs (an embedded store queues
     * them at open), deletes queued theirs; collect those candidates, not
     * the store (a full reconciliation is `assetd store check`) */
    int collected = 0;
    if (ad_store_gc_run(store, &collected, &err) != AD_OK)
        goto fail;
    if (collected)
        ad_log(AD_LOG_INFO, "serve", "removed %d unreferenced blob(s), a crash's among them", collected);
    if (cfg->api_key[0]) {
        size_t n = strlen(cfg->api_key);
        if (n < 16 || n > 256) {
            ad_err_set(&err, AD_EINVAL, "api_key must be 16 to 256 characters");
            goto fail;
        }
        char sha[65];
        ad_sha256_hex(cfg->api_key, n, sha);
        /* the operator's own key: every right */
        if (ad_store_add_key(store, sha, "ASSETD_API_KEY", AD_SCOPE_ADMIN, NULL, &err) != AD_OK)
            goto fail;
    }
    char welcome_key[128] = "";
    if (cfg->welcome && ad_cli_welcome_key(cfg, store, welcome_key, &err) != AD_OK)
        goto fail;
    int workers, threads;
    ad_config_concurrency(cfg, &workers, &threads);
    if (ad_workpool_new(workers, (int)cfg->queue_depth, &pool, &err) != AD_OK)
        goto fail;
    /* uploads (and a remote store's calls) leave the event loop */
    if (ad_workpool_new(ad_store_remote(store) ? 16 : 4, (int)cfg->max_connections, &io_pool, &err) != AD_OK)
        goto fail;
    /* delivery's renders: a queue of their own, so that a flood of new
     * public URLs cannot take the cut-outs' or the API's turn; a thread
     * per core (a resize is tens of ms, not a model pass) */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (ad_workpool_new(cores > 2 ? (int)cores : 2, (int)cfg->render_queue, &render_pool, &err) != AD_OK)
        goto fail;
    if (ad_cli_delivery_secrets(cfg, ad_store_remote(store), &secrets, &nsecrets, &err) != AD_OK)
        goto fail;
    if (cfg->rate_limit > 0 || cfg->cutout_rate_limit > 0) {
        int rate[AD_BUCKET_COUNT] = {(int)cfg->rate_limit, (int)cfg->cutout_rate_limit};
        int burst[AD_BUCKET_COUNT] = {(int)cfg->rate_burst, (int)cfg->cutout_rate_burst};
        if ((ratelimit = ad_ratelimit_new(rate, burst)) == NULL) {
            ad_err_set(&err, AD_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (cfg->cache_mb > 0 && (cache = ad_lru_new((size_t)cfg->cache_mb << 20)) == NULL) {
        ad_err_set(&err, AD_ENOMEM, "out of memory");
        goto fail;
    }
    if (cfg->metrics && (metrics = ad_metrics_new()) == NULL) {
        ad_err_set(&err, AD_ENOMEM, "out of memory");
        goto fail;
    }
    ad_guard_policy guard;
    if (ad_guard_policy_parse(cfg->allow_private_urls, &guard, &err) != AD_OK)
        goto fail;
    /* Part of the cut-out cache's key: whatever changes the model's
     * numbers. A preset at another side has a model (and an id) of its own. */
    char model_id[96], preset_ids[AD_PRESET_COUNT][96];
    ad_cutout_model_id(cfg, ad_calib_precision(cfg), (int)cfg->model_side, model_id, sizeof model_id);
    preset_opener po = {cfg, threads};
    ad_api_config ac = {
        .cache = cache,
        .model_id = model_id,
        .tmp_dir = cfg->data_dir,
        .open_preset_model = open_preset_model,
        .open_preset_ctx = &po,
        .store = store,
        .pool = pool,
        .io_pool = io_pool,
        .workers = workers,
        .cutout_threads = threads,
        .max_pixels = (uint64_t)cfg->max_pixels,
        .max_body = (size_t)cfg->max_body,
        .max_custom_data = (size_t)cfg->max_custom_data,
        .max_queue_wait_ms = (double)cfg->request_timeout * 1000.0,
        .test_cutout_delay_ms = getenv("ASSETD_TEST_CUTOUT_DELAY_MS") ? atoi(getenv("ASSETD_TEST_CUTOUT_DELAY_MS")) : 0,
        .cors_origins = cfg->cors_origins,
        .metrics = metrics,
        .mask_store_bytes = (int64_t)cfg->mask_store_mb << 20,
        .delivery_secrets = (const char *const *)secrets,
        .ndelivery_secrets = nsecrets,
        .render_pool = render_pool,
        .variant_store_bytes = (int64_t)cfg->variant_store_mb << 20,
        .ratelimit = ratelimit,
        .guard = &guard,
        .fetch_timeout_ms = cfg->fetch_timeout * 1000,
    };
    for (int p = 0; p < AD_PRESET_COUNT; p++) {
        int side = ad_cutout_preset_side(cfg, p);
        ac.model_side[p] = side;
        if (side == cfg->model_side)
            continue;
        ad_cutout_model_id(cfg, ad_calib_precision(cfg), side, preset_ids[p], sizeof preset_ids[p]);
        ac.model_id_preset[p] = preset_ids[p];
    }
    if (ad_api_new(&ac, &api, &err) != AD_OK)
        goto fail;
    ad_http_config hc = {
        .listen = cfg->listen,
        .threads = (int)cfg->http_threads,
        .max_body = (size_t)cfg->max_body,
        /* JSON bodies: custom data with room for whitespace */
        .max_memory_body = (size_t)cfg->max_custom_data * 2 + 65536,
        .max_memory_total = (size_t)cfg->max_body_memory << 20,
        .min_rate = (unsigned)cfg->min_upload_rate,
        .on_headers = ad_api_on_headers,
        .on_done = ad_api_on_done,
        .max_header = (size_t)cfg->max_header,
        .max_connections = (unsigned)cfg->max_connections,
        .timeout = (unsigned)cfg->request_timeout,
        .head_timeout = (unsigned)cfg->header_timeout,
        .handler = ad_api_handle,
        .app = api,
    };
    if (ad_http_start(&hc, &http, &err) != AD_OK)
        goto fail;
    ad_log(AD_LOG_INFO, "serve", "listening on %s port=%d data_dir=%s store=%s", cfg->listen, ad_http_port(http),
           cfg->data_dir, cfg->store);
    char origin[300];
    ad_cli_origin(cfg, ad_http_port(http), origin, sizeof origin);
    ad_api_set_public_url(api, cfg->public_url[0] ? cfg->public_url : origin);
    if (ad_calib_open_model(cfg, threads, (int)cfg->model_side, &model, &err) != AD_OK)
        goto fail;
    if (metrics) {
        /* values from fixed vocabularies (settings, versions): nothing a
         * request brings */
        char info[256];
        snprintf(info, sizeof info,
                 "version=\"%s\",model=\"%s\",side=\"%lld\",precision=\"%s\",profile=\"%s\",ort=\"%s\"", AD_VERSION,
                 cfg->model, cfg->model_side, ad_calib_precision(cfg), cfg->ort_profile,
                 ad_model_runtime_version(model));
        ad_metrics_set(metrics, "assetd_build_info", info, 1);
    }
    ad_jobrunner_config jc = {
        .kinds = &ad_save_job_kind,
        .nkinds = 1,
        .max_attempts = (int)cfg->job_attempts,
        .backoff_ms = cfg->job_backoff_ms,
        .start_delay_ms = cfg->job_start_delay_ms,
        .lease_ms = cfg->job_lease_ms,
        .retention_ms = cfg->job_retention_days * 86400 * 1000,
        /* a test hook (docs/robustness.md): jobs held under their lease */
        .pause_ms = getenv("ASSETD_TEST_JOB_PAUSE_MS") ? atoll(getenv("ASSETD_TEST_JOB_PAUSE_MS")) : 0,
        .first_prune_ms = getenv("ASSETD_TEST_FIRST_PRUNE_MS") ? atoll(getenv("ASSETD_TEST_FIRST_PRUNE_MS")) : 0,
        .metrics = metrics,
    };
    if (ad_jobrunner_start(store, &jc, &jobs, &err) != AD_OK)
        goto fail;
    ad_dispatch_config dc = {
        .store = store,
        .metrics = metrics,
        .threads = 4,
        .guard = &guard,
        .max_attempts = (int)cfg->webhook_max_attempts,
        .max_age_ms = cfg->webhook_max_age * 3600 * 1000,
        .timeout_ms = 10000,
        .log_keep_ms = cfg->webhook_log_days * 86400 * 1000,
        /* a test hook: how often an idle deliverer looks for due work */
        .poll_ms = getenv("ASSETD_TEST_WEBHOOK_POLL_MS") ? atoll(getenv("ASSETD_TEST_WEBHOOK_POLL_MS")) : 1000,
    };
    if (ad_dispatcher_start(&dc, &hooks, &err) != AD_OK)
        goto fail;
    /* from here a signal drains (requests may be acknowledged from now on) */
    __atomic_store_n(&ready_flag, 1, __ATOMIC_RELEASE);
    ad_api_set_ready(api, model, jobs);
    int nkeys = 0;
    ad_key_info *keys = NULL;
    if (ad_store_list_keys(store, &keys, &nkeys, &err) == AD_OK)
        for (int i = 0, all = nkeys; i < all; i++)
            nkeys -= keys[i].revoked_at[0] != '\0';
    free(keys);
    ad_err_clear(&err);
    ad_log(AD_LOG_INFO, "serve", "ready model=%s workers=%d ort_threads=%d queue_depth=%lld api_keys=%d", cfg->model,
           workers, threads, cfg->queue_depth, nkeys);
    if (nkeys == 0) {
        /* A server nobody can call: say so where a person looks, with the
         * commands that fix it for this data dir. */
        ad_log(AD_LOG_WARN, "serve", "no API key: every /api/v1 call is refused with 401 until one exists");
        fprintf(stderr,
                "\n  assetd has no API key yet. Make one (printed once, kept hashed):\n"
                "      %s --store %s --data-dir %s keys create\n"
                "  or start with ASSETD_API_KEY=<16 to 256 characters>, or with --welcome 1\n"
                "  (what ./scripts/run.sh does: a key made for you and kept in %s/api-key).\n\n",
                program_invocation_name, cfg->store, cfg->data_dir, cfg->data_dir);
    }
    if (cfg->welcome)
        ad_cli_welcome_banner(cfg, ad_http_port(http), welcome_key);

    int sig = 0;
    while (read(stop_pipe[0], &sig, sizeof sig) < 0 && errno == EINTR)
        ;
    ad_log(AD_LOG_INFO, "serve", "signal %d: finishing requests in progress", sig);
    rc = 0;
    goto shutdown;
fail:
    ad_log(AD_LOG_ERROR, "serve", "%s", err.msg);
shutdown:
    if (api)
        ad_api_set_draining(api);
    ad_workpool_free(pool); /* runs what was accepted; each answers its client */
    ad_workpool_free(render_pool);
    ad_workpool_free(io_pool);
    ad_jobrunner_stop(jobs);
    ad_dispatcher_stop(hooks);
    ad_http_stop(http);
    ad_api_free(api);
    ad_model_close(model);
    ad_lru_free(cache);
    ad_store_close(store);
    ad_metrics_free(metrics);
    ad_cli_secrets_free(secrets, nsecrets);
    ad_ratelimit_free(ratelimit);
    return rc;
}
