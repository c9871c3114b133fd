/* records.c — the records' cleanup and names (store/records.h). */
#include <stdlib.h>
#include <string.h>

#include "store/records.h"

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
    free(j->payload);
    free(j->error);
    free(j->result);
    memset(j, 0, sizeof *j);
}

const char *ad_job_status_name(ad_job_status s)
{
    static const char *names[] = {"queued", "running", "succeeded", "failed"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

const char *ad_scope_name(int scope)
{
    static const char *names[] = {"read", "write", "admin"};
    return (unsigned)scope < AD_SCOPE_COUNT ? names[scope] : "admin";
}

int ad_scope_parse(const char *name)
{
    for (int i = 0; name && i < AD_SCOPE_COUNT; i++)
        if (strcmp(name, ad_scope_name(i)) == 0)
            return i;
    return -1;
}

void ad_webhook_cleanup(ad_webhook *w)
{
    if (w == NULL)
        return;
    free(w->url);
    free(w->description);
    memset(w, 0, sizeof *w);
}

void ad_webhook_delivery_cleanup(ad_webhook_delivery *d)
{
    if (d == NULL)
        return;
    free(d->body);
    free(d->url);
    memset(d, 0, sizeof *d);
}
