/* onnx_model.c — see onnx_model.h. Field numbers are onnx.proto's. */
#include "infer/onnx_model.h"

#include <stdlib.h>
#include <string.h>

#include "base/pbwire.h"

enum { MODEL_GRAPH = 7 };
enum { GRAPH_NODE = 1, GRAPH_INIT = 5, GRAPH_OUTPUT = 12 };
enum { NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4 };
enum { ATTR_NAME = 1, ATTR_I = 3, ATTR_TYPE = 20, ATTR_TYPE_INT = 2 };
enum { T_DIMS = 1, T_DTYPE = 2, T_FLOAT_DATA = 4, T_NAME = 8, T_RAW = 9, T_LOCATION = 14 };
enum { VI_NAME = 1, VI_TYPE = 2, TYPE_TENSOR = 1, TENSOR_ELEM = 1 };

static char *dup_span(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static int push_str(char ***arr, int *n, const uint8_t *p, size_t len)
{
    char **a = realloc(*arr, (size_t)(*n + 1) * sizeof *a);
    if (a == NULL)
        return -1;
    *arr = a;
    if ((a[*n] = dup_span(p, len)) == NULL)
        return -1;
    (*n)++;
    return 0;
}

static int append(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
    uint8_t *b = realloc(*buf, *len + n);
    if (b == NULL)
        return -1;
    memcpy(b + *len, p, n);
    *buf = b;
    *len += n;
    return 0;
}

static int grow(void **arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int ncap = *cap ? *cap * 2 : 256;
    while (ncap < need)
        ncap *= 2;
    void *a = realloc(*arr, (size_t)ncap * size);
    if (a == NULL)
        return -1;
    *arr = a;
    *cap = ncap;
    return 0;
}

static ad_status read_node(const ad_pb_field *f, ad_onnx_node *nd)
{
    ad_pb_reader r;
    ad_pb_field g;
    int k;
    memset(nd, 0, sizeof *nd);
    nd->after = -2; /* an original node: written in its place */
    ad_pb_reader_init(&r, f->data, f->len);
    while ((k = ad_pb_next(&r, &g)) == 1) {
        int fail = 0;
        if (g.wire == AD_PB_LEN && g.field == NODE_INPUT)
            fail = push_str(&nd->in, &nd->nin, g.data, g.len);
        else if (g.wire == AD_PB_LEN && g.field == NODE_OUTPUT)
            fail = push_str(&nd->out, &nd->nout, g.data, g.len);
        else if (g.wire == AD_PB_LEN && g.field == NODE_NAME)
            fail = (free(nd->name), nd->name = dup_span(g.data, g.len)) == NULL;
        else if (g.wire == AD_PB_LEN && g.field == NODE_OP)
            fail = (free(nd->op), nd->op = dup_span(g.data, g.len)) == NULL;
        else
            fail = append(&nd->rest, &nd->rest_len, g.start, g.whole_len);
        if (fail)
            return AD_ENOMEM;
    }
    if (k < 0 || nd->op == NULL)
        return AD_EUNSUPPORTED;
    if (nd->name == NULL && (nd->name = dup_span((const uint8_t *)"", 0)) == NULL)
        return AD_ENOMEM;
    return AD_OK;
}

static size_t dtype_size(int dtype)
{
    switch (dtype) {
    case AD_ONNX_FLOAT:
    case AD_ONNX_INT32:
        return 4;
    case AD_ONNX_INT64:
        return 8;
    case AD_ONNX_FLOAT16:
        return 2;
    case AD_ONNX_UINT8:
    case AD_ONNX_INT8:
        return 1;
    default:
        return 0;
    }
}

size_t ad_onnx_elems(const ad_onnx_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndims; i++)
        n *= (size_t)t->dims[i];
    return n;
}

