/* quantize.c — see quantize.h. */
#include "infer/quantize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"

#define OUTPUT_NAME "output"
#define RANGES_HEADER "# assetd int8 activation ranges v1: lo hi name\n"
#define INPUT_NAME "input"

void ad_qranges_free(ad_qranges *q)
{
    if (q == NULL)
        return;
    for (int i = 0; i < q->n; i++)
        free(q->r[i].name);
    free(q->r);
    q->r = NULL;
    q->n = 0;
}

ad_status ad_qranges_write(const char *path, const ad_qranges *q, ad_err *err)
{
    size_t cap = 128, len = 0;
    for (int i = 0; i < q->n; i++)
        cap += strlen(q->r[i].name) + 64;
    char *buf = malloc(cap);
    if (buf == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    len += (size_t)snprintf(buf + len, cap - len, RANGES_HEADER);
    for (int i = 0; i < q->n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%.9g %.9g %s\n", q->r[i].lo, q->r[i].hi, q->r[i].name);
    ad_status rc = ad_file_write_atomic(path, buf, len, 0644, err);
    free(buf);
    return rc;
}

ad_status ad_qranges_read(const char *path, ad_qranges *q, ad_err *err)
{
    void *data = NULL;
    size_t len = 0;
    ad_status rc;
    memset(q, 0, sizeof *q);
    if ((rc = ad_file_read(path, 1 << 24, &data, &len, err)) != AD_OK)
        return rc;
    char *text = realloc(data, len + 1), *save = NULL;
    if (text == NULL) {
        free(data);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    text[len] = '\0';
    if (strncmp(text, RANGES_HEADER, strlen(RANGES_HEADER)) != 0) {
        free(text);
        return ad_err_set(err, AD_EUNSUPPORTED, "%s: not an activation ranges file", path);
    }
    for (char *line = strtok_r(text + strlen(RANGES_HEADER), "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        float lo, hi;
        int at = 0;
        if (sscanf(line, "%f %f %n", &lo, &hi, &at) != 2 || at == 0 || line[at] == '\0' || !(lo <= hi)) {
            rc = ad_err_set(err, AD_EUNSUPPORTED, "%s: malformed line '%.80s'", path, line);
            break;
        }
        ad_qrange *r = realloc(q->r, (size_t)(q->n + 1) * sizeof *r);
        if (r == NULL || (r[q->n].name = strdup(line + at)) == NULL) {
            if (r)
                q->r = r;
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            break;
        }
        q->r = r;
        q->r[q->n].lo = lo;
        q->r[q->n].hi = hi;
        q->n++;
    }
    free(text);
    if (rc != AD_OK)
        ad_qranges_free(q);
    return rc;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000 | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        exp = 113;
        while (!(mant & 0x400)) {
            mant <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int is_output(const ad_onnx_model *m, const char *name)
{
    for (int i = 0; i < m->noutputs; i++)
        if (strcmp(m->outputs[i], name) == 0)
            return 1;
    return 0;
}

/* Every live node input named from becomes to. */
static int rename_uses(ad_onnx_model *m, const char *from, const char *to)
{
    for (int i = 0; i < m->nnodes; i++)
        for (int j = 0; j < m->nodes[i].nin; j++)
            if (!m->nodes[i].dead && strcmp(m->nodes[i].in[j], from) == 0 && ad_onnx_set_name(&m->nodes[i].in[j], to))
                return -1;
    return 0;
}

ad_status ad_quant_to_fp32(ad_onnx_model *m, ad_err *err)
{
    for (int i = 0; i < m->ninits; i++) {
        ad_onnx_tensor *t = &m->inits[i];
        if (t->dtype != AD_ONNX_FLOAT16)
            continue;
        size_t n = ad_onnx_elems(t);
        float *f = malloc(n > 0 ? n * sizeof *f : 1);
        if (f == NULL)
            return ad_err_set(err, AD_ENOMEM, "out of memory widening the weights");
        for (size_t k = 0; k < n; k++) {
            uint16_t h;
            memcpy(&h, t->data + 2 * k, 2);
            f[k] = half_to_float(h);
        }
        free(t->data);
        t->data = (uint8_t *)f;
        t->len = n * sizeof *f;
        t->dtype = AD_ONNX_FLOAT;
    }
    /* In fp32 every Cast of this graph is an identity: route around it. */
    for (int i = 0; i < m->nnodes; i++) {
        ad_onnx_node *c = &m->nodes[i];
        if (c->dead || strcmp(c->op, "Cast") != 0 || c->nin != 1 || c->nout != 1)
            continue;
        c->dead = 1;
        int fail;
        if (is_output(m, c->out[0])) {
            /* The graph output keeps its name: the producer writes it. */
            fail = rename_uses(m, c->in[0], c->out[0]);
            for (int p = 0; p < m->nnodes && !fail; p++)
                for (int j = 0; j < m->nodes[p].nout && !fail; j++)
                    if (!m->nodes[p].dead && strcmp(m->nodes[p].out[j], c->in[0]) == 0)
                        fail = ad_onnx_set_name(&m->nodes[p].out[j], c->out[0]);
        } else {
            fail = rename_uses(m, c->out[0], c->in[0]);
        }
        if (fail)
            return ad_err_set(err, AD_ENOMEM, "out of memory removing casts");
    }
    return AD_OK;
}

/* ---- the plan ---- */

enum { Q_NONE, Q_CONV, Q_POOL, Q_CONCAT, Q_ADD, Q_RESIZE };

static int qop(const ad_onnx_node *n)
{
    static const struct {
        const char *op;
        int kind;
    } ops[] = {{"Conv", Q_CONV}, {"MaxPool", Q_POOL}, {"Concat", Q_CONCAT}, {"Add", Q_ADD}, {"Resize", Q_RESIZE}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(n->op, ops[i].op) == 0)
            return ops[i].kind;
    return Q_NONE;
}

/* Inputs of a quantised op that carry activations (the others are weights,
 * or Resize's roi/scales/sizes). */
static int activation_inputs(const ad_onnx_node *n)
{
    switch (qop(n)) {
    case Q_CONV:
    case Q_POOL:
    case Q_RESIZE:
        return 1;
    case Q_CONCAT:
    case Q_ADD:
        return n->nin;
    default:
        return 0;
    }
}

typedef struct {
    const ad_onnx_model *m;
    ad_onnx_names *ix;
    char *live;   /* per node */
    char **marks; /* the tensors to quantise, in order found (borrowed names) */
    int nmarks, cap;
} plan;

static void plan_free(plan *p)
{
    ad_onnx_names_free(p->ix);
    free(p->live);
    free(p->marks);
}

static int mark(plan *p, char *name)
{
    for (int i = 0; i < p->nmarks; i++)
        if (strcmp(p->marks[i], name) == 0)
            return 0;
    if (p->nmarks == p->cap) {
        int ncap = p->cap ? 2 * p->cap : 256;
        char **a = realloc(p->marks, (size_t)ncap * sizeof *a);
        if (a == NULL)
            return -1;
        p->marks = a;
        p->cap = ncap;
    }
    p->marks[p->nmarks++] = name;
    return 0;
}

/* The live nodes reading tensor t: their count, and the only one in *only. */
static int consumers(const plan *p, const char *t, int *only)
{
    int n = 0;
    for (int i = 0; i < p->m->nnodes; i++)
        if (p->live[i])
            for (int j = 0; j < p->m->nodes[i].nin; j++)
                if (strcmp(p->m->nodes[i].in[j], t) == 0) {
                    n++;
                    *only = i;
                }
    return n;
}

/* Does tensor t carry integers of a shape computation (the Resize sizes
 * the re-targeting builds from Shape), not activations? */
static int is_shape_value(const plan *p, const char *t, int depth)
{
    int q = ad_onnx_producer(p->ix, t), i = ad_onnx_init_of(p->ix, t);
    if (i >= 0)
        return p->m->inits[i].dtype == AD_ONNX_INT64;
    if (q < 0 || depth > 16)
        return 0;
    const char *op = p->m->nodes[q].op;
    if (strcmp(op, "Shape") == 0 || strcmp(op, "Constant") == 0)
        return 1;
    if (strcmp(op, "Slice") == 0 || strcmp(op, "Concat") == 0 || strcmp(op, "Gather") == 0 ||
        strcmp(op, "Unsqueeze") == 0 || strcmp(op, "Squeeze") == 0)
        return p->m->nodes[q].nin > 0 && is_shape_value(p, p->m->nodes[q].in[0], depth + 1);
    return 0;
}

static int quantised(const plan *p, int i);

/* Does some live quantised node read t (directly or through a Relu)? */
static int read_quantised(const plan *p, const char *t, int depth)
{
    for (int i = 0; i < p->m->nnodes; i++) {
        const ad_onnx_node *n = &p->m->nodes[i];
        if (!p->live[i])
            continue;
        for (int j = 0; j < n->nin; j++)
            if (strcmp(n->in[j], t) == 0 &&
                (quantised(p, i) || (depth == 0 && strcmp(n->op, "Relu") == 0 && read_quantised(p, n->out[0], 1))))
                return 1;
    }
    return 0;
}

/* Is node i quantised? The ops of the list on activations, but for the
 * head: a Resize no quantised op reads (the final upsampling of the
 * logits) stays in float, and so does the Conv that feeds only it: the
 * logits are the one place where 8 bits cost quality (IoU -0.006 on
 * bgeval with them quantised) for no speed. */
static int quantised(const plan *p, int i)
{
    const ad_onnx_node *n = &p->m->nodes[i];
    if (!p->live[i] || qop(n) == Q_NONE || (n->nin > 0 && is_shape_value(p, n->in[0], 0)))
        return 0;
    if (qop(n) == Q_RESIZE)
        return read_quantised(p, n->out[0], 0);
    return 1;
}

static ad_status make_plan(const ad_onnx_model *m, plan *p, ad_err *err)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    if (!is_output(m, OUTPUT_NAME))
        return ad_err_set(err, AD_EUNSUPPORTED, "model: no graph output '%s'", OUTPUT_NAME);
    p->ix = ad_onnx_index(m);
    p->live = calloc((size_t)m->nnodes + 1, 1);
    int *stack = malloc(((size_t)m->nnodes + 1) * sizeof *stack), top = 0;
    if (!p->ix || !p->live || !stack) {
        free(stack);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    int root = ad_onnx_producer(p->ix, OUTPUT_NAME);
    if (root >= 0) {
        p->live[root] = 1;
        stack[top++] = root;
    }
    while (top > 0) {
        const ad_onnx_node *n = &m->nodes[stack[--top]];
        for (int j = 0; j < n->nin; j++) {
            int q = *n->in[j] ? ad_onnx_producer(p->ix, n->in[j]) : -1;
            if (q >= 0 && !p->live[q]) {
                p->live[q] = 1;
                stack[top++] = q;
            }
        }
    }
    free(stack);

    for (int i = 0; i < m->nnodes; i++) {
        const ad_onnx_node *n = &m->nodes[i];
        if (!quantised(p, i))
            continue;
        for (int j = 0; j < activation_inputs(n); j++)
            if (*n->in[j] && ad_onnx_init_of(p->ix, n->in[j]) < 0 && mark(p, n->in[j]))
                return ad_err_set(err, AD_ENOMEM, "out of memory");
        char *out = n->out[0];
        int next = -1;
        if (!read_quantised(p, out, 0))
            continue; /* the head's Conv: its output stays float */
        if (qop(n) == Q_CONV && consumers(p, out, &next) == 1 && strcmp(m->nodes[next].op, "Relu") == 0)
            out = m->nodes[next].out[0];
        if (mark(p, out))
            return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    return AD_OK;
}

/* Is tensor t's range derived (model input, MaxPool/Resize output)? */
static int derived(const plan *p, const char *t, const char **from)
{
    if (strcmp(t, INPUT_NAME) == 0)
        return 1;
    int q = ad_onnx_producer(p->ix, t);
    if (q >= 0 && (qop(&p->m->nodes[q]) == Q_POOL || qop(&p->m->nodes[q]) == Q_RESIZE)) {
        *from = p->m->nodes[q].in[0];
        return 1;
    }
    return 0;
}

ad_status ad_quant_plan(const ad_onnx_model *m, char ***names, int *n, ad_err *err)
{
    plan p;
    ad_status rc = make_plan(m, &p, err);
    *names = NULL;
    *n = 0;
    if (rc != AD_OK)
        goto out;
    if ((*names = calloc((size_t)p.nmarks + 1, sizeof **names)) == NULL) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < p.nmarks; i++) {
        const char *from = NULL;
        if (derived(&p, p.marks[i], &from))
            continue;
        if (((*names)[*n] = strdup(p.marks[i])) == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            goto out;
        }
        (*n)++;
    }
out:
    plan_free(&p);
    return rc;
}

/* ---- QDQ ---- */

typedef struct {
    float scale;
    uint8_t zp;
} qparams;

static ad_status params_of(const plan *p, const ad_qranges *ranges, const char *t, qparams *out, ad_err *err)
{
    const char *from = NULL;
    for (int depth = 0; depth < 64; depth++) {
        if (strcmp(t, INPUT_NAME) == 0) {
            *out = (qparams){1.0f / 256.0f, 128};
            return AD_OK;
        }
        if (!derived(p, t, &from))
            break;
        t = from;
    }
    for (int i = 0; i < ranges->n; i++) {
        if (strcmp(ranges->r[i].name, t) != 0)
            continue;
        float lo = fminf(ranges->r[i].lo, 0.0f), hi = fmaxf(ranges->r[i].hi, 0.0f);
        if (hi - lo < 1e-6f)
            hi = lo + 1e-6f;
        out->scale = (hi - lo) / 255.0f;
        float zp = roundf(-lo / out->scale);
        out->zp = (uint8_t)(zp < 0 ? 0 : zp > 255 ? 255 : zp);
        return AD_OK;
    }
    return ad_err_set(err, AD_ENOTFOUND, "no calibrated range for activation %.200s (re-run calibration)", t);
}

static int add_scalar(ad_onnx_model *m, const char *name, int dtype, const void *v, size_t size)
{
    uint8_t *d = malloc(size);
    if (d == NULL)
        return -1;
    memcpy(d, v, size);
    return ad_onnx_add_init(m, name, dtype, NULL, 0, d, size) < 0 ? -1 : 0;
}

/* Per-output-channel int8 weights and int32 bias behind DQs for Conv i. */
static ad_status quantize_conv_weights(ad_onnx_model *m, const plan *p, int i, float in_scale, int weight_bits,
                                       ad_err *err)
{
    char name[512], out[512];
    uint8_t axis[64];
    size_t axis_len = ad_onnx_int_attr(axis, sizeof axis, "axis", 0);
    int wi = m->nodes[i].nin > 1 ? ad_onnx_init_of(p->ix, m->nodes[i].in[1]) : -1;
    int bi = m->nodes[i].nin > 2 && *m->nodes[i].in[2] ? ad_onnx_init_of(p->ix, m->nodes[i].in[2]) : -1;
    if (wi < 0 || m->inits[wi].dtype != AD_ONNX_FLOAT || m->inits[wi].ndims < 2)
        return ad_err_set(err, AD_EUNSUPPORTED, "model: Conv %.200s has no float weight initializer", m->nodes[i].name);
    const ad_onnx_tensor *w = &m->inits[wi];
    const int64_t cout = w->dims[0];
    const size_t per = ad_onnx_elems(w) / (size_t)cout;
    const float qmax = weight_bits == 7 ? 63.0f : 127.0f;
    int8_t *q = malloc(ad_onnx_elems(w));
    float *scale = malloc((size_t)cout * sizeof *scale);
    int8_t *zp = calloc((size_t)cout, 1);
    if (!q || !scale || !zp)
        goto nomem;
    const float *wf = (const float *)w->data;
    for (int64_t c = 0; c < cout; c++) {
        float mx = 0;
        for (size_t k = 0; k < per; k++)
            mx = fmaxf(mx, fabsf(wf[c * per + k]));
        scale[c] = mx > 0 ? mx / qmax : 1.0f;
        for (size_t k = 0; k < per; k++) {
            float v = roundf(wf[c * per + k] / scale[c]);
            q[c * per + k] = (int8_t)(v < -qmax ? -qmax : v > qmax ? qmax : v);
        }
    }
    int32_t *bq = NULL;
    float *bscale = NULL;
    int32_t *bzp = NULL;
    if (bi >= 0) {
        const ad_onnx_tensor *b = &m->inits[bi];
        if (b->dtype != AD_ONNX_FLOAT || ad_onnx_elems(b) != (size_t)cout) {
            free(q);
            free(scale);
            free(zp);
            return ad_err_set(err, AD_EUNSUPPORTED, "model: Conv %.200s bias does not match its weights",
                              m->nodes[i].name);
        }
        bq = malloc((size_t)cout * sizeof *bq);
        bscale = malloc((size_t)cout * sizeof *bscale);
        bzp = calloc((size_t)cout, sizeof *bzp);
        if (!bq || !bscale || !bzp) {
            free(bq);
            free(bscale);
            free(bzp);
            goto nomem;
        }
        const float *bf = (const float *)b->data;
        for (int64_t c = 0; c < cout; c++) {
            bscale[c] = in_scale * scale[c];
            double v = nearbyint((double)bf[c] / bscale[c]);
            bq[c] = (int32_t)(v < -2147483647.0 ? -2147483647.0 : v > 2147483647.0 ? 2147483647.0 : v);
        }
    }
    /* Names follow the Conv (unique), not the weight (could be shared). */
    const int64_t wdims_c[1] = {cout};
    int64_t wdims[AD_ONNX_MAX_DIMS];
    int wnd = w->ndims;
    memcpy(wdims, w->dims, sizeof wdims);
    int fail = 0;
    const char *conv = *m->nodes[i].name ? m->nodes[i].name : m->nodes[i].out[0];
    char qn[600], sn[600], zn[600];
    snprintf(qn, sizeof qn, "%s/ad_w_q", conv);
    snprintf(sn, sizeof sn, "%s/ad_w_scale", conv);
    snprintf(zn, sizeof zn, "%s/ad_w_zp", conv);
    snprintf(out, sizeof out, "%s/ad_w", conv);
    fail |= ad_onnx_add_init(m, qn, AD_ONNX_INT8, wdims, wnd, (uint8_t *)q, ad_onnx_elems(w)) < 0;
    fail |= ad_onnx_add_init(m, sn, AD_ONNX_FLOAT, wdims_c, 1, (uint8_t *)scale, (size_t)cout * 4) < 0;
    fail |= ad_onnx_add_init(m, zn, AD_ONNX_INT8, wdims_c, 1, (uint8_t *)zp, (size_t)cout) < 0;
    const char *ins[3] = {qn, sn, zn}, *outs[1] = {out};
    snprintf(name, sizeof name, "%s/ad_w_dq", conv);
    fail |= ad_onnx_add_node(m, "DequantizeLinear", name, ins, 3, outs, 1, axis, axis_len, -1) < 0;
    fail |= ad_onnx_set_name(&m->nodes[i].in[1], out);
    if (bi >= 0) {
        snprintf(qn, sizeof qn, "%s/ad_b_q", conv);
        snprintf(sn, sizeof sn, "%s/ad_b_scale", conv);
        snprintf(zn, sizeof zn, "%s/ad_b_zp", conv);
        snprintf(out, sizeof out, "%s/ad_b", conv);
        fail |= ad_onnx_add_init(m, qn, AD_ONNX_INT32, wdims_c, 1, (uint8_t *)bq, (size_t)cout * 4) < 0;
        fail |= ad_onnx_add_init(m, sn, AD_ONNX_FLOAT, wdims_c, 1, (uint8_t *)bscale, (size_t)cout * 4) < 0;
        fail |= ad_onnx_add_init(m, zn, AD_ONNX_INT32, wdims_c, 1, (uint8_t *)bzp, (size_t)cout * 4) < 0;
        snprintf(name, sizeof name, "%s/ad_b_dq", conv);
        fail |= ad_onnx_add_node(m, "DequantizeLinear", name, ins, 3, outs, 1, axis, axis_len, -1) < 0;
        fail |= ad_onnx_set_name(&m->nodes[i].in[2], out);
    }
    /* The float weights stay for other readers; ORT drops unused ones. */
    return fail ? ad_err_set(err, AD_ENOMEM, "out of memory quantising weights") : AD_OK;
nomem:
    free(q);
    free(scale);
    free(zp);
    return ad_err_set(err, AD_ENOMEM, "out of memory quantising weights");
}

ad_status ad_quant_qdq(ad_onnx_model *m, const ad_qranges *ranges, int weight_bits, ad_err *err)
{
    plan p;
    ad_status rc = make_plan(m, &p, err);
    qparams *qp = NULL;
    char **names = NULL;
    int *producers = NULL, nmarks = 0;
    if (rc != AD_OK)
        goto out;
    nmarks = p.nmarks;
    qp = calloc((size_t)nmarks + 1, sizeof *qp);
    names = calloc((size_t)nmarks + 1, sizeof *names);
    producers = calloc((size_t)nmarks + 1, sizeof *producers);
    if (!qp || !names || !producers) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    /* Everything the plan needs, read before the first edit (additions
     * move the arrays the plan's names point into). */
    for (int i = 0; i < nmarks; i++) {
        if ((rc = params_of(&p, ranges, p.marks[i], &qp[i], err)) != AD_OK)
            goto out;
        producers[i] = ad_onnx_producer(p.ix, p.marks[i]);
        if ((names[i] = strdup(p.marks[i])) == NULL) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            goto out;
        }
    }
    const int original = m->nnodes;
    char *live = p.live; /* indices < original stay valid */
    for (int i = 0; i < original; i++) {
        if (!live[i] || qop(&m->nodes[i]) != Q_CONV)
            continue;
        qparams in = {0};
        for (int k = 0; k < nmarks; k++)
            if (strcmp(names[k], m->nodes[i].in[0]) == 0)
                in = qp[k];
        if (in.scale == 0) {
            rc = ad_err_set(err, AD_EUNSUPPORTED, "model: Conv %.200s input not quantised", m->nodes[i].name);
            goto out;
        }
        if ((rc = quantize_conv_weights(m, &p, i, in.scale, weight_bits, err)) != AD_OK)
            goto out;
    }
    uint8_t noattr[1];
    for (int k = 0; k < nmarks; k++) {
        const char *t = names[k];
        char sn[600], zn[600], qn[600], dn[620], nn[640];
        snprintf(sn, sizeof sn, "%s/ad_scale", t);
        snprintf(zn, sizeof zn, "%s/ad_zp", t);
        snprintf(qn, sizeof qn, "%s/ad_q", t);
        int fail = add_scalar(m, sn, AD_ONNX_FLOAT, &qp[k].scale, 4) || add_scalar(m, zn, AD_ONNX_UINT8, &qp[k].zp, 1);
        const char *qin[3] = {t, sn, zn}, *qout[1] = {qn};
        snprintf(nn, sizeof nn, "%s/ad_Q", t);
        int qnode = fail ? -1 : ad_onnx_add_node(m, "QuantizeLinear", nn, qin, 3, qout, 1, noattr, 0, producers[k]);
        fail |= qnode < 0;
        /* One DQ per reading input (a DQ read twice would stop ORT's
         * fusions), written right after the Q, which follows the producer:
         * the node order stays topological. */
        int ndq = 0;
        for (int i = 0; i < original && !fail; i++) {
            if (!live[i])
                continue;
            for (int j = 0; j < m->nodes[i].nin && !fail; j++) {
                if (strcmp(m->nodes[i].in[j], t) != 0)
                    continue;
                snprintf(dn, sizeof dn, "%s/ad_dq%d", t, ndq++);
                const char *din[3] = {qn, sn, zn}, *dout[1] = {dn};
                fail |= ad_onnx_add_node(m, "DequantizeLinear", dn, din, 3, dout, 1, noattr, 0, qnode) < 0;
                fail |= ad_onnx_set_name(&m->nodes[i].in[j], dn);
            }
        }
        if (fail) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory inserting QDQ");
            goto out;
        }
    }
out:
    if (names)
        for (int i = 0; i < nmarks; i++)
            free(names[i]);
    free(names);
    free(qp);
    free(producers);
    plan_free(&p);
    return rc;
}
