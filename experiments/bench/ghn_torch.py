#!/usr/bin/env python3
"""PyTorch twin of the ghnas graph hypernetwork (src/ghn) and its NB201 target networks.

    ghn_torch.py check DUMP [--f64] [--quiet]
    ghn_torch.py bench [--threads T] [--seconds S] [--grid N:C,N:C,...] [--meta 4] [--batch 64]
                       [--val-n 2000] [--eval-batch 128] [--what train,score] [--seed 1]

check: rebuilds everything from a file written by experiments/bench/ghn_dump (format in
ghn_dump.c): the GHN (same parameter values) as an nn.Module, its own per-net plan (level order,
features, trained-row stand-ins, message matrices, decoder rows and weight assembly) computed
here from the dumped net IR, and the target network run functionally on the predicted weights.
It compares the plan with ghnas' (exact integers), then the predicted weights, node embeddings,
logits, loss, accuracy and the gradient of the loss w.r.t. every GHN parameter, prints the max
abs / relative differences and exits 1 when one is beyond its tolerance (see TOL). With --f64
it also runs the twin in float64 and reports how far ghnas' and the twin's float32 results each
are from that reference, which says which side is off when they disagree.

bench: the same work ghnas does, timed. train: one GHN training step = meta-batch of m random
NB201 cells (the same cells ghnas' trainer samples for the same seed: its xoshiro256** streams
are reproduced here), each compiled to the IR (a Python NB201 compiler, checked against ghnas'
by `check`), planned, weights predicted, run on one shared batch of B Fashion-MNIST training
images, mean cross-entropy, backward, clipping at 5, AdamW (lr 1e-3, wd 1e-4 on matrices only,
warmup + cosine), trained-row marks as in ghnas. score: what `ghnas score` does per
architecture: compile, plan, predict once, then the first --val-n validation images (the split
ghnas train records: 10,000 images, seed 1, same normalisation) in evaluation batches of
--eval-batch with BN batch statistics, accuracy and loss. One JSON line per grid point.

Run with Debian's python3-torch: /usr/bin/python3 ghn_torch.py ...
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---- constants of ghnas ------------------------------------------------------------------------

OP = dict(input=0, conv=1, bn=2, relu=3, avgpool=4, maxpool=5, sum=6, concat=7, slice=8, zero=9,
          gap=10, linear=11)
ROLE_WEIGHT, ROLE_BIAS, ROLE_GAMMA, ROLE_BETA = 0, 1, 2, 3
HEAD_CONV, HEAD_1D, HEAD_CLS, HEAD_CLS_BIAS = 0, 1, 2, 3
T_INPUT, T_CONV, T_CONV_DW, T_CONV_DIL, T_CONV_S2, T_CONV_DW_S2 = 0, 1, 2, 3, 4, 5
T_OF_OP = {OP["bn"]: 6, OP["relu"]: 7, OP["avgpool"]: 8, OP["maxpool"]: 9, OP["sum"]: 10,
           OP["concat"]: 11, OP["slice"]: 12, OP["zero"]: 13, OP["gap"]: 14, OP["linear"]: 15}
NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
NB201_EDGES = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]  # string order (by dst, src)

# parameter names in ghnas' declaration order (src/ghn/ghn.c declare())
PARAM_NAMES = [
    "embed.op", "embed.channels", "embed.spatial", "embed.resolution",
    "gnn.mlp.0.weight", "gnn.mlp.0.bias", "gnn.mlp.2.weight", "gnn.mlp.2.bias",
    "gnn.mlp_ve.0.weight", "gnn.mlp_ve.0.bias", "gnn.mlp_ve.2.weight", "gnn.mlp_ve.2.bias",
    "gnn.gru.weight_ih", "gnn.gru.bias_ih", "gnn.gru.weight_hh", "gnn.gru.bias_hh",
    "ln.weight", "ln.bias", "decoder.pos_out", "decoder.pos_in", "decoder.pos_spatial",
    "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias",
    "decoder_1d.pos", "decoder_1d.0.weight", "decoder_1d.0.bias", "decoder_1d.2.weight",
    "decoder_1d.2.bias", "decoder_cls.pos", "decoder_cls.0.weight", "decoder_cls.0.bias",
    "decoder_cls.2.weight", "decoder_cls.2.bias", "decoder_cls_bias.weight",
    "decoder_cls_bias.bias",
]

# Tolerances of `check` (float32 on both sides). Relative figures are normwise: max |a - b| over
# a tensor divided by max |b| of ghnas' tensor, so near-zero elements do not dominate.
# Forward quantities agree to a few ulps (observed <= 2e-6), so 1e-3 leaves a wide margin while
# any wrong index, term or formula shows up as O(1). Gradients get looser bounds: measured
# against a float64 run of the twin, ghnas' and the twin's float32 GHN gradients are each up to
# ~3e-3 (worst tensor) / ~2e-3 (global) off, because the target nets' early-layer gradients are
# ill-conditioned in the predicted weights (a 2e-7 relative change of the weights moves them by
# ~3e-4) and some slots have a mathematically zero gradient that float32 fills with rounding
# noise (e.g. the BN shift of a last-cell edge that feeds head.bn, which is shift invariant).
# Also, ReLU kinks: Fashion-MNIST's constant background makes thousands of activations share one
# value per channel, and an activation within rounding of 0 can take a different ReLU branch in
# ghnas and in the reference (seen: one of 800k elements, 1e-3 on the stem gradients). So the
# float32-vs-float32 gradient bounds are ~5x the worst noise floor seen. --f64 also prints, for
# information, both sides' gradients with the target net at ghnas' own float32 weights against
# float64 (~1e-6 unless such a kink is hit).
TOL = {
    "plan": 0,           # integer plan: exact
    "embed": 1e-3,       # node embeddings after GNN + LayerNorm
    "weights": 1e-3,     # every predicted slot tensor
    "logits": 1e-3,
    "loss": 1e-3,        # |a - b| / |b|
    "grad_tensor": 5e-2,  # per GHN parameter tensor, normwise
    "grad_global": 2e-2,  # ||a - b||_2 / ||b||_2 over all GHN gradients
}


def default_config():
    return dict(hid=32, rounds=1, s_max=50, decoder="chunk", chunk_out=16, chunk_in=16, chunk_k=3,
                dec_hid=128, n_pos=4, classes=10, res_embed=1, layernorm=1, weight_norm=1)


def param_shapes(cfg):
    h, dh, P = cfg["hid"], cfg["dec_hid"], cfg["n_pos"]
    cn = cfg["chunk_out"] * cfg["chunk_in"] * cfg["chunk_k"] ** 2
    nch, nsp = len(CH_VOCAB), len(SP_VOCAB)
    K, CO, CI = cfg["classes"], cfg["chunk_out"], cfg["chunk_in"]
    shapes = [(16, h), (nch, h // 4), (nsp, h // 4), (nch, h),
              (h, h), (h,), (h, h), (h,), (h, h), (h,), (h, h), (h,),
              (3 * h, h), (3 * h,), (3 * h, h), (3 * h,), (h,), (h,),
              (P, h), (P, h), (P * P, h), (dh, h), (dh,), (cn, dh), (cn,),
              (P, h), (dh, h), (dh,), (2 * CO, dh), (2 * CO,),
              (P, h), (dh, h), (dh,), (K * CI, dh), (K * CI,), (K, h), (K,)]
    return dict(zip(PARAM_NAMES, shapes))


# ---- size vocabularies (src/ghn/features.c) -----------------------------------------------------

CH_VOCAB = np.array(list(range(1, 17)) + list(range(24, 65, 8)) + list(range(80, 4097, 16)) +
                    list(range(4128, 8193, 32)), dtype=np.int64)
SP_VOCAB = np.arange(1, 17, dtype=np.int64)
assert len(CH_VOCAB) == 402


def vocab_index(vocab, size):
    """Nearest entry (ties to the smaller); beyond the ends: the end entries. Vectorised."""
    size = np.asarray(size, dtype=np.int64)
    hi = np.clip(np.searchsorted(vocab, size, side="left"), 0, len(vocab) - 1)
    lo = np.clip(hi - 1, 0, len(vocab) - 1)
    pick_hi = (vocab[hi] - size) < (size - vocab[lo])
    idx = np.where(pick_hi, hi, lo)
    idx = np.where(vocab[hi] == size, hi, idx)
    idx = np.where(size <= vocab[0], 0, idx)
    return np.where(size >= vocab[-1], len(vocab) - 1, idx)


# ---- xoshiro256** as in src/core/rng.c ----------------------------------------------------------

M64 = (1 << 64) - 1


def _splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    def __init__(self, seed=0, state=None):
        if state is not None:
            self.s = list(state)
            return
        x, self.s = seed & M64, []
        for _ in range(4):
            x, z = _splitmix(x)
            self.s.append(z)

    def split(self, index):
        s = self.s
        x = s[0] ^ _rotl(s[1], 17) ^ _rotl(s[2], 31) ^ _rotl(s[3], 47) ^ \
            ((index * 0xD1B54A32D192ED03) & M64)
        st = []
        for _ in range(4):
            x, z = _splitmix(x)
            st.append(z)
        return Rng(state=st)

    def u64(self):
        s = self.s
        result = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.u64()
            if x < limit:
                return x % n


def nb201_sample(rng):
    """nas_arch_sample + validity loop (src/space/nb201.c): op index per edge, string order."""
    while True:
        ops = [rng.below(len(NB201_OPS)) for _ in NB201_EDGES]
        reach = [True, False, False, False]
        for j in range(1, 4):
            reach[j] = any(reach[i] and ops[NB201_EDGES.index((i, j))] != 0 for i in range(j))
        if reach[3]:
            return nb201_text(ops)


def nb201_text(ops):
    parts, e = [], 0
    for j in range(1, 4):
        items = []
        for i in range(j):
            items.append("%s~%d" % (NB201_OPS[ops[e]], i))
            e += 1
        parts.append("|" + "|".join(items) + "|")
    return "+".join(parts)


def nb201_parse(text):
    ops = []
    for part in text.strip().strip("|").split("|+|"):
        for item in part.split("|"):
            op, _src = item.split("~")
            ops.append(NB201_OPS.index(op))
    assert len(ops) == 6, text
    return ops


def train_archs(seed, step, m):
    """The m archs ghnas' trainer samples at `step` (train.c run_item / sample_arch)."""
    base = Rng(seed)
    return [nb201_sample(base.split(step * m + j)) for j in range(m)]


