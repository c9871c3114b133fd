/* test_meta.c — the conformance suite of metadata parts (store/meta.h),
 * run unchanged against each: transactions that commit or vanish, asset
 * and conversion rows with the blobs they drop, pins and their expiry, the
 * GC queue, jobs and leases. sqlite always; postgres where the test
 * command has started one (store_env.h). */
#include <unistd.h>

#include "harness.h"
#include "store/meta.h"
#include "store_env.h"

/* sqlite always; postgres when the test servers run */
static const ad_meta_ops *const parts[] = {&ad_meta_sqlite_ops, &ad_meta_postgres_ops};
#define NPARTS (getenv("ASSETD_TEST_PG_URL") ? 2u : 1u)

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID1 "0123456789abcdef0123456789abcdef"
#define ID2 "cccccccccccccccccccccccccccccccc"
#define ID3 "dddddddddddddddddddddddddddddddd"
#define ID4 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define KEY_3 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define KEY_4 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define MASK_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define MASK_2 "2222222222222222222222222222222222222222222222222222222222222222"
#define MASK_3 "3333333333333333333333333333333333333333333333333333333333333333"

typedef struct {
    int n;
    char shas[4][65];
} dropped;

static void on_drop(void *ctx, const char *sha)
{
    dropped *d = ctx;
    if (d->n < 4)
        snprintf(d->shas[d->n++], 65, "%s", sha);
}

