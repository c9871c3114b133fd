/* onnx_model.h — an ONNX model decoded just enough to be edited as a graph:
 * nodes with their input and output names, initializers with their bytes.
 * Everything else (attributes, the graph's inputs and outputs, opsets) is
 * kept as the serialized bytes it came in, so a model read and written back
 * unchanged runs the same. Where isnet_graph.c splices a few nodes into the
 * wire format, the passes that rewrite every node and every weight
 * (quantize.c) work on this.
 *
 * Ownership: the model owns every string and buffer in it; ad_onnx_free
 * releases them. Node and initializer arrays may move when one is added:
 * hold indices, not pointers, across additions. */
#ifndef AD_INFER_ONNX_MODEL_H
#define AD_INFER_ONNX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* onnx.proto's TensorProto.DataType values used here. */
enum {
    AD_ONNX_FLOAT = 1,
    AD_ONNX_UINT8 = 2,
    AD_ONNX_INT8 = 3,
    AD_ONNX_INT32 = 6,
    AD_ONNX_INT64 = 7,
    AD_ONNX_FLOAT16 = 10
};

#define AD_ONNX_MAX_DIMS 8

typedef struct {
    char *op, *name;
    char **in, **out; /* "" is an absent optional input */
    int nin, nout;
    uint8_t *rest; /* the node's other fields (attributes, domain), serialized */
    size_t rest_len;
    int dead;  /* dropped when the model is written */
    int after; /* write after node `after` (an index), -1: first; see ad_onnx_write */
} ad_onnx_node;

typedef struct {
    char *name;
    int dtype; /* AD_ONNX_* */
    int64_t dims[AD_ONNX_MAX_DIMS];
    int ndims;
    uint8_t *data; /* little-endian elements */
    size_t len;    /* bytes */
    int dead;
} ad_onnx_tensor;

typedef struct ad_onnx_names ad_onnx_names;

typedef struct {
    ad_onnx_node *nodes;
    int nnodes, cap_nodes;
    ad_onnx_tensor *inits;
    int ninits, cap_inits;
    char **outputs; /* the graph's output names (their value_info kept below) */
    int noutputs;
    uint8_t *graph_rest, *model_rest; /* other fields of GraphProto and ModelProto */
    size_t graph_rest_len, model_rest_len;
    uint8_t *extra_outputs; /* outputs added by ad_onnx_add_output, serialized */
    size_t extra_outputs_len;
} ad_onnx_model;

/* Decode a serialized model (initializers must hold raw_data or float_data,
 * not external files). Errors: AD_EUNSUPPORTED (malformed or unsupported,
 * the message says what), AD_ENOMEM. Free with ad_onnx_free. */
ad_status ad_onnx_read(const uint8_t *buf, size_t len, ad_onnx_model *m, ad_err *err);

/* Serialize: live nodes in order (a node added with `after` = i comes right
 * after node i, in the order added; -1 before all others), live
 * initializers. *out is the caller's (free()). */
ad_status ad_onnx_write(const ad_onnx_model *m, uint8_t **out, size_t *out_len, ad_err *err);

void ad_onnx_free(ad_onnx_model *m);

/* Append a node; ins/outs are copied. rest: serialized attribute fields or
 * NULL. Returns its index, or -1 when out of memory. */
int ad_onnx_add_node(ad_onnx_model *m, const char *op, const char *name, const char *const *ins, int nin,
                     const char *const *outs, int nout, const uint8_t *rest, size_t rest_len, int after);

/* Append an initializer taking ownership of data (malloc'ed; freed on
 * failure too). Returns its index, or -1. */
int ad_onnx_add_init(ad_onnx_model *m, const char *name, int dtype, const int64_t *dims, int ndims, uint8_t *data,
                     size_t len);

/* Replace a string the model owns (a node input, say) by a copy of s.
 * Returns 0, or -1 when out of memory (the old string is kept). */
int ad_onnx_set_name(char **slot, const char *s);

/* Declare one more graph output of elem type dtype, no shape. */
int ad_onnx_add_output(ad_onnx_model *m, const char *name, int dtype);

/* A serialized integer attribute, to pass as a node's rest. */
size_t ad_onnx_int_attr(uint8_t *buf, size_t cap, const char *name, int64_t v);

/* Elements of a tensor (product of dims). */
size_t ad_onnx_elems(const ad_onnx_tensor *t);

/* Mark dead every node that no graph output depends on, and every
 * initializer no live node reads (ORT keeps computing unread branches:
 * ISNet's five side outputs, upsampled to full size, once dropped from the
 * outputs). Errors: AD_ENOMEM. */
ad_status ad_onnx_prune(ad_onnx_model *m, ad_err *err);

/* Name lookups: tensor name -> producing node, initializer. Built by
 * ad_onnx_index over the live graph; stale after any addition. */
ad_onnx_names *ad_onnx_index(const ad_onnx_model *m);
int ad_onnx_producer(const ad_onnx_names *ix, const char *tensor); /* node index or -1 */
int ad_onnx_init_of(const ad_onnx_names *ix, const char *tensor);  /* initializer index or -1 */
void ad_onnx_names_free(ad_onnx_names *ix);

#endif
