/* records_json.h — the records as the API shows them (docs/api.md): an
 * asset and a job as JSON objects. One rendering for every place that
 * shows one: the API's answers (api/) and the webhook events recorded with
 * the change (store/events.c), which must carry the same object a GET
 * answers.
 *
 * Ownership: the caller owns the returned json_t (NULL: out of memory). */
#ifndef AD_STORE_RECORDS_JSON_H
#define AD_STORE_RECORDS_JSON_H

#include <jansson.h>

#include "store/records.h"

json_t *ad_asset_to_json(const ad_asset *a);
json_t *ad_conversion_to_json(const ad_conversion *c);
json_t *ad_job_to_json(const ad_job *j);

#endif
