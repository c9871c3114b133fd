/* test_integrations.c — what people script against (issue 28,
 * integrations.md sections 1-3) on the real server: webhooks delivered to
 * a receiver this test runs on loopback (failing the first attempts;
 * signatures checked with the secret; the event's data the object the API
 * shows), a kill -9 between a change and its delivery, the SSRF guard for
 * every address class at creation and on the connected address at
 * delivery, redirects not followed, two instances delivering on one
 * PostgreSQL store; the jobs list; and search: the list's filters against
 * a brute-force filter over a few hundred assets and random combinations,
 * paging through every page. sqlite, and postgres + radosgw with
 * ASSETD_TEST_STORE=postgres; ASSETD_INTEGRATIONS_SHORT (the ASan
 * server's run) keeps the webhook tests that need no model pass. */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"
#include "base/hmac.h"
#include "base/id.h"

static void setup(void)
{
    api_setup();
    /* deliverers look for due work every 100 ms, not every second */
    setenv("ASSETD_TEST_WEBHOOK_POLL_MS", "100", 1);
}

/* ------------------------------------------------------------ the receiver */

#define MAX_GOT 512

typedef struct {
    char event_id[48];
    char signature[160];
    char *body;
    int status; /* what it was answered */
    double at;  /* now_s() */
} got_request;

typedef struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t lock;
    int fail_first;       /* answer 500 to this many requests */
    const char *redirect; /* answer 302 to this Location instead */
    got_request got[MAX_GOT];
    int n;
    volatile int stop;
} receiver;

static const char *find_header(const char *head, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t l = strcspn(v, "\r\n");
            snprintf(out, len, "%.*s", (int)l, v);
            return out;
        }
    }
    return NULL;
}

static void *receive(void *arg)
{
    receiver *rc = arg;
    while (!rc->stop) {
        int c = accept(rc->fd, NULL, NULL);
        if (c < 0)
            continue;
        char *buf = NULL;
        size_t len = 0;
        char chunk[65536];
        ssize_t k;
        char *end = NULL;
        long want = -1;
        while ((k = read(c, chunk, sizeof chunk)) > 0) {
            grow(&buf, &len, chunk, (size_t)k);
            if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
                char cl[32];
                *end = '\0';
                want = find_header(buf, "Content-Length", cl, sizeof cl) ? atol(cl) : 0;
                *end = '\r';
            }
            if (end && (long)(len - (size_t)(end + 4 - buf)) >= want)
                break;
        }
        if (end && rc->n < MAX_GOT) {
            pthread_mutex_lock(&rc->lock);
            got_request *g = &rc->got[rc->n];
            *end = '\0';
            find_header(buf, "X-Assetd-Event-Id", g->event_id, sizeof g->event_id);
            find_header(buf, "X-Assetd-Signature", g->signature, sizeof g->signature);
            g->body = strdup(end + 4);
            g->at = now_s();
            g->status = rc->redirect ? 302 : rc->n < rc->fail_first ? 500 : 200;
            rc->n++;
            pthread_mutex_unlock(&rc->lock);
            char resp[512];
            int rl = snprintf(
                resp, sizeof resp, "HTTP/1.1 %d X\r\n%s%s%sContent-Length: 0\r\nConnection: close\r\n\r\n", g->status,
                rc->redirect ? "Location: " : "", rc->redirect ? rc->redirect : "", rc->redirect ? "\r\n" : "");
            if (write(c, resp, (size_t)rl) < 0) {
            }
        }
        free(buf);
        close(c);
    }
    return NULL;
}

