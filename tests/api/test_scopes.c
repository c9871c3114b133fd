/* test_scopes.c — keys with scopes (issue 30) against the real server: a
 * table test of every route that needs a key × every scope: a read key may
 * GET and HEAD and nothing else, a write key everything but the admin
 * routes, an admin key everything; a refusal is a 403 JSON naming
 * Authorization and the scope needed; a GET that saves (bg_remove's save
 * modes) needs write; the answers made at once say the key's scope
 * (X-Key-Scope);
 * `assetd keys create --scope` and `keys list` show it. sqlite, and
 * postgres + radosgw with ASSETD_TEST_STORE=postgres. */
#define HARNESS_SETUP setup
#include "harness.h"

#include "api/client.h"
#include "api/route.h"
#include "store/records.h"

static void setup(void) { api_setup(); }

TEST(every_route_asks_the_scope_its_method_needs)
{
    char dir[256], keys[AD_SCOPE_COUNT][384];
    server srv;
    temp_dir(dir, sizeof dir, "scopes");
    REQUIRE(server_start(&srv, dir, NULL));
    for (int sc = 0; sc < AD_SCOPE_COUNT; sc++) {
        const char *args[] = {"create", "--scope", ad_scope_name(sc), "--label", ad_scope_name(sc), NULL};
        REQUIRE(keys_cli(dir, args, keys[sc], sizeof keys[sc]));
        CHECK(strncmp(keys[sc], "adk_", 4) == 0);
    }
    /* a key made without --scope is a write key */
    char plain[128];
    const char *pargs[] = {"create", NULL};
    REQUIRE(keys_cli(dir, pargs, plain, sizeof plain));
    char list[4096];
    const char *largs[] = {"list", NULL};
    REQUIRE(keys_cli(dir, largs, list, sizeof list));
    CHECK(strstr(list, "scope") && strstr(list, " read ") && strstr(list, " write ") && strstr(list, " admin "));

    int n, checked = 0;
    const ad_route_def *t = ad_route_table(&n);
    for (int i = 0; i < n; i++) {
        if (!t[i].auth)
            continue;
        /* the template with ids nobody has: a 404 past the scope check, a
         * 403 before it */
        char path[300] = "";
        for (const char *p = t[i].path; *p;) {
            if (*p == ':') {
                const char *end = strchr(p, '/');
                size_t l = end ? (size_t)(end - p) : strlen(p);
                strcat(path, strncmp(p, ":conversion_name", l) == 0 ? "cut" : "0123456789abcdef0123456789abcdef");
                p += l;
            } else {
                strncat(path, p, 1);
                p++;
            }
        }
        const char *methods[2] = {t[i].method, NULL};
        if (strcmp(t[i].method, "GET") == 0 && !(t[i].flags & AD_ROUTE_NO_HEAD))
            methods[1] = "HEAD";
        for (int k = 0; k < 2 && methods[k]; k++) {
            int read_only = strcmp(methods[k], "GET") == 0 || strcmp(methods[k], "HEAD") == 0;
            int need = t[i].flags & AD_ROUTE_ADMIN ? AD_SCOPE_ADMIN : read_only ? AD_SCOPE_READ : AD_SCOPE_WRITE;
            for (int sc = 0; sc < AD_SCOPE_COUNT; sc++) {
                response r;
                long st = as_key(&srv, keys[sc], methods[k], path, read_only ? NULL : "{}", &r);
                char have[16] = "";
                /* remove.bg's routes answer in its shape (no param: the
                 * detail names the scope) */
                json_t *rbe = json_array_get(json_object_get(r.json, "errors"), 0);
                int refused =
                    st == 403 &&
                    (strcmp(methods[k], "HEAD") == 0 ||
                     (strcmp(err_code(&r), "insufficient_scope") == 0 && strcmp(err_param(&r), "Authorization") == 0 &&
                      strstr(jstr(json_object_get(r.json, "error"), "message"), ad_scope_name(need)) != NULL) ||
                     ((t[i].flags & AD_ROUTE_REMOVEBG) && strcmp(jstr(rbe, "code"), "insufficient_scope") == 0 &&
                      strstr(jstr(rbe, "detail"), ad_scope_name(need)) != NULL));
                CHECKF(sc < need ? refused : st != 403 && st != 401, "%s %s with a %s key: %ld", methods[k], path,
                       ad_scope_name(sc), st);
                CHECKF(header(&r, "X-Key-Scope", have, sizeof have) ? strcmp(have, ad_scope_name(sc)) == 0 : st >= 400,
                       "%s %s: X-Key-Scope %s", methods[k], path, have);
                response_cleanup(&r);
                checked++;
            }
        }
    }
    CHECK(checked >= 3 * 19); /* 19 method x route pairs need a key today */
    /* a GET that saves is a write */
    char id[33], p[300];
    REQUIRE(upload(&srv, "a.png", "image/png", astro_png, astro_len, id) == 201);
    snprintf(p, sizeof p,
             "/api/v1/assets/%s/addons/bg_remove?mode=save_image&disposition=add_conversion&conversion_name=c", id);
    response r;
    CHECK(as_key(&srv, keys[AD_SCOPE_READ], "GET", p, NULL, &r) == 403 &&
          strcmp(err_code(&r), "insufficient_scope") == 0);
    response_cleanup(&r);
    CHECK(as_key(&srv, plain, "GET", p, NULL, &r) == 200);
    response_cleanup(&r);
    CHECK(as_key(&srv, plain, "GET", "/api/v1/assets?limit=1", NULL, &r) == 200);
    CHECK(header(&r, "X-Key-Scope", p, sizeof p) && strcmp(p, "write") == 0);
    response_cleanup(&r);
    server_kill(&srv, SIGTERM);
}
