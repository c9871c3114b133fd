/* isnet_graph.c — see isnet_graph.h. Field numbers are onnx.proto's. */
#include "infer/isnet_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pbwire.h"

enum { MODEL_GRAPH = 7 };
enum { GRAPH_NODE = 1, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12, GRAPH_VALUE_INFO = 13 };
enum { NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTR = 5 };
enum { ATTR_NAME = 1, ATTR_I = 3, ATTR_TYPE = 20, ATTR_TYPE_INT = 2 };
enum { VI_NAME = 1, VI_TYPE = 2, TYPE_TENSOR = 1, TENSOR_ELEM = 1, TENSOR_SHAPE = 2, SHAPE_DIM = 1, DIM_VALUE = 1 };
enum { ELEM_FLOAT = 1 };

#define MAX_IO 16
#define INPUT_NAME "input"
#define OUTPUT_NAME "output"

typedef struct {
    const uint8_t *p;
    size_t len;
} span;

typedef struct {
    ad_pb_field whole;
    span name, op;
    span in[MAX_IO], out[MAX_IO];
    int nin, nout;
    /* The plan, for a Resize: compute its sizes from the shapes of its
     * input and of ref, in new tensors named prefix + nc|hw|sizes. */
    int retarget;
    span ref;
    char *prefix; /* owned */
} node;

typedef struct {
    node *nodes;
    int n;
} graph;

static int span_eq(span a, span b) { return a.len == b.len && memcmp(a.p, b.p, a.len) == 0; }
static int span_is(span a, const char *s) { return a.len == strlen(s) && memcmp(a.p, s, a.len) == 0; }

static ad_status parse_node(const ad_pb_field *f, node *nd, ad_err *err)
{
    ad_pb_reader r;
    ad_pb_field g;
    int k;
    nd->whole = *f;
    ad_pb_reader_init(&r, f->data, f->len);
    while ((k = ad_pb_next(&r, &g)) == 1) {
        if (g.wire != AD_PB_LEN)
            continue;
        span s = {g.data, g.len};
        if (g.field == NODE_INPUT || g.field == NODE_OUTPUT) {
            int *n = g.field == NODE_INPUT ? &nd->nin : &nd->nout;
            if (*n == MAX_IO)
                return ad_err_set(err, AD_EUNSUPPORTED, "model: a node has more than %d inputs or outputs", MAX_IO);
            (g.field == NODE_INPUT ? nd->in : nd->out)[(*n)++] = s;
        } else if (g.field == NODE_NAME) {
            nd->name = s;
        } else if (g.field == NODE_OP) {
            nd->op = s;
        }
    }
    if (k < 0)
        return ad_err_set(err, AD_EUNSUPPORTED, "model: malformed node");
    return AD_OK;
}

static node *producer(graph *gr, span name)
{
    for (int i = 0; i < gr->n; i++)
        for (int j = 0; j < gr->nodes[i].nout; j++)
            if (span_eq(gr->nodes[i].out[j], name))
                return &gr->nodes[i];
    return NULL;
}

/* The first node with the given op reading `name` (its input number in
 * *input_index), or NULL. */
static node *consumer(graph *gr, span name, const char *op, int *input_index)
{
    for (int i = 0; i < gr->n; i++) {
        node *c = &gr->nodes[i];
        if (!span_is(c->op, op))
            continue;
        for (int j = 0; j < c->nin; j++)
            if (span_eq(c->in[j], name)) {
                if (input_index)
                    *input_index = j;
                return c;
            }
    }
    return NULL;
}

/* Plan the rewrite of one Resize node: find the tensor whose height and
 * width its result must have. */