/* Listen on loopback (port 0: any); the thread answers until stopped. */
static int receiver_start(receiver *rc, int port, int fail_first)
{
    memset(rc, 0, sizeof *rc);
    rc->fail_first = fail_first;
    rc->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(rc->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct timeval tv = {0, 200000}; /* accept wakes up to see stop */
    setsockopt(rc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(rc->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(rc->fd, 64) != 0 ||
        getsockname(rc->fd, (struct sockaddr *)&a, &al) != 0)
        return 0;
    rc->port = ntohs(a.sin_port);
    pthread_mutex_init(&rc->lock, NULL);
    return pthread_create(&rc->thread, NULL, receive, rc) == 0;
}

static void receiver_stop(receiver *rc)
{
    rc->stop = 1;
    pthread_join(rc->thread, NULL);
    close(rc->fd);
    for (int i = 0; i < rc->n; i++)
        free(rc->got[i].body);
    pthread_mutex_destroy(&rc->lock);
}

/* A port nothing listens on (bound, then closed). */
static int free_port(void)
{
    receiver r;
    if (!receiver_start(&r, 0, 0))
        return 0;
    int p = r.port;
    receiver_stop(&r);
    return p;
}

/* How many requests carried an event of type about subject (a substring
 * of the body), answered status (0: any); *first gets the first's index. */
static int count_got(receiver *rc, const char *type, const char *subject, int status, int *first)
{
    char t[64];
    snprintf(t, sizeof t, "\"type\":\"%s\"", type);
    int n = 0;
    pthread_mutex_lock(&rc->lock);
    for (int i = 0; i < rc->n; i++)
        if (strstr(rc->got[i].body, t) && (!subject || strstr(rc->got[i].body, subject)) &&
            (!status || rc->got[i].status == status)) {
            if (n++ == 0 && first)
                *first = i;
        }
    pthread_mutex_unlock(&rc->lock);
    return n;
}

static int wait_got(receiver *rc, const char *type, const char *subject, int status, int want, double seconds)
{
    for (double t0 = now_s(); now_s() - t0 < seconds; sleep_ms(50))
        if (count_got(rc, type, subject, status, NULL) >= want)
            return 1;
    return 0;
}

/* The signature header checks against the secret and the raw body. */
static int signature_ok(const got_request *g, const char *secret)
{
    long long t = 0;
    char v1[80] = "";
    if (sscanf(g->signature, "t=%lld,v1=%64s", &t, v1) != 2 || strlen(v1) != 64)
        return 0;
    char msg_t[32];
    int tl = snprintf(msg_t, sizeof msg_t, "%lld.", t);
    size_t bl = strlen(g->body);
    char *msg = malloc((size_t)tl + bl);
    memcpy(msg, msg_t, (size_t)tl);
    memcpy(msg + tl, g->body, bl);
    uint8_t mac[32];
    ad_hmac_sha256(secret, strlen(secret), msg, (size_t)tl + bl, mac);
    free(msg);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return strcmp(hex, v1) == 0 && llabs((long long)time(NULL) - t) < 300;
}

/* POST /api/v1/webhooks; *id and secret (may be NULL) from the answer */
static long create_webhook(const server *s, const char *body, char id[33], char secret[64], response *out)
{
    response r;
    const char *h[] = {"Content-Type: application/json", NULL};
    long st = request(s, "POST", "/api/v1/webhooks", h, 1, body, strlen(body), &r);
    if (id)
        snprintf(id, 33, "%s", st == 201 ? jstr(r.json, "id") : "");
    if (secret)
        snprintf(secret, 64, "%s", st == 201 ? jstr(r.json, "secret") : "");
    if (out)
        *out = r;
    else
        response_cleanup(&r);
    return st;
}

static int wait_job_status(const server *s, const char *job, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
    for (int i = 0; i < 600; i++) {
        response r;
        int done = get(s, path, &r) == 200 && strcmp(jstr(r.json, "status"), want) == 0;
        response_cleanup(&r);
        if (done)
            return 1;
        sleep_ms(50);
    }
    return 0;
}

/* A background save of asset id as conversion name: the job's id. */
static int save_conversion(const server *s, const char *id, const char *name, char job[64])
{
    char path[256];
    snprintf(path, sizeof path,
             "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=add_conversion&"
             "conversion_name=%s",
             id, name);
    response r;
    long st = get(s, path, &r);
    int ok = st == 200 && header(&r, "X-Job-Id", job, 64) != NULL;
    response_cleanup(&r);
    return ok;
}

/* ---------------------------------------------------------------- webhooks */

TEST(webhooks_deliver_signed_events_with_retries_and_log_them)
{
    receiver rc;
    REQUIRE(receiver_start(&rc, 0, 2));
    char dir[256], hook[33], secret[64], body[256], id[33];
    server srv;
    temp_dir(dir, sizeof dir, "hooks");
    const char *extra[] = {"--allow-private-urls", "on", NULL};
    REQUIRE(server_start(&srv, dir, extra));
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/hook\",\"events\":[\"*\"],\"description\":\"all\"}",
             rc.port);
    response r;
    REQUIRE(create_webhook(&srv, body, hook, secret, &r) == 201);
    static const char *const keys[] = {"id", "url", "events", "description", "secret", "created_at", NULL};
    CHECK(has_exact_keys(r.json, keys) && strncmp(secret, "whsec_", 6) == 0 && strlen(secret) == 38);
    response_cleanup(&r);
    /* listed without its secret */
    REQUIRE(get(&srv, "/api/v1/webhooks", &r) == 200);
    json_t *items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == 1 && json_object_get(json_array_get(items, 0), "secret") == NULL &&
          strcmp(jstr(json_array_get(items, 0), "id"), hook) == 0);
    response_cleanup(&r);

    double t_upload = now_s();
    REQUIRE(upload(&srv, "shoe.png", "image/png", astro_png, astro_len, id) == 201);
    /* two failures, then success: three requests with one event id */
    CHECKF(wait_got(&rc, "asset.created", id, 200, 1, 20), "%d requests", rc.n);
    int first = -1;
    CHECK(count_got(&rc, "asset.created", id, 0, &first) == 3);
    REQUIRE(first >= 0);
    got_request *g = &rc.got[first];
    CHECK(rc.got[first + 1].at - g->at < 5.0); /* the first retry within 5 s */
    CHECK(g->at - t_upload < 5.0);
    for (int i = first; i < first + 3 && i < rc.n; i++)
        CHECKF(strcmp(rc.got[i].event_id, g->event_id) == 0 && signature_ok(&rc.got[i], secret), "request %d", i);
    /* the body: id, type, created_at, and data: the asset as GET shows it */
    json_t *ev = json_loads(g->body, 0, NULL);
    static const char *const ev_keys[] = {"id", "type", "created_at", "data", NULL};
    CHECK(has_exact_keys(ev, ev_keys) && strcmp(jstr(ev, "id"), g->event_id) == 0 &&
          strncmp(g->event_id, "evt_", 4) == 0);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(json_equal(json_object_get(ev, "data"), r.json));
    response_cleanup(&r);
    json_decref(ev);

    /* a conversion saved in the background: conversion.created and
     * job.succeeded (with its result); then conversion.deleted, and a job
     * that fails (its asset deleted while it is held) */
    char job[64];
    REQUIRE(save_conversion(&srv, id, "cut", job));
    CHECK(wait_job_status(&srv, job, "succeeded"));
    CHECK(wait_got(&rc, "conversion.created", id, 200, 1, 20));
    CHECK(wait_got(&rc, "job.succeeded", job, 200, 1, 20));
    first = -1;
    count_got(&rc, "job.succeeded", job, 200, &first);
    if (first >= 0) {
        ev = json_loads(rc.got[first].body, 0, NULL);
        snprintf(path, sizeof path, "/api/v1/jobs/%s", job);
        REQUIRE(get(&srv, path, &r) == 200);
        CHECK(json_equal(json_object_get(ev, "data"), r.json) &&
              json_is_object(json_object_get(json_object_get(ev, "data"), "result")));
        response_cleanup(&r);
        json_decref(ev);
    }
    snprintf(path, sizeof path, "/api/v1/assets/%s/conversions/cut", id);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(wait_got(&rc, "conversion.deleted", "\"name\":\"cut\"", 200, 1, 20));
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(wait_got(&rc, "asset.deleted", id, 200, 1, 20));

    /* the log: newest first, each attempt with its status or error */
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/deliveries?limit=100", hook);
    REQUIRE(get(&srv, path, &r) == 200);
    items = json_object_get(r.json, "items");
    int fails = 0, oks = 0;
    size_t i;
    json_t *a;
    json_array_foreach(items, i, a)
    {
        json_int_t st = json_integer_value(json_object_get(a, "status"));
        fails += st == 500 && json_is_string(json_object_get(a, "error"));
        oks += st == 200 && json_is_null(json_object_get(a, "error"));
    }
    CHECKF(fails == 2 && oks >= 5, "%d failed, %d succeeded", fails, oks);
    json_t *last = json_array_get(items, json_array_size(items) - 1);
    CHECK(strcmp(jstr(last, "type"), "asset.created") == 0 &&
          json_integer_value(json_object_get(last, "attempt")) == 1);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/deliveries?limit=2", hook);
    REQUIRE(get(&srv, path, &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "items")) == 2 &&
          json_is_string(json_object_get(r.json, "next_cursor")));
    response_cleanup(&r);
    CHECK(metric(&srv, "assetd_webhook_deliveries_total{outcome=\"retried\"}") == 2);
    CHECK(metric(&srv, "assetd_webhook_deliveries_total{outcome=\"succeeded\"}") >= 5);
    CHECK(metric(&srv, "assetd_webhook_queue_depth") == 0);

    /* refusals name their field; an unknown webhook is a 404 */
    static const struct {
        const char *body, *param;
    } bad[] = {
        {"{\"events\":[\"*\"]}", "url"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":[]}", "events"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":[\"asset.renamed\"]}", "events"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":\"*\"}", "events"},
        {"{\"url\":\"http://127.0.0.1/\",\"events\":[\"*\"],\"secret\":\"x\"}", "secret"},
        {"{\"url\":\"ftp://127.0.0.1/\",\"events\":[\"*\"]}", "url"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        long st = create_webhook(&srv, bad[k].body, NULL, NULL, &r);
        CHECKF(st == 400 && is_error_shape(&r) && strcmp(err_param(&r), bad[k].param) == 0, "%s: %ld", bad[k].body, st);
        response_cleanup(&r);
    }
    REQUIRE(request(&srv, "DELETE", "/api/v1/webhooks/0123456789abcdef0123456789abcdef", NULL, 1, NULL, 0, &r) == 404);
    CHECK(strcmp(err_param(&r), "webhook_id") == 0);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/webhooks/%s", hook);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    /* nothing is sent to a deleted endpoint */
    int before = rc.n;
    REQUIRE(upload(&srv, "after.png", "image/png", astro_png, astro_len, id) == 201);
    sleep_ms(800);
    CHECK(rc.n == before);
    server_kill(&srv, SIGTERM);
    receiver_stop(&rc);
}

