/* test_removebg.c — the remove.bg drop-in (issue 29, integrations.md
 * section 5) against the real server: the npm client remove.bg 1.3.0 run
 * unmodified (tests/removebg/test_client.js: file, base64 and URL inputs,
 * sizes, crop with a margin, bg_color, channels, a wrong key, an invalid
 * option), then raw HTTP for the rest: the JSON and image answers and
 * their headers, X-Api-Key and Bearer, format=zip, the margin cap, every
 * option refused by name, the account call, a rate limit's 429, and the
 * URL fetcher's guard (each address class, a name resolving to loopback, a
 * redirect to a private address, an oversized and a slow body) with an
 * image server this test runs on 127.0.0.2 (the one network the server is
 * told to trust). */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"
#include "image/image.h"

static server srv;
static int img_port, lo_port;
static char *photo;
static size_t photo_len;

/* ---- an image server on loopback: the photo, a large body, a slow one,
 * a redirect to 127.0.0.1 */

typedef struct {
    int fd;
} conn_arg;

static void send_all(int fd, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL); /* the server may hang up first (/big) */
        if (k <= 0)
            return;
        p = (const char *)p + k, n -= (size_t)k;
    }
}

static void *serve_one(void *arg)
{
    int fd = ((conn_arg *)arg)->fd;
    free(arg);
    char req[2048];
    ssize_t n = read(fd, req, sizeof req - 1);
    if (n <= 0) {
        close(fd);
        return NULL;
    }
    req[n] = '\0';
    char head[256];
    if (strncmp(req, "GET /photo.jpg", 14) == 0) {
        int l = snprintf(head, sizeof head,
                         "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n",
                         photo_len);
        send_all(fd, head, (size_t)l);
        send_all(fd, photo, photo_len);
    } else if (strncmp(req, "GET /big", 8) == 0) { /* over the server's 400 KB limit, no length given */
        send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 38);
        char chunk[16384];
        memset(chunk, 7, sizeof chunk);
        for (int i = 0; i < 64; i++)
            send_all(fd, chunk, sizeof chunk);
    } else if (strncmp(req, "GET /slow", 9) == 0) { /* a byte every 300 ms */
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n", 59);
        for (int i = 0; i < 20; i++) {
            if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
                break;
            sleep_ms(300);
        }
    } else if (strncmp(req, "GET /redirect", 13) == 0) {
        int l = snprintf(head, sizeof head,
                         "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/photo.jpg\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n",
                         lo_port);
        send_all(fd, head, (size_t)l);
    } else {
        send_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 63);
    }
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        conn_arg *a = malloc(sizeof *a);
        a->fd = c;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_one, a) == 0)
            pthread_detach(t);
        else
            close(c), free(a);
    }
    return NULL;
}

static int listen_on(const char *ip, int *port)
{
    static int fds[4];
    static int nfds;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        return 0;
    *port = ntohs(a.sin_port);
    fds[nfds] = fd;
    pthread_t t;
    return pthread_create(&t, NULL, accept_loop, &fds[nfds++]) == 0 && pthread_detach(t) == 0;
}

static void setup(void)
{
    api_setup();
    /* the drop-in's shape, options and geometry are tested, not the mask's
     * detail: the server runs at the fast preset's prepared side */
    setenv("ASSETD_MODEL_SIDE", "640", 0);
    signal(SIGPIPE, SIG_IGN); /* the image server writes to clients that hang up */
    load_test_photo("grace_hopper.jpg", &photo, &photo_len);
    if (!listen_on("127.0.0.2", &img_port) || !listen_on("127.0.0.1", &lo_port)) {
        printf("cannot listen on 127.0.0.2\n");
        exit(1);
    }
    char dir[256];
    temp_dir(dir, sizeof dir, "removebg");
    const char *extra[] = {"--allow-private-urls", "127.0.0.2", "--max-body", "400000", "--fetch-timeout", "2", NULL};
    if (!server_start(&srv, dir, extra)) {
        printf("the server did not start\n");
        exit(1);
    }
}

