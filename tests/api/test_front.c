/* test_front.c — one assetd behind nginx as its TLS front, with the very
 * configuration docs/operate.md gives (packaging/nginx-assetd-tls.conf):
 * a self-signed certificate made here with openssl, curl over HTTPS that
 * verifies it, HTTP/2 to the client. An upload, a cut-out, a large upload
 * streamed through, a body over assetd's limit answered with assetd's own
 * 413 JSON (not an nginx page), /metrics refused from outside while the
 * instance still answers it directly, and a delivery URL minted for the
 * front and cached there. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "api/client.h"

#define HOST "assets.test"

typedef struct {
    char dir[300];
    int port;
    char cert[360];
} front;

/* A free port: bind one, take its number, let it go. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* nginx with packaging/nginx-assetd-tls.conf in front of s, on port, with
 * a new self-signed certificate for HOST. */
static int front_start(front *f, const server *s, int port)
{
    char conf[400], key[360], cmd[1600], *text = NULL;
    size_t len = 0;
    temp_dir(f->dir, sizeof f->dir, "front");
    mkdir(f->dir, 0777);
    chmod(f->dir, 0777);
    snprintf(f->cert, sizeof f->cert, "%s/cert.pem", f->dir);
    snprintf(key, sizeof key, "%s/key.pem", f->dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" HOST
             " -addext subjectAltName=DNS:" HOST " -keyout '%s' -out '%s' 2>'%s/openssl.log'",
             key, f->cert, f->dir);
    if (system(cmd) != 0) {
        printf("    openssl could not make a certificate\n");
        return 0;
    }
    if (!read_file("packaging/nginx-assetd-tls.conf", &text, &len))
        return 0;
    f->port = port;
    char listen[64], upstream[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", f->port);
    snprintf(upstream, sizeof upstream, "127.0.0.1:%d", s->port);
    snprintf(conf, sizeof conf, "%s/nginx.conf", f->dir);
    FILE *out = fopen(conf, "w");
    if (out == NULL) {
        free(text);
        return 0;
    }
    const struct {
        const char *name, *value;
    } fill[] = {{"@DIR@", f->dir}, {"@LISTEN@", listen}, {"@UPSTREAM@", upstream}, {"@CERT@", f->cert}, {"@KEY@", key}};
    for (const char *p = text; *p;) {
        size_t i = 0, n = sizeof fill / sizeof fill[0];
        while (i < n && strncmp(p, fill[i].name, strlen(fill[i].name)) != 0)
            i++;
        if (i < n) {
            fputs(fill[i].value, out);
            p += strlen(fill[i].name);
        } else {
            fputc(*p++, out);
        }
    }
    if (geteuid() == 0)
        fputs("user root;\n", out); /* its workers read the test's files */
    fclose(out);
    free(text);
    snprintf(cmd, sizeof cmd, "nginx -p '%s' -c '%s' 2>'%s/start.log'", f->dir, conf, f->dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "sed 's/^/    /' '%s/start.log'", f->dir);
        if (system(cmd) != 0)
            printf("    nginx did not start\n");
        return 0;
    }
    return 1;
}

static void front_stop(const front *f)
{
    char cmd[800];
    snprintf(cmd, sizeof cmd, "nginx -p '%s' -c '%s/nginx.conf' -s stop 2>/dev/null", f->dir, f->dir);
    if (system(cmd) != 0)
        printf("    nginx did not stop\n");
}

/* One request to the front over HTTPS, the certificate verified against
 * the one made for it; *h2: whether HTTP/2 was spoken. */
static long tls_request(const front *f, const char *method, const char *path, const char *const *hdrs, int auth,
                        const void *body, size_t len, response *r, int *h2)
{
    CURL *c = curl_handle();
    char url[2048], resolve[96];
    struct curl_slist *list = NULL, *dns = NULL;
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "https://" HOST ":%d%s", f->port, path);
    snprintf(resolve, sizeof resolve, HOST ":%d:127.0.0.1", f->port);
    dns = curl_slist_append(dns, resolve);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, dns);
    curl_easy_setopt(c, CURLOPT_CAINFO, f->cert);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, client_timeout_ms);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (auth)
        list = curl_slist_append(list, "Authorization: Bearer " API_KEY);
    for (int i = 0; hdrs && hdrs[i]; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
        printf("    %s %s: %s\n", method, path, curl_easy_strerror(rc));
        curl_easy_setopt(c, CURLOPT_RESOLVE, NULL);
        curl_slist_free_all(dns);
        return r->status = 0;
    }
    long version = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
    curl_easy_setopt(c, CURLOPT_RESOLVE, NULL);
    curl_slist_free_all(dns);
    if (h2)
        *h2 = version == CURL_HTTP_VERSION_2_0;
    char ct[128];
    if (r->body && header(r, "Content-Type", ct, sizeof ct) && strcmp(ct, "application/json") == 0)
        r->json = json_loadb(r->body, r->len, 0, NULL);
    return r->status;
}

