/* test_differential.c — assetd's HTTP parsing held to nginx's (issue 30):
 * generated requests — valid ones, the probe's cases, and systematic
 * mutations of the request line, the fields, the framing, chunk sizes,
 * extensions and trailers, line ends and lengths, each followed by a
 * pipelined second request — go to assetd and to an nginx on loopback that
 * answers every request itself (Debian's, as the internet's front ends
 * parse). Every request nginx refuses, assetd must refuse too; where both
 * take it, both must see the same number of requests on the connection (no
 * framing that lets a request hide in another's body). Then the same
 * requests through nginx in front of assetd, as deployed: no request is
 * answered twice. ASSETD_DIFF_ROUNDS (default 1) repeats the mutations with
 * other random bytes; scripts/http-differential.sh runs the long form. */
#define HARNESS_SETUP api_setup
#include "harness.h"

#include <poll.h>

#include "api/client.h"

typedef struct {
    int first;     /* the first answer's status; 0: none (closed) */
    int responses; /* status lines seen */
} outcome;

static void exchange_raw(int port, const char *req, size_t len, outcome *o)
{
    static char buf[262144];
    memset(o, 0, sizeof *o);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return;
    }
    send(fd, req, len, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR); /* the end of what the client says: both answer what they parsed, then close */
    size_t got = 0;
    double t0 = now_s();
    while (got + 1 < sizeof buf && now_s() - t0 < 3.0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) <= 0)
            continue;
        ssize_t k = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    close(fd);
    if (strncmp(buf, "HTTP/1.", 7) == 0)
        o->first = atoi(buf + 9);
    /* the answers one after the other: status line, fields, then as many
     * bytes as Content-Length says (none for 1xx, 204, 304) */
    for (const char *p = buf; strncmp(p, "HTTP/1.", 7) == 0;) {
        int status = atoi(p + 9);
        const char *end = strstr(p, "\r\n\r\n");
        if (end == NULL)
            break;
        long clen = 0;
        for (const char *h = strstr(p, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
            if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
                clen = atol(h + 17);
        if (status >= 200)
            o->responses++;
        p = end + 4 + (status >= 200 && status != 204 && status != 304 ? clen : 0);
        if (p > buf + got)
            break;
    }
}

/* Answers that refuse the request as a request (its syntax or framing),
 * as opposed to the route's answers (a 404, 405 or 401 took it). */
static int refused(const outcome *o)
{
    static const int codes[] = {400, 408, 411, 413, 414, 417, 431, 494, 501, 505};
    if (o->first == 0)
        return 1;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (o->first == codes[i])
            return 1;
    return 0;
}

/* ---- the generator ---------------------------------------------------- */

typedef struct {
    char (*v)[2048];
    int n, cap;
} cases;

static void add(cases *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(cases *c, const char *fmt, ...)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->v = realloc(c->v, sizeof *c->v * (size_t)c->cap);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->v[c->n++], sizeof c->v[0], fmt, ap);
    va_end(ap);
}

#define NEXT "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

