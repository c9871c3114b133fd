/* calibrate.c — see calibrate.h. */
#include "calib/calibrate.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/sha256.h"
#include "image/image.h"
#include "infer/quantize.h"
#include "matte/matte.h"

/* ---- exact tails by selection ---- */

static void swapf(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

/* Rearrange v[0..n) so that v[k] is the value sorted order puts there, with
 * nothing greater before it and nothing smaller after it. Three-way
 * partitions: activations after a Relu are half zeros. */
static void select_kth(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* the answer lies in [lo, hi) */
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ n;
    while (hi - lo > 1) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float pivot = v[lo + (size_t)((seed >> 33) % (hi - lo))];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (v[i] < pivot)
                swapf(&v[lt++], &v[i++]);
            else if (v[i] > pivot)
                swapf(&v[i], &v[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}

typedef struct {
    float *top, *bottom;  /* the k largest / smallest values seen */
    size_t k, have;       /* have: values kept so far (< k until enough) */
    float hi_cut, lo_cut; /* the smallest kept top, the largest kept bottom */
} tails;

struct ad_calib_tails {
    tails *t;
    int n;
    double tail;
    int samples; /* total the tails are sized for */
    float *merge, *below;
    size_t merge_cap, below_cap;
    ad_status failed;
};
typedef ad_calib_tails accum;

/* Keep the k largest of kept[0..have) + fresh[0..m) in kept. sign -1 keeps
 * the smallest (values negated on the way in and out). */
static int keep_extremes(accum *a, float *kept, size_t *have, size_t k, const float *fresh, size_t m)
{
    size_t total = *have + m;
    if (total > a->merge_cap) {
        float *nb = realloc(a->merge, total * sizeof *nb);
        if (nb == NULL)
            return -1;
        a->merge = nb;
        a->merge_cap = total;
    }
    memcpy(a->merge, kept, *have * sizeof *kept);
    memcpy(a->merge + *have, fresh, m * sizeof *fresh);
    size_t keep = total < k ? total : k;
    if (keep < total)
        select_kth(a->merge, total, total - keep);
    memcpy(kept, a->merge + (total - keep), keep * sizeof *kept);
    *have = keep;
    return 0;
}

/* The innermost kept values: a value must pass them to matter. */
static void update_cuts(tails *t)
{
    t->hi_cut = INFINITY;
    t->lo_cut = -INFINITY;
    for (size_t j = 0; j < t->have; j++) {
        t->hi_cut = fminf(t->hi_cut, t->top[j]);
        t->lo_cut = fmaxf(t->lo_cut, t->bottom[j]);
    }
}

/* Merge candidates into the kept smallest (negated through keep_extremes). */
static int keep_smallest(accum *a, tails *t, size_t *have, float *fresh, size_t m)
{
    for (size_t i = 0; i < m; i++)
        fresh[i] = -fresh[i];
    for (size_t i = 0; i < *have; i++)
        t->bottom[i] = -t->bottom[i];
    int fail = keep_extremes(a, t->bottom, have, t->k, fresh, m);
    for (size_t i = 0; i < *have; i++)
        t->bottom[i] = -t->bottom[i];
    return fail;
}

static void on_activation(void *user, int index, float *data, size_t n)
{
    accum *a = user;
    tails *t = &a->t[index];
    if (a->failed || n == 0)
        return;
    if (t->top == NULL) {
        double want = ceil(a->tail * (double)n * a->samples);
        t->k = want < 1 ? 1 : (size_t)want;
        if (t->k > n)
            t->k = n;
        t->top = malloc(t->k * sizeof *t->top);
        t->bottom = malloc(t->k * sizeof *t->bottom);
        if (!t->top || !t->bottom) {
            a->failed = AD_ENOMEM;
            return;
        }
    }
    size_t have_top = t->have, have_bottom = t->have;
    int fail = 0;
    if (t->have == t->k) {
        /* Full: only values beyond the cuts can enter. One pass moves
         * those above to the front of data, those below to a side list. */
        size_t nt = 0, nb = 0;
        for (size_t i = 0; i < n && !fail; i++) {
            float v = data[i];
            if (v > t->hi_cut) {
                data[nt++] = v;
            } else if (v < t->lo_cut) {
                if (nb == a->below_cap) {
                    size_t ncap = a->below_cap ? 2 * a->below_cap : 4096;
                    float *nbuf = realloc(a->below, ncap * sizeof *nbuf);
                    if (nbuf == NULL) {
                        fail = 1;
                        break;
                    }
                    a->below = nbuf;
                    a->below_cap = ncap;
                }
                a->below[nb++] = v;
            }
        }
        fail = fail || keep_extremes(a, t->top, &have_top, t->k, data, nt) ||
               keep_smallest(a, t, &have_bottom, a->below, nb);
    } else {
        /* Filling: this sample's k largest end up in data[n-k..n), its k
         * smallest in data[0..k) after a second selection below n-k. */
        size_t k = t->k < n ? t->k : n;
        select_kth(data, n, n - k);
        fail = keep_extremes(a, t->top, &have_top, t->k, data + (n - k), k);
        if (n - k > 0 && k < n - k)
            select_kth(data, n - k, k - 1);
        size_t m = k <= n - k ? k : n - k;
        fail = fail || keep_smallest(a, t, &have_bottom, data, m);
    }
    if (fail) {
        a->failed = AD_ENOMEM;
        return;
    }
    t->have = have_top < have_bottom ? have_top : have_bottom;
    update_cuts(t);
}

ad_calib_tails *ad_calib_tails_new(int n, double tail, int samples)
{
    ad_calib_tails *a = calloc(1, sizeof *a);
    if (a == NULL || (a->t = calloc((size_t)n + 1, sizeof *a->t)) == NULL) {
        free(a);
        return NULL;
    }
    a->n = n;
    a->tail = tail;
    a->samples = samples;
    return a;
}

int ad_calib_tails_add(ad_calib_tails *a, int index, float *data, size_t n)
{
    on_activation(a, index, data, n);
    return a->failed ? -1 : 0;
}

int ad_calib_tails_range(const ad_calib_tails *a, int index, float *lo, float *hi)
{
    const tails *t = &a->t[index];
    if (t->have == 0)
        return -1;
    *lo = t->lo_cut;
    *hi = t->hi_cut;
    return 0;
}

void ad_calib_tails_free(ad_calib_tails *a)
{
    if (a == NULL)
        return;
    for (int i = 0; i < a->n; i++) {
        free(a->t[i].top);
        free(a->t[i].bottom);
    }
    free(a->t);
    free(a->merge);
    free(a->below);
    free(a);
}

/* Sample `variant` of a photo: 0 as is; 1 its 75% centre crop, mirrored. */
static ad_status variant_of(const ad_pixmap *src, int variant, ad_pixmap *out, ad_err *err)
{
    int w = variant ? src->width * 3 / 4 : src->width, h = variant ? src->height * 3 / 4 : src->height;
    int x0 = (src->width - w) / 2, y0 = (src->height - h) / 2;
    ad_status rc = ad_pixmap_init(out, w < 1 ? 1 : w, h < 1 ? 1 : h, 3, err);
    if (rc != AD_OK)
        return rc;
    for (int y = 0; y < out->height; y++)
        for (int x = 0; x < out->width; x++) {
            int sx = variant ? x0 + (out->width - 1 - x) : x;
            const uint8_t *s = src->data + ((size_t)(y0 + y) * src->width + (size_t)sx) * 3;
            memcpy(out->data + ((size_t)y * out->width + (size_t)x) * 3, s, 3);
        }
    return AD_OK;
}

ad_status ad_calib_run(ad_model *probe, const ad_calib_config *cfg, const char *out_path, ad_err *err)
{
    const char *const *names;
    const int n = ad_model_probe_names(probe, &names), side = ad_model_side(probe);
    ad_qranges ranges = {0};
    ad_calib_tails *a = NULL;
    float *tensor = NULL;
    ad_status rc = AD_OK;
    double t0 = ad_clock_ms();
    if (n == 0)
        return ad_err_set(err, AD_EINVAL, "calibration needs a probe session");
    a = ad_calib_tails_new(n, cfg->tail, 2 * cfg->nphotos);
    tensor = malloc((size_t)3 * side * side * sizeof *tensor);
    if (!a || !tensor) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (int p = 0; p < cfg->nphotos; p++) {
        void *buf = NULL;
        size_t len = 0;
        ad_pixmap rgb = {0};
        if ((rc = ad_file_read(cfg->photos[p], (size_t)64 << 20, &buf, &len, err)) != AD_OK)
            goto out;
        rc = ad_image_decode_rgb(buf, len, (uint64_t)cfg->max_pixels, &rgb, err);
        free(buf);
        if (rc != AD_OK) {
            ad_err_set(err, rc, "calibration photo %s: %s", cfg->photos[p], err->msg);
            goto out;
        }
        for (int v = 0; v < 2 && rc == AD_OK; v++) {
            ad_pixmap sample = {0};
            if ((rc = variant_of(&rgb, v, &sample, err)) == AD_OK &&
                (rc = ad_matte_prepare_input(&sample, side, AD_MATTE_GRID_REFERENCE, tensor, err)) == AD_OK)
                rc = ad_model_probe(probe, tensor, on_activation, a, err);
            ad_pixmap_cleanup(&sample);
            if (rc == AD_OK && a->failed)
                rc = ad_err_set(err, AD_ENOMEM, "out of memory keeping the tails");
        }
        ad_pixmap_cleanup(&rgb);
        if (rc != AD_OK)
            goto out;
        if (cfg->log_progress && ((p + 1) % 16 == 0 || p + 1 == cfg->nphotos))
            ad_log(AD_LOG_INFO, "calibrate", "%d/%d photos, %.0f s", p + 1, cfg->nphotos,
                   (ad_clock_ms() - t0) / 1000.0);
    }
    if ((ranges.r = calloc((size_t)n, sizeof *ranges.r)) == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        /* The innermost kept values are the clip points. */
        if (ad_calib_tails_range(a, i, &ranges.r[i].lo, &ranges.r[i].hi) != 0) {
            rc = ad_err_set(err, AD_EBACKEND, "activation %s gave no values", names[i]);
            goto out;
        }
        if ((ranges.r[i].name = strdup(names[i])) == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            goto out;
        }
        ranges.n = i + 1;
    }
    rc = ad_qranges_write(out_path, &ranges, err);
out:
    ad_calib_tails_free(a);
    free(tensor);
    ad_qranges_free(&ranges);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

ad_status ad_calib_list_photos(const char *dir, char ***paths, int *n, ad_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    *paths = NULL;
    *n = 0;
    if (d == NULL)
        return ad_err_set(err, AD_ENOTFOUND, "calibration photos: no folder %s (run scripts/setup.sh)", dir);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || (strcmp(e->d_name + l - 4, ".jpg") != 0 && strcmp(e->d_name + l - 4, ".png") != 0))
            continue;
        char **np = realloc(*paths, (size_t)(*n + 1) * sizeof *np);
        size_t plen = strlen(dir) + l + 2;
        char *p = malloc(plen);
        if (np == NULL || p == NULL) {
            free(p);
            if (np)
                *paths = np;
            closedir(d);
            return ad_err_set(err, AD_ENOMEM, "out of memory");
        }
        snprintf(p, plen, "%s/%s", dir, e->d_name);
        *paths = np;
        (*paths)[(*n)++] = p;
    }
    closedir(d);
    if (*n == 0)
        return ad_err_set(err, AD_ENOTFOUND, "calibration photos: none in %s (run scripts/setup.sh)", dir);
    qsort(*paths, (size_t)*n, sizeof **paths, cmp_str);
    return AD_OK;
}

void ad_calib_key(const char *const *photos, int n, const char *model_identity, char key[65])
{
    ad_sha256 c;
    char line[4600];
    ad_sha256_init(&c);
    snprintf(line, sizeof line, "calib v1|q%d|%g|%d|%s|", AD_QUANT_VERSION, AD_CALIB_TAIL, AD_CALIB_SIDE,
             model_identity);
    ad_sha256_update(&c, line, strlen(line));
    for (int i = 0; i < n; i++) {
        struct stat st = {0};
        stat(photos[i], &st);
        const char *base = strrchr(photos[i], '/');
        snprintf(line, sizeof line, "%s:%lld|", base ? base + 1 : photos[i], (long long)st.st_size);
        ad_sha256_update(&c, line, strlen(line));
    }
    uint8_t d[32];
    ad_sha256_final(&c, d);
    for (int i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", d[i]);
}
