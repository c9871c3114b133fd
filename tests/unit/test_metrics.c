/* test_metrics.c — base/metrics: families, series by label set, cumulative
 * histogram buckets, and the exposition text. */
#include "harness.h"

#include "base/metrics.h"

TEST(the_text_carries_each_family_once_and_cumulative_buckets)
{
    static const double bounds[] = {0.01, 1};
    ad_metrics *m = ad_metrics_new();
    REQUIRE(m != NULL);
    ad_metrics_declare(m, "t_requests_total", AD_METRIC_COUNTER, "Requests.", NULL, 0);
    ad_metrics_declare(m, "t_seconds", AD_METRIC_HISTOGRAM, "Time.", bounds, 2);
    ad_metrics_declare(m, "t_requests_total", AD_METRIC_GAUGE, "declared again: ignored", NULL, 0);
    ad_metrics_add(m, "t_requests_total", "code=\"2xx\"", 1);
    ad_metrics_add(m, "t_requests_total", "code=\"2xx\"", 2);
    ad_metrics_add(m, "t_requests_total", "code=\"5xx\"", 1);
    ad_metrics_add(m, "t_undeclared", "", 1); /* ignored */
    ad_metrics_observe(m, "t_seconds", "stage=\"infer\"", 0.003);
    ad_metrics_observe(m, "t_seconds", "stage=\"infer\"", 0.2);
    ad_metrics_observe(m, "t_seconds", "stage=\"infer\"", 5);
    ad_metrics_observe(m, "t_seconds", "", 0.5);
    size_t len = 0;
    char *t = ad_metrics_render(m, &len);
    REQUIRE(t != NULL);
    CHECK(strlen(t) == len);
    static const char *const want[] = {
        "# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n",
        "t_requests_total{code=\"2xx\"} 3\n",
        "t_requests_total{code=\"5xx\"} 1\n",
        "# TYPE t_seconds histogram\n",
        "t_seconds_bucket{stage=\"infer\",le=\"0.01\"} 1\n",
        "t_seconds_bucket{stage=\"infer\",le=\"1\"} 2\n",
        "t_seconds_bucket{stage=\"infer\",le=\"+Inf\"} 3\n",
        "t_seconds_sum{stage=\"infer\"} 5.203\n",
        "t_seconds_count{stage=\"infer\"} 3\n",
        "t_seconds_bucket{le=\"0.01\"} 0\n",
        "t_seconds_bucket{le=\"1\"} 1\n",
        "t_seconds_sum 0.5\n",
        "t_seconds_count 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECKF(strstr(t, want[i]) != NULL, "missing %s in:\n%s", want[i], t);
    CHECK(strstr(t, "t_undeclared") == NULL);
    CHECK(strstr(t, "declared again") == NULL);
    free(t);
    ad_metrics_set(m, "t_requests_total", "code=\"2xx\"", 10);
    t = ad_metrics_render(m, &len);
    REQUIRE(t != NULL);
    CHECK(strstr(t, "t_requests_total{code=\"2xx\"} 10\n") != NULL);
    free(t);
    ad_metrics_free(m);
}
