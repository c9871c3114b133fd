/* console.c — GET / and the files under /console/: the web console, a page of plain
 * HTML, CSS and JavaScript (src/console/) that talks to the API with the
 * key the person pastes into it. The files are built into the binary like
 * the OpenAPI document, so an installed server needs nothing beside it and
 * nothing is fetched at run time.
 *
 * The files are public (they hold no data; every call the page makes needs
 * the key) and are sent with a content security policy that allows only
 * this origin's scripts and styles: no inline script, no framing. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* Each file between two symbols (the assembler reads it: no generator). */
#define EMBED(sym, file)                            \
    __asm__(".section .rodata\n"                    \
            ".global " #sym "\n"                    \
            ".balign 16\n" #sym ":\n"               \
            ".incbin \"" file "\"\n"                \
            ".global " #sym "_end\n" #sym "_end:\n" \
            ".byte 0\n"                             \
            ".previous\n");                         \
    extern const char sym[], sym##_end[]

EMBED(ad_console_html, "src/console/index.html");
EMBED(ad_console_js, "src/console/console.js");
EMBED(ad_console_css, "src/console/console.css");

typedef struct {
    const char *path; /* as the route table names it */
    const char *content_type;
    const char *start, *end;
} console_file;

static const console_file files[] = {
    {"/", "text/html; charset=utf-8", ad_console_html, ad_console_html_end},
    {"/console/console.js", "text/javascript; charset=utf-8", ad_console_js, ad_console_js_end},
    {"/console/console.css", "text/css; charset=utf-8", ad_console_css, ad_console_css_end},
};

#define NFILES (sizeof files / sizeof files[0])

/* The ETags: FNV-1a of each file's bytes, which change only with the
 * binary, so they are hashed once (the first request), not per request. */
static char etags[NFILES][24];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void hash_files(void)
{
    for (size_t i = 0; i < NFILES; i++) {
        uint64_t h = 1469598103934665603ull;
        for (const char *p = files[i].start; p < files[i].end; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(etags[i], sizeof etags[i], "\"c%016llx\"", (unsigned long long)h);
    }
}

static void add_headers(ad_http_resp *r, const char *etag)
{
    ad_http_resp_header(r, "ETag", etag);
    /* revalidate on every load: a new binary serves a new page at once */
    ad_http_resp_header(r, "Cache-Control", "no-cache");
    ad_http_resp_header(r, "Content-Security-Policy",
                        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'");
    ad_http_resp_header(r, "X-Frame-Options", "DENY");
    ad_http_resp_header(r, "Referrer-Policy", "no-referrer");
}

ad_http_resp *ad_handle_console(ad_api *api, ad_http_req *req, const ad_route_args *a)
{
    (void)api, (void)a;
    const char *path = ad_http_path(req);
    size_t i = 0;
    while (i < NFILES && strcmp(files[i].path, path) != 0)
        i++;
    if (i == NFILES) /* a route row without a file: a build mistake */
        return ad_reply_error(404, "not_found", NULL, "no route for this path");
    const console_file *f = &files[i];
    pthread_once(&etags_once, hash_files);
    const char *etag = etags[i];
    const char *inm = ad_http_header(req, "If-None-Match");
    if (inm && strstr(inm, etag)) {
        ad_http_resp *r = ad_http_resp_take(304, NULL, NULL, 0);
        if (r)
            add_headers(r, etag);
        return r;
    }
    size_t len = (size_t)(f->end - f->start);
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    memcpy(copy, f->start, len);
    ad_http_resp *r = ad_http_resp_take(200, f->content_type, copy, len);
    if (r)
        add_headers(r, etag);
    return r;
}
