/* webhooks.c — the webhook routes (integrations.md section 1): create
 * (the secret is shown in that answer only), list, delete, and an
 * endpoint's delivery attempts. The outbox and the deliverer are below:
 * store/events.c records events with the changes, webhook/dispatch.c
 * sends them. Admin keys only (route.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/hmac.h"
#include "net/guard.h"

/* The events an endpoint may subscribe to, in the contract's order. */
static const char *const event_types[] = {"asset.created",      "asset.deleted", "conversion.created",
                                          "conversion.deleted", "job.succeeded", "job.failed"};
#define NTYPES (int)(sizeof event_types / sizeof event_types[0])
/* Endpoints per store: each event costs a row per subscriber. */
#define MAX_WEBHOOKS 100

static json_t *events_json(const char *events)
{
    json_t *a = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", events);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(a, json_string(t));
    return a;
}

static json_t *webhook_json(const ad_webhook *w, int with_secret)
{
    json_t *j = json_pack("{s:s, s:s, s:o, s:s, s:s}", "id", w->id, "url", w->url ? w->url : "", "events",
                          events_json(w->events), "description", w->description ? w->description : "", "created_at",
                          w->created_at);
    if (j && with_secret)
        json_object_set_new(j, "secret", json_string(w->secret));
    return j;
}

/* events: ["*"] or a non-empty list of known types, into "a,b" in the
 * contract's order (NULL: the refusal) */
static ad_http_resp *parse_events(json_t *v, char *out, size_t len)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return ad_reply_error(400, "invalid_parameter", "events",
                              "events must be a non-empty array of event types, or [\"*\"]");
    int want[NTYPES] = {0}, all = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *t = json_string_value(e);
        int k = 0;
        if (t && strcmp(t, "*") == 0) {
            all = 1;
            continue;
        }
        while (t && k < NTYPES && strcmp(t, event_types[k]) != 0)
            k++;
        if (t == NULL || k == NTYPES)
            return ad_reply_error(400, "invalid_parameter", "events",
                                  "unknown event type %s%.64s%s (asset.created, asset.deleted, conversion.created, "
                                  "conversion.deleted, job.succeeded, job.failed, or \"*\")",
                                  t ? "'" : "", t ? t : "(not a string)", t ? "'" : "");
        want[k] = 1;
    }
    if (all) {
        snprintf(out, len, "*");
        return NULL;
    }
    out[0] = '\0';
    for (int k = 0; k < NTYPES; k++)
        if (want[k]) {
            size_t at = strlen(out);
            snprintf(out + at, len - at, "%s%s", at ? "," : "", event_types[k]);
        }
    return NULL;
}

ad_http_resp *ad_handle_create_webhook(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)args;
    size_t len = 0;
    const char *body = ad_http_body(req, &len);
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
    ad_http_resp *r = NULL;
    ad_err err = AD_ERR_INIT;
    ad_webhook w = {0};
    if (!json_is_object(j)) {
        r = ad_reply_error(400, "invalid_body", NULL, "the body must be a JSON object (url, events, description)%s%s",
                           j ? "" : ": ", j ? "" : je.text);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "url") != 0 && strcmp(key, "events") != 0 && strcmp(key, "description") != 0) {
            r = ad_reply_error(400, "invalid_parameter", key, "unknown field '%.64s' (url, events, description)", key);
            goto out;
        }
    }
    const char *url = json_string_value(json_object_get(j, "url"));
    if (url == NULL) {
        r = ad_reply_error(400, "invalid_parameter", "url", "url must be the http(s) URL to send events to");
        goto out;
    }
    if (ad_guard_check_url(url, api->cfg.guard, &err) != AD_OK) {
        r = ad_reply_error(400, "invalid_parameter", "url", "url %s", err.msg);
        goto out;
    }
    if ((r = parse_events(json_object_get(j, "events"), w.events, sizeof w.events)) != NULL)
        goto out;
    v = json_object_get(j, "description");
    if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) > 500)) {
        r = ad_reply_error(400, "invalid_parameter", "description", "description must be text of at most 500 bytes");
        goto out;
    }
    uint8_t raw[16];
    if (ad_id_new(w.id, &err) != AD_OK || !ad_random_bytes(raw, sizeof raw)) {
        r = ad_reply_error(503, "unavailable", NULL, "no random numbers");
        goto out;
    }
    strcpy(w.secret, "whsec_");
    for (int i = 0; i < 16; i++)
        snprintf(w.secret + 6 + 2 * i, 3, "%02x", raw[i]);
    w.url = (char *)url;
    w.description = (char *)(json_is_string(v) ? json_string_value(v) : "");
    ad_time_rfc3339(w.created_at);
    ad_status st = ad_store_add_webhook(api->cfg.store, &w, MAX_WEBHOOKS, &err);
    if (st == AD_ETOOBIG)
        r = ad_reply_error(409, "too_many_webhooks", NULL, "%s", err.msg);
    else if (st != AD_OK)
        r = ad_reply_status(st, &err, NULL);
    else
        r = ad_reply_json(201, webhook_json(&w, 1));