TEST(a_job_that_fails_is_an_event_too)
{
    if (getenv("ASSETD_INTEGRATIONS_SHORT"))
        SKIP("run with the plain server");
    receiver rc;
    REQUIRE(receiver_start(&rc, 0, 0));
    char dir[256], body[256], id[33], job[64];
    server srv;
    temp_dir(dir, sizeof dir, "hooks-fail");
    const char *extra[] = {"--allow-private-urls", "on", NULL};
    /* jobs are held 1.5 s under their lease: time to delete the asset */
    setenv("ASSETD_TEST_JOB_PAUSE_MS", "1500", 1);
    int started = server_start(&srv, dir, extra);
    unsetenv("ASSETD_TEST_JOB_PAUSE_MS");
    REQUIRE(started);
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/\",\"events\":[\"job.failed\"]}", rc.port);
    REQUIRE(create_webhook(&srv, body, NULL, NULL, NULL) == 201);
    REQUIRE(upload(&srv, "gone.png", "image/png", astro_png, astro_len, id) == 201);
    REQUIRE(save_conversion(&srv, id, "cut", job));
    char path[128];
    response r;
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(wait_job_status(&srv, job, "failed"));
    CHECK(wait_got(&rc, "job.failed", job, 200, 1, 20));
    /* subscribed to job.failed only */
    CHECK(count_got(&rc, "asset.created", NULL, 0, NULL) == 0 && count_got(&rc, "asset.deleted", NULL, 0, NULL) == 0);
    server_kill(&srv, SIGTERM);
    receiver_stop(&rc);
}

