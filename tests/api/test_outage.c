/* test_outage.c — a dependency that stops answering (SIGSTOP: the worst
 * kind, a connection that takes bytes and never answers) on the postgres +
 * s3 store, with the real PostgreSQL and radosgw scripts/test.sh starts:
 * the first call fails within the store's deadline with a JSON 503 and
 * Retry-After, the next ones (uploads, reads, cut-outs) at once (the
 * breaker), /healthz names the
 * dependency, reads that need only the other dependency keep working
 * (blobs from the local copies while the object store is out), and when
 * the dependency answers again the server recovers by itself, without a
 * restart, with nothing acknowledged lost. (Killed servers: the scale-out
 * suite kills PostgreSQL and radosgw under load and restarts them.) */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include "api/client.h"

static int servers_here(void)
{
    return on_postgres() && getenv("ASSETD_TEST_PG_TMP") && getenv("ASSETD_TEST_CEPH_DIR");
}

/* The pid a command prints first, or -1. */
static pid_t pid_from(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    int pid = -1;
    if (p && fscanf(p, "%d", &pid) != 1)
        pid = -1;
    if (p)
        pclose(p);
    return pid;
}

/* Stop or continue a process and its children (a postmaster's backends). */
static void signal_tree(pid_t pid, int sig)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "pkill -%s -P %d; true", sig == SIGSTOP ? "STOP" : "CONT", (int)pid);
    if (sig == SIGSTOP) {
        kill(pid, sig);
        if (system(cmd) != 0)
            printf("    pkill failed\n");
    } else {
        if (system(cmd) != 0)
            printf("    pkill failed\n");
        kill(pid, sig);
    }
}

/* A call while the dependency is out: status and seconds. */
typedef struct {
    long status;
    double secs;
    char param[32];
} outcome;

static outcome timed_upload(const server *s, char *id)
{
    outcome o = {0};
    double t0 = now_s();
    char path[128], dummy[33];
    snprintf(path, sizeof path, "/api/v1/assets?filename=o.png");
    const char *h[] = {"Content-Type: image/png", NULL};
    response r;
    o.status = request(s, "POST", path, h, 1, astro_png, astro_len, &r);
    o.secs = now_s() - t0;
    snprintf(id ? id : dummy, 33, "%s", o.status == 201 ? jstr(r.json, "id") : "");
    if (o.status == 503 && is_error_shape(&r) && header(&r, "Retry-After", o.param, sizeof o.param))
        snprintf(o.param, sizeof o.param, "retry-after");
    response_cleanup(&r);
    return o;
}

static outcome timed_get(const server *s, const char *path)
{
    outcome o = {0};
    double t0 = now_s();
    response r;
    o.status = get(s, path, &r);
    o.secs = now_s() - t0;
    if (o.status == 503 && is_error_shape(&r) && header(&r, "Retry-After", o.param, sizeof o.param))
        snprintf(o.param, sizeof o.param, "retry-after");
    response_cleanup(&r);
    return o;
}

/* The first call of an outage refused (503 JSON, Retry-After) within the
 * 2 s deadline and its slack, the n after it at once (the breaker). */
static void refused_within_the_deadline_then_at_once(const outcome *first, const outcome *next, int n, const char *what)
{
    CHECKF(first->status == 503 && strcmp(first->param, "retry-after") == 0 && first->secs < 4.0,
           "first %s: %ld after %.2f s", what, first->status, first->secs);
    double worst = 0;
    int refused = 0;
    for (int i = 0; i < n; i++) {
        refused += next[i].status == 503 && strcmp(next[i].param, "retry-after") == 0;
        worst = next[i].secs > worst ? next[i].secs : worst;
    }
    CHECKF(refused == n && worst < 0.5, "%d of %d refused at once, the slowest in %.3f s", refused, n, worst);
}

static const char *health_param(const server *s, char *buf, size_t len)
{
    response r;
    buf[0] = '\0';
    if (request(s, "GET", "/healthz", NULL, 0, NULL, 0, &r) == 503 && is_error_shape(&r))
        snprintf(buf, len, "%s", err_param(&r) ? err_param(&r) : "");
    else if (r.status == 200)
        snprintf(buf, len, "ok");
    response_cleanup(&r);
    return buf;
}