TEST(metadata_parts_conform)
{
    for (size_t p = 0; p < NPARTS; p++) {
        const ad_meta_ops *ops = parts[p];
        char dir[64] = "/tmp/assetd-meta-XXXXXX";
        REQUIRE(mkdtemp(dir) != NULL);
        ad_store_config cfg = {.data_dir = dir, .exclusive = 1};
        char ns[40], url[512];
        if (ops == &ad_meta_postgres_ops) {
            test_pg_schema(ns, url);
            cfg.database_url = url;
        }
        ad_meta *m = NULL;
        ad_err e = AD_ERR_INIT;
        REQUIRE(ops->open(&cfg, &m, &e) == AD_OK);
        ad_meta_tx *tx;
        /* a rolled-back transaction leaves nothing */
        ad_conversion c = {.size = 3};
        snprintf(c.name, sizeof c.name, "cut");
        snprintf(c.content_type, sizeof c.content_type, "image/png");
        snprintf(c.sha256, sizeof c.sha256, "%s", SHA_B);
        ad_asset a = {.filename = "f.jpg",
                      .content_type = "image/jpeg",
                      .size = 3,
                      .width = 1,
                      .height = 2,
                      .custom_data = "{}",
                      .conversions = &c,
                      .nconversions = 1};
        memcpy(a.id, ID1, 33);
        memcpy(a.sha256, SHA_A, 65);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->insert_asset(tx, &a, &e) == AD_OK);
        ops->rollback(tx);
        ad_asset got;
        ad_err e1 = AD_ERR_INIT;
        CHECK(ops->get_asset(m, NULL, ID1, &got, &e1) == AD_ENOTFOUND);
        /* committed: the asset with its conversion */
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->insert_asset(tx, &a, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        REQUIRE(ops->get_asset(m, NULL, ID1, &got, &e) == AD_OK);
        CHECK(got.nconversions == 1 && strcmp(got.conversions[0].sha256, SHA_B) == 0);
        ad_asset_cleanup(&got);
        int64_t refs = -1, now = 1000000;
        CHECK(ops->blob_refs(m, NULL, SHA_A, now, &refs, &e) == AD_OK && refs == 1);
        /* pins count while alive; expired ones do not */
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->pin_blob(tx, SHA_A, "w1", now + 10, &e) == AD_OK);
        CHECK(ops->pin_blob(tx, SHA_A, "job:x", 0, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(ops->blob_refs(m, NULL, SHA_A, now, &refs, &e) == AD_OK && refs == 3);
        CHECK(ops->blob_refs(m, NULL, SHA_A, now + 20, &refs, &e) == AD_OK && refs == 2);
        /* a child names the asset as its source; lock_asset holds a live
         * asset and says when one is gone */
        ad_asset child = {.filename = "c.png", .content_type = "image/png", .size = 3, .custom_data = "{}"};
        memcpy(child.id, "fedcba9876543210fedcba9876543210", 33);
        memcpy(child.sha256, SHA_B, 65);
        memcpy(child.source_asset_id, ID1, 33);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->lock_asset(tx, ID1, 0, &e) == AD_OK && ops->lock_asset(tx, ID1, 1, &e) == AD_OK);
        ad_err e5 = AD_ERR_INIT;
        CHECK(ops->lock_asset(tx, "00000000000000000000000000000000", 1, &e5) == AD_ENOTFOUND);
        CHECK(ops->insert_asset(tx, &child, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        /* deleting the asset drops both its blobs, and unlinks the child */
        dropped d = {0};
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->delete_asset(tx, ID1, on_drop, &d, &e) == AD_OK);
        CHECK(ops->unpin(tx, NULL, "job:x", on_drop, &d, &e) == AD_OK);
        CHECK(ops->gc_enqueue(tx, SHA_A, now - 1, &e) == AD_OK && ops->gc_enqueue(tx, SHA_B, now + 1000, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(d.n == 3); /* A and B from the rows, A from the job's pin */
        REQUIRE(ops->get_asset(m, NULL, child.id, &got, &e) == AD_OK);
        CHECK(got.source_asset_id[0] == '\0');
        ad_asset_cleanup(&got);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->delete_asset(tx, child.id, NULL, NULL, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        char due[4][65];
        int n = 0;
        CHECK(ops->gc_due(m, now, 60000, 4, due, &n, &e) == AD_OK && n == 1 && strcmp(due[0], SHA_A) == 0);
        /* claimed: not handed out again within its lease */
        CHECK(ops->gc_due(m, now, 60000, 4, due, &n, &e) == AD_OK && n == 0);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->lock_blob(tx, SHA_A, &e) == AD_OK && ops->gc_dequeue(tx, SHA_A, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(ops->gc_due(m, now + 2000, 60000, 4, due, &n, &e) == AD_OK && n == 1 && strcmp(due[0], SHA_B) == 0);
        /* a pin that expired names its blob as a candidate, once */
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->pin_blob(tx, MASK_1, "dead-writer", now + 100, &e) == AD_OK);
        CHECK(ops->pin_blob(tx, MASK_2, "live-writer", now + 100000, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        int expired = -1, n2 = 0, dead = 0, live = 0;
        /* (pins that expired earlier in this test become candidates too) */
        CHECK(ops->expire_pins(m, now + 50, 10, &expired, &e) == AD_OK);
        CHECK(ops->expire_pins(m, now + 200, 10, &expired, &e) == AD_OK && expired == 1);
        CHECK(ops->expire_pins(m, now + 200, 10, &expired, &e) == AD_OK && expired == 0);
        char due2[16][65];
        CHECK(ops->gc_due(m, now + 200, 60000, 16, due2, &n2, &e) == AD_OK);
        for (int i = 0; i < n2; i++)
            dead += strcmp(due2[i], MASK_1) == 0, live += strcmp(due2[i], MASK_2) == 0;
        CHECKF(dead == 1 && live == 0, "%s: %d due", ops->name, n2);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->gc_dequeue(tx, MASK_1, &e) == AD_OK &&
              ops->unpin(tx, MASK_2, "live-writer", NULL, NULL, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        /* jobs: claimed once per lease, finished only by the holder */
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->insert_job(tx, ID1, "k", "{\"p\":1}", ID4, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        ad_job j;
        int64_t counts[4];
        CHECK(ops->count_jobs(m, counts, &e) == AD_OK && counts[AD_JOB_QUEUED] == 1 && counts[AD_JOB_RUNNING] == 0);
        REQUIRE(ops->claim_job(m, "me", now, 100, &j, &e) == AD_OK);
        CHECK(ops->count_jobs(m, counts, &e) == AD_OK && counts[AD_JOB_QUEUED] == 0 && counts[AD_JOB_RUNNING] == 1);
        CHECK(strcmp(j.owner, "me") == 0 && j.lease_until_ms == now + 100 && j.attempts == 1);
        ad_job_cleanup(&j);
        ad_err e2 = AD_ERR_INIT;
        CHECK(ops->claim_job(m, "you", now + 50, 100, &j, &e2) == AD_ENOTFOUND);
        REQUIRE(ops->claim_job(m, "you", now + 150, 100, &j, &e) == AD_OK);
        ad_job_cleanup(&j);
        ad_err e3 = AD_ERR_INIT;
        CHECK(ops->renew_lease(m, ID1, "me", now + 500, &e3) == AD_ECONFLICT);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        ad_err e4 = AD_ERR_INIT;
        CHECK(ops->finish_job(tx, ID1, "me", "{}", &e4) == AD_ECONFLICT);
        CHECK(ops->finish_job(tx, ID1, "you", "{\"ok\":1}", &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        REQUIRE(ops->get_job(m, ID1, &j, &e) == AD_OK);
        CHECK(j.status == AD_JOB_SUCCEEDED && strcmp(j.payload, "{\"p\":1}") == 0 &&
              strcmp(j.result, "{\"ok\":1}") == 0);
        ad_job_cleanup(&j);
        CHECK(ops->count_jobs(m, counts, &e) == AD_OK && counts[AD_JOB_SUCCEEDED] == 1 && counts[AD_JOB_RUNNING] == 0 &&
              counts[AD_JOB_QUEUED] == 0 && counts[AD_JOB_FAILED] == 0);

        /* derived blobs: one row per key (a second insert loses), their
         * blobs referenced, bytes counted per kind, least recently used of
         * the kind out first over the bound, dropped by key or by source */
        ad_derived_row m1 = {
            .key = SHA_A, .kind = "mask", .source_sha256 = SHA_B, .blob_sha256 = MASK_1, .bytes = 100, .used_ms = now};
        ad_derived_row m2 = {.key = SHA_B,
                             .kind = "mask",
                             .source_sha256 = SHA_B,
                             .blob_sha256 = MASK_2,
                             .bytes = 100,
                             .used_ms = now + 1};
        ad_derived_row m3 = {.key = KEY_3,
                             .kind = "mask",
                             .source_sha256 = SHA_A,
                             .blob_sha256 = MASK_3,
                             .bytes = 100,
                             .used_ms = now + 2};
        ad_derived_row v1 = {.key = KEY_4,
                             .kind = "variant",
                             .source_sha256 = SHA_A,
                             .blob_sha256 = MASK_3,
                             .bytes = 1000,
                             .used_ms = now - 5};
        int inserted = 0;
        int64_t count = -1, bytes = -1;
        char got_sha[65];
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->put_derived(tx, &m1, 0, &inserted, NULL, NULL, &e) == AD_OK && inserted == 1);
        CHECK(ops->put_derived(tx, &m1, 0, &inserted, NULL, NULL, &e) == AD_OK && inserted == 0);
        CHECK(ops->put_derived(tx, &m2, 0, &inserted, NULL, NULL, &e) == AD_OK && inserted == 1);
        CHECK(ops->put_derived(tx, &v1, 0, &inserted, NULL, NULL, &e) == AD_OK && inserted == 1);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(ops->derived_usage(m, NULL, "mask", &count, &bytes, &e) == AD_OK && count == 2 && bytes == 200);
        CHECK(ops->derived_usage(m, NULL, "variant", &count, &bytes, &e) == AD_OK && count == 1 && bytes == 1000);
        CHECK(ops->derived_usage(m, NULL, "other", &count, &bytes, &e) == AD_OK && count == 0 && bytes == 0);
        CHECK(ops->blob_refs(m, NULL, MASK_1, now, &refs, &e) == AD_OK && refs == 1);
        CHECK(ops->get_derived(m, SHA_A, now, got_sha, &e) == AD_OK && strcmp(got_sha, MASK_1) == 0);
        ad_err e6 = AD_ERR_INIT;
        CHECK(ops->get_derived(m, KEY_3, now, got_sha, &e6) == AD_ENOTFOUND);
        /* a use a minute later makes m1 the most recent: a bound of 250
         * then evicts m2 (not m1, and not the older variant: another kind) */
        CHECK(ops->get_derived(m, SHA_A, now + 120000, got_sha, &e) == AD_OK);
        dropped dm = {0};
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->put_derived(tx, &m3, 250, &inserted, on_drop, &dm, &e) == AD_OK && inserted == 1);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(dm.n == 1 && strcmp(dm.shas[0], MASK_2) == 0);
        CHECK(ops->derived_usage(m, NULL, "mask", &count, &bytes, &e) == AD_OK && count == 2 && bytes == 200);
        CHECK(ops->derived_usage(m, NULL, "variant", &count, &bytes, &e) == AD_OK && count == 1);
        CHECK(ops->blob_refs(m, NULL, MASK_2, now, &refs, &e) == AD_OK && refs == 0);
        CHECK(ops->blob_refs(m, NULL, MASK_3, now, &refs, &e) == AD_OK && refs == 2);
        /* by source (both kinds), then by key */
        dropped dd = {0};
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->drop_derived(tx, NULL, SHA_A, on_drop, &dd, &e) == AD_OK);
        CHECK(ops->drop_derived(tx, SHA_A, NULL, on_drop, &dd, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(dd.n == 3 && strcmp(dd.shas[2], MASK_1) == 0);
        CHECK(ops->derived_usage(m, NULL, "mask", &count, &bytes, &e) == AD_OK && count == 0 && bytes == 0);
        CHECK(ops->derived_usage(m, NULL, "variant", &count, &bytes, &e) == AD_OK && count == 0 && bytes == 0);

        /* the jobs list: by status and asset, newest first, seq-paged */
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->insert_job(tx, ID2, "k", "{}", NULL, &e) == AD_OK);
        CHECK(ops->insert_job(tx, ID3, "k", "{}", ID4, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        ad_job *jl = NULL;
        int jn = 0;
        ad_job_filter jf = {.status = -1};
        CHECK(ops->list_job_page(m, &jf, 0, 10, &jl, &jn, &e) == AD_OK && jn == 3 && strcmp(jl[0].id, ID3) == 0 &&
              strcmp(jl[2].id, ID1) == 0 && jl[0].seq > jl[1].seq && jl[1].seq > jl[2].seq &&
              strcmp(jl[0].asset_id, ID4) == 0 && jl[1].asset_id[0] == '\0');
        int64_t mid = jn == 3 ? jl[1].seq : 0;
        for (int i = 0; i < jn; i++)
            ad_job_cleanup(&jl[i]);
        free(jl);
        CHECK(ops->list_job_page(m, &jf, mid, 10, &jl, &jn, &e) == AD_OK && jn == 1 && strcmp(jl[0].id, ID1) == 0);
        for (int i = 0; i < jn; i++)
            ad_job_cleanup(&jl[i]);
        free(jl);
        snprintf(jf.asset_id, sizeof jf.asset_id, "%s", ID4);
        CHECK(ops->list_job_page(m, &jf, 0, 10, &jl, &jn, &e) == AD_OK && jn == 2);
        for (int i = 0; i < jn; i++)
            ad_job_cleanup(&jl[i]);
        free(jl);
        jf.status = AD_JOB_QUEUED;
        CHECK(ops->list_job_page(m, &jf, 0, 10, &jl, &jn, &e) == AD_OK && jn == 1 && strcmp(jl[0].id, ID3) == 0);
        for (int i = 0; i < jn; i++)
            ad_job_cleanup(&jl[i]);
        free(jl);

        /* webhooks' outbox: a delivery per subscribed endpoint, written
         * in the caller's transaction (a rollback writes none), claimed
         * once per lease, ended only by its claim, logged, pruned */
        ad_webhook w1 = {.id = ID1,
                         .url = "http://a/",
                         .events = "asset.created,job.failed",
                         .description = "",
                         .secret = "whsec_0",
                         .created_at = "2026-01-01T00:00:00.000Z"};
        ad_webhook w2 = {.id = ID2,
                         .url = "http://b/",
                         .events = "*",
                         .description = "d",
                         .secret = "whsec_1",
                         .created_at = "2026-01-02T00:00:00.000Z"};
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->add_webhook(tx, &w1, &e) == AD_OK && ops->add_webhook(tx, &w2, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        int64_t subs = -1;
        CHECK(ops->webhook_subscribers(m, NULL, "asset.created", &subs, &e) == AD_OK && subs == 2);
        CHECK(ops->webhook_subscribers(m, NULL, "asset.deleted", &subs, &e) == AD_OK && subs == 1);
        CHECK(ops->webhook_subscribers(m, NULL, "asset", &subs, &e) == AD_OK && subs == 1); /* no partial match */
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->enqueue_event(tx, "evt_rolled_back", "asset.created", "{}", now, &e) == AD_OK);
        ops->rollback(tx);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->enqueue_event(tx, "evt_1", "asset.created", "{\"n\":1}", now, &e) == AD_OK);
        CHECK(ops->enqueue_event(tx, "evt_2", "asset.deleted", "{\"n\":2}", now + 1, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        int64_t pending = -1, oldest = -1;
        CHECK(ops->webhook_queue(m, &pending, &oldest, &e) == AD_OK && pending == 3 && oldest == now);
        ad_webhook_delivery dl[4];
        int dn = 0, dn2 = -1;
        CHECK(ops->claim_deliveries(m, "c1", now, 100000, 2, dl, &dn, &e) == AD_OK && dn == 2);
        CHECK(ops->claim_deliveries(m, "c2", now + 1, 1000, 4, dl + 2, &dn2, &e) == AD_OK && dn2 == 1);
        for (int i = dn + (dn2 > 0 ? dn2 : 0); i < 4; i++)
            memset(&dl[i], 0, sizeof dl[i]);
        CHECK(dl[0].attempts == 1 && dl[0].body && dl[0].url && dl[0].secret[0] == 'w');
        ad_webhook_delivery_cleanup(&dl[2]);
        /* nothing left, until c2's lease passes: then c3 takes it */
        CHECK(ops->claim_deliveries(m, "c3", now + 500, 1000, 4, dl + 2, &dn2, &e) == AD_OK && dn2 == 0);
        CHECK(ops->claim_deliveries(m, "c3", now + 1002, 1000, 4, dl + 2, &dn2, &e) == AD_OK && dn2 == 1 &&
              dl[2].attempts == 2);
        ad_webhook_attempt at = {.attempt = 1, .status = 500, .duration_ms = 3, .at = "2026", .at_ms = now};
        snprintf(at.event_id, sizeof at.event_id, "%s", dl[0].event_id);
        snprintf(at.type, sizeof at.type, "%s", dl[0].type);
        ad_err e7 = AD_ERR_INIT;
        CHECK(ops->end_delivery(m, dl[0].seq, "c2", AD_DELIVERY_RETRY, now + 10, dl[0].webhook_id, &at, &e7) ==
              AD_ECONFLICT);
        CHECK(ops->end_delivery(m, dl[0].seq, "c1", AD_DELIVERY_RETRY, now + 10, dl[0].webhook_id, &at, &e) == AD_OK);
        at.status = 200;
        CHECKF(ops->end_delivery(m, dl[1].seq, "c1", AD_DELIVERY_SUCCEEDED, 0, dl[1].webhook_id, &at, &e) == AD_OK,
               "%s %lld %lld", e.msg, (long long)dl[0].seq, (long long)dl[1].seq);
        CHECK(ops->end_delivery(m, dl[2].seq, "c3", AD_DELIVERY_GAVE_UP, 0, dl[2].webhook_id, &at, &e) == AD_OK);
        CHECK(ops->webhook_queue(m, &pending, &oldest, &e) == AD_OK && pending == 1);
        /* the retried one is due again at now + 10 */
        ad_webhook_delivery again;
        CHECK(ops->claim_deliveries(m, "c4", now + 5, 1000, 1, &again, &dn2, &e) == AD_OK && dn2 == 0);
        CHECK(ops->claim_deliveries(m, "c4", now + 10, 1000, 1, &again, &dn2, &e) == AD_OK && dn2 == 1 &&
              again.seq == dl[0].seq && again.attempts == 2);
        if (dn2 == 1)
            ad_webhook_delivery_cleanup(&again);
        ad_webhook_attempt log[8];
        int ln = 0;
        CHECK(ops->list_attempts(m, dl[0].webhook_id, 0, 8, log, &ln, &e) == AD_OK && ln >= 1 && log[0].attempt == 1 &&
              log[0].duration_ms == 3);
        for (int i = 0; i < 3; i++)
            ad_webhook_delivery_cleanup(&dl[i]);
        ad_webhook *wl = NULL;
        int wn = 0;
        CHECK(ops->list_webhooks(m, NULL, &wl, &wn, &e) == AD_OK && wn == 2 && strcmp(wl[0].id, ID1) == 0 &&
              strcmp(wl[1].events, "*") == 0);
        for (int i = 0; i < wn; i++)
            ad_webhook_cleanup(&wl[i]);
        free(wl);
        CHECK(ops->prune_webhooks(m, now + 1, 100, &e) == AD_OK);
        CHECK(ops->list_attempts(m, ID1, 0, 8, log, &ln, &e) == AD_OK && ln == 0);
        CHECK(ops->list_attempts(m, ID2, 0, 8, log, &ln, &e) == AD_OK && ln == 0);
        REQUIRE(ops->begin(m, &tx, &e) == AD_OK);
        CHECK(ops->delete_webhook(tx, ID2, &e) == AD_OK);
        CHECK(ops->commit(tx, &e) == AD_OK);
        CHECK(ops->webhook_subscribers(m, NULL, NULL, &subs, &e) == AD_OK && subs == 1);
        ops->close(m);
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
}