static ad_status plan_resize(graph *gr, node *rs, span graph_input, ad_err *err)
{
    if (rs->nin != 4 || rs->in[2].len != 0 || rs->in[3].len == 0 || rs->nout != 1)
        return ad_err_set(err, AD_EUNSUPPORTED, "model: Resize %.*s does not take sizes",
                          (int)(rs->name.len < 100 ? rs->name.len : 100), (const char *)rs->name.p);

    /* The upsampled map, maybe through a Cast, is concatenated with its
     * skip connection: that tensor has the size to reach. */
    span y = rs->out[0];
    node *cast = consumer(gr, y, "Cast", NULL);
    if (cast && cast->nout == 1)
        y = cast->out[0];
    int at = -1;
    node *join = consumer(gr, y, "Concat", &at);
    if (join && join->nin >= 2)
        rs->ref = join->in[at == 0 ? 1 : 0];
    else /* a side output, upsampled to the input's size */
        rs->ref = graph_input;

    size_t n = rs->name.len + sizeof "/ad_sizes";
    if ((rs->prefix = malloc(n)) == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    snprintf(rs->prefix, n, "%.*s/ad_", (int)rs->name.len, (const char *)rs->name.p);
    for (const char *suffix = "nc\0hw\0sizes\0"; *suffix; suffix += strlen(suffix) + 1) {
        char name[512];
        snprintf(name, sizeof name, "%s%s", rs->prefix, suffix);
        if (producer(gr, (span){(const uint8_t *)name, strlen(name)}) != NULL)
            return ad_err_set(err, AD_EUNSUPPORTED, "model: tensor %s exists already", name);
    }
    rs->retarget = 1;
    return AD_OK;
}

static void put_int_attr(ad_pb_writer *w, const char *name, int64_t v)
{
    ad_pb_writer a = {0};
    ad_pb_put_string(&a, ATTR_NAME, name);
    ad_pb_put_varint(&a, ATTR_I, (uint64_t)v);
    ad_pb_put_varint(&a, ATTR_TYPE, ATTR_TYPE_INT);
    ad_pb_put_message(w, NODE_ATTR, &a);
    ad_pb_writer_cleanup(&a);
}

static void put_node(ad_pb_writer *w, const char *op, const char *in0, size_t in0_len, const char *in1, const char *out,
                     const char *attr, int64_t v, const char *attr2, int64_t v2)
{
    ad_pb_writer nd = {0};
    ad_pb_put_bytes(&nd, NODE_INPUT, in0, in0_len);
    if (in1)
        ad_pb_put_string(&nd, NODE_INPUT, in1);
    ad_pb_put_string(&nd, NODE_OUTPUT, out);
    ad_pb_put_string(&nd, NODE_NAME, out);
    ad_pb_put_string(&nd, NODE_OP, op);
    put_int_attr(&nd, attr, v);
    if (attr2)
        put_int_attr(&nd, attr2, v2);
    ad_pb_put_message(w, GRAPH_NODE, &nd);
    ad_pb_writer_cleanup(&nd);
}

/* sizes = Concat(Shape(x)[0:2], Shape(ref)[2:4]), then the Resize reading
 * it in place of the export's constant-derived sizes. */
static void put_retargeted(ad_pb_writer *w, const node *rs)
{
    char nc[512], hw[512], sizes[512];
    snprintf(nc, sizeof nc, "%snc", rs->prefix);
    snprintf(hw, sizeof hw, "%shw", rs->prefix);
    snprintf(sizes, sizeof sizes, "%ssizes", rs->prefix);
    put_node(w, "Shape", (const char *)rs->in[0].p, rs->in[0].len, NULL, nc, "start", 0, "end", 2);
    put_node(w, "Shape", (const char *)rs->ref.p, rs->ref.len, NULL, hw, "start", 2, "end", 4);
    put_node(w, "Concat", nc, strlen(nc), hw, sizes, "axis", 0, NULL, 0);

    ad_pb_writer c = {0};
    ad_pb_reader r;
    ad_pb_field f;
    int input = 0;
    ad_pb_reader_init(&r, rs->whole.data, rs->whole.len);
    while (ad_pb_next(&r, &f) == 1) {
        if (f.field == NODE_INPUT && f.wire == AD_PB_LEN && input++ == 3)
            ad_pb_put_string(&c, NODE_INPUT, sizes);
        else
            ad_pb_put_raw(&c, f.start, f.whole_len);
    }
    ad_pb_put_message(w, GRAPH_NODE, &c);
    ad_pb_writer_cleanup(&c);
}

/* A float tensor value_info with static dims. */
static void put_value_info(ad_pb_writer *w, uint32_t field, const char *name, const int64_t *dims, int ndims)
{
    ad_pb_writer vi = {0}, type = {0}, tensor = {0}, shape = {0};
    for (int i = 0; i < ndims; i++) {
        ad_pb_writer d = {0};
        ad_pb_put_varint(&d, DIM_VALUE, (uint64_t)dims[i]);
        ad_pb_put_message(&shape, SHAPE_DIM, &d);
        ad_pb_writer_cleanup(&d);
    }
    ad_pb_put_varint(&tensor, TENSOR_ELEM, ELEM_FLOAT);
    ad_pb_put_message(&tensor, TENSOR_SHAPE, &shape);
    ad_pb_put_message(&type, TYPE_TENSOR, &tensor);
    ad_pb_put_string(&vi, VI_NAME, name);
    ad_pb_put_message(&vi, VI_TYPE, &type);
    ad_pb_put_message(w, field, &vi);
    ad_pb_writer_cleanup(&vi);
    ad_pb_writer_cleanup(&type);
    ad_pb_writer_cleanup(&tensor);
    ad_pb_writer_cleanup(&shape);
}

/* The name of a ValueInfoProto, or an empty span. */
static span value_info_name(const ad_pb_field *f)
{
    ad_pb_reader r;
    ad_pb_field g;
    ad_pb_reader_init(&r, f->data, f->len);
    while (ad_pb_next(&r, &g) == 1)
        if (g.field == VI_NAME && g.wire == AD_PB_LEN)
            return (span){g.data, g.len};
    return (span){NULL, 0};
}

static ad_status rewrite_graph(const ad_pb_field *gf, int side, ad_pb_writer *w, int *n_resize, ad_err *err)
{
    ad_status rc = AD_OK;
    graph gr = {0};
    ad_pb_reader r;
    ad_pb_field f;
    int k, cap = 0, have_input = 0, have_output = 0;
    span graph_input = {(const uint8_t *)INPUT_NAME, strlen(INPUT_NAME)};

    ad_pb_reader_init(&r, gf->data, gf->len);
    while ((k = ad_pb_next(&r, &f)) == 1) {
        if (f.wire != AD_PB_LEN)
            continue;
        if (f.field == GRAPH_INPUT && span_is(value_info_name(&f), INPUT_NAME))
            have_input = 1;
        if (f.field == GRAPH_OUTPUT && span_is(value_info_name(&f), OUTPUT_NAME))
            have_output = 1;
        if (f.field != GRAPH_NODE)
            continue;
        if (gr.n == cap) {
            int ncap = cap ? cap * 2 : 1024;
            node *nn = realloc(gr.nodes, (size_t)ncap * sizeof *nn);
            if (nn == NULL) {
                rc = ad_err_set(err, AD_ENOMEM, "out of memory");
                goto out;
            }
            gr.nodes = nn;
            cap = ncap;
        }
        memset(&gr.nodes[gr.n], 0, sizeof gr.nodes[gr.n]);
        if ((rc = parse_node(&f, &gr.nodes[gr.n++], err)) != AD_OK)
            goto out;
    }
    if (k < 0) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "model: malformed graph");
        goto out;
    }
    if (!have_input || !have_output) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "model: graph has no '%s' input or no '%s' output", INPUT_NAME,
                        OUTPUT_NAME);
        goto out;
    }

    int resizes = 0;
    for (int i = 0; i < gr.n; i++)
        if (span_is(gr.nodes[i].op, "Resize")) {
            if ((rc = plan_resize(&gr, &gr.nodes[i], graph_input, err)) != AD_OK)
                goto out;
            resizes++;
        }
    if (resizes == 0) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "model: no Resize node (not an ISNet export)");
        goto out;
    }

    /* Copy the graph's fields in order, changing what the plan says. */
    const int64_t in_dims[4] = {1, 3, side, side}, out_dims[4] = {1, 1, side, side};
    int ni = 0;
    ad_pb_reader_init(&r, gf->data, gf->len);
    while (ad_pb_next(&r, &f) == 1) {
        if (f.wire == AD_PB_LEN && f.field == GRAPH_NODE) {
            node *nd = &gr.nodes[ni++];
            if (nd->retarget)
                put_retargeted(w, nd);
            else
                ad_pb_put_raw(w, f.start, f.whole_len);
        } else if (f.wire == AD_PB_LEN && f.field == GRAPH_INPUT && span_is(value_info_name(&f), INPUT_NAME)) {
            put_value_info(w, GRAPH_INPUT, INPUT_NAME, in_dims, 4);
        } else if (f.wire == AD_PB_LEN && f.field == GRAPH_OUTPUT) {
            if (span_is(value_info_name(&f), OUTPUT_NAME))
                put_value_info(w, GRAPH_OUTPUT, OUTPUT_NAME, out_dims, 4);
        } else if (f.field != GRAPH_VALUE_INFO) {
            ad_pb_put_raw(w, f.start, f.whole_len);
        }
    }
    if (w->failed)
        rc = ad_err_set(err, AD_ENOMEM, "out of memory rewriting the model");
    *n_resize = resizes;
