/*
 * ghnas export (src/export): a trained network as one self-contained object -- the compiled net,
 * its weights and BatchNorm running statistics, and the input normalisation it was trained with
 * -- packed into the bytes the results store keeps for every finished training, and written out
 * as ONNX (a hand-written protobuf encoder, opset 13) or as a NumPy .npz (a zip of .npy files).
 *
 *     nas_export_model em;
 *     nas_export_model_unpack(&em, bytes, n, "training 3 of x.db");  // or _from_net(...)
 *     nas_export_meta meta[] = {{"ghnas.test_acc", "0.8712"}};
 *     void *onnx; size_t n_onnx;
 *     nas_export_onnx(&em, meta, 1, &onnx, &n_onnx);   // bytes of a ModelProto
 *     nas_file_write_atomic("model.onnx", onnx, n_onnx);
 *     nas_export_model_free(&em);
 *
 * Kept-weights layout ("ghnas-model/1"): a ghnas container (container.h) of kind "MDL",
 * version 1, with the sections
 *   record "net"     str space name, str space file path, str arch text, i32 C, N, in_c, in_h,
 *                    in_w, classes (nas_net_config as compiled), f32 BN epsilon
 *   record "norm"    i32 channels c, c x f32 mean, c x f32 std (x = (pixel/255 - mean) / std)
 *   f32    "params"  [n_params] every parameter slot of the net in slot order (conv weights
 *                    [co, ci/g, k, k], BN gamma and beta [C], linear weight [classes, C], bias)
 *   f32    "running" [n_running] BN running mean and variance, per BN node in node order
 * The CRC-32 of the container refuses a damaged blob; the net is recompiled from the space and
 * arch text and must have exactly as many parameters and statistics as recorded.
 *
 * ONNX graph (IR version 7, default-domain opset 13): input "image" float [N, in_c, in_h, in_w]
 * with pixel values / 255 (0..1, no normalisation: the graph subtracts mean and divides by std
 * itself), output "logits" float [N, classes]. One ONNX node per IR node (two for the input's
 * normalisation, the zero op (Shape + ConstantOfShape) and the global pool (GlobalAveragePool
 * + Flatten)); tensors are named after the IR nodes and parameter slots ("cell1.e02.conv",
 * "stem.conv.weight"), BN statistics "<node>.running_mean" / ".running_var". Op mapping, exact
 * for what src/net/exec.c runs:
 *   conv     Conv (kernel_shape, strides, pads on all four sides, dilations, group; no bias)
 *   bn       BatchNormalization with the running statistics (inference mode), epsilon
 *   relu     Relu
 *   avgpool  AveragePool (count_include_pad as the node's flag, floor mode)
 *   maxpool  MaxPool (floor mode; padding never wins, as ours)
 *   sum      Sum (repeated inputs kept)           concat  Concat axis 1
 *   slice    Slice on axes 1, 2, 3                 zero    ConstantOfShape(Shape(x)) = 0
 *   gap      GlobalAveragePool + Flatten           linear  Gemm (transB = 1) + bias
 * metadata_props carry the arch text, space, network configuration, normalisation and whatever
 * the caller adds (recipe, accuracies, provenance).
 *
 * .npz: one float32 little-endian .npy (format 1.0, C order) per parameter slot named by the
 * slot ("stem.conv.weight.npy"), per BN node "<node>.running_mean.npy" / ".running_var.npy",
 * and "input.mean.npy" / "input.std.npy" ([c]); stored (uncompressed) zip entries with CRC-32,
 * as numpy.savez writes them: numpy.load(path)["stem.conv.weight"].
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/data.h"
#include "ghnas/net.h"
#include "ghnas/space.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NAS_EXPORT_FORMAT "ghnas-model/1" /* trained_weights.format of nas_export_model_pack */

/* A trained (or GHN-predicted) network ready to run or export. Do not move after init: the
 * model points at the net. */
typedef struct nas_export_model {
    nas_space sp;
    nas_arch arch;
    nas_net net;
    nas_net_model m;    /* weights and BN running statistics (m.net == &net) */
    nas_data_norm norm; /* the input normalisation of training */
} nas_export_model;

/*
 * Build a model from a space, an arch text and a net config with fresh weights (random
 * initialisation from `rng`, as nas_net_model_init NAS_NET_INIT_KAIMING_OUT) and the given
 * normalisation. The caller then fills em->m (e.g. GHN-predicted weights, calibrated BN
 * statistics). On failure *em is zeroed.
 */
nas_status nas_export_model_init(nas_export_model *em, const nas_space *sp, const char *arch,
                                 const nas_net_config *cfg, const nas_data_norm *norm,
                                 nas_rng *rng);
void nas_export_model_free(nas_export_model *em);

/* Pack a model's net, weights, BN statistics and normalisation (the kept-weights layout above)
 * into heap bytes (nas_free). `sp` is the space the net was compiled from. */
nas_status nas_export_model_pack(const nas_net_model *m, const nas_space *sp,
                                 const nas_data_norm *norm, void **bytes, size_t *n);

/*
 * Rebuild a model from packed bytes: load the space (by name, else by the recorded path),
 * decode and compile the arch, check the sizes and copy the weights. NAS_EFORMAT naming `what`
 * for a damaged, truncated or foreign blob or one that does not fit its net.
 */
nas_status nas_export_model_unpack(nas_export_model *em, const void *bytes, size_t n,
                                   const char *what);

/* One metadata_props entry of the ONNX model. */
typedef struct nas_export_meta {
    const char *key;
    const char *value;
} nas_export_meta;

/* The model as ONNX ModelProto bytes (heap, nas_free); meta[0..n_meta) are added after the
 * built-in entries (ghnas.arch, ghnas.space, ghnas.net, ghnas.input). */
nas_status nas_export_onnx(const nas_export_model *em, const nas_export_meta *meta, int n_meta,
                           void **bytes, size_t *n);

/* The weights as .npz bytes (heap, nas_free). */
nas_status nas_export_npz(const nas_export_model *em, void **bytes, size_t *n);

/*
 * Logits of images (uint8 [n, c, h, w] raw pixels, c/h/w as the net's input) with the model's
 * normalisation and running BN statistics, in batches of `batch`: out [n, classes].
 */
nas_status nas_export_forward(nas_export_model *em, const uint8_t *images, int64_t n, int batch,
                              float *out);

#ifdef __cplusplus
}
#endif
