#!/usr/bin/python3
"""Validate an ONNX file written by `ghnas export` with the onnx package (Debian python3-onnx):
onnx.checker with full shape inference, opset/IR version, the input and output signature, the
metadata ghnas promises, and (with --npz) that the .npz export of the same model holds exactly
the ONNX initializers' values. Prints a JSON summary (op types and the attributes that matter
for op coverage); exit 1 on any failure.

    check_onnx.py MODEL.onnx --arch ARCH [--npz WEIGHTS.npz] [--meta KEY ...]
"""
import argparse
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def fail(msg):
    print("check_onnx: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--arch", required=True)
    ap.add_argument("--npz")
    ap.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()

    m = onnx.load(a.model)
    onnx.checker.check_model(m, full_check=True)
    if m.ir_version != 7 or [(o.domain, o.version) for o in m.opset_import] != [("", 13)]:
        fail(f"IR {m.ir_version}, opsets {m.opset_import}")
    g = m.graph
    ins = [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim])
           for i in g.input]
    outs = [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim])
            for o in g.output]
    if len(ins) != 1 or ins[0][0] != "image" or ins[0][1][0] != "N" or len(ins[0][1]) != 4:
        fail(f"inputs {ins}")
    if len(outs) != 1 or outs[0][0] != "logits" or len(outs[0][1]) != 2:
        fail(f"outputs {outs}")
    meta = {p.key: p.value for p in m.metadata_props}
    for key in ["ghnas.arch", "ghnas.space", "ghnas.net", "ghnas.input"] + a.meta:
        if key not in meta:
            fail(f"metadata {key} missing (have {sorted(meta)})")
    if meta["ghnas.arch"] != a.arch:
        fail(f"metadata arch {meta['ghnas.arch']!r} != {a.arch!r}")
    # shape inference must reach the logits with the declared shape
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    vi = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    dims = [d.dim_value or d.dim_param for d in vi["logits"].type.tensor_type.shape.dim]
    if dims != outs[0][1]:
        fail(f"inferred logits {dims} != declared {outs[0][1]}")

    ops = {}
    features = set()
    for n in g.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
        at = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type == "Conv":
            if at.get("group", 1) > 1:
                features.add("Conv.group")
            if max(at.get("dilations", [1])) > 1:
                features.add("Conv.dilation")
            if max(at.get("strides", [1])) > 1:
                features.add("Conv.stride")
        if n.op_type == "AveragePool":
            features.add("AveragePool.count_include_pad=%d" % at.get("count_include_pad", 0))
        if n.op_type == "MaxPool" and max(at.get("pads", [0])) > 0:
            features.add("MaxPool.pads")
    summary = {"model": a.model, "nodes": len(g.node), "initializers": len(g.initializer),
               "ops": ops, "features": sorted(features), "meta": sorted(meta)}

    if a.npz:
        z = np.load(a.npz)
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        weights = {k: v for k, v in inits.items() if v.dtype == np.float32 and
                   not k.endswith((".starts", ".ends", ".axes"))}
        if set(z.files) != set(weights):
            fail(f"npz arrays {sorted(set(z.files) ^ set(weights))[:6]} differ from the ONNX "
                 "initializers")
        for k in z.files:
            v, w = z[k], weights[k]
            if k.startswith("input."):
                w = w.reshape(-1)
            if v.dtype != np.float32 or v.shape != w.shape or not np.array_equal(v, w):
                fail(f"npz {k}: {v.dtype} {v.shape} != ONNX {w.dtype} {w.shape}")
        summary["npz_arrays"] = len(z.files)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
