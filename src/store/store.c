/* store.c — backend registry and the shared record helpers. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static const ad_store_ops *const backends[] = {&ad_store_sqlite_ops};

ad_status ad_store_open(const char *name, const char *location, ad_store **out, ad_err *err)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i]->open(location, out, err);
    char known[256] = "";
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, backends[i]->name, sizeof known - strlen(known) - 1);
    }
    return ad_err_set(err, AD_EINVAL, "unknown store '%s' (known: %s)", name, known);
}

void ad_store_close(ad_store *s)
{
    if (s)
        s->ops->close(s);
}

void ad_asset_cleanup(ad_asset *a)
{
    if (a == NULL)
        return;
    free(a->filename);
    free(a->content_type);
    free(a->custom_data);
    free(a->conversions);
    memset(a, 0, sizeof *a);
}

void ad_job_cleanup(ad_job *j)
{
    if (j == NULL)
        return;
    free(j->error);
    free(j->params);
    free(j->result);
    memset(j, 0, sizeof *j);
}

const char *ad_job_status_name(ad_job_status s)
{
    static const char *names[] = {"queued", "running", "succeeded", "failed"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}