static ad_status read_tensor(const ad_pb_field *f, ad_onnx_tensor *t, ad_err *err)
{
    ad_pb_reader r;
    ad_pb_field g;
    int k;
    memset(t, 0, sizeof *t);
    ad_pb_reader_init(&r, f->data, f->len);
    while ((k = ad_pb_next(&r, &g)) == 1) {
        if (g.field == T_DIMS && g.wire == AD_PB_VARINT) {
            if (t->ndims == AD_ONNX_MAX_DIMS)
                return ad_err_set(err, AD_EUNSUPPORTED, "model: a tensor has more than %d dims", AD_ONNX_MAX_DIMS);
            t->dims[t->ndims++] = (int64_t)g.varint;
        } else if (g.field == T_DIMS && g.wire == AD_PB_LEN) { /* packed */
            ad_pb_reader d;
            uint64_t x;
            ad_pb_reader_init(&d, g.data, g.len);
            while (d.p < d.end) {
                if (ad_pb_read_varint(&d, &x) != 0 || t->ndims == AD_ONNX_MAX_DIMS)
                    return ad_err_set(err, AD_EUNSUPPORTED, "model: malformed tensor dims");
                t->dims[t->ndims++] = (int64_t)x;
            }
        } else if (g.field == T_DTYPE && g.wire == AD_PB_VARINT) {
            t->dtype = (int)g.varint;
        } else if (g.field == T_NAME && g.wire == AD_PB_LEN) {
            free(t->name);
            if ((t->name = dup_span(g.data, g.len)) == NULL)
                return ad_err_set(err, AD_ENOMEM, "out of memory");
        } else if ((g.field == T_RAW || g.field == T_FLOAT_DATA) && g.wire == AD_PB_LEN) {
            free(t->data);
            if ((t->data = malloc(g.len ? g.len : 1)) == NULL)
                return ad_err_set(err, AD_ENOMEM, "out of memory");
            memcpy(t->data, g.data, g.len);
            t->len = g.len;
        } else if (g.field == T_LOCATION && g.varint != 0) {
            return ad_err_set(err, AD_EUNSUPPORTED, "model: external tensor data is not supported");
        }
    }
    if (k < 0 || t->name == NULL)
        return ad_err_set(err, AD_EUNSUPPORTED, "model: malformed initializer");
    size_t es = dtype_size(t->dtype);
    if (es == 0 || t->len != ad_onnx_elems(t) * es)
        return ad_err_set(err, AD_EUNSUPPORTED, "model: initializer %.200s has type %d or %zu bytes for its shape",
                          t->name, t->dtype, t->len);
    return AD_OK;
}

static ad_status read_graph(const ad_pb_field *gf, ad_onnx_model *m, ad_err *err)
{
    ad_pb_reader r, vr;
    ad_pb_field f, v;
    int k;
    ad_status rc;
    ad_pb_reader_init(&r, gf->data, gf->len);
    while ((k = ad_pb_next(&r, &f)) == 1) {
        if (f.wire == AD_PB_LEN && f.field == GRAPH_NODE) {
            if (grow((void **)&m->nodes, &m->cap_nodes, m->nnodes + 1, sizeof *m->nodes))
                return ad_err_set(err, AD_ENOMEM, "out of memory");
            rc = read_node(&f, &m->nodes[m->nnodes++]);
            if (rc != AD_OK)
                return ad_err_set(err, rc, rc == AD_ENOMEM ? "out of memory" : "model: malformed node");
        } else if (f.wire == AD_PB_LEN && f.field == GRAPH_INIT) {
            if (grow((void **)&m->inits, &m->cap_inits, m->ninits + 1, sizeof *m->inits))
                return ad_err_set(err, AD_ENOMEM, "out of memory");
            if ((rc = read_tensor(&f, &m->inits[m->ninits++], err)) != AD_OK)
                return rc;
        } else {
            if (f.wire == AD_PB_LEN && f.field == GRAPH_OUTPUT) {
                ad_pb_reader_init(&vr, f.data, f.len);
                while (ad_pb_next(&vr, &v) == 1)
                    if (v.field == VI_NAME && v.wire == AD_PB_LEN && push_str(&m->outputs, &m->noutputs, v.data, v.len))
                        return ad_err_set(err, AD_ENOMEM, "out of memory");
            }
            if (append(&m->graph_rest, &m->graph_rest_len, f.start, f.whole_len))
                return ad_err_set(err, AD_ENOMEM, "out of memory");
        }
    }
    if (k < 0)
        return ad_err_set(err, AD_EUNSUPPORTED, "model: malformed graph");
    return AD_OK;
}