TEST(an_object_store_that_stops_answering_is_refused_fast_and_comes_back_by_itself)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the servers scripts/test.sh starts");
    char dir[256], a[33], c[33], path[160], hp[32];
    server s;
    temp_dir(dir, sizeof dir, "outage-s3");
    const char *const args[] = {"--store-timeout", "2", NULL};
    REQUIRE(server_start(&s, dir, args));
    REQUIRE(timed_upload(&s, a).status == 201);
    pid_t rgw = pid_from("pgrep -o -x radosgw");
    REQUIRE(rgw > 0);

    kill(rgw, SIGSTOP);
    outcome first = timed_upload(&s, NULL);
    outcome next[5];
    for (int i = 0; i < 5; i++)
        next[i] = timed_upload(&s, NULL);
    /* what is local still answers: the row from the database, the bytes
     * from the local copy the upload left */
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", a);
    response r;
    long local = get(&s, path, &r);
    int same = local == 200 && r.len == astro_len && memcmp(r.body, astro_png, astro_len) == 0;
    response_cleanup(&r);
    /* a cut-out answers too: from the local copy (its mask not stored
     * while the store is out), or refused in JSON; within 10 s either way */
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", a);
    outcome cut = timed_get(&s, path);
    health_param(&s, hp, sizeof hp);
    kill(rgw, SIGCONT);

    refused_within_the_deadline_then_at_once(&first, next, 5, "upload");
    CHECKF(same, "a blob read from the local copy during the outage: %ld", local);
    printf("    a cut-out during the outage: %ld in %.2f s\n", cut.status, cut.secs);
    CHECKF((cut.status == 200 || (cut.status == 503 && strcmp(cut.param, "retry-after") == 0)) && cut.secs < 10,
           "a cut-out: %ld after %.2f s", cut.status, cut.secs);
    CHECKF(strcmp(hp, "object_store") == 0, "/healthz named '%s'", hp);
    /* back without a restart, within seconds of the store */
    int back = 0;
    for (int i = 0; i < 50 && !back; i++) {
        back = timed_upload(&s, c).status == 201;
        if (!back)
            sleep_ms(200);
    }
    CHECK(back);
    CHECK(strcmp(health_param(&s, hp, sizeof hp), "ok") == 0);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", c);
    CHECK(get(&s, path, &r) == 200 && r.len == astro_len);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}

TEST(a_database_that_stops_answering_is_refused_fast_and_comes_back_by_itself)
{
    if (!servers_here())
        SKIP("needs ASSETD_TEST_STORE=postgres and the servers scripts/test.sh starts");
    char dir[256], a[33], c[33], path[160], hp[32], pid_file[400];
    server s;
    temp_dir(dir, sizeof dir, "outage-pg");
    const char *const args[] = {"--store-timeout", "2", NULL};
    REQUIRE(server_start(&s, dir, args));
    REQUIRE(timed_upload(&s, a).status == 201);
    snprintf(pid_file, sizeof pid_file, "head -1 '%s/data/postmaster.pid'", getenv("ASSETD_TEST_PG_TMP"));
    pid_t post = pid_from(pid_file);
    REQUIRE(post > 0);
    snprintf(path, sizeof path, "/api/v1/assets/%s", a);

    signal_tree(post, SIGSTOP);
    outcome first = timed_get(&s, path);
    outcome next[5];
    for (int i = 0; i < 5; i++)
        next[i] = timed_get(&s, path);
    outcome up = timed_upload(&s, NULL);
    char cut_path[200];
    snprintf(cut_path, sizeof cut_path, "%s/addons/bg_remove", path);
    outcome cut = timed_get(&s, cut_path);
    health_param(&s, hp, sizeof hp);
    signal_tree(post, SIGCONT);

    refused_within_the_deadline_then_at_once(&first, next, 5, "read");
    CHECKF(up.status == 503 && up.secs < 0.5, "an upload: %ld after %.2f s", up.status, up.secs);
    CHECKF(cut.status == 503 && strcmp(cut.param, "retry-after") == 0 && cut.secs < 0.5, "a cut-out: %ld after %.2f s",
           cut.status, cut.secs);
    CHECKF(strcmp(hp, "database") == 0, "/healthz named '%s'", hp);
    int back = 0;
    for (int i = 0; i < 50 && !back; i++) {
        back = timed_get(&s, path).status == 200;
        if (!back)
            sleep_ms(200);
    }
    CHECK(back);
    CHECK(timed_upload(&s, c).status == 201);
    CHECK(strcmp(health_param(&s, hp, sizeof hp), "ok") == 0);
    /* nothing acknowledged was lost, and nothing refused was half-made */
    response r;
    CHECK(get(&s, "/api/v1/assets?limit=100", &r) == 200);
    json_t *items = json_object_get(r.json, "items");
    int found = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *id = jstr(json_array_get(items, i), "id");
        found += strcmp(id, a) == 0 || strcmp(id, c) == 0;
    }
    CHECKF(found == 2 && json_array_size(items) == 2, "%d of 2 acknowledged, %zu listed", found,
           json_array_size(items));
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}
