/* quantize.h — make the int8 ISNet: passes over an ad_onnx_model that turn
 * the fp16-weight export into a plain fp32 graph, name the activations that
 * need a calibrated range, and insert QuantizeLinear/DequantizeLinear pairs
 * ("QDQ") that ONNX Runtime fuses into integer kernels.
 *
 * The QDQ layout follows what ORT's CPU fusions need (measured on ISNet:
 * with Q->DQ only before Conv inputs the graph ran *slower* than fp32):
 *  - every activation read or written by Conv, MaxPool, Concat, Add and
 *    Resize gets a Q and, per consumer, its own DQ, so each of those nodes
 *    sits between DQs and a Q (-> QLinearConv, QLinearConcat, QLinearAdd,
 *    uint8 MaxPool and Resize);
 *  - a Conv followed by a Relu is quantised after the Relu, with zero point
 *    0, which lets ORT fold the Relu into the Q;
 *  - MaxPool and Resize outputs reuse their input's scale and zero point
 *    (else ORT keeps them in float between a DQ and a Q);
 *  - weights: int8, symmetric, one scale per output channel; biases int32
 *    at scale input x weight; activations uint8, asymmetric, from the
 *    calibrated range; the model input (u8 - 128) / 256 is exact at scale
 *    1/256, zero point 128.
 * Only nodes that reach the graph output are touched. */
#ifndef AD_INFER_QUANTIZE_H
#define AD_INFER_QUANTIZE_H

#include "base/err.h"
#include "infer/onnx_model.h"

/* Bumped whenever these passes change the graph they make: part of the
 * optimised-model cache's key. */
#define AD_QUANT_VERSION 3

/* One activation's calibrated range (float, lo <= 0 <= hi after widening). */
typedef struct {
    char *name;
    float lo, hi;
} ad_qrange;

typedef struct {
    ad_qrange *r;
    int n;
} ad_qranges;

void ad_qranges_free(ad_qranges *q);

/* The ranges as a text file: a header line, then "lo hi name" per line.
 * Write is atomic and durable (temp file, fsync, rename). Read errors:
 * AD_ENOTFOUND, AD_EUNSUPPORTED (not such a file), AD_ENOMEM. */
ad_status ad_qranges_write(const char *path, const ad_qranges *q, ad_err *err);
ad_status ad_qranges_read(const char *path, ad_qranges *q, ad_err *err);

/* Widen fp16 initializers to fp32 and remove the Casts around them and
 * around the Resizes, so the whole graph computes in fp32 (a graph without
 * fp16 is left as is). Errors: AD_ENOMEM. */
ad_status ad_quant_to_fp32(ad_onnx_model *m, ad_err *err);

/* The activations whose range calibration must measure (the MaxPool and
 * Resize outputs and the model input are derived, not listed). *names is
 * the caller's: free each and the array. Errors: AD_EUNSUPPORTED (no
 * graph output "output"), AD_ENOMEM. */
ad_status ad_quant_plan(const ad_onnx_model *m, char ***names, int *n, ad_err *err);

/* Insert the QDQ pairs with the given ranges. weight_bits is 8, or 7 for
 * CPUs without VNNI, where u8 x s8 products summed in pairs saturate int16
 * at 8 bits (ORT's "reduce range"). Errors: AD_ENOTFOUND (an activation
 * without a range: the message names it), AD_EUNSUPPORTED, AD_ENOMEM. */
ad_status ad_quant_qdq(ad_onnx_model *m, const ad_qranges *ranges, int weight_bits, ad_err *err);

#endif