TEST(a_kill_9_between_a_change_and_its_delivery_loses_nothing)
{
    int port = free_port();
    REQUIRE(port > 0);
    char dir[256], body[256], id[33], secret[64];
    server srv;
    temp_dir(dir, sizeof dir, "hooks-kill");
    const char *extra[] = {"--allow-private-urls", "on", NULL};
    REQUIRE(server_start(&srv, dir, extra));
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/\",\"events\":[\"asset.created\"]}", port);
    REQUIRE(create_webhook(&srv, body, NULL, secret, NULL) == 201);
    /* nothing listens yet: the change is acknowledged, its delivery fails */
    REQUIRE(upload(&srv, "kept.png", "image/png", astro_png, astro_len, id) == 201);
    server_kill(&srv, SIGKILL);
    receiver rc;
    REQUIRE(receiver_start(&rc, port, 0));
    REQUIRE(server_start(&srv, dir, extra));
    CHECK(wait_got(&rc, "asset.created", id, 200, 1, 30));
    int first = -1;
    if (count_got(&rc, "asset.created", id, 200, &first) > 0)
        CHECK(signature_ok(&rc.got[first], secret));
    server_kill(&srv, SIGTERM);
    receiver_stop(&rc);
}

TEST(the_guard_refuses_private_addresses_at_creation_and_at_delivery)
{
    char dir[256];
    server srv;
    temp_dir(dir, sizeof dir, "hooks-guard");
    REQUIRE(server_start(&srv, dir, NULL));
    static const char *const refused[] = {
        "http://127.0.0.1/",                        /* loopback */
        "http://127.9.9.9:8080/x",                  /* loopback */
        "http://[::1]/",                            /* loopback */
        "http://localhost/",                        /* a name that resolves to loopback */
        "http://10.1.2.3/",                         /* private */
        "http://172.16.0.1/",                       /* private */
        "http://192.168.1.1/",                      /* private */
        "http://100.64.0.1/",                       /* carrier-grade NAT */
        "http://[fc00::1]/",                        /* unique local */
        "http://169.254.169.254/latest/meta-data/", /* metadata, link-local */
        "http://[fe80::1]/",                        /* link-local */
        "http://224.0.0.1/",                        /* multicast */
        "http://[ff02::1]/",                        /* multicast */
        "http://0.0.0.0/",                          /* unspecified */
        "http://[::ffff:127.0.0.1]/",               /* v4-mapped loopback */
        "http://255.255.255.255/",                  /* broadcast */
        "ftp://93.184.216.34/",                     /* not http(s) */
        "http://user:pw@93.184.216.34/",
        "http:///nohost",
    };
    response r;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char body[300];
        snprintf(body, sizeof body, "{\"url\":\"%s\",\"events\":[\"*\"]}", refused[i]);
        long st = create_webhook(&srv, body, NULL, NULL, &r);
        CHECKF(st == 400 && strcmp(err_param(&r), "url") == 0, "%s: %ld", refused[i], st);
        response_cleanup(&r);
    }
    /* a public address is accepted (nothing is sent at creation) */
    CHECK(create_webhook(&srv, "{\"url\":\"https://93.184.216.34/hook\",\"events\":[\"job.failed\"]}", NULL, NULL,
                         NULL) == 201);
    server_kill(&srv, SIGTERM);

    /* made while private addresses were allowed, then the server runs
     * without: the address connected to is refused at delivery */
    receiver rc;
    REQUIRE(receiver_start(&rc, 0, 0));
    const char *allow[] = {"--allow-private-urls", "on", NULL};
    REQUIRE(server_start(&srv, dir, allow));
    char body[200], hook[33], id[33];
    snprintf(body, sizeof body, "{\"url\":\"http://localhost:%d/\",\"events\":[\"asset.created\"]}", rc.port);
    REQUIRE(create_webhook(&srv, body, hook, NULL, NULL) == 201);
    server_kill(&srv, SIGTERM);
    REQUIRE(server_start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "x.png", "image/png", astro_png, astro_len, id) == 201);
    char path[160];
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/deliveries", hook);
    int refused_logged = 0;
    for (int i = 0; i < 100 && !refused_logged; i++, sleep_ms(50)) {
        REQUIRE(get(&srv, path, &r) == 200);
        json_t *a = json_array_get(json_object_get(r.json, "items"), 0);
        refused_logged = a && json_is_null(json_object_get(a, "status")) && strstr(jstr(a, "error"), "refused") &&
                         strstr(jstr(a, "error"), "loopback");
        response_cleanup(&r);
    }
    CHECK(refused_logged);
    CHECK(rc.n == 0);
    server_kill(&srv, SIGTERM);
    receiver_stop(&rc);

    /* a redirect is not followed: a 302 is a failed attempt */
    receiver target, redirector;
    REQUIRE(receiver_start(&target, 0, 0));
    REQUIRE(receiver_start(&redirector, 0, 0));
    char location[64];
    snprintf(location, sizeof location, "http://127.0.0.1:%d/", target.port);
    redirector.redirect = location;
    REQUIRE(server_start(&srv, dir, allow));
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/\",\"events\":[\"asset.deleted\"]}", redirector.port);
    REQUIRE(create_webhook(&srv, body, hook, NULL, NULL) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    REQUIRE(request(&srv, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(wait_got(&redirector, "asset.deleted", id, 302, 1, 10));
    snprintf(path, sizeof path, "/api/v1/webhooks/%s/deliveries", hook);
    REQUIRE(get(&srv, path, &r) == 200);
    json_t *a = json_array_get(json_object_get(r.json, "items"), 0);
    CHECK(a && json_integer_value(json_object_get(a, "status")) == 302 && strstr(jstr(a, "error"), "302"));
    response_cleanup(&r);
    sleep_ms(300);
    CHECK(target.n == 0);
    server_kill(&srv, SIGTERM);
    receiver_stop(&target);
    receiver_stop(&redirector);
}

TEST(two_instances_on_one_store_deliver_every_event)
{
    if (!on_postgres())
        SKIP("needs a store shared by two instances (ASSETD_TEST_STORE=postgres)");
    receiver rc;
    REQUIRE(receiver_start(&rc, 0, 0));
    char dir[256], dir2[256], body[200], name[40], nid[33];
    server a, b;
    temp_dir(dir, sizeof dir, "hooks-two-a");
    temp_dir(dir2, sizeof dir2, "hooks-two-b");
    /* two local folders, one store */
    ad_id_new(nid, NULL);
    snprintf(name, sizeof name, "w%.16s", nid);
    setenv("ASSETD_TEST_STORE_NAME", name, 1);
    const char *extra[] = {"--allow-private-urls", "on", NULL};
    int up = server_start(&a, dir, extra) && server_start(&b, dir2, extra);
    unsetenv("ASSETD_TEST_STORE_NAME");
    REQUIRE(up);
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/\",\"events\":[\"asset.created\"]}", rc.port);
    REQUIRE(create_webhook(&a, body, NULL, NULL, NULL) == 201);
    char ids[20][33];
    for (int i = 0; i < 20; i++)
        REQUIRE(upload(i % 2 ? &b : &a, "two.png", "image/png", astro_png, astro_len, ids[i]) == 201);
    for (int i = 0; i < 20; i++)
        CHECKF(wait_got(&rc, "asset.created", ids[i], 200, 1, 20), "asset %d", i);
    /* at least once, and an event keeps its id however often it comes */
    pthread_mutex_lock(&rc.lock);
    for (int i = 0; i < rc.n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(rc.got[i].event_id, rc.got[j].event_id) == 0)
                CHECK(strcmp(rc.got[i].body, rc.got[j].body) == 0);
    pthread_mutex_unlock(&rc.lock);
    server_kill(&a, SIGTERM);
    server_kill(&b, SIGTERM);
    receiver_stop(&rc);
}

/* ---------------------------------------------------------------- jobs list */

TEST(the_jobs_list_filters_and_pages_newest_first)
{
    if (getenv("ASSETD_INTEGRATIONS_SHORT"))
        SKIP("run with the plain server");
    char dir[256], ida[33], idb[33], jobs[4][64];
    server srv;
    temp_dir(dir, sizeof dir, "jobs");
    REQUIRE(server_start(&srv, dir, NULL));
    REQUIRE(upload(&srv, "a.png", "image/png", astro_png, astro_len, ida) == 201);
    REQUIRE(upload(&srv, "b.png", "image/png", astro_png, astro_len, idb) == 201);
    /* the same bytes: one model pass, the stored mask for the rest */
    REQUIRE(save_conversion(&srv, ida, "one", jobs[0]));
    REQUIRE(save_conversion(&srv, idb, "one", jobs[1]));
    REQUIRE(save_conversion(&srv, ida, "two", jobs[2]));
    REQUIRE(save_conversion(&srv, ida, "three", jobs[3]));
    for (int i = 0; i < 4; i++)
        CHECK(wait_job_status(&srv, jobs[i], "succeeded"));
    response r;
    REQUIRE(get(&srv, "/api/v1/jobs", &r) == 200);
    json_t *items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == 4 && json_is_null(json_object_get(r.json, "next_cursor")));
    for (int i = 0; i < 4; i++)
        CHECKF(strcmp(jstr(json_array_get(items, (size_t)i), "id"), jobs[3 - i]) == 0, "item %d", i);
    CHECK(strcmp(jstr(json_array_get(items, 0), "asset_id"), ida) == 0);
    response_cleanup(&r);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/jobs?asset_id=%s&status=succeeded&limit=2", ida);
    REQUIRE(get(&srv, path, &r) == 200);
    items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == 2 && strcmp(jstr(json_array_get(items, 0), "id"), jobs[3]) == 0 &&
          strcmp(jstr(json_array_get(items, 1), "id"), jobs[2]) == 0);
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%s", jstr(r.json, "next_cursor"));
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/jobs?asset_id=%s&status=succeeded&limit=2&cursor=%s", ida, cursor);
    REQUIRE(get(&srv, path, &r) == 200);
    items = json_object_get(r.json, "items");
    CHECK(json_array_size(items) == 1 && strcmp(jstr(json_array_get(items, 0), "id"), jobs[0]) == 0 &&
          json_is_null(json_object_get(r.json, "next_cursor")));
    response_cleanup(&r);
    REQUIRE(get(&srv, "/api/v1/jobs?status=failed", &r) == 200);
    CHECK(json_array_size(json_object_get(r.json, "items")) == 0);
    response_cleanup(&r);
    static const struct {
        const char *query, *param;
    } bad[] = {{"status=done", "status"},
               {"asset_id=xyz", "asset_id"},
               {"limit=0", "limit"},
               {"limit=101", "limit"},
               {"cursor=abc", "cursor"},
               {"kind=save", "kind"},
               {"status=queued&status=failed", "status"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/v1/jobs?%s", bad[i].query);
        long st = get(&srv, path, &r);
        CHECKF(st == 400 && strcmp(err_param(&r), bad[i].param) == 0, "%s: %ld", bad[i].query, st);
        response_cleanup(&r);
    }
    server_kill(&srv, SIGTERM);
}

