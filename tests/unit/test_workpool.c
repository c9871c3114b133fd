/* test_workpool.c — base/workpool: the bounded pool cut-outs run on. */
#include "harness.h"

#include <pthread.h>
#include <unistd.h>

#include "base/workpool.h"

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static int ran;

static void blocked_task(void *arg)
{
    pthread_mutex_lock(&gate); /* held by the test until it lets go */
    ran++;
    pthread_mutex_unlock(&gate);
}

TEST(workpool_refuses_beyond_threads_plus_depth_and_drains_on_free)
{
    ad_workpool *p;
    REQUIRE(ad_workpool_new(1, 2, &p, NULL) == AD_OK);
    pthread_mutex_lock(&gate);
    ran = 0;
    int accepted = 0;
    for (int i = 0; i < 5; i++)
        accepted += ad_workpool_submit(p, blocked_task, NULL) == AD_OK;
    CHECK(accepted == 3); /* one running + two waiting */
    CHECK(ad_workpool_load(p) == 3);
    CHECK(ad_workpool_submit(p, blocked_task, NULL) == AD_EBUSY);
    pthread_mutex_unlock(&gate);
    ad_workpool_free(p); /* runs what was accepted */
    CHECK(ran == 3);
}
