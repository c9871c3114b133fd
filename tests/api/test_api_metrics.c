/* test_api_metrics.c — GET /metrics against the real server (issue 16): the
 * text passes `promtool check metrics`, its counters move with the
 * requests made (routes by template and status class, cut-out stages,
 * the cache, jobs, saturation), no label carries an id or a key, it needs
 * no key, and --metrics off takes it away. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include "api/client.h"
#include "infer/model.h"

/* The value of the series written exactly as `series` (name{labels}), or
 * -1 when the text has no such line. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* What the server in this environment runs: 8-bit weights where the CPU
 * has VNNI, 7-bit without, unless ASSETD_INT8_WEIGHTS (which the server
 * inherits) forces one (README, "int8"). */
static const char *expected_int8_precision(void)
{
    const char *w = getenv("ASSETD_INT8_WEIGHTS");
    int bits = w && strcmp(w, "7") == 0 ? 7 : w && strcmp(w, "8") == 0 ? 8 : ad_model_cpu_has_vnni() ? 8 : 7;
    return bits == 8 ? "int8" : "int8-w7";
}

static char *scrape(const server *s)
{
    response r = {0};
    if (request(s, "GET", "/metrics", NULL, 0, NULL, 0, &r) != 200) {
        response_cleanup(&r);
        return NULL;
    }
    char ct[128];
    char *text = NULL;
    if (header(&r, "Content-Type", ct, sizeof ct) && strncmp(ct, "text/plain", 10) == 0) {
        text = malloc(r.len + 1);
        memcpy(text, r.body, r.len);
        text[r.len] = '\0';
    }
    response_cleanup(&r);
    return text;
}

/* `promtool check metrics` reads the text on stdin: exit 0 and no lint
 * complaint. */
static int promtool_accepts(const char *text, const char *dir, char *out, size_t outlen)
{
    char path[400], cmd[1000];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return 0;
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return 0;
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    return pclose(p) == 0 && n == 0;
}

#define ASSET_ROUTE "/api/v1/assets/:asset_id"
#define BG_ROUTE "/api/v1/assets/:asset_id/addons/bg_remove"