def score_archs(seed, k):
    """`ghnas score --random K --seed S`'s architectures."""
    r = Rng(seed)
    return [nb201_sample(r) for _ in range(k)]


# ---- the net IR -------------------------------------------------------------------------------


class Net:
    """Net IR: nodes (op, name, inputs, [C, H, W], attributes, level, slots) and slots."""

    def __init__(self):
        self.names, self.op, self.ins, self.shape = [], [], [], []
        self.attr = []  # dict per node: k, stride, pad, dil, groups, cip, offset
        self.slots = []  # (name, node, role, shape tuple, fan_in)
        self.level, self.slot0, self.nslots, self.wshape = [], [], [], []

    @property
    def n(self):
        return len(self.names)

    # builder (the NB201 compiler emits through these, like src/net/shapes.c)
    def push(self, op, name, ins, shape, **attr):
        self.names.append(name)
        self.op.append(OP[op])
        self.ins.append(list(ins))
        self.shape.append(tuple(int(s) for s in shape))
        a = dict(k=0, stride=0, pad=0, dil=0, groups=0, cip=0, offset=(0, 0, 0))
        a.update(attr)
        self.attr.append(a)
        return self.n - 1

    def conv(self, name, x, cout, k, stride, pad, dil=1, groups=1):
        c, h, w = self.shape[x]
        ho = (h + 2 * pad - dil * (k - 1) - 1) // stride + 1
        wo = (w + 2 * pad - dil * (k - 1) - 1) // stride + 1
        return self.push("conv", name, [x], (cout, ho, wo), k=k, stride=stride, pad=pad, dil=dil,
                         groups=groups)

    def pool(self, name, op, x, k, stride, pad, cip):
        c, h, w = self.shape[x]
        return self.push(op, name, [x], (c, (h + 2 * pad - k) // stride + 1,
                                         (w + 2 * pad - k) // stride + 1),
                         k=k, stride=stride, pad=pad, cip=int(cip))

    def finish(self):
        """Levels, slots, 4-D weight shapes (src/net/ir.c, shapes.c)."""
        self.level = []
        for v in range(self.n):
            self.level.append(max([self.level[u] + 1 for u in self.ins[v]], default=0))
        self.slots, self.slot0, self.nslots, self.wshape = [], [], [], []
        for v in range(self.n):
            op, name = self.op[v], self.names[v]
            ws = (0, 0, 0, 0)
            if op == OP["conv"]:
                a = self.attr[v]
                ws = (self.shape[v][0], self.shape[self.ins[v][0]][0] // a["groups"], a["k"],
                      a["k"])
                sl = [(name + ".weight", ROLE_WEIGHT, ws, ws[1] * ws[2] * ws[3])]
            elif op == OP["bn"]:
                ws = (self.shape[v][0], 1, 1, 1)
                sl = [(name + ".weight", ROLE_GAMMA, (ws[0],), 0),
                      (name + ".bias", ROLE_BETA, (ws[0],), 0)]
            elif op == OP["linear"]:
                ws = (self.shape[v][0], self.shape[self.ins[v][0]][0], 1, 1)
                sl = [(name + ".weight", ROLE_WEIGHT, ws[:2], ws[1]),
                      (name + ".bias", ROLE_BIAS, (ws[0],), 0)]
            else:
                sl = []
            self.slot0.append(len(self.slots) if sl else -1)
            self.nslots.append(len(sl))
            self.wshape.append(ws)
            for nm, role, shp, fan in sl:
                self.slots.append((nm, v, role, tuple(shp), fan))
        return self


def nb201_compile(text, C, N, in_chw=(1, 28, 28), classes=10):
    """NB201 net IR in emission order (src/net/compile_nb201.c, blocks.c)."""
    ops = nb201_parse(text)
    net = Net()
    x = net.push("input", "input", [], in_chw)

    def relu_conv_bn(scope, x, cout, k, stride, pad):
        h = net.push("relu", scope + ".relu", [x], net.shape[x])
        h = net.conv(scope + ".conv", h, cout, k, stride, pad)
        return net.push("bn", scope + ".bn", [h], net.shape[h])

    def cell(index, x):
        node = [x]
        c = net.shape[x][0]
        for j in range(1, 4):
            terms = []
            for e, (src, dst) in enumerate(NB201_EDGES):
                if dst != j:
                    continue
                sc, op, h = "cell%d.e%d%d" % (index, src, dst), NB201_OPS[ops[e]], node[src]
                if op == "none":
                    continue
                if op == "nor_conv_1x1":
                    h = relu_conv_bn(sc, h, c, 1, 1, 0)
                elif op == "nor_conv_3x3":
                    h = relu_conv_bn(sc, h, c, 3, 1, 1)
                elif op == "avg_pool_3x3":
                    h = net.pool(sc + ".pool", "avgpool", h, 3, 1, 1, False)
                terms.append(h)
            sc = "cell%d.n%d" % (index, j)
            if not terms:
                node.append(net.push("zero", sc + ".zero", [x], net.shape[x]))
            elif len(terms) == 1:
                node.append(terms[0])
            else:
                node.append(net.push("sum", sc + ".sum", terms, net.shape[terms[0]]))
        return node[3]

    def resnet(index, x, planes):
        sc = "res%d" % index
        a = relu_conv_bn(sc + ".a", x, planes, 3, 2, 1)
        a = relu_conv_bn(sc + ".b", a, planes, 3, 1, 1)
        s = net.pool(sc + ".short.pool", "avgpool", x, 2, 2, 0, True)
        s = net.conv(sc + ".short.conv", s, planes, 1, 1, 0)
        return net.push("sum", sc + ".sum", [s, a], net.shape[a])

    x = net.conv("stem.conv", x, C, 3, 1, 1)
    x = net.push("bn", "stem.bn", [x], net.shape[x])
    index, ch = 0, C
    for stage in range(3):
        if stage:
            ch *= 2
            x = resnet(index, x, ch)
            index += 1
        for _ in range(N):
            x = cell(index, x)
            index += 1
    x = net.push("bn", "head.bn", [x], net.shape[x])
    x = net.push("relu", "head.relu", [x], net.shape[x])
    x = net.push("gap", "head.gap", [x], (net.shape[x][0], 1, 1))
    net.push("linear", "head.fc", [x], (classes, 1, 1))
    return net.finish()


def net_from_dump(d):
    net = Net()
    names = d["ir.node_names"].rstrip("\n").split("\n")
    nodes, edges = d["ir.nodes"], d["ir.edges"]
    ins = [[] for _ in names]
    for src, dst, pos in edges.tolist():
        ins[dst].append((pos, src))
    for v, name in enumerate(names):
        r = nodes[v].tolist()
        net.names.append(name)
        net.op.append(r[0])
        net.ins.append([s for _, s in sorted(ins[v])])
        net.shape.append(tuple(r[2:5]))
        net.attr.append(dict(k=r[5], stride=r[6], pad=r[7], dil=r[8], groups=r[9], cip=r[10],
                             offset=tuple(r[11:14])))
        net.level.append(r[14])
        net.slot0.append(r[15])
        net.nslots.append(r[16])
        net.wshape.append(tuple(r[17:21]))
    snames = d["ir.slot_names"].rstrip("\n").split("\n") if len(d["ir.slots"]) else []
    for s, name in enumerate(snames):
        r = d["ir.slots"][s].tolist()
        net.slots.append((name, r[0], r[1], tuple(r[3:3 + r[2]]), r[7]))
    return net


def compare_nets(a, b):
    """Same graph up to node numbering: names, ops, shapes, attributes, inputs, slots."""
    errs = []
    ia = {n: i for i, n in enumerate(a.names)}
    ib = {n: i for i, n in enumerate(b.names)}
    if set(ia) != set(ib):
        return ["node sets differ: only twin %s, only ghnas %s" %
                (sorted(set(ia) - set(ib))[:5], sorted(set(ib) - set(ia))[:5])]
    for name, u in ia.items():
        v = ib[name]
        if a.op[u] != b.op[v] or a.shape[u] != b.shape[v] or a.wshape[u] != b.wshape[v]:
            errs.append("%s: op/shape/wshape %s %s %s vs %s %s %s" % (
                name, a.op[u], a.shape[u], a.wshape[u], b.op[v], b.shape[v], b.wshape[v]))
        if [a.names[x] for x in a.ins[u]] != [b.names[x] for x in b.ins[v]]:
            errs.append("%s: inputs differ" % name)
        if a.level[u] != b.level[v]:
            errs.append("%s: level %d vs %d" % (name, a.level[u], b.level[v]))
        ka = {k: a.attr[u][k] for k in ("k", "stride", "pad", "cip")}
        kb = {k: b.attr[v][k] for k in ("k", "stride", "pad", "cip")}
        if ka != kb:
            errs.append("%s: attributes %s vs %s" % (name, ka, kb))
    sa = {s[0]: s[2:] for s in a.slots}
    sb = {s[0]: s[2:] for s in b.slots}
    if sa != sb:
        errs.append("slots differ")
    return errs


# ---- shortest paths ----------------------------------------------------------------------------


def distances(net, smax):
    """dist[u, v] = shortest u -> v path length if <= smax, else 0 (nas_net_distances). Nodes are
    in a topological order, so one pass over the columns suffices."""
    n = net.n
    INF = 1 << 30
    D = np.full((n, n), INF, dtype=np.int64)
    order = sorted(range(n), key=lambda v: net.level[v])
    for v in order:
        D[v, v] = 0
        for u in set(net.ins[v]):
            np.minimum(D[:, v], D[:, u] + 1, out=D[:, v])
    D[(D > smax) | (D >= INF)] = 0
    return D.astype(np.int32)


# ---- per-net plan (features.c, gnn.c, decoder.c, remap in ghn.c) ---------------------------------


def node_type(net, v):
    op = net.op[v]
    if op == OP["input"]:
        return T_INPUT
    if op == OP["conv"]:
        a = net.attr[v]
        grouped = a["groups"] > 1
        if a["dil"] > 1:
            return T_CONV_DIL
        if a["stride"] > 1:
            return T_CONV_DW_S2 if grouped else T_CONV_S2
        return T_CONV_DW if grouped else T_CONV
    return T_OF_OP[op]


def node_shape4(net, v):
    if net.nslots[v] > 0:
        return net.wshape[v]
    cin = net.shape[net.ins[v][0]][0] if net.ins[v] else net.shape[v][0]
    k = net.attr[v]["k"] if net.op[v] in (OP["avgpool"], OP["maxpool"]) else 1
    return (net.shape[v][0], cin, k, k)


def seen_tables(cfg, seen):
    """Split ghnas' trained-row flags (nas_i_ghn_seen_offset order) into per-table arrays."""
    P = cfg["n_pos"]
    sizes = [len(CH_VOCAB), len(SP_VOCAB), len(CH_VOCAB), P, P, P * P, P, P]
    keys = ["ch", "sp", "res", "pos_o", "pos_i", "pos_s", "d1", "cls"]
    out, off = {}, 0
    for k, s in zip(keys, sizes):
        out[k] = np.asarray(seen[off:off + s], dtype=bool)
        off += s
    return out


def vocab_map(seen, values, i):
    if seen[i]:
        return i
    lo, hi, n = i - 1, i + 1, len(seen)
    while lo >= 0 and not seen[lo]:
        lo -= 1
    while hi < n and not seen[hi]:
        hi += 1
    if lo < 0:
        return hi if hi < n else i
    if hi >= n:
        return lo
    return hi if values[hi] - values[i] < values[i] - values[lo] else lo


def pos_map(seen, p):
    if seen[p]:
        return p
    idx = np.nonzero(seen)[0]
    if len(idx) == 0:
        return p
    hi = int(idx[-1])
    q = p % (hi + 1)
    while q > 0 and not seen[q]:
        q -= 1
    return q if seen[q] else hi


def pos2_map(seen, P, p):
    if seen[p]:
        return p
    s = seen.reshape(P, P)
    return pos_map(s.any(axis=1), p // P) * P + pos_map(s.any(axis=0), p % P)


class Plan:
    pass


def cdiv(a, b):
    return -(-a // b)


def build_plan(net, cfg, seen=None, dist=None):
    """Everything per net that does not depend on GHN parameter values."""
    pl = Plan()
    n, smax = net.n, max(cfg["s_max"], 1)
    level = np.asarray(net.level)
    L = int(level.max()) + 1
    perm = np.argsort(level, kind="stable")
    row = np.empty(n, dtype=np.int64)
    row[perm] = np.arange(n)
    counts = np.bincount(level, minlength=L)
    lstart = np.concatenate([[0], np.cumsum(counts)])
    pl.n, pl.L, pl.perm, pl.row, pl.lstart = n, L, perm, row, lstart
    s4 = np.array([node_shape4(net, v) for v in perm], dtype=np.int64)
    feat = np.stack([np.array([node_type(net, v) for v in perm]),
                     vocab_index(CH_VOCAB, s4[:, 0]), vocab_index(CH_VOCAB, s4[:, 1]),
                     vocab_index(SP_VOCAB, s4[:, 2]), vocab_index(SP_VOCAB, s4[:, 3]),
                     vocab_index(CH_VOCAB, np.array([net.shape[v][1] for v in perm]))], axis=1)
    pl.feat_raw = feat.copy()

    # message weights, scattered from each level to the rows still to be visited in a sweep:
    # forward: level l's sources -> the later rows [n - b, n_l]; backward: -> the earlier rows
    # [a, n_l]; real edges weight 1, virtual edges (1 < s <= s_max) weight 1/s
    D = distances(net, smax) if dist is None else dist
    pl.dist = D
    Dr = D[perm][:, perm]  # Dr[i, j]: path length from row i to row j
    pl.n_real = int((D == 1).sum())
    pl.n_virtual = int(((D > 1) & (D <= smax)).sum()) if cfg["s_max"] > 1 else 0
    ve = cfg["s_max"] > 1
    blocks = [[None] * L, [None] * L]
    for l in range(L):
        a, b = int(lstart[l]), int(lstart[l + 1])
        for direction, blk in ((0, Dr[a:b, b:n].T), (1, Dr[0:a, a:b])):
            if blk.size == 0:
                continue
            real = (blk == 1).astype(np.float32)
            mask = (blk > 1) & (blk <= smax)
            virt = np.zeros(blk.shape, dtype=np.float32)
            virt[mask] = np.float32(1.0) / blk[mask].astype(np.float32)
            if real.any() or (ve and mask.any()):
                blocks[direction][l] = (torch.from_numpy(real) if real.any() else None,
                                        torch.from_numpy(virt) if ve and mask.any() else None)
    pl.blocks = blocks

    # decoder rows and per-slot assembly recipes
    chunk = cfg["decoder"] == "chunk"
    CO, CI, K, P = cfg["chunk_out"], cfg["chunk_in"], cfg["chunk_k"], cfg["n_pos"]
    conv, d1, cls = [], [], []
    d1_base, recipes = {}, []
    pl.cls_row = -1
    for s, (name, v, role, shape, fan) in enumerate(net.slots):
        op = net.op[v]
        if op == OP["conv"] and role == ROLE_WEIGHT and len(shape) == 4:
            co, ci, kh, kw = shape
            to, ti = (cdiv(co, CO), cdiv(ci, CI)) if chunk else (1, 1)
            th, tw = (cdiv(kh, K), cdiv(kw, K)) if chunk else (1, 1)
            r0 = len(conv)
            for a_ in range(to):
                for b_ in range(ti):
                    for y in range(th):
                        for x in range(tw):
                            conv.append((row[v], a_ % P, b_ % P, (y % P) * P + x % P))
            recipes.append((HEAD_CONV, r0, (to, ti, th, tw), shape))
        elif op == OP["bn"] and role in (ROLE_GAMMA, ROLE_BETA):
            C = shape[0]
            if v not in d1_base:
                d1_base[v] = len(d1)
                for a_ in range(cdiv(C, CO) if chunk else 1):
                    d1.append((row[v], a_ % P, 0, 0))
            recipes.append((HEAD_1D, d1_base[v], role, shape))
        elif op == OP["linear"] and role == ROLE_WEIGHT:
            Kc, C = shape
            assert Kc == cfg["classes"]
            r0 = len(cls)
            for b_ in range(cdiv(C, CI) if chunk else 1):
                cls.append((row[v], b_ % P, 0, 0))
            pl.cls_row = int(row[v])
            recipes.append((HEAD_CLS, r0, None, shape))
        elif op == OP["linear"] and role == ROLE_BIAS:
            pl.cls_row = int(row[v])
            recipes.append((HEAD_CLS_BIAS, -1, None, shape))
        else:
            raise ValueError("cannot predict slot %s" % name)
    pl.recipes = recipes
    pl.rows_raw = {k: np.array(r, dtype=np.int64).reshape(-1, 4)
                   for k, r in (("conv", conv), ("d1", d1), ("cls", cls))}
    pl.scale = []
    for name, v, role, shape, fan in net.slots:
        if role != ROLE_WEIGHT or fan <= 0:
            pl.scale.append(1.0)
        else:
            a = net.attr[v]
            beta = 1.0 if (net.op[v] == OP["conv"] and a["groups"] > 1) else 2.0
            pl.scale.append(float(np.float32(math.sqrt(beta / fan))))
    apply_seen(pl, cfg, seen)
    return pl


def apply_seen(pl, cfg, seen):
    """Stand-ins for table rows never trained (nas_i_ghn_remap); sets the index tensors."""
    feat = pl.feat_raw.copy()
    rows = {k: v.copy() for k, v in pl.rows_raw.items()}
    if seen is not None and np.any(seen):
        t = seen_tables(cfg, seen)
        for col, key, values in ((1, "ch", CH_VOCAB), (2, "ch", CH_VOCAB), (3, "sp", SP_VOCAB),
                                 (4, "sp", SP_VOCAB), (5, "res", CH_VOCAB)):
            if t[key].any():
                feat[:, col] = [vocab_map(t[key], values, int(i)) for i in feat[:, col]]
        P = cfg["n_pos"]
        for key, col, table, two_d in (("conv", 1, "pos_o", False), ("conv", 2, "pos_i", False),
                                       ("conv", 3, "pos_s", True), ("d1", 1, "d1", False),
                                       ("cls", 1, "cls", False)):
            rows[key][:, col] = [pos2_map(t[table], P, int(p)) if two_d else
                                 pos_map(t[table], int(p)) for p in rows[key][:, col]]
    pl.feat, pl.rows = feat, rows
    pl.tfeat = [torch.from_numpy(np.ascontiguousarray(feat[:, c])) for c in range(6)]
    pl.trows = {k: [torch.from_numpy(np.ascontiguousarray(v[:, c])) for c in range(4)]
                for k, v in rows.items()}


def mark_seen(cfg, seen, pl):
    """nas_ghn_mark_seen: the rows this net uses (before any stand-in) become trained."""
    P = cfg["n_pos"]
    nch, nsp = len(CH_VOCAB), len(SP_VOCAB)
    off = dict(ch=0, sp=nch, res=nch + nsp, pos_o=2 * nch + nsp, pos_i=2 * nch + nsp + P,
               pos_s=2 * nch + nsp + 2 * P, d1=2 * nch + nsp + 2 * P + P * P,
               cls=2 * nch + nsp + 3 * P + P * P)
    f, r = pl.feat_raw, pl.rows_raw
    for key, idx in (("ch", f[:, 1]), ("ch", f[:, 2]), ("sp", f[:, 3]), ("sp", f[:, 4]),
                     ("res", f[:, 5]), ("pos_o", r["conv"][:, 1]), ("pos_i", r["conv"][:, 2]),
                     ("pos_s", r["conv"][:, 3]), ("d1", r["d1"][:, 1]), ("cls", r["cls"][:, 1])):
        seen[off[key] + idx] = 1


# ---- the GHN -----------------------------------------------------------------------------------


class GHN(torch.nn.Module):
    """ghnas' GHN: features, GatedGNN sweeps with virtual edges, LayerNorm, three decoder heads
    with tile-position embeddings (chunk) or GHN-2 tiling (tile), weight normalisation."""

    def __init__(self, cfg, values=None, seed=0):
        super().__init__()
        self.cfg = cfg
        self.p = {}
        shapes = param_shapes(cfg)
        g = torch.Generator().manual_seed(seed)
        for name in PARAM_NAMES:
            if values is not None:
                t = torch.tensor(np.asarray(values[name], dtype=np.float32))
                assert tuple(t.shape) == shapes[name], (name, t.shape, shapes[name])
            else:
                t = self._init(name, shapes, g)
            prm = torch.nn.Parameter(t)
            self.register_parameter(name.replace(".", "__"), prm)
            self.p[name] = prm

    @staticmethod
    def _init(name, shapes, g):
        shp = shapes[name]
        if name.startswith("embed.") or name.endswith("pos") or ".pos_" in name:
            return torch.randn(shp, generator=g)
        if name.startswith("gnn.gru"):
            b = 1.0 / math.sqrt(shapes["gnn.gru.weight_ih"][1])
            return (torch.rand(shp, generator=g) * 2 - 1) * b
        if name == "ln.weight":
            return torch.ones(shp)
        if name == "ln.bias":
            return torch.zeros(shp)
        wname = name[:-4] + "weight" if name.endswith("bias") else name
        b = 1.0 / math.sqrt(shapes[wname][1])  # PyTorch's default Linear init bounds
        return (torch.rand(shp, generator=g) * 2 - 1) * b

    def mlp(self, x, pre):
        p = self.p
        h = F.relu(F.linear(x, p[pre + ".0.weight"], p[pre + ".0.bias"]))
        return F.relu(F.linear(h, p[pre + ".2.weight"], p[pre + ".2.bias"]))

    def node_states(self, pl):
        """[n, hid] in level (row) order."""
        p, cfg = self.p, self.cfg
        hid = cfg["hid"]
        f = pl.tfeat
        x = p["embed.op"][f[0]] + torch.cat([p["embed.channels"][f[1]], p["embed.channels"][f[2]],
                                             p["embed.spatial"][f[3]], p["embed.spatial"][f[4]]],
                                            1)
        if cfg["res_embed"]:
            x = x + p["embed.resolution"][f[5]]
        L, ls = pl.L, pl.lstart
        hs = [x[ls[l]:ls[l + 1]] for l in range(L)]
        ve = cfg["s_max"] > 1
        wih, whh = p["gnn.gru.weight_ih"], p["gnn.gru.weight_hh"]
        bih, bhh = p["gnn.gru.bias_ih"], p["gnn.gru.bias_hh"]
        for _ in range(cfg["rounds"]):
            for direction in (0, 1):
                # acc: messages accumulated so far for the rows not visited yet in this sweep
                # (forward: rows >= the current level's start; backward: rows < its end), or
                # None while they are all zero. One GEMM per level scatters the new level's MLP
                # outputs to them, so autograd sees O(L) nodes, not one per (level, source).
                acc = None
                levels = range(L) if direction == 0 else range(L - 1, -1, -1)
                for k, l in enumerate(levels):
                    nl = int(ls[l + 1] - ls[l])
                    if acc is None:
                        m, rest = x.new_zeros(nl, hid), None
                    elif direction == 0:
                        m, rest = acc[:nl], acc[nl:]
                    else:
                        m, rest = acc[acc.shape[0] - nl:], acc[:acc.shape[0] - nl]
                    hs[l] = torch.gru_cell(m, hs[l], wih, whh, bih, bhh)
                    if k == L - 1:
                        break
                    blk = pl.blocks[direction][l]
                    if blk is not None:
                        real, virt = blk
                        if real is not None:
                            c = torch.mm(real.to(x.dtype), self.mlp(hs[l], "gnn.mlp"))
                            rest = c if rest is None else rest + c
                        if ve and virt is not None:
                            c = torch.mm(virt.to(x.dtype), self.mlp(hs[l], "gnn.mlp_ve"))
                            rest = c if rest is None else rest + c
                    acc = rest
        h = torch.cat(hs) if L > 1 else hs[0]
        if cfg["layernorm"]:
            h = F.layer_norm(h, (hid,), p["ln.weight"], p["ln.bias"], 1e-5)
        return h

    def head(self, h, rows, pos, pre):
        chunk = self.cfg["decoder"] == "chunk"
        z = h[rows[0]]
        if chunk:
            for table, idx in zip(pos, rows[1:]):
                if table is not None:
                    z = z + self.p[table][idx]
        z = F.relu(F.linear(z, self.p[pre + ".0.weight"], self.p[pre + ".0.bias"]))
        return F.linear(z, self.p[pre + ".2.weight"], self.p[pre + ".2.bias"])

    def forward(self, pl, out_embed=False):
        """Predicted weights, one tensor per slot (slot order)."""
        h = self.node_states(pl)
        outs = {}
        if len(pl.rows["conv"]):
            outs[HEAD_CONV] = self.head(h, pl.trows["conv"], ("decoder.pos_out", "decoder.pos_in",
                                                              "decoder.pos_spatial"), "decoder")
        if len(pl.rows["d1"]):
            outs[HEAD_1D] = self.head(h, pl.trows["d1"], ("decoder_1d.pos", None, None),
                                      "decoder_1d")
        if len(pl.rows["cls"]):
            outs[HEAD_CLS] = self.head(h, pl.trows["cls"], ("decoder_cls.pos", None, None),
                                       "decoder_cls")
        ws = []
        for s, rec in enumerate(pl.recipes):
            kind = rec[0]
            if kind == HEAD_CLS_BIAS:
                raw = F.linear(h[pl.cls_row], self.p["decoder_cls_bias.weight"],
                               self.p["decoder_cls_bias.bias"])
            else:
                raw = assemble(self.cfg, outs[kind], rec)
            ws.append(normalise(raw, pl.slot_roles[s], pl.scale[s], self.cfg["weight_norm"]))
        if out_embed:
            return ws, h
        return ws


def assemble(cfg, out, rec):
    """A slot tensor from its head's output rows (tiling, cropping, layout)."""
    chunk = cfg["decoder"] == "chunk"
    CO, CI, K = cfg["chunk_out"], cfg["chunk_in"], cfg["chunk_k"]
    kind, r0, extra, shape = rec
    if kind == HEAD_CONV:
        co, ci, kh, kw = shape
        to, ti, th, tw = extra
        t = out[r0:r0 + to * ti * th * tw].reshape(to, ti, th, tw, CO, CI, K, K)
        t = t.permute(0, 4, 1, 5, 2, 6, 3, 7).reshape(to * CO, ti * CI, th * K, tw * K)
        if not chunk:  # GHN-2 tiling: repeat the one chunk
            t = t.repeat(cdiv(co, CO), cdiv(ci, CI), cdiv(kh, K) if kh > K else 1,
                         cdiv(kw, K) if kw > K else 1)
        span_h, span_w = t.shape[2], t.shape[3]
        oy = (span_h - kh) // 2 if (chunk or kh <= K) else 0
        ox = (span_w - kw) // 2 if (chunk or kw <= K) else 0
        return t[:co, :ci, oy:oy + kh, ox:ox + kw]
    if kind == HEAD_1D:
        C = shape[0]
        half = 0 if extra == ROLE_GAMMA else CO
        tiles = cdiv(C, CO) if chunk else 1
        t = out[r0:r0 + tiles, half:half + CO].reshape(-1)
        if not chunk:
            t = t.repeat(cdiv(C, CO))
        return t[:C]
    if kind == HEAD_CLS:
        Kc, C = shape
        tiles = cdiv(C, CI) if chunk else 1
        t = out[r0:r0 + tiles].reshape(tiles, Kc, CI).permute(1, 0, 2).reshape(Kc, tiles * CI)
        if not chunk:
            t = t.repeat(1, cdiv(C, CI))
        return t[:, :C]
    raise ValueError(kind)


def normalise(raw, role, scale, on):
    if not on:
        return raw
    if role == ROLE_WEIGHT:
        return raw * scale
    if role == ROLE_GAMMA:
        return 2.0 * torch.sigmoid(0.5 * raw)
    return torch.tanh(0.2 * raw)


def finish_plan(pl, net):
    pl.slot_roles = [s[2] for s in net.slots]
    return pl


# ---- the target network ----------------------------------------------------------------------


def net_forward(net, w, x):
    """Run the IR on x with weights w (slot order); BN on batch statistics."""
    vals = [None] * net.n
    for v in range(net.n):
        op, a, ins = net.op[v], net.attr[v], net.ins[v]
        i0 = vals[ins[0]] if ins else None
        if op == OP["input"]:
            y = x
        elif op == OP["conv"]:
            y = F.conv2d(i0, w[net.slot0[v]], None, a["stride"], a["pad"], a["dil"], a["groups"])
        elif op == OP["bn"]:
            s = net.slot0[v]
            y = F.batch_norm(i0, None, None, w[s], w[s + 1], True, 0.1, 1e-5)
        elif op == OP["relu"]:
            y = F.relu(i0)
        elif op == OP["avgpool"]:
            y = F.avg_pool2d(i0, a["k"], a["stride"], a["pad"], count_include_pad=bool(a["cip"]))
        elif op == OP["maxpool"]:
            y = F.max_pool2d(i0, a["k"], a["stride"], a["pad"])
        elif op == OP["sum"]:
            y = vals[ins[0]]
            for u in ins[1:]:
                y = y + vals[u]
        elif op == OP["concat"]:
            y = torch.cat([vals[u] for u in ins], 1)
        elif op == OP["slice"]:
            c0, h0, w0 = a["offset"]
            c, h, ww = net.shape[v]
            y = i0[:, c0:c0 + c, h0:h0 + h, w0:w0 + ww]
        elif op == OP["zero"]:
            y = torch.zeros_like(i0)
        elif op == OP["gap"]:
            y = i0.mean((2, 3))
        elif op == OP["linear"]:
            s = net.slot0[v]
            y = F.linear(i0, w[s], w[s + 1])
        else:
            raise ValueError(op)
        vals[v] = y
    return vals[net.n - 1]


# ---- dump reader --------------------------------------------------------------------------------


def read_dump(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:4] != b"GHND":
        raise SystemExit("%s: not a ghn_dump file" % path)
    version, count = struct.unpack_from("<II", b, 4)
    if version != 1:
        raise SystemExit("%s: format version %d, expected 1" % (path, version))
    o, out = 12, {}
    for _ in range(count):
        (nl,) = struct.unpack_from("<I", b, o)
        o += 4
        name = b[o:o + nl].decode()
        o += nl
        dt, nd = struct.unpack_from("<II", b, o)
        o += 8
        shape = struct.unpack_from("<%dq" % nd, b, o)
        o += 8 * nd
        n = int(np.prod(shape)) if nd else 1
        if dt == 2:
            out[name] = b[o:o + n].decode()
            o += n
        else:
            out[name] = np.frombuffer(b, dtype="<f4" if dt == 0 else "<i4", count=n,
                                      offset=o).reshape(shape)
            o += 4 * n
    meta = {}
    for line in out["meta"].rstrip("\n").split("\n"):
        k, v = line.split("=", 1)
        meta[k] = v
    out["meta"] = meta
    return out


def cfg_from_meta(meta):
    cfg = default_config()
    for k in cfg:
        cfg[k] = meta[k] if k == "decoder" else int(meta[k])
    return cfg


# ---- check -------------------------------------------------------------------------------------


def diff(a, b):
    """(max abs diff, normwise rel = max|a-b| / max|b|) for tensors/arrays; b is ghnas'."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d = float(np.abs(a - b).max()) if a.size else 0.0
    m = float(np.abs(b).max()) if b.size else 0.0
    return d, d / m if m > 0 else (0.0 if d == 0 else math.inf)


def run_twin(d, cfg, dtype):
    """Twin forward + backward from a dump; returns the pieces to compare."""
    net = net_from_dump(d)
    values = {k[len("ghn.param/"):]: v for k, v in d.items() if k.startswith("ghn.param/")}
    ghn = GHN(cfg, values).to(dtype)
    pl = finish_plan(build_plan(net, cfg, np.asarray(d["ghn.seen"]), dist=None), net)
    ws, h = ghn(pl, out_embed=True)
    x = torch.tensor(np.asarray(d["x"])).to(dtype)
    y = torch.tensor(np.asarray(d["y"]).astype(np.int64))
    logits = net_forward(net, ws, x)
    loss = F.cross_entropy(logits, y)
    acc = float((logits.argmax(1) == y).double().mean())
    loss.backward()
    emb = h.detach()[torch.from_numpy(pl.row)]  # node order
    # parameters the graph does not use (tile decoder: position tables) have no gradient in
    # PyTorch and a zero one in ghnas
    grads = {name: (ghn.p[name].grad.detach().double().numpy() if ghn.p[name].grad is not None
                    else np.zeros(tuple(ghn.p[name].shape))) for name in PARAM_NAMES}
    return dict(net=net, plan=pl, ws=[w.detach().double().numpy() for w in ws],
                embed=emb.double().numpy(), logits=logits.detach().double().numpy(),
                loss=float(loss), acc=acc, grads=grads)


def grads_at_ghnas_weights(d, cfg, net, dtype):
    """GHN gradients with the target net evaluated at ghnas' float32 predicted weights: slot
    gradients from a run of the net (in dtype) on ghnas' weights, backpropagated through the GHN
    (in dtype). In float64 this differs from ghnas' gradients only by the rounding of ghnas'
    forward activations and backward pass, not by the rounding of its predicted weights."""
    ws = [torch.tensor(d["pred/" + s[0]].astype(np.float64)).to(dtype).requires_grad_(True)
          for s in net.slots]
    x = torch.tensor(np.asarray(d["x"]).astype(np.float64)).to(dtype)
    y = torch.tensor(np.asarray(d["y"]).astype(np.int64))
    F.cross_entropy(net_forward(net, ws, x), y).backward()
    values = {k[len("ghn.param/"):]: v for k, v in d.items() if k.startswith("ghn.param/")}
    ghn = GHN(cfg, values).to(dtype)
    pl = finish_plan(build_plan(net, cfg, np.asarray(d["ghn.seen"])), net)
    torch.autograd.backward(ghn(pl), [w.grad if w.grad is not None else torch.zeros_like(w)
                                      for w in ws])
    return {k: (ghn.p[k].grad.double().numpy() if ghn.p[k].grad is not None
                else np.zeros(tuple(ghn.p[k].shape))) for k in PARAM_NAMES}


def check_plan(d, cfg, net, pl):
    """The twin's plan against ghnas' (exact). Returns a list of mismatch messages."""
    errs = []
    meta = d["meta"]

    def same(name, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or not np.array_equal(a, b):
            errs.append("%s differs (twin %s, ghnas %s)" % (name, a.shape, b.shape))

    # the twin's NB201 compiler builds the same graph as ghnas' compiler
    if meta["space"] == "nb201":
        twin_net = nb201_compile(meta["arch"], int(meta["C"]), int(meta["N"]),
                                 (int(meta["in_c"]), int(meta["in_h"]), int(meta["in_w"])),
                                 cfg["classes"])
        errs += ["compiler: " + e for e in compare_nets(twin_net, net)]
    same("distances", distances(net, max(cfg["s_max"], 1)), d["ir.dist"])
    same("level order (perm)", pl.perm, d["plan.perm"])
    same("level starts", pl.lstart, d["plan.lstart"])
    same("node features", pl.feat, d["plan.feat"])
    for k in ("conv", "d1", "cls"):
        same("%s decoder rows" % k, pl.rows[k], d["plan.%s_rows" % k])
    misc = d["plan.misc"]
    same("cls row / edge counts / levels", [pl.cls_row, pl.n_real, pl.n_virtual, pl.L], misc)
    same("heads", [r[0] for r in pl.recipes], d["plan.head"])
    same("weight scales", np.array(pl.scale, dtype=np.float32), d["plan.scale"])
    # gather maps: assemble a head output holding its own flat indices and compare
    CN = cfg["chunk_out"] * cfg["chunk_in"] * cfg["chunk_k"] ** 2
    width = {HEAD_CONV: CN, HEAD_1D: 2 * cfg["chunk_out"],
             HEAD_CLS: cfg["classes"] * cfg["chunk_in"]}
    nrows = {HEAD_CONV: len(pl.rows["conv"]), HEAD_1D: len(pl.rows["d1"]),
             HEAD_CLS: len(pl.rows["cls"])}
    for s, rec in enumerate(pl.recipes):
        if rec[0] == HEAD_CLS_BIAS:
            continue
        idx = torch.arange(nrows[rec[0]] * width[rec[0]], dtype=torch.float64)
        got = assemble(cfg, idx.reshape(nrows[rec[0]], width[rec[0]]), rec)
        want = d["plan.gidx/" + net.slots[s][0]]
        if not np.array_equal(got.reshape(-1).numpy().astype(np.int64), want.astype(np.int64)):
            errs.append("gather map of %s differs" % net.slots[s][0])
    return errs


def check(args):
    d = read_dump(args.dump)
    meta = d["meta"]
    cfg = cfg_from_meta(meta)
    torch.set_num_threads(args.threads)
    t32 = run_twin(d, cfg, torch.float32)
    net, pl = t32["net"], t32["plan"]
    ok = True
    print("dump %s: %s C=%s N=%s, %s decoder, GHN %s%s, batch %s; %d nodes, %d levels, %d slots"
          % (args.dump, meta["arch"], meta["C"], meta["N"], cfg["decoder"], meta["ghn"],
             " (marked)" if meta["mark"] == "1" else "", meta["batch"], net.n, pl.L,
             len(net.slots)))
    errs = check_plan(d, cfg, net, pl)
    print("plan (compiler, distances, levels, features, stand-ins, rows, gather maps): %s"
          % ("identical" if not errs else "%d MISMATCHES" % len(errs)))
    for e in errs[:20]:
        print("  " + e)
    ok = ok and not errs
    t64 = run_twin(d, cfg, torch.float64) if args.f64 else None
    rows = []  # (quantity, max abs, rel, tol, C vs f64, twin vs f64)

    def add(qname, pairs, tol, refs64=None):
        worst = (0.0, 0.0)
        worst_c = worst_t = 0.0
        for i, (a, b) in enumerate(pairs):
            dd = diff(a, b)
            worst = (max(worst[0], dd[0]), max(worst[1], dd[1]))
            if refs64 is not None:
                worst_c = max(worst_c, diff(b, refs64[i])[1])
                worst_t = max(worst_t, diff(a, refs64[i])[1])
        rows.append((qname, worst[0], worst[1], tol, worst_c, worst_t))
        return worst[1] <= tol

    def by_kind(kind_pred):
        return [s for s, sl in enumerate(net.slots) if kind_pred(sl)]

    groups = [("weights: conv", lambda sl: net.op[sl[1]] == OP["conv"]),
              ("weights: bn gamma", lambda sl: sl[2] == ROLE_GAMMA),
              ("weights: bn beta", lambda sl: sl[2] == ROLE_BETA),
              ("weights: classifier", lambda sl: net.op[sl[1]] == OP["linear"] and
               sl[2] == ROLE_WEIGHT),
              ("weights: classifier bias", lambda sl: sl[2] == ROLE_BIAS)]
    ok &= add("node embeddings", [(t32["embed"], d["embed"])], TOL["embed"],
              [t64["embed"]] if t64 else None)
    for gname, pred in groups:
        idx = by_kind(pred)
        ok &= add(gname, [(t32["ws"][s], d["pred/" + net.slots[s][0]]) for s in idx],
                  TOL["weights"], [t64["ws"][s] for s in idx] if t64 else None)
    ok &= add("logits", [(t32["logits"], d["logits"])], TOL["logits"],
              [t64["logits"]] if t64 else None)
    c_loss = float(meta["loss"])
    ok &= add("loss", [(np.array([t32["loss"]]), np.array([c_loss]))], TOL["loss"],
              [np.array([t64["loss"]])] if t64 else None)
    gpairs = [(t32["grads"][k], d["ghn.grad/" + k]) for k in PARAM_NAMES]
    ok &= add("GHN gradients (worst tensor)", gpairs, TOL["grad_tensor"],
              [t64["grads"][k] for k in PARAM_NAMES] if t64 else None)
    ga = np.concatenate([a.reshape(-1) for a, _ in gpairs])
    gb = np.concatenate([b.reshape(-1).astype(np.float64) for _, b in gpairs])
    g_l2 = float(np.linalg.norm(ga - gb) / max(np.linalg.norm(gb), 1e-30))
    line64 = ""
    if t64:
        g64 = np.concatenate([t64["grads"][k].reshape(-1) for k in PARAM_NAMES])
        n64 = max(np.linalg.norm(g64), 1e-30)
        line64 = "   ghnas vs f64 %.2e, twin vs f64 %.2e" % (np.linalg.norm(gb - g64) / n64,
                                                              np.linalg.norm(ga - g64) / n64)
    print("%-30s %12s %12s %9s%s" % ("quantity", "max abs", "rel (norm)", "tol",
                                     "   ghnas-f64   twin-f64" if t64 else ""))
    for q, a, r, tol, ec, et in rows:
        print("%-30s %12.3e %12.3e %9.0e%s" % (q, a, r, tol,
                                               "   %9.2e   %9.2e" % (ec, et) if t64 else ""))
    print("%-30s %12s %12.3e %9.0e%s" % ("GHN gradients (global L2)", "", g_l2,
                                         TOL["grad_global"], line64))
    ok &= g_l2 <= TOL["grad_global"]
    if t64:
        # at ghnas' own weights: ghnas vs float64, next to the twin's float32 vs float64
        gf = grads_at_ghnas_weights(d, cfg, net, torch.float64)
        gt = grads_at_ghnas_weights(d, cfg, net, torch.float32)
        cat = lambda g: np.concatenate([g[k].reshape(-1) for k in PARAM_NAMES])
        gfv = cat(gf)
        nf = max(np.linalg.norm(gfv), 1e-30)
        e_c = float(np.linalg.norm(gb - gfv) / nf)
        e_t = float(np.linalg.norm(cat(gt) - gfv) / nf)
        print("%-30s %12s %12s %9s   ghnas %.2e, twin %.2e (information)" % (
            "GHN grads at ghnas' weights", "", "", "vs f64:", e_c, e_t))
    c_acc = float(meta["acc"])
    B = int(meta["batch"])
    acc_ok = abs(t32["acc"] - c_acc) * B <= 1.0 + 1e-9
    print("accuracy: ghnas %.6f twin %.6f (%s)" % (c_acc, t32["acc"],
                                                   "equal" if t32["acc"] == c_acc else
                                                   "differs by %d image(s)" %
                                                   round(abs(t32["acc"] - c_acc) * B)))
    ok &= acc_ok
    if not args.quiet:
        worst = sorted(((diff(a, b)[1], k) for (a, b), k in zip(gpairs, PARAM_NAMES)),
                       reverse=True)[:5]
        print("worst gradient tensors: " + ", ".join("%s %.1e" % (k, r) for r, k in worst))
    print("CHECK %s" % ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


# ---- data (Fashion-MNIST as ghnas reads it) ----------------------------------------------------


def load_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        b = f.read()
    magic, n = struct.unpack_from(">II", b, 0)
    if magic == 0x803:
        r, c = struct.unpack_from(">II", b, 8)
        return np.frombuffer(b, dtype=np.uint8, offset=16).reshape(n, 1, r, c)
    return np.frombuffer(b, dtype=np.uint8, offset=8).astype(np.int64)


def fashion_mnist(data_dir):
    def find(stem):
        for ext in (".gz", ""):
            p = os.path.join(data_dir, stem + ext)
            if os.path.exists(p):
                return p
        raise SystemExit("ghn_torch: %s not found in %s" % (stem, data_dir))
    return load_idx(find("train-images-idx3-ubyte")), load_idx(find("train-labels-idx1-ubyte"))


def split(n, n_val, seed):
    """nas_data_split_make: shuffle with xoshiro, first n_val are validation; both ascending."""
    r = Rng(seed)
    perm = list(range(n))
    for i in range(n, 1, -1):
        j = r.below(i)
        perm[i - 1], perm[j] = perm[j], perm[i - 1]
    is_val = np.zeros(n, dtype=bool)
    is_val[perm[:n_val]] = True
    return np.nonzero(~is_val)[0], np.nonzero(is_val)[0]


def norm_lut(images, train_idx):
    """nas_data_norm_compute + the lookup table of nas_data_batch."""
    hist = np.bincount(images[train_idx].reshape(-1), minlength=256).astype(np.float64)
    v = np.arange(256) / 255.0
    cnt = hist.sum()
    m = float((hist * v).sum() / cnt)
    var = max(float((hist * v * v).sum() / cnt) - m * m, 0.0)
    mean, std = np.float32(m), np.float32(math.sqrt(var))
    return ((v - float(mean)) / float(std)).astype(np.float32)


# ---- bench -------------------------------------------------------------------------------------


def schedule_lr(lr, step, steps, warmup):
    frac = min(step / steps, 1.0) if steps > 0 else 0.0
    x = lr * 0.5 * (1.0 + math.cos(math.pi * frac))
    if step < warmup:
        x *= (step + 1) / warmup
    return x


class Trainer:
    """One ghnas GHN training step, in PyTorch."""

    def __init__(self, cfg, args, images, labels, train_idx, lut):
        self.cfg, self.args = cfg, args
        self.ghn = GHN(cfg, seed=args.seed)
        params = [self.ghn.p[k] for k in PARAM_NAMES]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        self.opt = torch.optim.AdamW([dict(params=decay, weight_decay=1e-4),
                                      dict(params=no_decay, weight_decay=0.0)], lr=1e-3,
                                     betas=(0.9, 0.999), eps=1e-8)
        self.params = params
        P = cfg["n_pos"]
        self.seen = np.zeros(2 * len(CH_VOCAB) + len(SP_VOCAB) + 3 * P + P * P + 2 * P,
                             dtype=np.uint8)
        self.images, self.labels, self.train_idx, self.lut = images, labels, train_idx, lut
        self.rs = np.random.RandomState(args.seed)
        self.step_no = 0
        self.prep_s = 0.0

    def step(self, C, N):
        a = self.args
        m, B = a.meta, a.batch
        bidx = self.train_idx[self.rs.randint(0, len(self.train_idx), B)]
        x = torch.from_numpy(self.lut[self.images[bidx]])
        y = torch.from_numpy(self.labels[bidx])
        loss_sum = 0.0
        for arch in train_archs(a.seed, self.step_no, m):
            t0 = time.perf_counter()
            net = nb201_compile(arch, C, N)
            pl = build_plan(net, self.cfg)
            mark_seen(self.cfg, self.seen, pl)
            apply_seen(pl, self.cfg, self.seen)
            finish_plan(pl, net)
            self.prep_s += time.perf_counter() - t0
            ws = self.ghn(pl)
            loss = F.cross_entropy(net_forward(net, ws, x), y)
            (loss / m).backward()
            loss_sum += float(loss)
        norm = torch.nn.utils.clip_grad_norm_(self.params, 5.0)
        if math.isfinite(float(norm)) and math.isfinite(loss_sum):
            for g in self.opt.param_groups:
                g["lr"] = schedule_lr(1e-3, self.step_no, 1000, 50)
            self.opt.step()
        self.opt.zero_grad(set_to_none=False)
        self.step_no += 1
        return loss_sum / m


def score_one(ghn, cfg, arch, C, N, xs, ys, eval_batch):
    net = nb201_compile(arch, C, N)
    pl = finish_plan(build_plan(net, cfg), net)
    with torch.no_grad():
        ws = ghn(pl)
        correct, loss_sum = 0, 0.0
        for o in range(0, len(ys), eval_batch):
            logits = net_forward(net, ws, xs[o:o + eval_batch])
            yb = ys[o:o + eval_batch]
            loss_sum += float(F.cross_entropy(logits, yb)) * len(yb)
            correct += int((logits.argmax(1) == yb).sum())
    return correct / len(ys), loss_sum / len(ys)


def timed(fn, seconds, warmup, min_iters=1):
    for _ in range(warmup):
        fn()
    times, t0 = [], time.perf_counter()
    while True:
        ts = time.perf_counter()
        fn()
        times.append(time.perf_counter() - ts)
        if len(times) >= min_iters and time.perf_counter() - t0 >= seconds:
            break
    return sorted(times), time.perf_counter() - t0


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = default_config()
    cfg["decoder"] = args.decoder
    cfg["hid"] = args.hid
    cfg["dec_hid"] = 4 * args.hid  # as ghnas train --hid
    images, labels = fashion_mnist(args.data_dir)
    train_idx, val_idx = split(len(labels), 10000, 1)
    lut = norm_lut(images, train_idx)
    what = args.what.split(",")
    nv = min(args.val_n, len(val_idx))
    xs = torch.from_numpy(lut[images[val_idx[:nv]]])
    ys = torch.from_numpy(labels[val_idx[:nv]])
    archs = score_archs(args.seed, 64)
    for item in args.grid.split(","):
        N, C = (int(v) for v in item.split(":"))
        res = {"impl": "pytorch", "version": torch.__version__, "threads": args.threads,
               "C": C, "N": N, "meta": args.meta, "batch": args.batch, "decoder": cfg["decoder"]}
        if "train" in what:
            tr = Trainer(cfg, args, images, labels, train_idx, lut)
            times, wall = timed(lambda: tr.step(C, N), args.seconds, args.warmup)
            prep = tr.prep_s / tr.step_no
            res.update(train_steps=len(times),
                       train_ms_median=round(1e3 * times[len(times) // 2], 2),
                       train_ms_mean=round(1e3 * wall / len(times), 2),
                       train_arch_img_s=round(args.meta * args.batch * len(times) / wall, 1),
                       train_prep_ms=round(1e3 * prep, 2))
        if "score" in what:
            ghn = GHN(cfg, seed=args.seed)
            k = [0]

            def one():
                score_one(ghn, cfg, archs[k[0] % len(archs)], C, N, xs, ys, args.eval_batch)
                k[0] += 1
            times, wall = timed(one, args.seconds, 1 if args.warmup > 0 else 0)
            res.update(score_archs=len(times),
                       score_ms_per_arch=round(1e3 * wall / len(times), 2),
                       score_ms_median=round(1e3 * times[len(times) // 2], 2),
                       score_archs_s=round(len(times) / wall, 3), val_n=nv,
                       eval_batch=args.eval_batch)
        print(json.dumps(res), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check", help="compare with a ghn_dump file")
    c.add_argument("dump")
    c.add_argument("--f64", action="store_true", help="also compare both sides with float64")
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--quiet", action="store_true")
    b = sub.add_parser("bench", help="time training steps and scoring")
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    b.add_argument("--warmup", type=int, default=2, help="training steps before timing")
    b.add_argument("--grid", default="1:8", help="N:C points, comma-separated")
    b.add_argument("--meta", type=int, default=4)
    b.add_argument("--batch", type=int, default=64)
    b.add_argument("--val-n", type=int, default=2000)
    b.add_argument("--eval-batch", type=int, default=128)
    b.add_argument("--what", default="train,score")
    b.add_argument("--decoder", default="chunk", choices=["chunk", "tile"])
    b.add_argument("--hid", type=int, default=32)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--data-dir", default=os.environ.get("GHNAS_FASHION_MNIST_DIR",
                                                        "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()
    return check(args) if args.mode == "check" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