static void generate(cases *c, unsigned seed)
{
    /* request lines */
    static const char *const lines[] = {
        "GET /healthz HTTP/1.1",
        "get /healthz HTTP/1.1",
        "GET  /healthz HTTP/1.1",
        "GET /healthz  HTTP/1.1",
        "GET\t/healthz HTTP/1.1",
        "GET /healthz HTTP/1.0",
        "GET /healthz HTTP/1.2",
        "GET /healthz HTTP/2.0",
        "GET /healthz HTTP/1",
        "GET /healthz http/1.1",
        "GET /healthz HTTP/1.1 ",
        " GET /healthz HTTP/1.1",
        "GET /healthz",
        "GET http://x/healthz HTTP/1.1",
        "GET * HTTP/1.1",
        "GET /heal thz HTTP/1.1",
        "GET /healthz?a=b HTTP/1.1",
        "GET /healthz#f HTTP/1.1",
        "G(T /healthz HTTP/1.1",
        "GET /\x7f HTTP/1.1",
        "GET /\x01 HTTP/1.1",
        "POST /healthz HTTP/1.1",
        "GET HTTP/1.1",
        "GET /healthz HTTP/01.1",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        add(c, "%s\r\nHost: x\r\n\r\n" NEXT, lines[i]);
        add(c, "%s\r\n\r\n" NEXT, lines[i]);
    }
    /* fields */
    static const char *const fields[] = {
        "Host: x",
        "Host:",
        "Host: ",
        "Host: a b",
        "Host: x\r\nHost: y",
        "Host: x\r\nHost: x",
        "Host : x",
        "Host:x",
        "Host: x\r\n folded",
        "Host: x\r\nX-A: \x01",
        "Host: x\r\nX-A: a\x7f",
        "Host: x\r\nX A: b",
        "Host: x\r\n: empty",
        "Host: x\r\nX-A",
        "Host: x\r\nX_A: b",
        "Host: x\r\nAuthorization: a\r\nAuthorization: b",
        "Host: x\r\nConnection: close",
        "Host: x\r\nExpect: 100-continue",
        "Host: x\r\nExpect: bogus",
        "Host: user@x",
        "Host: x:80",
        "Host: [::1]",
        "Host: x/y",
        "Host: x\r\nContent-Length: 0",
        "Host: x\r\nX-A: b\rc",
        "host: x",
        "HOST: x",
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        add(c, "GET /healthz HTTP/1.1\r\n%s\r\n\r\n" NEXT, fields[i]);
    /* lengths */
    static const char *const lengths[] = {"5",
                                          "05",
                                          "+5",
                                          "-5",
                                          " 5",
                                          "5 ",
                                          "5,5",
                                          "5, 5",
                                          "0x5",
                                          "5.0",
                                          "",
                                          "18446744073709551616",
                                          "9223372036854775807",
                                          "4"};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        add(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\nhello" NEXT, lengths[i]);
        add(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: %s\r\n\r\nhello" NEXT,
            lengths[i]);
    }
    /* transfer codings */
    static const char *const codings[] = {
        "chunked",  "Chunked", " chunked", "chunked ", "chunked, chunked", "gzip, chunked", "chunked, gzip",
        "identity", "gzip",    "chunkedx", ""};
    for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
        add(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\n\r\n5\r\nhello\r\n0\r\n\r\n" NEXT,
            codings[i]);
        add(c,
            "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: %s\r\nContent-Length: 5\r\n\r\n"
            "5\r\nhello\r\n0\r\n\r\n" NEXT,
            codings[i]);
        add(c, "POST /healthz HTTP/1.0\r\nTransfer-Encoding: %s\r\n\r\n5\r\nhello\r\n0\r\n\r\n" NEXT, codings[i]);
    }
    /* chunk sizes, extensions, trailers */
    static const char *const chunks[] = {
        "5\r\nhello\r\n0\r\n\r\n",
        "05\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        "0x34\r\n\r\n",
        "5zz\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",
        "5;a\r\nhello\r\n0\r\n\r\n",
        "5;a=b\r\nhello\r\n0\r\n\r\n",
        "5 ;a=b\r\nhello\r\n0\r\n\r\n",
        "5;a=\"b c\"\r\nhello\r\n0\r\n\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhello\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
        "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
        "5\r\nhello\r\n0\n\r\n",
        "fffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n0\r\n",
        "5\r\nhello\r\n00\r\n\r\n",
        "A\r\nhellohello\r\n0\r\n\r\n",
        "a\r\nhellohello\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        add(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s" NEXT, chunks[i]);
    /* line ends: each CRLF of a good request, alone, made LF, CR or CRCR */
    const char *good = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    for (const char *p = strstr(good, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        static const char *const ends[] = {"\n", "\r", "\r\r\n", "\r\n\r\n"};
        for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++)
            add(c, "%.*s%s%s" NEXT, (int)(p - good), good, ends[k], p + 2);
    }
    /* random bytes flipped in good requests */
    unsigned rs = seed;
    const char *bases[] = {good, "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\n"
                                 "hello\r\n0\r\nT: v\r\n\r\n"};
    static const char alphabet[] = " \t\r\n:;=,\"\\x0aZ-+/\x01\x7f\x80";
    for (int i = 0; i < 1000; i++) {
        const char *b = bases[i % 2];
        char m[1024];
        size_t n = strlen(b);
        memcpy(m, b, n + 1);
        int edits = 1 + (int)(rand_r(&rs) % 2);
        for (int e = 0; e < edits; e++)
            m[rand_r(&rs) % n] = alphabet[rand_r(&rs) % (sizeof alphabet - 1)];
        add(c, "%s" NEXT, m);
    }
}

/* nginx on loopback: every request answered by nginx itself (return 200),
 * or (front) passed to assetd at port. */
