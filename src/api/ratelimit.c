/* ratelimit.c — see ratelimit.h. A fixed table, open addressing by the
 * key id's hash, one mutex: a take is a few hundred nanoseconds. */
#include "api/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char id[17];
    double tokens[AD_BUCKET_COUNT];
    double at[AD_BUCKET_COUNT]; /* when tokens was last brought up to date */
    double seen;
} entry;

struct ad_ratelimit {
    pthread_mutex_t lock;
    int rate[AD_BUCKET_COUNT], burst[AD_BUCKET_COUNT];
    entry slots[AD_RATELIMIT_KEYS];
};

ad_ratelimit *ad_ratelimit_new(const int rate[AD_BUCKET_COUNT], const int burst[AD_BUCKET_COUNT])
{
    ad_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    for (int b = 0; b < AD_BUCKET_COUNT; b++) {
        rl->rate[b] = rate[b] > 0 ? rate[b] : 0;
        rl->burst[b] = burst[b] > 0 ? burst[b] : rl->rate[b] > 0 ? rl->rate[b] : 1;
    }
    return rl;
}

void ad_ratelimit_free(ad_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The key's entry: its own, an empty one, or (the table being full near
 * its place) the least recently seen of the probed ones, reset. */
static entry *find(ad_ratelimit *rl, const char *id, double now)
{
    uint32_t h = hash(id);
    entry *oldest = NULL;
    for (int i = 0; i < 16; i++) {
        entry *e = &rl->slots[(h + (uint32_t)i) % AD_RATELIMIT_KEYS];
        if (strcmp(e->id, id) == 0)
            return e;
        if (e->id[0] == '\0' || oldest == NULL || e->seen < oldest->seen)
            oldest = e;
        if (e->id[0] == '\0')
            break;
    }
    memset(oldest, 0, sizeof *oldest);
    strncpy(oldest->id, id, sizeof oldest->id - 1);
    for (int b = 0; b < AD_BUCKET_COUNT; b++) {
        oldest->tokens[b] = rl->burst[b];
        oldest->at[b] = now;
    }
    return oldest;
}

void ad_ratelimit_take_one(ad_ratelimit *rl, const char *key_id, ad_bucket b, double now, ad_ratelimit_take *out)
{
    memset(out, 0, sizeof *out);
    out->allowed = 1;
    if (rl == NULL || rl->rate[b] == 0)
        return;
    out->limited = 1;
    out->rate = rl->rate[b];
    out->burst = rl->burst[b];
    pthread_mutex_lock(&rl->lock);
    entry *e = find(rl, key_id, now);
    e->seen = now;
    double t = e->tokens[b] + (now - e->at[b]) * rl->rate[b];
    if (t > rl->burst[b])
        t = rl->burst[b];
    e->at[b] = now;
    if (t >= 1) {
        t -= 1;
        out->allowed = 1;
    } else {
        out->allowed = 0;
    }
    e->tokens[b] = t;
    pthread_mutex_unlock(&rl->lock);
    out->remaining = (int)floor(t);
    out->retry_s = out->allowed ? 0 : (int)ceil((1 - t) / rl->rate[b]);
    if (!out->allowed && out->retry_s < 1)
        out->retry_s = 1;
    out->reset_s = (int)ceil((rl->burst[b] - t) / rl->rate[b]);
}