/* POST /v1.0/removebg with body (may be NULL) of content type ctype, the
 * key as X-Api-Key (NULL: none), accept (NULL: none) */
static long post(const server *s, const char *query, const char *ctype, const char *body, size_t len, const char *key,
                 const char *accept, response *r)
{
    char path[600], ct[200], kh[200], ah[200];
    snprintf(path, sizeof path, "/v1.0/removebg%s%s", query ? "?" : "", query ? query : "");
    const char *h[4] = {NULL};
    int n = 0;
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        h[n++] = ct;
    }
    if (key) {
        snprintf(kh, sizeof kh, "X-Api-Key: %s", key);
        h[n++] = kh;
    }
    if (accept) {
        snprintf(ah, sizeof ah, "Accept: %s", accept);
        h[n++] = ah;
    }
    return request(s, "POST", path, h, 0, body ? body : "", body ? len : 0, r);
}

/* a multipart form: the photo as part `file_part` (NULL: none) and
 * name=value fields */
static char *form(const char *file_part, const char *const *fields, size_t *len)
{
    size_t cap = photo_len + 4096;
    char *b = malloc(cap);
    size_t n = 0;
    for (int i = 0; fields && fields[i]; i += 2)
        n += (size_t)snprintf(b + n, cap - n, "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                              fields[i], fields[i + 1]);
    if (file_part) {
        n += (size_t)snprintf(b + n, cap - n,
                              "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"p.jpg\"\r\n"
                              "Content-Type: image/jpeg\r\n\r\n",
                              file_part);
        memcpy(b + n, photo, photo_len);
        n += photo_len;
        n += (size_t)snprintf(b + n, cap - n, "\r\n");
    }
    n += (size_t)snprintf(b + n, cap - n, "--XyZ--\r\n");
    *len = n;
    return b;
}

#define MP "multipart/form-data; boundary=XyZ"

/* remove.bg's error shape, with its code */
static int rb_error(const response *r, const char *code)
{
    json_t *e = json_array_get(json_object_get(r->json, "errors"), 0);
    return json_array_size(json_object_get(r->json, "errors")) == 1 && jstr(e, "title")[0] && jstr(e, "detail")[0] &&
           (code == NULL || strcmp(jstr(e, "code"), code) == 0);
}

static const char *rb_detail(const response *r)
{
    return jstr(json_array_get(json_object_get(r->json, "errors"), 0), "detail");
}

TEST(the_npm_client_works_unmodified)
{
    const char *root = getenv("ASSETD_REMOVEBG_CLIENT") ? getenv("ASSETD_REMOVEBG_CLIENT") : "deps/removebg";
    char mods[600], cmd[4096], out[300];
    snprintf(mods, sizeof mods, "%s/node_modules/remove.bg/package.json", root);
    if (access(mods, R_OK) != 0)
        SKIP("the remove.bg client is not installed (scripts/setup.sh --test)");
    temp_dir(out, sizeof out, "rbclient");
    mkdir(out, 0700);
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    snprintf(cmd, sizeof cmd,
             "NODE_PATH='%s/node_modules' ASSETD_REMOVEBG_URL=http://127.0.0.1:%d/v1.0/removebg ASSETD_API_KEY='%s' "
             "ASSETD_PHOTO='%s/grace_hopper.jpg' ASSETD_PHOTO_URL=http://127.0.0.2:%d/photo.jpg ASSETD_OUT_DIR='%s' "
             "timeout 300 node -r ./tests/removebg/redirect.js tests/removebg/test_client.js",
             root, srv.port, API_KEY, td, img_port, out);
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL);
    char line[1024];
    int oks = 0, fails = 0;
    while (fgets(line, sizeof line, p)) {
        fputs("    client: ", stdout);
        fputs(line, stdout);
        oks += strncmp(line, "ok ", 3) == 0;
        fails += strncmp(line, "FAIL ", 5) == 0;
    }
    int rc = pclose(p);
    CHECKF(rc == 0 && fails == 0 && oks == 8, "exit %d, %d ok, %d failed", rc, oks, fails);
}

