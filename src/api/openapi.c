/* openapi.c — GET /api/v1/openapi.json: the API's OpenAPI 3.1 document.
 * What no table knows (descriptions, schemas of bodies and answers,
 * headers, examples) is src/api/openapi.json, built into the binary
 * (nothing is read at run time, so an installed binary serves it from
 * anywhere); every route's query parameters are made from the route
 * table's rows and the output options' declarations when the document is
 * first asked for. The
 * test suite checks it against the OpenAPI 3.1 schema and against the route
 * table, both ways (tests/api/test_openapi.c). */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/log.h"
#include "cutout/options.h"
#include "image/transform.h"

/* The bytes of openapi.json between two symbols (the assembler reads the
 * file: no generator, no xxd). */
__asm__(".section .rodata\n"
        ".global ad_openapi_json\n"
        ".balign 16\n"
        "ad_openapi_json:\n"
        ".incbin \"src/api/openapi.json\"\n"
        ".global ad_openapi_json_end\n"
        "ad_openapi_json_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char ad_openapi_json[], ad_openapi_json_end[];

/* "/api/v1/assets/:asset_id" -> "/api/v1/assets/{asset_id}" */
static void oas_path(const char *tpl, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = tpl; *p && o + 2 < len;) {
        if (*p == ':') {
            size_t n = strcspn(p + 1, "/");
            o += (size_t)snprintf(out + o, len - o, "{%.*s}", (int)n, p + 1);
            p += 1 + n;
        } else {
            out[o++] = *p++;
        }
    }
    out[o < len ? o : len - 1] = '\0';
}

/* "a|b|c" as a JSON array of strings, or of integers (as_int). */
static json_t *choices_json(const char *choices, int as_int)
{
    json_t *a = json_array();
    for (const char *p = choices; p && *p;) {
        size_t n = strcspn(p, "|");
        char v[64];
        snprintf(v, sizeof v, "%.*s", (int)n, p);
        json_array_append_new(a, as_int ? json_integer(atoll(v)) : json_string(v));
        p += n + (p[n] == '|');
    }
    return a;
}

/* The schema of a row's value; json: as a JSON body field (booleans as
 * booleans), else as a query parameter's text. */
static json_t *schema_json(const ad_decl *d, int json)
{
    json_t *schema = json_object();
    switch (d->type) {
    case AD_DECL_ENUM:
        json_object_set_new(schema, "type", json_string("string"));
        json_object_set_new(schema, "enum", choices_json(d->choices, 0));
        if (*d->def)
            json_object_set_new(schema, "default", json_string(d->def));
        break;
    case AD_DECL_INT:
        json_object_set_new(schema, "type", json_string("integer"));
        if (d->choices) {
            json_object_set_new(schema, "enum", choices_json(d->choices, 1));
        } else {
            json_object_set_new(schema, "minimum", json_integer(d->min));
            json_object_set_new(schema, "maximum", json_integer(d->max));
        }
        if (*d->def)
            json_object_set_new(schema, "default", json_integer(atoll(d->def)));
        break;
    case AD_DECL_BOOL:
        if (json) {
            json_object_set_new(schema, "type", json_string("boolean"));
            if (*d->def)
                json_object_set_new(schema, "default", json_boolean(strcmp(d->def, "true") == 0));
            break;
        }
        json_object_set_new(schema, "type", json_string("string"));
        json_object_set_new(schema, "enum", choices_json("true|false|1|0", 0));
        if (*d->def)
            json_object_set_new(schema, "default", json_string(d->def));
        break;
    case AD_DECL_STRING:
    case AD_DECL_CUSTOM:
        json_object_set_new(schema, "type", json_string("string"));
        if (d->type == AD_DECL_STRING) {
            json_object_set_new(schema, "minLength", json_integer(d->min));
            json_object_set_new(schema, "maxLength", json_integer(d->max));
        }
        if (d->pattern)
            json_object_set_new(schema, "pattern", json_string(d->pattern));
        if (*d->def)
            json_object_set_new(schema, "default", json_string(d->def));
        break;
    }
    return schema;
}