/* ------------------------------------------------------------------ search */

typedef struct {
    char id[33];
    char filename[64];
    char content_type[32];
    char created_at[32];
    char source[33];
    json_t *custom;
    int has_cut;
    int64_t order; /* position in insertion order */
} model_asset;

/* The value at a dotted path of objects, or NULL. */
static json_t *at_path(json_t *obj, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = obj;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        if (!json_is_object(v) || (v = json_object_get(v, k)) == NULL)
            return NULL;
    return v;
}

/* The contract's equality, written out plainly. */
static int value_matches(json_t *v, const char *want)
{
    if (json_is_string(v))
        return strcmp(json_string_value(v), want) == 0;
    if (json_is_number(v)) {
        json_t *n = json_loads(want, JSON_DECODE_ANY, NULL);
        int eq = json_is_number(n) && json_number_value(n) == json_number_value(v);
        json_decref(n);
        return eq;
    }
    if (json_is_true(v))
        return strcmp(want, "true") == 0;
    if (json_is_false(v))
        return strcmp(want, "false") == 0;
    if (json_is_null(v))
        return strcmp(want, "null") == 0;
    return 0;
}

typedef struct {
    char cpath[2][32], cvalue[2][32];
    int ncustom;
    const char *prefix, *ctype, *after, *before, *source, *conversion;
    int oldest;
} filter;