TEST(answers_json_or_the_image_with_remove_bg_headers)
{
    size_t len;
    const char *fields[] = {"size", "full", "type", "car", NULL};
    char *body = form("image_file", fields, &len);
    response r;
    /* no Accept: the image; the key as X-Api-Key */
    REQUIRE(post(&srv, NULL, MP, body, len, API_KEY, NULL, &r) == 200);
    char v[64];
    CHECK(header(&r, "Content-Type", v, sizeof v) && strcmp(v, "image/png") == 0);
    CHECK(header(&r, "X-Width", v, sizeof v) && strcmp(v, "512") == 0);
    CHECK(header(&r, "X-Height", v, sizeof v) && strcmp(v, "600") == 0);
    CHECK(header(&r, "X-Type", v, sizeof v) && strcmp(v, "car") == 0);
    CHECK(header(&r, "X-Credits-Charged", v, sizeof v) && strcmp(v, "0") == 0);
    CHECK(header(&r, "X-Foreground-Width", v, sizeof v) && atoi(v) > 100);
    CHECK(header(&r, "X-Foreground-Top", v, sizeof v) && header(&r, "X-Foreground-Left", v, sizeof v) &&
          header(&r, "X-Foreground-Height", v, sizeof v));
    CHECK(header(&r, "X-RateLimit-Limit", v, sizeof v) == NULL); /* no limit set */
    int w, h, c;
    CHECK(png_info(&r, &w, &h, &c) && w == 512 && h == 600 && c == 6);
    size_t png_len = r.len;
    char *png = malloc(r.len);
    memcpy(png, r.body, r.len);
    response_cleanup(&r);
    /* Accept: application/json, Bearer: the same image in result_b64 */
    const char *hb[] = {"Content-Type: " MP, "Accept: application/json", NULL};
    REQUIRE(request(&srv, "POST", "/v1.0/removebg", hb, 1, body, len, &r) == 200);
    json_t *d = json_object_get(r.json, "data");
    static const char *const keys[] = {"result_b64",       "foreground_top",    "foreground_left",
                                       "foreground_width", "foreground_height", NULL};
    CHECK(has_exact_keys(d, keys));
    CHECK(json_integer_value(json_object_get(d, "foreground_width")) > 100);
    const char *b64 = jstr(d, "result_b64");
    /* the PNG, base64: its first bytes */
    CHECK(strncmp(b64, "iVBORw0KGgo", 11) == 0 && strlen(b64) >= png_len * 4 / 3);
    response_cleanup(&r);
    free(png);
    free(body);
}