/* One query parameter of the document, from its row. */
static json_t *param_json(const ad_decl *d)
{
    return json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", d->name, "in", "query", "required", 0, "schema",
                     schema_json(d, 0), "description", d->help ? d->help : "");
}

/* The delivery options' properties, from the transformation's rows and
 * the bg_remove options a variant takes (api/delivery.c). */
static void add_delivery_options(json_t *doc)
{
    json_t *props = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "DeliveryOptions"),
        "properties");
    if (props == NULL)
        return;
    for (int i = 0; i < ad_transform_nparams; i++) {
        const ad_decl *d = &ad_transform_params[i];
        json_t *sc = schema_json(d, 1);
        json_object_set_new(sc, "description", json_string(d->help ? d->help : ""));
        json_object_set_new(props, d->name, sc);
    }
    for (int i = 0; ad_delivery_bg_options[i]; i++) {
        const ad_decl *d = ad_cutout_option_find(ad_delivery_bg_options[i], 1);
        if (d == NULL)
            continue;
        json_t *sc = schema_json(d, 1);
        char help[600];
        snprintf(help, sizeof help, "variant bg_remove only: %s", d->help ? d->help : "");
        json_object_set_new(sc, "description", json_string(help));
        json_object_set_new(props, d->name, sc);
    }
}

/* The operation's parameters: those the document keeps by hand (path,
 * headers), then one per row of the route's query parameters, and for a
 * route that takes them, every output option the API accepts. */
static void add_query_params(json_t *op, const ad_route_def *r)
{
    json_t *old = json_object_get(op, "parameters"), *params = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(old, i, p)
    {
        const char *in = json_string_value(json_object_get(p, "in"));
        if (in == NULL || strcmp(in, "query") != 0)
            json_array_append(params, p);
    }
    for (int k = 0; k < r->nparams; k++)
        json_array_append_new(params, param_json(&r->params[k]));
    if (r->flags & AD_ROUTE_OPTIONS) {
        int n;
        const ad_option_decl *d = ad_cutout_option_decls(&n);
        for (int k = 0; k < n; k++)
            if (!(d[k].flags & AD_DECL_CLI_ONLY))
                json_array_append_new(params, param_json(&d[k]));
    }
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
}

static char *document;
static size_t document_len;

/* The served document: the hand-kept one (descriptions, schemas,
 * examples) with every route's query parameters made from the tables. */
static void build_document(void)
{
    json_error_t jerr;
    json_t *doc = json_loadb(ad_openapi_json, (size_t)(ad_openapi_json_end - ad_openapi_json), 0, &jerr);
    if (doc == NULL) {
        ad_log(AD_LOG_ERROR, "openapi", "the built-in document does not parse: %s (line %d)", jerr.text, jerr.line);
        return;
    }
    add_delivery_options(doc);
    int n;
    const ad_route_def *t = ad_route_table(&n);
    json_t *paths = json_object_get(doc, "paths");
    for (int i = 0; i < n; i++) {
        char path[200], method[16];
        oas_path(t[i].path, path, sizeof path);
        snprintf(method, sizeof method, "%s", t[i].method);
        for (char *c = method; *c; c++)
            *c = (char)(*c - 'A' + 'a');
        json_t *op = json_object_get(json_object_get(paths, path), method);
        if (op)
            add_query_params(op, &t[i]);
    }
    document = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    document_len = document ? strlen(document) : 0;
    json_decref(doc);
}

ad_http_resp *ad_handle_openapi(ad_api *api, ad_http_req *req, const ad_route_args *a)
{
    (void)api, (void)req, (void)a;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_document);
    char *copy = document ? malloc(document_len) : NULL;
    if (copy == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    memcpy(copy, document, document_len);
    return ad_http_resp_take(200, "application/json", copy, document_len);
}
