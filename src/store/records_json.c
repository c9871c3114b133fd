/* records_json.c — the records as the API shows them. See records_json.h. */
#include "store/records_json.h"

json_t *ad_conversion_to_json(const ad_conversion *c)
{
    return json_pack("{s:s, s:s, s:I, s:s}", "name", c->name, "content_type", c->content_type, "size",
                     (json_int_t)c->size, "created_at", c->created_at);
}

json_t *ad_asset_to_json(const ad_asset *a)
{
    json_t *custom = json_loads(a->custom_data ? a->custom_data : "{}", 0, NULL);
    json_t *convs = json_array();
    for (int i = 0; convs && i < a->nconversions; i++)
        json_array_append_new(convs, ad_conversion_to_json(&a->conversions[i]));
    return json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:s, s:o, s:o, s:o}", "id", a->id, "filename",
                     a->filename ? a->filename : "", "content_type", a->content_type ? a->content_type : "", "size",
                     (json_int_t)a->size, "sha256", a->sha256, "width",
                     a->width >= 0 ? json_integer(a->width) : json_null(), "height",
                     a->height >= 0 ? json_integer(a->height) : json_null(), "created_at", a->created_at, "custom_data",
                     custom ? custom : json_object(), "source_asset_id",
                     a->source_asset_id[0] ? json_string(a->source_asset_id) : json_null(), "conversions",
                     convs ? convs : json_array());
}

json_t *ad_job_to_json(const ad_job *j)
{
    json_t *result = j->result ? json_loads(j->result, 0, NULL) : NULL;
    return json_pack("{s:s, s:s, s:s, s:o, s:i, s:o, s:o, s:s, s:o}", "id", j->id, "kind", j->kind, "status",
                     ad_job_status_name(j->status), "asset_id", j->asset_id[0] ? json_string(j->asset_id) : json_null(),
                     "attempts", j->attempts, "error", j->error ? json_string(j->error) : json_null(), "result",
                     result ? result : json_null(), "created_at", j->created_at, "finished_at",
                     j->finished_at[0] ? json_string(j->finished_at) : json_null());
}