static int model_matches(const model_asset *m, const filter *f)
{
    for (int i = 0; i < f->ncustom; i++) {
        json_t *v = at_path(m->custom, f->cpath[i]);
        if (v == NULL || !value_matches(v, f->cvalue[i]))
            return 0;
    }
    if (f->prefix && strncmp(m->filename, f->prefix, strlen(f->prefix)) != 0)
        return 0;
    if (f->ctype) {
        size_t l = strlen(f->ctype);
        if (f->ctype[l - 1] == '*' ? strncmp(m->content_type, f->ctype, l - 1) != 0
                                   : strcmp(m->content_type, f->ctype) != 0)
            return 0;
    }
    if (f->after && strcmp(m->created_at, f->after) < 0)
        return 0;
    if (f->before && strcmp(m->created_at, f->before) >= 0)
        return 0;
    if (f->source && strcmp(m->source, f->source) != 0)
        return 0;
    if (f->conversion && !m->has_cut)
        return 0;
    return 1;
}

static void url_escape(const char *s, char *out, size_t len)
{
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-_.~", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
    }
    out[o] = '\0';
}

static void filter_query(const filter *f, char *q, size_t len)
{
    char esc[128];
    q[0] = '\0';
#define ADD(...) snprintf(q + strlen(q), len - strlen(q), __VA_ARGS__)
    for (int i = 0; i < f->ncustom; i++) {
        url_escape(f->cvalue[i], esc, sizeof esc);
        ADD("&custom_data.%s=%s", f->cpath[i], esc);
    }
    if (f->prefix) {
        url_escape(f->prefix, esc, sizeof esc);
        ADD("&filename_prefix=%s", esc);
    }
    if (f->ctype) {
        url_escape(f->ctype, esc, sizeof esc);
        ADD("&content_type=%s", esc);
    }
    if (f->after) {
        url_escape(f->after, esc, sizeof esc);
        ADD("&created_after=%s", esc);
    }
    if (f->before) {
        url_escape(f->before, esc, sizeof esc);
        ADD("&created_before=%s", esc);
    }
    if (f->source)
        ADD("&source_asset_id=%s", f->source);
    if (f->conversion)
        ADD("&has_conversion=%s", f->conversion);
    if (f->oldest)
        ADD("&order=oldest");
#undef ADD
}