TEST(metrics_are_valid_prometheus_text_and_move_with_requests)
{
    char dir[256];
    temp_dir(dir, sizeof dir, "metrics");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    char *before = scrape(&s);
    REQUIRE(before != NULL);
    /* build info: version, model, side, precision, runtime */
    CHECKF(strstr(before, "assetd_build_info{version=\"") != NULL, "%s", before);
    CHECK(strstr(before, "model=\"medium\"") && strstr(before, "side=\"896\""));
    char precision[64];
    snprintf(precision, sizeof precision, "precision=\"%s\"", expected_int8_precision());
    CHECKF(strstr(before, precision) != NULL, "want %s in %s", precision, before);
    CHECK(strstr(before, ",ort=\"1.") != NULL);
    char lint[4096];
    CHECKF(promtool_accepts(before, dir, lint, sizeof lint), "promtool: %s", lint);
    double uploads0 =
        value_of(before, "assetd_http_requests_total{route=\"/api/v1/assets\",method=\"POST\",code=\"2xx\"}");
    CHECK(uploads0 == -1); /* none yet */

    char id[64], path[200];
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    response r = {0};
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", id);
    CHECK(get(&s, path, &r) == 200); /* a miss: the model runs */
    response_cleanup(&r);
    CHECK(get(&s, path, &r) == 200); /* a hit */
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets/0123456789abcdef0123456789abcdef", &r) == 404);
    response_cleanup(&r);
    /* a background save: a job that succeeds */
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_new_asset",
             id);
    long st = get(&s, path, &r);
    CHECKF(st == 200, "save: %ld %.*s", st, (int)r.len, r.body);
    response_cleanup(&r);

    /* the gauge is read from the store at the scrape and the counter moves
     * just after the job's commit: wait until a scrape has seen both */
    char *after = NULL;
    double jobs = -1, done = -1;
    for (int i = 0; i < 100 && (jobs < 1 || done < 1); i++) {
        free(after);
        after = scrape(&s);
        REQUIRE(after != NULL);
        jobs = value_of(after, "assetd_jobs_total{kind=\"bg_remove_save\",outcome=\"succeeded\"}");
        done = value_of(after, "assetd_jobs{status=\"succeeded\"}");
        if (jobs < 1 || done < 1)
            sleep_ms(100);
    }
    CHECKF(jobs == 1 && done == 1, "jobs succeeded: counted %g, in the store %g", jobs, done);
    CHECK(value_of(after, "assetd_jobs{status=\"queued\"}") == 0);
    CHECKF(promtool_accepts(after, dir, lint, sizeof lint), "promtool: %s", lint);
    CHECK(value_of(after, "assetd_http_requests_total{route=\"/api/v1/assets\",method=\"POST\",code=\"2xx\"}") == 1);
    CHECK(value_of(after, "assetd_http_requests_total{route=\"" BG_ROUTE "\",method=\"GET\",code=\"2xx\"}") == 3);
    CHECK(value_of(after, "assetd_http_requests_total{route=\"" ASSET_ROUTE "\",method=\"GET\",code=\"4xx\"}") == 1);
    CHECK(value_of(after, "assetd_http_request_duration_seconds_count{route=\"" BG_ROUTE "\"}") == 3);
    /* the first cut-out ran the model; the second came from the cache
     * (the save ran through the job, not the cache) */
    CHECK(value_of(after, "assetd_cutout_cache_total{result=\"hit\"}") >= 1);
    CHECK(value_of(after, "assetd_cutout_cache_total{result=\"miss\"}") >= 1);
    double infer = value_of(after, "assetd_cutout_stage_seconds_count{stage=\"infer\"}");
    CHECKF(infer >= 1, "infer count %g", infer);
    double infer_sum = value_of(after, "assetd_cutout_stage_seconds_sum{stage=\"infer\"}");
    CHECKF(infer_sum > 0.05 && infer_sum < 120, "infer seconds %g", infer_sum);
    CHECK(value_of(after, "assetd_cutout_workers") >= 1);
    CHECK(value_of(after, "assetd_cutout_workers_busy") == 0);
    CHECK(value_of(after, "assetd_store_calls_total") > value_of(before, "assetd_store_calls_total"));
    CHECK(value_of(after, "assetd_store_seconds_total") > 0);
    /* the scrapes themselves are counted, and no id or key is a label */
    CHECK(value_of(after, "assetd_http_requests_total{route=\"/metrics\",method=\"GET\",code=\"2xx\"}") >= 1);
    CHECK(strstr(after, id) == NULL);
    CHECK(strstr(after, "0123456789abcdef0123456789abcdef") == NULL);
    CHECK(strstr(after, API_KEY) == NULL);
    free(before);
    free(after);
    server_kill(&s, SIGTERM);
}

/* Saturation: with one worker and no queue, a cut-out asked for while
 * another runs is refused with 503 and counted. */
TEST(saturation_refusals_are_counted)
{
    char dir[256];
    temp_dir(dir, sizeof dir, "metrics-sat");
    server s;
    const char *extra[] = {"--workers", "1", "--queue-depth", "0", "--cache-mb", "0", NULL};
    REQUIRE(server_start(&s, dir, extra));
    char id[64], path[200];
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", id);
    /* two cut-outs at once (each thread has its own connection): whichever
     * comes second is refused */
    call o = {.s = &s, .path = path};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, call_thread, &o) == 0);
    sleep_ms(300); /* the other cut-out is running (it takes ~1 s) */
    response r = {0};
    long mine = get(&s, path, &r);
    response_cleanup(&r);
    pthread_join(t, NULL);
    long refused = (mine == 503) + (o.status == 503);
    CHECKF(refused == 1, "this one %ld, the other %ld", mine, o.status);
    char *text = scrape(&s);
    REQUIRE(text != NULL);
    CHECKF(value_of(text, "assetd_saturated_total") == (double)refused, "%s", text);
    CHECK(value_of(text, "assetd_http_requests_total{route=\"" BG_ROUTE "\",method=\"GET\",code=\"5xx\"}") ==
          (double)refused);
    free(text);
    server_kill(&s, SIGTERM);
}

TEST(metrics_off_takes_the_route_away)
{
    char dir[256];
    temp_dir(dir, sizeof dir, "metrics-off");
    server s;
    const char *extra[] = {"--metrics", "off", NULL};
    REQUIRE(server_start(&s, dir, extra));
    response r = {0};
    CHECK(request(&s, "GET", "/metrics", NULL, 0, NULL, 0, &r) == 404);
    CHECK(is_error_shape(&r));
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}
