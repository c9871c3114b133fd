/* test_lru.c — base/lru: the byte-bounded cache of finished cut-outs. */
#include "harness.h"

#include "base/lru.h"

TEST(lru_keeps_recent_entries_within_its_budget)
{
    ad_lru *c = ad_lru_new(400);
    char buf[100];
    memset(buf, 'a', sizeof buf);
    ad_lru_put(c, "k1", buf, 100);
    ad_lru_put(c, "k2", buf, 100);
    ad_lru_put(c, "k3", buf, 100);
    ad_lru_value *v1 = ad_lru_get(c, "k1"); /* k1 is now the most recent */
    REQUIRE(v1 != NULL);
    ad_lru_put(c, "k4", buf, 100);
    ad_lru_put(c, "k5", buf, 100); /* over 400: the least recent (k2) goes */
    ad_lru_value *v2 = ad_lru_get(c, "k2");
    CHECK(v2 == NULL);
    ad_lru_value *v5 = ad_lru_get(c, "k5");
    CHECK(v5 != NULL);
    ad_lru_value_unref(v5);
    ad_lru_put(c, "big", buf, 101); /* over a quarter of the budget: not kept */
    CHECK(ad_lru_get(c, "big") == NULL);
    ad_lru_put(c, "k6", buf, 100); /* k1 is the least recent now: evicted */
    ad_lru_put(c, "k7", buf, 100);
    ad_lru_put(c, "k8", buf, 100);
    ad_lru_put(c, "k9", buf, 100);
    CHECK(ad_lru_get(c, "k1") == NULL);
    size_t len;
    const char *d = ad_lru_data(v1, &len); /* still ours after eviction */
    CHECK(len == 100 && d[99] == 'a');
    ad_lru_value_unref(v1);
    ad_lru_free(c);
    ad_lru *off = ad_lru_new(0);
    ad_lru_put(off, "k", buf, 1);
    CHECK(ad_lru_get(off, "k") == NULL);
    ad_lru_free(off);
}
