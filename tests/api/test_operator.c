/* test_operator.c — a newcomer's first minutes and an operator's first day
 * (issue 15), against the real binary: the quick start's banner follows
 * the flags in force and its commands work when pasted; every request gets
 * an id and an access-log line (never the key); keys are listed and revoked
 * from the command line and a revoked key is refused at once; CORS for
 * browser clients; If-Range on downloads. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include "api/client.h"

static const char *bin(void) { return getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd"; }

/* The server's log from offset on, into a new buffer. */
static char *log_since(const server *s, size_t from)
{
    char *text = NULL;
    size_t len = 0;
    if (!read_file(s->log, &text, &len))
        return strdup("");
    char *out = strdup(len > from ? text + from : "");
    free(text);
    return out;
}

static size_t log_size(const server *s)
{
    struct stat st;
    return stat(s->log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Items 1 and 2: the banner names the address, data dir and key actually
 * in force (here none of them the defaults), and its commands, pasted into
 * a shell, upload a photo and fetch its cut-out. */
TEST(the_quick_start_banner_is_true_and_its_commands_work)
{
    char dir[256], work[300], cmd[1400];
    temp_dir(dir, sizeof dir, "quick");
    snprintf(work, sizeof work, "%s-work", dir);
    mkdir(work, 0700);
    /* a free port: one the kernel hands out and takes back */
    char probe_dir[256];
    temp_dir(probe_dir, sizeof probe_dir, "probe");
    server probe;
    REQUIRE(server_start(&probe, probe_dir, NULL));
    int port = probe.port;
    server_kill(&probe, SIGTERM);
    snprintf(cmd, sizeof cmd,
             "cd %s && (env -u ASSETD_API_KEY timeout 120 %s serve --welcome 1 --listen 127.0.0.1:%d --data-dir %s "
             "> banner.txt 2> serve.log & echo $! > pid)",
             work, bin(), port, dir);
    REQUIRE(system(cmd) == 0);
    char path[600], *banner = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/banner.txt", work);
    for (int i = 0; i < 200 && !(read_file(path, &banner, &len) && strstr(banner, "wrote cutout.png")); i++) {
        free(banner);
        banner = NULL;
        sleep_ms(100);
    }
    REQUIRE(banner != NULL && strstr(banner, "wrote cutout.png"));
    char want[300];
    snprintf(want, sizeof want, "http://127.0.0.1:%d", port);
    CHECKF(strstr(banner, want) != NULL, "banner: %s", banner);
    CHECK(strstr(banner, dir) != NULL);
    CHECK(strstr(banner, "8080") == NULL && strstr(banner, "./data") == NULL);
    /* the key shown is the one kept in the data dir, and it works */
    char keyfile[600], *key = NULL;
    snprintf(keyfile, sizeof keyfile, "%s/api-key", dir);
    REQUIRE(read_file(keyfile, &key, &len));
    key[strcspn(key, "\n")] = '\0';
    CHECK(strstr(banner, key) != NULL);
    struct stat st;
    CHECK(stat(keyfile, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* the console's address is the one listened on, and it serves the page */
    snprintf(want, sizeof want, "web console: http://127.0.0.1:%d/ ", port);
    CHECKF(strstr(banner, want) != NULL, "banner: %s", banner);
    snprintf(cmd, sizeof cmd, "curl -sf http://127.0.0.1:%d/ | grep -q '<title>assetd console</title>'", port);
    CHECK(system(cmd) == 0);
    /* paste the commands, as printed */
    char *from = strstr(banner, "  KEY="), *to = strstr(banner, "wrote cutout.png\"");
    REQUIRE(from && to);
    to += strlen("wrote cutout.png\"");
    char script[600];
    snprintf(script, sizeof script, "%s/paste.sh", work);
    FILE *f = fopen(script, "w");
    REQUIRE(f != NULL);
    fprintf(f, "set -e\n%.*s\n", (int)(to - from), from);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && bash paste.sh > paste.out 2>&1", work);
    CHECK(system(cmd) == 0);
    char png[600], *data = NULL;
    snprintf(png, sizeof png, "%s/cutout.png", work);
    CHECK(read_file(png, &data, &len) && len > 1000 && memcmp(data, "\x89PNG", 4) == 0 && (unsigned char)data[25] == 6);
    free(data);
    /* the ready line says how many keys there are, not "no key given" */
    char logp[600], *log = NULL;
    snprintf(logp, sizeof logp, "%s/serve.log", work);
    REQUIRE(read_file(logp, &log, &len));
    CHECKF(strstr(log, "api_keys=1") != NULL && strstr(log, "no API key") == NULL, "%s", log);
    CHECK(strstr(log, key) == NULL); /* never in a log */
    free(log);
    snprintf(cmd, sizeof cmd, "kill $(cat %s/pid)", work);
    CHECK(system(cmd) == 0);
    free(banner);
    free(key);
}

/* Issue 25: a server started with no key at all says so loudly on
 * stderr, with the command that makes one for its own data dir. */
TEST(serve_without_any_key_says_how_to_make_one)
{
    if (on_postgres())
        return; /* the embedded store's data dir is the one named */
    char dir[256], cmd[2000], logp[300];
    temp_dir(dir, sizeof dir, "nokey");
    snprintf(logp, sizeof logp, "%s.log", dir); /* beside the data dir, which serve makes */
    const char *bin = getenv("ASSETD_BIN") ? getenv("ASSETD_BIN") : "build/assetd";
    snprintf(cmd, sizeof cmd,
             "env -u ASSETD_API_KEY %s serve --listen 127.0.0.1:0 --data-dir %s > %s 2>&1 & pid=$!; "
             "for i in $(seq 600); do grep -q 'ready model' %s && break; sleep 0.1; done; kill $pid; wait $pid",
             bin, dir, logp, logp);
    CHECK(system(cmd) >= 0);
    char *log = NULL;
    size_t len = 0;
    REQUIRE(read_file(logp, &log, &len));
    char want[600];
    snprintf(want, sizeof want, "--data-dir %s keys create", dir);
    CHECKF(strstr(log, "api_keys=0") && strstr(log, "no API key") && strstr(log, want) &&
               strstr(log, "ASSETD_API_KEY") && strstr(log, "--welcome 1"),
           "%s", log);
    free(log);
}

TEST(every_request_has_an_id_and_an_access_log_line_without_the_key)
{
    char dir[256], id[33], rid[80], path[160];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    size_t from = log_size(&s);
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    response r;
    const char *mine[] = {"X-Request-Id: trace-42.a_b", NULL};
    snprintf(path, sizeof path, "/api/v1/assets/%s", id);
    REQUIRE(request(&s, "GET", path, mine, 1, NULL, 0, &r) == 200);
    CHECK(header(&r, "X-Request-Id", rid, sizeof rid) && strcmp(rid, "trace-42.a_b") == 0);
    response_cleanup(&r);
    const char *bad[] = {"X-Request-Id: <script>", NULL};
    REQUIRE(request(&s, "GET", path, bad, 1, NULL, 0, &r) == 200);
    CHECK(header(&r, "X-Request-Id", rid, sizeof rid) && strlen(rid) == 16); /* not echoed: a new one */
    response_cleanup(&r);
    CHECK(request(&s, "GET", "/api/v1/assets", NULL, 0, NULL, 0, &r) == 401); /* no key */
    CHECK(header(&r, "X-Request-Id", rid, sizeof rid) != NULL);
    char unauth_id[80];
    snprintf(unauth_id, sizeof unauth_id, "%s", rid);
    response_cleanup(&r);
    CHECK(request(&s, "DELETE", path, NULL, 1, NULL, 0, &r) == 204);
    response_cleanup(&r);
    CHECK(get(&s, "/nowhere", &r) == 404 && header(&r, "X-Request-Id", rid, sizeof rid));
    response_cleanup(&r);
    sleep_ms(200);
    char *log = log_since(&s, from);
    CHECKF(strstr(log, "method=POST route=/api/v1/assets status=201") != NULL, "%s", log);
    CHECK(strstr(log, "request=trace-42.a_b method=GET route=/api/v1/assets/:asset_id status=200") != NULL);
    CHECK(strstr(log, "method=DELETE route=/api/v1/assets/:asset_id status=204") != NULL);
    char want[160];
    snprintf(want, sizeof want, "request=%s method=GET route=/api/v1/assets status=401", unauth_id);
    CHECKF(strstr(log, want) != NULL, "no line for the 401 %s", unauth_id);
    CHECK(strstr(log, API_KEY) == NULL && strstr(log, id) == NULL); /* templates, not ids; never the key */
    free(log);
    server_kill(&s, SIGTERM);
}

static int run_cli(const char *dir, const char *args, char *out, size_t len)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s keys %s --data-dir %s 2>&1", bin(), args, dir);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(keys_are_listed_labelled_and_revoked_at_once)
{
    char dir[256], out[4096], key[128], kid[17] = "";
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    /* made beside the running server */
    REQUIRE(run_cli(dir, "create --label ci-runner", out, sizeof out) == 0);
    const char *k = strstr(out, "adk_");
    REQUIRE(k != NULL && sscanf(k, "%127s", key) == 1);
    char auth[200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *h[] = {auth, NULL};
    response r;
    CHECK(request(&s, "GET", "/api/v1/assets", h, 0, NULL, 0, &r) == 200);
    response_cleanup(&r);
    sleep_ms(100);
    REQUIRE(run_cli(dir, "list", out, sizeof out) == 0);
    char *line = strstr(out, "ci-runner");
    REQUIRE(line != NULL);
    while (line > out && line[-1] != '\n')
        line--;
    REQUIRE(sscanf(line, "%16s", kid) == 1);
    CHECKF(strstr(line, "never") == NULL, "last use not recorded: %s", line);
    CHECK(strstr(out, key) == NULL);                       /* never the key itself */
    REQUIRE(run_cli(dir, "revoke", out, sizeof out) != 0); /* an id is needed */
    char args[80];
    snprintf(args, sizeof args, "revoke %s", kid);
    REQUIRE(run_cli(dir, args, out, sizeof out) == 0);
    CHECK(request(&s, "GET", "/api/v1/assets", h, 0, NULL, 0, &r) == 401); /* at once, no restart */
    response_cleanup(&r);
    CHECK(get(&s, "/api/v1/assets", &r) == 200); /* the other key still works */
    response_cleanup(&r);
    REQUIRE(run_cli(dir, "revoke 0123456789abcdef", out, sizeof out) != 0);
    CHECK(strstr(out, "no key") != NULL);
    server_kill(&s, SIGTERM);
}

TEST(cors_is_off_by_default_and_answers_preflights_when_on)
{
    char dir[256], dir2[256], v[300];
    temp_dir(dir, sizeof dir, "data");
    temp_dir(dir2, sizeof dir2, "data");
    server off, on;
    REQUIRE(server_start(&off, dir, NULL));
    const char *args[] = {"--cors-origins", "https://app.example, https://admin.example", NULL};
    REQUIRE(server_start(&on, dir2, args));
    const char *pre[] = {"Origin: https://app.example", "Access-Control-Request-Method: DELETE",
                         "Access-Control-Request-Headers: authorization", NULL};
    response r;
    CHECK(request(&off, "OPTIONS", "/api/v1/assets/0123456789abcdef0123456789abcdef", pre, 0, NULL, 0, &r) == 403);
    CHECK(!header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    response_cleanup(&r);
    const char *origin[] = {"Origin: https://app.example", NULL};
    CHECK(request(&off, "GET", "/api/v1/assets", origin, 1, NULL, 0, &r) == 200);
    CHECK(!header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    response_cleanup(&r);
    /* on: a preflight needs no key */
    CHECK(request(&on, "OPTIONS", "/api/v1/assets/0123456789abcdef0123456789abcdef", pre, 0, NULL, 0, &r) == 204);
    CHECK(header(&r, "Access-Control-Allow-Methods", v, sizeof v) && strstr(v, "DELETE") && strstr(v, "GET"));
    CHECK(header(&r, "Access-Control-Allow-Headers", v, sizeof v) && strstr(v, "Authorization"));
    response_cleanup(&r);
    CHECK(request(&on, "GET", "/api/v1/assets", origin, 1, NULL, 0, &r) == 200);
    CHECK(header(&r, "Access-Control-Allow-Origin", v, sizeof v) && strcmp(v, "https://app.example") == 0);
    CHECK(header(&r, "Access-Control-Expose-Headers", v, sizeof v) && strstr(v, "X-Job-Id"));
    response_cleanup(&r);
    const char *evil[] = {"Origin: https://evil.example", "Access-Control-Request-Method: GET", NULL};
    CHECK(request(&on, "OPTIONS", "/api/v1/assets", evil, 0, NULL, 0, &r) == 403);
    response_cleanup(&r);
    CHECK(request(&on, "GET", "/api/v1/assets", evil, 0, NULL, 0, &r) == 401); /* a key is still needed */
    CHECK(!header(&r, "Access-Control-Allow-Origin", v, sizeof v));
    response_cleanup(&r);
    server_kill(&off, SIGTERM);
    server_kill(&on, SIGTERM);
}

/* Item 6: a resumed download of a replaced conversion must not splice old
 * and new bytes; and curl -OJ gets a name. */
TEST(if_range_keeps_resumed_downloads_whole)
{
    char dir[256], id[33], path[300], etag[120], v[300];
    temp_dir(dir, sizeof dir, "data");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    REQUIRE(upload(&s, "a.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", id);
    response r;
    REQUIRE(get(&s, path, &r) == 200 && header(&r, "ETag", etag, sizeof etag));
    CHECK(header(&r, "Content-Disposition", v, sizeof v) && strstr(v, "filename=\"a.png\""));
    response_cleanup(&r);
    char ir[200];
    snprintf(ir, sizeof ir, "If-Range: %s", etag);
    const char *same[] = {"Range: bytes=100-199", ir, NULL};
    CHECK(request(&s, "GET", path, same, 1, NULL, 0, &r) == 206 && r.len == 100);
    response_cleanup(&r);
    const char *stale[] = {"Range: bytes=100-199", "If-Range: \"0000\"", NULL};
    CHECK(request(&s, "GET", path, stale, 1, NULL, 0, &r) == 200 && r.len == astro_len);
    response_cleanup(&r);
    server_kill(&s, SIGTERM);
}
