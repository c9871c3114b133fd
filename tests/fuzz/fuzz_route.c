/* fuzz_route.c — the route table, path parameters and the query parsed
 * from the routes' rows (api/route). Invariant: a handler is only ever
 * given a valid id and conversion name and query values inside their
 * declared ranges, and every path outside /api/v1 that matches is one of
 * the public ones (/healthz, /metrics, the console's files). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/bg_params.h"
#include "api/internal.h"
#include "api/route.h"
#include "store/custom_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    if (size < 1)
        return 0;
    char *path = malloc(size);
    if (path == NULL)
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    /* "PATH?QUERY": the query goes to the route's parser */
    char *query = strchr(path, '?');
    if (query)
        *query++ = '\0';
    ad_route_match m;
    ad_route_find(methods[data[0] % 5], path, &m);
    if (m.status == AD_MATCH_OK) {
        const char *tpl = m.route->path;
        if (strstr(tpl, ":asset_id") && !ad_id_valid(m.args.asset_id))
            abort();
        if (strstr(tpl, ":job_id") && !ad_id_valid(m.args.job_id))
            abort();
        if (strstr(tpl, ":conversion_name") && !ad_bg_conversion_name_valid(m.args.conversion_name))
            abort();
        /* outside /api/v1: a public route (health, metrics, the console, a
         * signed delivery URL), or remove.bg's, which need a key */
        int removebg = (m.route->flags & AD_ROUTE_REMOVEBG) != 0;
        if (!m.api && !removebg && strcmp(tpl, "/healthz") != 0 && strcmp(tpl, "/metrics") != 0 &&
            strcmp(tpl, "/") != 0 && strncmp(tpl, "/console/", 9) != 0 && !(m.route->flags & AD_ROUTE_SIGNED))
            abort();
        if (!m.api && m.route->auth != removebg)
            abort();
        if (strstr(tpl, ":webhook_id") && !ad_id_valid(m.args.webhook_id))
            abort();
        /* the handler's pass, from the route the head phase found: the same match */
        ad_route_match again;
        ad_route_found(m.route, path, &again);
        if (again.status != AD_MATCH_OK || again.route != m.route || memcmp(&again.args, &m.args, sizeof m.args) != 0)
            abort();
        const char *param;
        ad_err err = AD_ERR_INIT;
        if (ad_route_parse_query(&m, query ? query : "", &param, &err) == AD_OK) {
            const ad_route_query *q = &m.args.query;
            if (strcmp(tpl, "/api/v1/assets") == 0 && m.route->handler != NULL && strcmp(m.route->method, "GET") == 0 &&
                (q->limit < 1 || q->limit > 100 || (q->cursor[0] && (q->cursor[0] < '1' || strlen(q->cursor) > 18))))
                abort();
            if (strstr(tpl, "/preview") && q->size != 128 && q->size != 256 && q->size != 512)
                abort();
            if (q->filename[0] && !ad_upload_filename_ok(q->filename))
                abort();
            /* the list's filters: within their bounds, well-formed */
            const ad_asset_filter *f = &q->filter;
            if (f->ncustom < 0 || f->ncustom > AD_FILTER_CUSTOM_MAX)
                abort();
            for (int i = 0; i < f->ncustom; i++)
                if (!ad_custom_index_path_ok(f->custom[i].path))
                    abort();
            if ((f->source_asset_id[0] && !ad_id_valid(f->source_asset_id)) ||
                (f->has_conversion[0] && !ad_bg_conversion_name_valid(f->has_conversion)) ||
                (f->created_after[0] && strlen(f->created_after) != 24) ||
                (q->asset_id[0] && !ad_id_valid(q->asset_id)) || q->job_status < 0 || q->job_status > 4)
                abort();
        } else if (err.code != AD_EINVAL || !err.msg[0]) {
            abort();
        }
    }
    if (m.status == AD_MATCH_BAD_PARAM && m.bad_param == NULL)
        abort();
    free(path);
    return 0;
}