out:
    for (int i = 0; i < gr.n; i++)
        free(gr.nodes[i].prefix);
    free(gr.nodes);
    return rc;
}

ad_status ad_isnet_check_side(int side, ad_err *err)
{
    if (side < AD_ISNET_SIDE_MIN || side > AD_ISNET_SIDE_MAX || side % 32 != 0)
        return ad_err_set(err, AD_EINVAL, "model side %d: must be a multiple of 32 in [%d, %d]", side,
                          AD_ISNET_SIDE_MIN, AD_ISNET_SIDE_MAX);
    return AD_OK;
}

ad_status ad_isnet_retarget(const uint8_t *model, size_t len, int side, uint8_t **out, size_t *out_len, int *n_resize,
                            ad_err *err)
{
    ad_status rc = AD_OK;
    ad_pb_writer w = {0}, g = {0};
    ad_pb_reader r;
    ad_pb_field f;
    int k, graphs = 0, resizes = 0;
    *out = NULL;
    *out_len = 0;
    if ((rc = ad_isnet_check_side(side, err)) != AD_OK)
        return rc;

    ad_pb_reader_init(&r, model, len);
    while ((k = ad_pb_next(&r, &f)) == 1) {
        if (f.field == MODEL_GRAPH && f.wire == AD_PB_LEN) {
            if (graphs++) {
                rc = ad_err_set(err, AD_EUNSUPPORTED, "model: more than one graph");
                goto out;
            }
            if ((rc = rewrite_graph(&f, side, &g, &resizes, err)) != AD_OK)
                goto out;
            ad_pb_put_message(&w, MODEL_GRAPH, &g);
            ad_pb_writer_cleanup(&g);
        } else {
            ad_pb_put_raw(&w, f.start, f.whole_len);
        }
    }
    if (k < 0 || graphs != 1) {
        rc = ad_err_set(err, AD_EUNSUPPORTED, "model: not an ONNX model (%s)", k < 0 ? "malformed" : "no graph");
        goto out;
    }
    if (w.failed) {
        rc = ad_err_set(err, AD_ENOMEM, "out of memory rewriting the model");
        goto out;
    }
    *out = ad_pb_writer_take(&w, out_len);
    if (n_resize)
        *n_resize = resizes;
out:
    ad_pb_writer_cleanup(&w);
    ad_pb_writer_cleanup(&g);
    return rc;
}