/* Bytes no codec shrinks, the same on every run. */
static char *noise(size_t len)
{
    char *b = malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; b && i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (char)(x >> 24);
    }
    return b;
}

TEST(tls_in_front_serves_the_api_over_http2_with_assetds_own_limits)
{
    char dir[256], id[33], big_id[33], path[1024], public_url[96];
    server s;
    front f;
    response r;
    int h2 = 0;
    temp_dir(dir, sizeof dir, "behind");
    /* the front's URL is what minted delivery URLs start with */
    int port = free_port();
    snprintf(public_url, sizeof public_url, "https://" HOST ":%d", port);
    const char *const args[] = {"--max-body", "50331648", "--public-url", public_url, NULL};
    REQUIRE(server_start(&s, dir, args));
    if (!front_start(&f, &s, port)) {
        server_kill(&s, SIGTERM);
        REQUIRE(!"nginx started with packaging/nginx-assetd-tls.conf");
    }
    int up = 0;
    for (int i = 0; i < 50 && !up; i++, sleep_ms(100)) {
        up = tls_request(&f, "GET", "/healthz", NULL, 0, NULL, 0, &r, &h2) == 200;
        response_cleanup(&r);
    }
    REQUIRE(up);
    CHECKF(h2, "the front spoke HTTP/1.1 to an HTTP/2 client");

    /* an upload and a cut-out, through TLS */
    const char *png[] = {"Content-Type: image/png", NULL};
    REQUIRE(tls_request(&f, "POST", "/api/v1/assets?filename=astro.png", png, 1, astro_png, astro_len, &r, &h2) == 201);
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    CHECK(h2 && strlen(id) == 32);
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/addons/bg_remove", id);
    int w = 0, hgt = 0, ctype = 0;
    CHECK(tls_request(&f, "GET", path, NULL, 1, NULL, 0, &r, &h2) == 200 && png_info(&r, &w, &hgt, &ctype) &&
          ctype == 6 && w > 0);
    response_cleanup(&r);

    /* 40 MiB streamed through (nginx buffers nothing) and read back whole */
    const size_t big = 40u << 20;
    char *bytes = noise(big);
    REQUIRE(bytes);
    const char *bin[] = {"Content-Type: application/octet-stream", NULL};
    CHECK(tls_request(&f, "POST", "/api/v1/assets?filename=big.bin", bin, 1, bytes, big, &r, &h2) == 201);
    snprintf(big_id, sizeof big_id, "%s", r.json ? jstr(r.json, "id") : "");
    response_cleanup(&r);
    snprintf(path, sizeof path, "/api/v1/assets/%s/file", big_id);
    CHECK(tls_request(&f, "GET", path, NULL, 1, NULL, 0, &r, &h2) == 200 && r.len == big &&
          memcmp(r.body, bytes, big) == 0);
    response_cleanup(&r);
    free(bytes);

    /* over assetd's --max-body (48 MiB here): assetd's 413, in JSON */
    const size_t over = 52u << 20;
    bytes = noise(over);
    REQUIRE(bytes);
    long st = tls_request(&f, "POST", "/api/v1/assets?filename=over.bin", bin, 1, bytes, over, &r, &h2);
    CHECKF(st == 413 && is_error_shape(&r), "%ld %.80s", st, r.body ? r.body : "");
    response_cleanup(&r);
    free(bytes);

    /* /metrics: refused at the front, answered by the instance itself */
    CHECK(tls_request(&f, "GET", "/metrics", NULL, 0, NULL, 0, &r, &h2) == 403);
    response_cleanup(&r);
    CHECK(request(&s, "GET", "/metrics", NULL, 0, NULL, 0, &r) == 200 && strstr(r.body, "assetd_http_requests_total"));
    response_cleanup(&r);

    /* a delivery URL names the front, and the front keeps its bytes */
    const char *json[] = {"Content-Type: application/json", NULL};
    const char *mint = "{\"options\":{\"w\":120,\"format\":\"webp\"}}";
    snprintf(path, sizeof path, "/api/v1/assets/%s/delivery_urls", id);
    REQUIRE(tls_request(&f, "POST", path, json, 1, mint, strlen(mint), &r, &h2) == 201);
    const char *url = jstr(r.json, "url");
    CHECKF(strncmp(url, public_url, strlen(public_url)) == 0, "%s", url);
    snprintf(path, sizeof path, "%s", jstr(r.json, "path"));
    response_cleanup(&r);
    char cache[32] = "";
    CHECK(tls_request(&f, "GET", path, NULL, 0, NULL, 0, &r, &h2) == 200 && header(&r, "X-Cache-Status", cache, 32) &&
          strcmp(cache, "MISS") == 0);
    response_cleanup(&r);
    CHECK(tls_request(&f, "GET", path, NULL, 0, NULL, 0, &r, &h2) == 200 && header(&r, "X-Cache-Status", cache, 32) &&
          strcmp(cache, "HIT") == 0);
    response_cleanup(&r);

    front_stop(&f);
    server_kill(&s, SIGTERM);
}