static int start_nginx(const char *dir, int port, int upstream)
{
    char conf[400];
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    mkdir(dir, 0777);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return 0;
    fprintf(f,
            "%s\nworker_processes 1;\nerror_log %s/error.log crit;\npid %s/nginx.pid;\n"
            "events { worker_connections 256; }\n"
            "http {\n access_log off;\n client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
            " fastcgi_temp_path %s/fcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
            " client_max_body_size 200m; large_client_header_buffers 4 32k;\n",
            geteuid() == 0 ? "user root;" : "", dir, dir, dir, dir, dir, dir, dir);
    if (upstream)
        fprintf(f,
                " upstream a { server 127.0.0.1:%d; keepalive 8; }\n server { listen 127.0.0.1:%d;\n"
                "  location / { proxy_pass http://a; proxy_http_version 1.1; proxy_set_header Connection \"\";\n"
                "   proxy_ignore_client_abort on;\n"
                "   proxy_set_header Host $host; } }\n}\n",
                upstream, port);
    else
        fprintf(f, " server { listen 127.0.0.1:%d; location / { return 200 \"ok\\n\"; } }\n}\n", port);
    fclose(f);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "nginx -p %s -c %s 2>%s/start.log", dir, conf, dir);
    if (system(cmd) != 0)
        return 0;
    for (int i = 0; i < 50; i++) {
        outcome o;
        exchange_raw(port, NEXT, strlen(NEXT), &o);
        if (o.first)
            return 1;
        sleep_ms(100);
    }
    return 0;
}

static void stop_nginx(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "nginx -p %s -c %s/nginx.conf -s stop 2>/dev/null", dir, dir);
    if (system(cmd) != 0)
        printf("    nginx did not stop\n");
}

/* A free port: a server's, taken and let go. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void printable(const char *s, char *out, size_t len)
{
    size_t o = 0;
    for (; *s && o + 5 < len; s++)
        o += (size_t)((unsigned char)*s >= 0x20 && *s != 0x7f
                          ? snprintf(out + o, len - o, "%c", *s)
                          : snprintf(out + o, len - o, "\\x%02x", (unsigned char)*s));
    out[o] = '\0';
}

TEST(what_nginx_refuses_assetd_refuses_and_both_frame_alike)
{
    if (system("command -v nginx >/dev/null 2>&1") != 0)
        SKIP("no nginx (scripts/setup.sh --test installs it)");
    char dir[256], ndir[256];
    temp_dir(dir, sizeof dir, "diff");
    temp_dir(ndir, sizeof ndir, "nginx");
    server s;
    REQUIRE(server_start(&s, dir, NULL));
    int nport = free_port();
    REQUIRE(start_nginx(ndir, nport, 0));
    int rounds = getenv("ASSETD_DIFF_ROUNDS") ? atoi(getenv("ASSETD_DIFF_ROUNDS")) : 1;
    int total = 0, miss_refusal = 0, miss_frames = 0, stricter = 0;
    for (int round = 0; round < rounds; round++) {
        cases c = {0};
        generate(&c, 1234u + (unsigned)round);
        for (int i = 0; i < c.n; i++) {
            outcome a, n;
            size_t len = strlen(c.v[i]);
            exchange_raw(nport, c.v[i], len, &n);
            exchange_raw(s.port, c.v[i], len, &a);
            total++;
            char shown[600];
            if (refused(&n) && !refused(&a)) {
                if (miss_refusal++ < 12) {
                    printable(c.v[i], shown, sizeof shown);
                    printf("    nginx %d, assetd %d: %s\n", n.first, a.first, shown);
                }
            } else if (!refused(&n) && !refused(&a) && n.responses != a.responses) {
                if (miss_frames++ < 12) {
                    printable(c.v[i], shown, sizeof shown);
                    printf("    nginx saw %d requests, assetd %d: %s\n", n.responses, a.responses, shown);
                }
            } else if (refused(&a) && !refused(&n)) {
                stricter++;
            }
        }
        free(c.v);
    }
    printf("    %d requests: %d refused by assetd alone (stricter), %d refused by nginx alone, %d framed apart\n",
           total, stricter, miss_refusal, miss_frames);
    CHECK(total >= 1000);
    CHECK(miss_refusal == 0);
    CHECK(miss_frames == 0);
    stop_nginx(ndir);

    /* nginx in front of assetd, as deployed: every answer once */
    int fport = free_port();
    char fdir[256];
    temp_dir(fdir, sizeof fdir, "front");
    REQUIRE(start_nginx(fdir, fport, s.port));
    cases c = {0};
    generate(&c, 99u);
    int twice = 0, through = 0;
    for (int i = 0; i < c.n; i++) {
        outcome o, direct;
        size_t len = strlen(c.v[i]);
        exchange_raw(fport, c.v[i], len, &o);
        exchange_raw(s.port, c.v[i], len, &direct);
        through += !refused(&direct) && o.first == direct.first; /* the same answer through the front */
        /* at most the requests the client sent (two), never more */
        if (o.responses > 2) {
            twice++;
            char shown[600];
            printable(c.v[i], shown, sizeof shown);
            printf("    %d answers through nginx: %s\n", o.responses, shown);
        }
    }
    printf("    through nginx: %d of %d answered as assetd answers them directly, %d answered more than twice\n",
           through, c.n, twice);
    free(c.v);
    CHECK(twice == 0);
    CHECK(through >= 100);
    stop_nginx(fdir);
    server_kill(&s, SIGTERM);
}