ad_status ad_onnx_read(const uint8_t *buf, size_t len, ad_onnx_model *m, ad_err *err)
{
    ad_pb_reader r;
    ad_pb_field f;
    int k, graphs = 0;
    ad_status rc = AD_OK;
    memset(m, 0, sizeof *m);
    ad_pb_reader_init(&r, buf, len);
    while ((k = ad_pb_next(&r, &f)) == 1) {
        if (f.field == MODEL_GRAPH && f.wire == AD_PB_LEN) {
            if (graphs++) {
                rc = ad_err_set(err, AD_EUNSUPPORTED, "model: more than one graph");
                goto fail;
            }
            if ((rc = read_graph(&f, m, err)) != AD_OK)
                goto fail;
        } else if (append(&m->model_rest, &m->model_rest_len, f.start, f.whole_len)) {
            rc = ad_err_set(err, AD_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (k < 0 || graphs != 1) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "model: not an ONNX model (%s)", k < 0 ? "malformed" : "no graph");
        goto fail;
    }
    return AD_OK;
fail:
    ad_onnx_free(m);
    return rc;
}

static void put_node(ad_pb_writer *w, const ad_onnx_node *nd)
{
    ad_pb_writer n = {0};
    for (int i = 0; i < nd->nin; i++)
        ad_pb_put_string(&n, NODE_INPUT, nd->in[i]);
    for (int i = 0; i < nd->nout; i++)
        ad_pb_put_string(&n, NODE_OUTPUT, nd->out[i]);
    if (*nd->name)
        ad_pb_put_string(&n, NODE_NAME, nd->name);
    ad_pb_put_string(&n, NODE_OP, nd->op);
    if (nd->rest_len)
        ad_pb_put_raw(&n, nd->rest, nd->rest_len);
    ad_pb_put_message(w, GRAPH_NODE, &n);
    ad_pb_writer_cleanup(&n);
}

static void put_tensor(ad_pb_writer *w, const ad_onnx_tensor *t)
{
    ad_pb_writer tw = {0};
    for (int i = 0; i < t->ndims; i++)
        ad_pb_put_varint(&tw, T_DIMS, (uint64_t)t->dims[i]);
    ad_pb_put_varint(&tw, T_DTYPE, (uint64_t)t->dtype);
    ad_pb_put_string(&tw, T_NAME, t->name);
    ad_pb_put_bytes(&tw, T_RAW, t->data, t->len);
    ad_pb_put_message(w, GRAPH_INIT, &tw);
    ad_pb_writer_cleanup(&tw);
}

/* Original node i, then the nodes added after it (recursively: a node added
 * after an added node follows that one). */
static void put_with_followers(ad_pb_writer *w, const ad_onnx_model *m, int i, const int *first, const int *next)
{
    if (!m->nodes[i].dead)
        put_node(w, &m->nodes[i]);
    for (int j = first[i]; j >= 0; j = next[j])
        put_with_followers(w, m, j, first, next);
}

ad_status ad_onnx_write(const ad_onnx_model *m, uint8_t **out, size_t *out_len, ad_err *err)
{
    ad_pb_writer w = {0}, g = {0};
    int *first = malloc(((size_t)m->nnodes + 1) * sizeof *first);
    int *next = malloc(((size_t)m->nnodes + 1) * sizeof *next);
    int *last = malloc(((size_t)m->nnodes + 1) * sizeof *last);
    ad_status rc = AD_OK;
    *out = NULL;
    if (!first || !next || !last) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    /* Followers lists, slot nnodes standing for "before all" (-1). */
    for (int i = 0; i <= m->nnodes; i++)
        first[i] = next[i] = last[i] = -1;
    for (int i = 0; i < m->nnodes; i++) {
        int a = m->nodes[i].after;
        if (a == -2)
            continue;
        int slot = a < 0 ? m->nnodes : a;
        if (last[slot] < 0)
            first[slot] = i;
        else
            next[last[slot]] = i;
        last[slot] = i;
    }
    for (int j = first[m->nnodes]; j >= 0; j = next[j])
        put_with_followers(&g, m, j, first, next);
    for (int i = 0; i < m->nnodes; i++)
        if (m->nodes[i].after == -2)
            put_with_followers(&g, m, i, first, next);
    for (int i = 0; i < m->ninits; i++)
        if (!m->inits[i].dead)
            put_tensor(&g, &m->inits[i]);
    ad_pb_put_raw(&g, m->graph_rest, m->graph_rest_len);
    if (m->extra_outputs_len)
        ad_pb_put_raw(&g, m->extra_outputs, m->extra_outputs_len);
    ad_pb_put_raw(&w, m->model_rest, m->model_rest_len);
    ad_pb_put_message(&w, MODEL_GRAPH, &g);
    if (w.failed || g.failed) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory writing the model");
        goto out;
    }
    *out = ad_pb_writer_take(&w, out_len);
out:
    ad_pb_writer_cleanup(&w);
    ad_pb_writer_cleanup(&g);
    free(first);
    free(next);
    free(last);
    return rc;
}

