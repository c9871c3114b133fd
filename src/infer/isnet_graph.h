/* isnet_graph.h — re-target the ISNet ONNX export to another input size.
 *
 * The PyTorch export folds the output size of each of its 39 Resize nodes
 * into a constant (medium: sizes = Concat(Slice(Shape(x), 0, 2),
 * Constant[h, w]); small, folded further: one initializer [1, C, h, w]), so
 * the graph only runs at 1024 x 1024. Every such upsample exists to match the
 * map it is concatenated with next (a U-Net skip connection), or, for the
 * side outputs, the input image. The rewrite makes that explicit: each
 * Resize reads sizes = Concat(Shape(x)[0:2], Shape(ref)[2:4]) of that tensor
 * ref (Shape-15's start/end; the old computation is left dead), so the
 * graph runs at any side that is a multiple of 32. It also declares the
 * input as [1, 3, side, side], keeps only the graph output "output" (the
 * side outputs and debug maps are never read, and dropping them lets ONNX
 * Runtime prune their branches) and drops the export's value_info, whose
 * static 1024-based shapes would contradict the new ones.
 *
 * Works on the serialized protobuf directly (base/pbwire): the 88 MB of
 * weights are copied as byte spans, never decoded. Pure function, no ORT. */
#ifndef AD_INFER_ISNET_GRAPH_H
#define AD_INFER_ISNET_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Sides accepted: multiples of 32 in this range. */
#define AD_ISNET_SIDE_MIN 256
#define AD_ISNET_SIDE_MAX 2048

/* AD_OK if side is accepted, else AD_EINVAL with the rule in the message. */
ad_status ad_isnet_check_side(int side, ad_err *err);

/* Rewrite the model bytes [model, model+len) for side x side input. On
 * success *out is a new buffer of *out_len bytes the caller frees with
 * free(), and *n_resize (may be NULL) the number of Resize nodes rewritten
 * (39 for ISNet). Errors: AD_EINVAL (side), AD_EUNSUPPORTED (not the ISNet export
 * this rewrite understands: the message says which node broke the pattern),
 * AD_ENOMEM. */
ad_status ad_isnet_retarget(const uint8_t *model, size_t len, int side, uint8_t **out, size_t *out_len, int *n_resize,
                            ad_err *err);

#endif