TEST(format_zip_packs_a_colour_jpeg_and_an_alpha_png)
{
    size_t len;
    const char *fields[] = {"format", "zip", "size", "full", NULL};
    char *body = form("image_file", fields, &len);
    response r;
    REQUIRE(post(&srv, NULL, MP, body, len, API_KEY, NULL, &r) == 200);
    char v[64];
    CHECK(header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/zip") == 0);
    /* stored entries: a local header, its name, then the data */
    const unsigned char *z = (const unsigned char *)r.body;
    REQUIRE(r.len > 100 && memcmp(z, "PK\x03\x04", 4) == 0);
    int n1 = z[26] | z[27] << 8, size1 = z[18] | z[19] << 8 | z[20] << 16 | z[21] << 24;
    CHECK(n1 == 9 && memcmp(z + 30, "color.jpg", 9) == 0 && z[30 + 9] == 0xff && z[31 + 9] == 0xd8);
    const unsigned char *e2 = z + 30 + n1 + size1;
    REQUIRE(e2 + 40 < z + r.len && memcmp(e2, "PK\x03\x04", 4) == 0);
    CHECK(memcmp(e2 + 30, "alpha.png", 9) == 0 && memcmp(e2 + 39, "\x89PNG", 4) == 0);
    /* and the central directory's end */
    CHECK(memcmp(z + r.len - 22, "PK\x05\x06", 4) == 0 && z[r.len - 22 + 10] == 2);
    response_cleanup(&r);
    free(body);
}

TEST(crop_margin_is_capped_as_remove_bg_caps_it)
{
    int sizes[4][2];
    static const char *const margins[] = {"50%25", "90%25", "500px", "900px"};
    for (int i = 0; i < 4; i++) {
        char q[120];
        snprintf(q, sizeof q, "size=full&crop=true&crop_margin=%s", margins[i]);
        size_t len;
        char *body = form("image_file", NULL, &len);
        response r;
        REQUIRE(post(&srv, q, MP, body, len, API_KEY, NULL, &r) == 200);
        CHECK(png_info(&r, &sizes[i][0], &sizes[i][1], &(int){0}));
        response_cleanup(&r);
        free(body);
    }
    CHECKF(sizes[0][0] == sizes[1][0] && sizes[0][1] == sizes[1][1], "50%%: %dx%d, 90%%: %dx%d", sizes[0][0],
           sizes[0][1], sizes[1][0], sizes[1][1]);
    CHECKF(sizes[2][0] == sizes[3][0] && sizes[2][1] == sizes[3][1], "500px: %dx%d, 900px: %dx%d", sizes[2][0],
           sizes[2][1], sizes[3][0], sizes[3][1]);
}

TEST(json_and_form_bodies_and_query_options)
{
    char *b64 = NULL;
    size_t b64_len = 0;
    /* base64 by hand (the client test covers its encoder) */
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    b64 = malloc(photo_len * 4 / 3 + 8);
    for (size_t i = 0; i < photo_len; i += 3) {
        unsigned v = (unsigned)(unsigned char)photo[i] << 16 |
                     (i + 1 < photo_len ? (unsigned)(unsigned char)photo[i + 1] << 8 : 0) |
                     (i + 2 < photo_len ? (unsigned char)photo[i + 2] : 0);
        b64[b64_len++] = al[v >> 18 & 63];
        b64[b64_len++] = al[v >> 12 & 63];
        b64[b64_len++] = i + 1 < photo_len ? al[v >> 6 & 63] : '=';
        b64[b64_len++] = i + 2 < photo_len ? al[v & 63] : '=';
    }
    b64[b64_len] = '\0';
    /* JSON, with the options as JSON values (a boolean crop) */
    size_t cap = b64_len + 256;
    char *json = malloc(cap);
    size_t jl = (size_t)snprintf(json, cap,
                                 "{\"image_file_b64\":\"%s\",\"size\":\"small\",\"crop\":false,"
                                 "\"channels\":\"alpha\"}",
                                 b64);
    response r;
    REQUIRE(post(&srv, NULL, "application/json", json, jl, API_KEY, NULL, &r) == 200);
    int w, h, c;
    CHECK(png_info(&r, &w, &h, &c) && c == 0 && w * h <= 250000 && w * h > 200000);
    response_cleanup(&r);
    /* a form body, the size in the query */
    char *formb = malloc(b64_len * 3 + 64);
    size_t fl = (size_t)sprintf(formb, "image_file_b64=");
    for (size_t i = 0; i < b64_len; i++)
        fl += (size_t)(b64[i] == '+' || b64[i] == '/' || b64[i] == '=' ? sprintf(formb + fl, "%%%02X", b64[i])
                                                                       : sprintf(formb + fl, "%c", b64[i]));
    REQUIRE(post(&srv, "size=full&format=jpg", "application/x-www-form-urlencoded", formb, fl, API_KEY, NULL, &r) ==
            200);
    char v[64];
    CHECK(header(&r, "Content-Type", v, sizeof v) && strcmp(v, "image/jpeg") == 0 && header(&r, "X-Width", v, 64) &&
          strcmp(v, "512") == 0);
    response_cleanup(&r);
    free(formb);
    free(json);
    free(b64);
}

TEST(every_refusal_names_its_parameter_in_remove_bg_shape)
{
    static const struct {
        const char *query;
        const char *part; /* the image part, or NULL */
        const char *code, *mention;
    } rows[] = {
        {"size=huge", "image_file", "invalid_parameter", "size"},
        {"type=spaceship", "image_file", "invalid_parameter", "type"},
        {"format=gif", "image_file", "invalid_parameter", "format"},
        {"channels=rgb", "image_file", "invalid_parameter", "channels"},
        {"bg_color=nocolour", "image_file", "invalid_parameter", "bg_color"},
        {"crop=maybe", "image_file", "invalid_parameter", "crop"},
        {"crop=true&crop_margin=lots", "image_file", "invalid_parameter", "crop_margin"},
        {"scale=5%25", "image_file", "invalid_parameter", "scale"},
        {"position=left", "image_file", "invalid_parameter", "position"},
        {"roi=60%25%200%25%2050%25%20100%25", "image_file", "invalid_parameter", "roi"},
        {"roi=1%202%203", "image_file", "invalid_parameter", "roi"},
        {"semitransparency=maybe", "image_file", "invalid_parameter", "semitransparency"},
        {"add_shadow=true", "image_file", "invalid_parameter", "add_shadow"},
        {"bg_image_url=http%3A%2F%2Fexample.com%2Fbg.jpg", "image_file", "invalid_parameter", "bg_image_url"},
        {"format=zip&channels=alpha", "image_file", "invalid_parameter", "zip"},
        {"shadow=on", "image_file", "invalid_parameter", "shadow"},
        {"size=full&size=preview", "image_file", "invalid_parameter", "more than once"},
        {NULL, NULL, "missing_source", "image"},
        {"image_url=http%3A%2F%2F127.0.0.2%2Fphoto.jpg", "image_file", "multiple_sources", "one image"},
        {"image_file_b64=%2A%2A%2A", NULL, "invalid_parameter", "base64"},
        {NULL, "bg_image_file", "unsupported_parameter", "bg_image_file"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t len;
        char *body = form(rows[i].part, NULL, &len);
        response r;
        long st = post(&srv, rows[i].query, MP, body, len, API_KEY, "application/json", &r);
        CHECKF(st == 400 && rb_error(&r, rows[i].code) && strstr(rb_detail(&r), rows[i].mention), "row %zu: %ld %s", i,
               st, r.body ? r.body : "");
        response_cleanup(&r);
        free(body);
    }
    response r;
    /* a body of another type; no key; a wrong key */
    CHECK(post(&srv, NULL, "text/plain", "hello", 5, API_KEY, NULL, &r) == 400 && rb_error(&r, "invalid_body"));
    response_cleanup(&r);
    CHECK(post(&srv, "size=full", MP, "", 0, NULL, NULL, &r) == 403 && rb_error(&r, "auth_failed"));
    response_cleanup(&r);
    CHECK(post(&srv, "size=full", MP, "", 0, "wrong-key-0123456789abcdef", NULL, &r) == 403 &&
          rb_error(&r, "auth_failed"));
    response_cleanup(&r);
    /* a file that is not an image */
    const char *fields[] = {"size", "full", NULL};
    size_t len;
    char *body = form(NULL, fields, &len);
    char *bad = malloc(len + 400);
    size_t bl = (size_t)snprintf(bad, len + 400,
                                 "--XyZ\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"x.jpg\"\r\n"
                                 "\r\nnot an image at all\r\n--XyZ--\r\n");
    CHECK(post(&srv, NULL, MP, bad, bl, API_KEY, NULL, &r) == 400 && rb_error(&r, NULL));
    response_cleanup(&r);
    free(bad);
    free(body);
}

/* The result's alpha: its box (alpha > 0) and whether any is soft. */
static int alpha_of(const response *r, int *w, int *h, int box[4], int *soft)
{
    ad_pixmap pm = {0};
    ad_err e = AD_ERR_INIT;
    if (ad_image_decode_raw(r->body, r->len, &pm, &e) != AD_OK || pm.bands != 4)
        return 0;
    *w = pm.width, *h = pm.height, *soft = 0;
    box[0] = pm.width, box[1] = pm.height, box[2] = -1, box[3] = -1;
    for (int y = 0; y < pm.height; y++)
        for (int x = 0; x < pm.width; x++) {
            int a = pm.data[((size_t)y * pm.width + x) * 4 + 3];
            *soft |= a > 0 && a < 255;
            if (a > 0) {
                box[0] = x < box[0] ? x : box[0], box[1] = y < box[1] ? y : box[1];
                box[2] = x > box[2] ? x : box[2], box[3] = y > box[3] ? y : box[3];
            }
        }
    ad_pixmap_cleanup(&pm);
    return 1;
}

TEST(roi_scale_position_and_semitransparency_are_honoured)
{
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_image_startup(NULL, &e) == AD_OK);
    static const char *const queries[] = {
        "size=full",                                    /* the reference: the whole subject, soft edges */
        "size=full&roi=0%25%200%25%2050%25%20100%25",   /* the left half only */
        "size=full&scale=50%25",                        /* half the canvas, centred */
        "size=full&scale=50%25&position=0%25%20100%25", /* at the bottom left */
        "size=full&semitransparency=false",             /* hard edges */
    };
    int w[5], h[5], box[5][4], soft[5];
    for (int i = 0; i < 5; i++) {
        size_t len;
        char *body = form("image_file", NULL, &len);
        response r;
        REQUIRE(post(&srv, queries[i], MP, body, len, API_KEY, NULL, &r) == 200);
        CHECKF(alpha_of(&r, &w[i], &h[i], box[i], &soft[i]), "%s", queries[i]);
        response_cleanup(&r);
        free(body);
        CHECK(w[i] == 512 && h[i] == 600);
    }
    int bw = box[0][2] - box[0][0] + 1, bh = box[0][3] - box[0][1] + 1;
    CHECK(soft[0] && bw > 300 && bh > 400);
    CHECKF(box[1][2] < 256 && box[1][0] == box[0][0], "roi: %d..%d", box[1][0], box[1][2]);
    int sw = box[2][2] - box[2][0] + 1, sh = box[2][3] - box[2][1] + 1;
    CHECKF(sw <= 257 && sh <= 301 && (sw >= 250 || sh >= 295), "scale: %dx%d", sw, sh);
    CHECKF(abs((box[2][0] + box[2][2]) / 2 - 256) <= 3 && abs((box[2][1] + box[2][3]) / 2 - 300) <= 3,
           "scale centres: %d,%d-%d,%d", box[2][0], box[2][1], box[2][2], box[2][3]);
    CHECKF(box[3][0] <= 1 && box[3][3] >= 598, "position: %d,%d-%d,%d", box[3][0], box[3][1], box[3][2], box[3][3]);
    CHECK(!soft[4] && box[4][2] > 0);
}

TEST(the_account_call_answers_in_remove_bg_shape)
{
    response r;
    const char *h[] = {"X-Api-Key: " API_KEY, NULL};
    REQUIRE(request(&srv, "GET", "/v1.0/account", h, 0, NULL, 0, &r) == 200);
    json_t *a = json_object_get(json_object_get(r.json, "data"), "attributes");
    CHECK(json_integer_value(json_object_get(json_object_get(a, "credits"), "total")) >= 1000000);
    CHECK(strcmp(jstr(json_object_get(a, "api"), "sizes"), "all") == 0);
    response_cleanup(&r);
    const char *bad[] = {"X-Api-Key: nope-nope-nope-nope", NULL};
    CHECK(request(&srv, "GET", "/v1.0/account", bad, 0, NULL, 0, &r) == 403 && rb_error(&r, "auth_failed"));
    response_cleanup(&r);
}

TEST(image_url_is_fetched_through_the_guard)
{
    static const struct {
        const char *url;
        const char *mention;
    } refused[] = {
        {"http://127.0.0.1/x.jpg", "loopback"},  {"http://localhost/x.jpg", "loopback"},
        {"http://[::1]/x.jpg", "loopback"},      {"http://10.0.0.1/x.jpg", "private"},
        {"http://192.168.0.1/x.jpg", "private"}, {"http://169.254.169.254/latest/meta-data/", "link-local"},
        {"http://224.0.0.1/x.jpg", "multicast"}, {"file:///etc/passwd", "http"},
        {"gopher://127.0.0.2/", "http"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char json[400];
        int jl = snprintf(json, sizeof json, "{\"image_url\":\"%s\",\"size\":\"full\"}", refused[i].url);
        response r;
        long st = post(&srv, NULL, "application/json", json, (size_t)jl, API_KEY, NULL, &r);
        CHECKF(st == 400 && rb_error(&r, NULL) && strstr(rb_detail(&r), refused[i].mention), "%s: %ld %s",
               refused[i].url, st, r.body ? r.body : "");
        response_cleanup(&r);
    }
    /* the trusted network: fetched; a redirect from it to 127.0.0.1 is
     * refused on the connection it would open; too large; too slow */
    static const struct {
        const char *path;
        long status;
        const char *code, *mention;
    } rows[] = {
        {"/photo.jpg", 200, NULL, NULL},
        {"/redirect", 400, "invalid_image_url", "refused: 127.0.0.1 is a loopback address"},
        {"/big", 400, "file_too_large", "larger than"},
        {"/slow", 400, "invalid_image_url", "did not arrive"},
        {"/missing.jpg", 400, "invalid_image_url", "404"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char json[400];
        int jl = snprintf(json, sizeof json, "{\"image_url\":\"http://127.0.0.2:%d%s\",\"size\":\"full\"}", img_port,
                          rows[i].path);
        response r;
        double t0 = now_s();
        long st = post(&srv, NULL, "application/json", json, (size_t)jl, API_KEY, NULL, &r);
        CHECKF(st == rows[i].status &&
                   (rows[i].code == NULL || (rb_error(&r, rows[i].code) && strstr(rb_detail(&r), rows[i].mention))),
               "%s: %ld %s", rows[i].path, st,
               st == 200 ? ""
               : r.body  ? r.body
                         : "");
        if (strcmp(rows[i].path, "/slow") == 0)
            CHECK(now_s() - t0 < 10); /* --fetch-timeout 2 */
        response_cleanup(&r);
    }
}

TEST(a_rate_limit_answers_429_with_remove_bg_headers)
{
    char dir[256];
    server lim;
    temp_dir(dir, sizeof dir, "removebg-limit");
    const char *extra[] = {"--cutout-rate-limit", "1", "--cutout-rate-burst", "1", NULL};
    REQUIRE(server_start(&lim, dir, extra));
    size_t len;
    const char *fields[] = {"size", "preview", NULL};
    char *body = form("image_file", fields, &len);
    response r;
    REQUIRE(post(&lim, NULL, MP, body, len, API_KEY, NULL, &r) == 200);
    char v[64];
    CHECK(header(&r, "X-RateLimit-Limit", v, sizeof v) && strcmp(v, "1") == 0);
    CHECK(header(&r, "X-RateLimit-Remaining", v, sizeof v) && strcmp(v, "0") == 0);
    /* unix seconds, when the budget is full again (taken as it came in) */
    CHECK(header(&r, "X-RateLimit-Reset", v, sizeof v) && llabs(atoll(v) - (long long)time(NULL)) < 10);
    response_cleanup(&r);
    /* a second later the budget has refilled (not counting on the model
     * taking that long: a faster CPU does not): a refusal spends it (it
     * came in), and the next at once finds none */
    sleep_ms(1100);
    REQUIRE(post(&lim, "size=huge", MP, body, len, API_KEY, NULL, &r) == 400);
    response_cleanup(&r);
    REQUIRE(post(&lim, NULL, MP, body, len, API_KEY, NULL, &r) == 429);
    CHECK(rb_error(&r, "rate_limit_exceeded"));
    CHECK(header(&r, "Retry-After", v, sizeof v) && atoi(v) >= 1);
    CHECK(header(&r, "X-RateLimit-Remaining", v, sizeof v) && strcmp(v, "0") == 0);
    response_cleanup(&r);
    free(body);
    server_kill(&lim, SIGTERM);
}