static void free_strs(char **a, int n)
{
    for (int i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

void ad_onnx_free(ad_onnx_model *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->nnodes; i++) {
        ad_onnx_node *nd = &m->nodes[i];
        free(nd->op);
        free(nd->name);
        free_strs(nd->in, nd->nin);
        free_strs(nd->out, nd->nout);
        free(nd->rest);
    }
    for (int i = 0; i < m->ninits; i++) {
        free(m->inits[i].name);
        free(m->inits[i].data);
    }
    free(m->nodes);
    free(m->inits);
    free_strs(m->outputs, m->noutputs);
    free(m->graph_rest);
    free(m->model_rest);
    free(m->extra_outputs);
    memset(m, 0, sizeof *m);
}

int ad_onnx_add_node(ad_onnx_model *m, const char *op, const char *name, const char *const *ins, int nin,
                     const char *const *outs, int nout, const uint8_t *rest, size_t rest_len, int after)
{
    if (grow((void **)&m->nodes, &m->cap_nodes, m->nnodes + 1, sizeof *m->nodes))
        return -1;
    ad_onnx_node *nd = &m->nodes[m->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->after = after;
    int fail = (nd->op = strdup(op)) == NULL || (nd->name = strdup(name)) == NULL;
    for (int i = 0; i < nin && !fail; i++)
        fail = push_str(&nd->in, &nd->nin, (const uint8_t *)ins[i], strlen(ins[i]));
    for (int i = 0; i < nout && !fail; i++)
        fail = push_str(&nd->out, &nd->nout, (const uint8_t *)outs[i], strlen(outs[i]));
    if (!fail && rest_len)
        fail = append(&nd->rest, &nd->rest_len, rest, rest_len);
    m->nnodes++; /* freed with the model even when incomplete */
    if (fail) {
        nd->dead = 1;
        return -1;
    }
    return m->nnodes - 1;
}

int ad_onnx_add_init(ad_onnx_model *m, const char *name, int dtype, const int64_t *dims, int ndims, uint8_t *data,
                     size_t len)
{
    if (ndims > AD_ONNX_MAX_DIMS || grow((void **)&m->inits, &m->cap_inits, m->ninits + 1, sizeof *m->inits)) {
        free(data);
        return -1;
    }
    ad_onnx_tensor *t = &m->inits[m->ninits];
    memset(t, 0, sizeof *t);
    if ((t->name = strdup(name)) == NULL) {
        free(data);
        return -1;
    }
    t->dtype = dtype;
    t->ndims = ndims;
    if (ndims > 0) /* a scalar passes no dims */
        memcpy(t->dims, dims, (size_t)ndims * sizeof *dims);
    t->data = data;
    t->len = len;
    return m->ninits++;
}

int ad_onnx_set_name(char **slot, const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        return -1;
    free(*slot);
    *slot = c;
    return 0;
}

int ad_onnx_add_output(ad_onnx_model *m, const char *name, int dtype)
{
    ad_pb_writer vi = {0}, type = {0}, tensor = {0}, out = {0};
    ad_pb_put_varint(&tensor, TENSOR_ELEM, (uint64_t)dtype);
    ad_pb_put_message(&type, TYPE_TENSOR, &tensor);
    ad_pb_put_string(&vi, VI_NAME, name);
    ad_pb_put_message(&vi, VI_TYPE, &type);
    ad_pb_put_message(&out, GRAPH_OUTPUT, &vi);
    int fail = out.failed || append(&m->extra_outputs, &m->extra_outputs_len, out.buf, out.len);
    ad_pb_writer_cleanup(&vi);
    ad_pb_writer_cleanup(&type);
    ad_pb_writer_cleanup(&tensor);
    ad_pb_writer_cleanup(&out);
    return fail ? -1 : 0;
}

size_t ad_onnx_int_attr(uint8_t *buf, size_t cap, const char *name, int64_t v)
{
    ad_pb_writer a = {0}, w = {0};
    ad_pb_put_string(&a, ATTR_NAME, name);
    ad_pb_put_varint(&a, ATTR_I, (uint64_t)v);
    ad_pb_put_varint(&a, ATTR_TYPE, ATTR_TYPE_INT);
    ad_pb_put_message(&w, 5 /* NodeProto.attribute */, &a);
    size_t n = !w.failed && w.len <= cap ? w.len : 0;
    if (n)
        memcpy(buf, w.buf, n);
    ad_pb_writer_cleanup(&a);
    ad_pb_writer_cleanup(&w);
    return n;
}

/* ---- name index: open addressing over FNV-1a hashes ---- */

typedef struct {
    const char *key; /* borrowed from the model */
    int node, init;
} slot;

struct ad_onnx_names {
    slot *slots;
    size_t mask;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static slot *find(const ad_onnx_names *ix, const char *key, int insert)
{
    for (size_t i = fnv(key) & ix->mask;; i = (i + 1) & ix->mask) {
        slot *s = &ix->slots[i];
        if (s->key == NULL) {
            if (!insert)
                return NULL;
            s->key = key;
            s->node = s->init = -1;
            return s;
        }
        if (strcmp(s->key, key) == 0)
            return s;
    }
}

ad_onnx_names *ad_onnx_index(const ad_onnx_model *m)
{
    size_t want = 2 * ((size_t)m->ninits + 4 * (size_t)m->nnodes) + 16, cap = 64;
    while (cap < want)
        cap *= 2;
    ad_onnx_names *ix = calloc(1, sizeof *ix);
    if (ix == NULL || (ix->slots = calloc(cap, sizeof *ix->slots)) == NULL) {
        free(ix);
        return NULL;
    }
    ix->mask = cap - 1;
    for (int i = 0; i < m->nnodes; i++)
        if (!m->nodes[i].dead)
            for (int j = 0; j < m->nodes[i].nout; j++)
                find(ix, m->nodes[i].out[j], 1)->node = i;
    for (int i = 0; i < m->ninits; i++)
        if (!m->inits[i].dead)
            find(ix, m->inits[i].name, 1)->init = i;
    return ix;
}

int ad_onnx_producer(const ad_onnx_names *ix, const char *tensor)
{
    const slot *s = find(ix, tensor, 0);
    return s ? s->node : -1;
}

int ad_onnx_init_of(const ad_onnx_names *ix, const char *tensor)
{
    const slot *s = find(ix, tensor, 0);
    return s ? s->init : -1;
}

void ad_onnx_names_free(ad_onnx_names *ix)
{
    if (ix == NULL)
        return;
    free(ix->slots);
    free(ix);
}

ad_status ad_onnx_prune(ad_onnx_model *m, ad_err *err)
{
    ad_onnx_names *ix = ad_onnx_index(m);
    char *live = calloc((size_t)m->nnodes + 1, 1), *used = calloc((size_t)m->ninits + 1, 1);
    int *stack = malloc(((size_t)m->nnodes + 1) * sizeof *stack), top = 0;
    ad_status rc = AD_OK;
    if (!ix || !live || !used || !stack) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < m->noutputs; i++) {
        int q = ad_onnx_producer(ix, m->outputs[i]);
        if (q >= 0 && !live[q]) {
            live[q] = 1;
            stack[top++] = q;
        }
    }
    while (top > 0) {
        const ad_onnx_node *n = &m->nodes[stack[--top]];
        for (int j = 0; j < n->nin; j++) {
            if (!*n->in[j])
                continue;
            int q = ad_onnx_producer(ix, n->in[j]), t = ad_onnx_init_of(ix, n->in[j]);
            if (t >= 0)
                used[t] = 1;
            if (q >= 0 && !live[q]) {
                live[q] = 1;
                stack[top++] = q;
            }
        }
    }
    for (int i = 0; i < m->nnodes; i++)
        if (!live[i])
            m->nodes[i].dead = 1;
    for (int i = 0; i < m->ninits; i++)
        if (!used[i])
            m->inits[i].dead = 1;
out:
    ad_onnx_names_free(ix);
    free(live);
    free(used);
    free(stack);
    return rc;
}