TEST(search_agrees_with_a_brute_force_filter_on_every_page)
{
    if (getenv("ASSETD_INTEGRATIONS_SHORT"))
        SKIP("run with the plain server");
    /* a few hundred on the embedded store; fewer through PostgreSQL + S3,
     * where each upload is a network round trip or three */
    const int N = on_postgres() ? 120 : 240;
    char dir[256];
    server srv;
    temp_dir(dir, sizeof dir, "search");
    REQUIRE(server_start(&srv, dir, NULL));
    static model_asset m[240 + 4];
    int n = 0;
    char *jpeg = NULL;
    size_t jpeg_len = 0;
    load_test_photo("grace_hopper.jpg", &jpeg, &jpeg_len);
    REQUIRE(jpeg != NULL);
    static const char *const names[] = {"shoe", "shirt", "shoe-red", "hat", "Shoe"};
    static const char *const skus[] = {"X1", "X2", "800", "x1", "true"};
    unsigned seed = 28;
    char path[512], doc[400];
    response r;
    for (; n < N; n++) {
        model_asset *a = &m[n];
        int jpg = rand_r(&seed) % 3 == 0;
        snprintf(a->filename, sizeof a->filename, "%s-%03d.%s", names[rand_r(&seed) % 5], n, jpg ? "jpg" : "png");
        REQUIRE(upload(&srv, a->filename, jpg ? "image/jpeg" : "image/png", jpg ? jpeg : astro_png,
                       jpg ? jpeg_len : astro_len, a->id) == 201);
        /* typed values: strings, numbers written several ways, booleans, null,
         * nested objects, a missing key */
        static const char *const widths[] = {"800", "800.0", "\"800\"", "1200", "8e2", "null"};
        int k = rand_r(&seed) % 7;
        snprintf(doc, sizeof doc, "{\"sku\":\"%s\",\"dims\":{\"w\":%s,\"h\":%d},\"sale\":%s%s}",
                 skus[rand_r(&seed) % 5], k < 6 ? widths[k] : "[800]", 600 + (rand_r(&seed) % 3) * 100,
                 rand_r(&seed) % 2 ? "true" : "false", rand_r(&seed) % 4 ? ",\"tag\":\"new\"" : "");
        snprintf(path, sizeof path, "/api/v1/assets/%.32s/custom_data", a->id);
        REQUIRE(request(&srv, "PUT", path, NULL, 1, doc, strlen(doc), &r) == 200);
        response_cleanup(&r);
        a->custom = json_loads(doc, 0, NULL);
        a->order = n;
    }
    /* lineage and conversions: children of one asset, conversions on some
     * (the same bytes: one model pass, the rest from the stored mask) */
    char job[64];
    for (int i = 0; i < 6; i++) {
        /* three conversions; three children of asset 5 */
        int src = i < 3 ? 3 + i * 11 : 5;
        snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove?mode=get_image_and_save&disposition=%s",
                 m[src].id, i < 3 ? "add_conversion&conversion_name=cut" : "add_new_asset");
        REQUIRE(get(&srv, path, &r) == 200);
        REQUIRE(header(&r, "X-Job-Id", job, sizeof job) != NULL);
        response_cleanup(&r);
        REQUIRE(wait_job_status(&srv, job, "succeeded"));
        if (i < 3)
            m[src].has_cut = 1;
    }
    /* everything as listed (the brute force's input): created_at,
     * content_type, lineage of the new ones */
    char cursor[32] = "";
    int total = 0;
    for (;;) {
        snprintf(path, sizeof path, "/api/v1/assets?order=oldest&limit=100%s%s", cursor[0] ? "&cursor=" : "", cursor);
        REQUIRE(get(&srv, path, &r) == 200);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(r.json, "items"), i, it)
        {
            model_asset *a = NULL;
            for (int k = 0; k < n && !a; k++)
                if (strcmp(m[k].id, jstr(it, "id")) == 0)
                    a = &m[k];
            if (a == NULL && n < N + 4) { /* a child saved as a new asset */
                a = &m[n++];
                snprintf(a->id, sizeof a->id, "%s", jstr(it, "id"));
                snprintf(a->filename, sizeof a->filename, "%s", jstr(it, "filename"));
                a->custom = json_deep_copy(json_object_get(it, "custom_data"));
                a->order = n;
            }
            REQUIRE(a != NULL);
            snprintf(a->created_at, sizeof a->created_at, "%s", jstr(it, "created_at"));
            snprintf(a->content_type, sizeof a->content_type, "%s", jstr(it, "content_type"));
            snprintf(a->source, sizeof a->source, "%s", jstr(it, "source_asset_id"));
            total++;
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", json_is_string(next) ? json_string_value(next) : "");
        response_cleanup(&r);
        if (!cursor[0])
            break;
    }
    REQUIRE(total == n && n == N + 3);
    /* random combinations, paged through */
    static const char *const cpaths[] = {"sku", "dims.w", "dims.h", "sale", "tag", "dims", "missing"};
    static const char *const cvalues[] = {"X1",    "800",  "800.0", "8e2", "1200", "700",     "true",
                                          "false", "null", "new",   "x1",  "X2",   "\"800\"", "0800"};
    static const char *const prefixes[] = {"shoe", "shoe-", "Shoe", "sh", "hat-00", "zzz"};
    static const char *const ctypes[] = {"image/png", "image/jpeg", "image/*", "video/*", "image/webp"};
    int combos = 0, nonempty = 0;
    for (int c = 0; c < 70; c++) {
        filter f = {0};
        f.ncustom = rand_r(&seed) % 3;
        for (int i = 0; i < f.ncustom; i++) {
            snprintf(f.cpath[i], sizeof f.cpath[i], "%s", cpaths[rand_r(&seed) % 7]);
            snprintf(f.cvalue[i], sizeof f.cvalue[i], "%s", cvalues[rand_r(&seed) % 14]);
            if (i == 1 && strcmp(f.cpath[0], f.cpath[1]) == 0)
                f.ncustom = 1; /* a path once per query */
        }
        if (rand_r(&seed) % 3 == 0)
            f.prefix = prefixes[rand_r(&seed) % 6];
        if (rand_r(&seed) % 3 == 0)
            f.ctype = ctypes[rand_r(&seed) % 5];
        if (rand_r(&seed) % 4 == 0)
            f.after = m[rand_r(&seed) % n].created_at;
        if (rand_r(&seed) % 4 == 0)
            f.before = m[rand_r(&seed) % n].created_at;
        if (rand_r(&seed) % 8 == 0)
            f.source = rand_r(&seed) % 2 ? m[5].id : m[6].id;
        if (rand_r(&seed) % 6 == 0)
            f.conversion = "cut";
        f.oldest = rand_r(&seed) % 2;
        char q[600];
        filter_query(&f, q, sizeof q);
        /* expected: the model's matches in the order asked */
        int want[240 + 4], nw = 0;
        for (int k = 0; k < n; k++) {
            int at = f.oldest ? k : n - 1 - k;
            if (model_matches(&m[at], &f))
                want[nw++] = at;
        }
        int limit = 1 + rand_r(&seed) % 9, got = 0, ok = 1, pages = 0;
        cursor[0] = '\0';
        do {
            snprintf(path, sizeof path, "/api/v1/assets?limit=%d%s%s%s", limit, q, cursor[0] ? "&cursor=" : "", cursor);
            long st = get(&srv, path, &r);
            if (st != 200) {
                CHECKF(0, "%s: %ld %s", path, st, r.body ? r.body : "");
                response_cleanup(&r);
                ok = 0;
                break;
            }
            size_t i;
            json_t *it;
            json_array_foreach(json_object_get(r.json, "items"), i, it)
            {
                if (got >= nw || strcmp(jstr(it, "id"), m[want[got]].id) != 0)
                    ok = 0;
                got++;
            }
            json_t *next = json_object_get(r.json, "next_cursor");
            snprintf(cursor, sizeof cursor, "%s", json_is_string(next) ? json_string_value(next) : "");
            response_cleanup(&r);
            pages++;
        } while (cursor[0] && ok && pages < 300);
        CHECKF(ok && got == nw, "?%s (limit %d): %d of %d", q, limit, got, nw);
        combos++;
        nonempty += nw > 0;
    }
    CHECKF(nonempty >= 15, "only %d of %d combinations matched anything", nonempty, combos);
    /* malformed filters: a 400 naming each */
    static const struct {
        const char *query, *param;
    } bad[] = {
        {"custom_data.=1", "custom_data."},
        {"custom_data.a..b=1", "custom_data.a..b"},
        {"custom_data.sku=1&custom_data.sku=2", "custom_data.sku"},
        {"filename_prefix=a/b", "filename_prefix"},
        {"content_type=image", "content_type"},
        {"content_type=*/*", "content_type"},
        {"created_after=yesterday", "created_after"},
        {"created_before=2026-02-30T00:00:00Z", "created_before"},
        {"created_after=2026-12-07T10:00:00", "created_after"},
        {"source_asset_id=xyz", "source_asset_id"},
        {"has_conversion=bad!", "has_conversion"},
        {"order=random", "order"},
        {"sku=X1", "sku"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/v1/assets?%s", bad[i].query);
        long st = get(&srv, path, &r);
        CHECKF(st == 400 && is_error_shape(&r) && strcmp(err_param(&r), bad[i].param) == 0, "%s: %ld %s", bad[i].query,
               st, r.body ? r.body : "");
        response_cleanup(&r);
    }
    /* an offset in the time is the same instant */
    snprintf(path, sizeof path, "/api/v1/assets?created_after=2026-12-07T10:00:00%%2B01:00&limit=1");
    CHECK(get(&srv, path, &r) == 200);
    response_cleanup(&r);
    for (int k = 0; k < n; k++)
        json_decref(m[k].custom);
    free(jpeg);
    server_kill(&srv, SIGTERM);
}