out:
    json_decref(j);
    return r;
}

ad_http_resp *ad_handle_list_webhooks(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req, (void)args;
    ad_webhook *v = NULL;
    int n = 0;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_list_webhooks(api->cfg.store, NULL, &v, &n, &err);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        json_array_append_new(items, webhook_json(&v[i], 0));
        ad_webhook_cleanup(&v[i]);
    }
    free(v);
    return ad_reply_json(200, json_pack("{s:o}", "items", items));
}

ad_http_resp *ad_handle_delete_webhook(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_delete_webhook(api->cfg.store, args->webhook_id, &err);
    if (st == AD_ENOTFOUND)
        return ad_reply_error(404, "not_found", "webhook_id", "no webhook with this id");
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    return ad_http_resp_take(204, NULL, NULL, 0);
}

ad_http_resp *ad_handle_webhook_deliveries(ad_api *api, ad_http_req *req, const ad_route_args *args)
{
    (void)req;
    ad_webhook *w = NULL;
    int n = 0;
    ad_err err = AD_ERR_INIT;
    ad_status st = ad_store_list_webhooks(api->cfg.store, args->webhook_id, &w, &n, &err);
    if (st != AD_OK)
        return ad_reply_status(st, &err, NULL);
    for (int i = 0; i < n; i++)
        ad_webhook_cleanup(&w[i]);
    free(w);
    if (n == 0)
        return ad_reply_error(404, "not_found", "webhook_id", "no webhook with this id");
    int limit = args->query.limit;
    int64_t cursor = args->query.cursor[0] ? strtoll(args->query.cursor, NULL, 10) : 0;
    ad_webhook_attempt *a = calloc((size_t)limit + 1, sizeof *a);
    if (a == NULL)
        return ad_reply_error(503, "out_of_memory", NULL, "out of memory");
    st = ad_store_list_attempts(api->cfg.store, args->webhook_id, cursor, limit + 1, a, &n, &err);
    if (st != AD_OK) {
        free(a);
        return ad_reply_status(st, &err, NULL);
    }
    json_t *items = json_array();
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_pack("{s:s, s:s, s:i, s:o, s:o, s:I, s:s}", "event_id", a[i].event_id, "type",
                                               a[i].type, "attempt", a[i].attempt, "status",
                                               a[i].status ? json_integer(a[i].status) : json_null(), "error",
                                               a[i].error[0] ? json_string(a[i].error) : json_null(), "duration_ms",
                                               (json_int_t)a[i].duration_ms, "created_at", a[i].at));
    char buf[32];
    if (n > limit)
        snprintf(buf, sizeof buf, "%" PRId64, a[limit - 1].seq);
    free(a);
    return ad_reply_json(
        200, json_pack("{s:o, s:o}", "items", items, "next_cursor", n > limit ? json_string(buf) : json_null()));
}
