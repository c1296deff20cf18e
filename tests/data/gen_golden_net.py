#!/usr/bin/env python3
"""PyTorch twins of the networks compiled by src/net (tests/unit/test_net.c reads the output).

Run once with Debian's python3-torch:  /usr/bin/python3 gen_golden_net.py
It writes golden_net_nb201.bin, golden_net_nb101.bin, golden_net_darts.bin, golden_net_macro.bin
next to this file; the C test only reads the committed files.

Every network is written from the reference code's structure (references/nas.md), not from the
C compiler: NB201's TinyNetwork/InferCell/ResNetBasicblock (none edges run as x.mul(0.) and are
summed like every other edge), nasbench's build_module/compute_vertex_channels/truncate, DARTS'
NetworkCIFAR/Cell/FactorizedReduce/SepConv/DilConv, and a MobileNetV2-style inverted-residual
net for the macro space. Parameters are named like the IR's parameter slots ("<node>.weight",
"<node>.bias") and filled deterministically from their names, by a generator the C test repeats
bit for bit:

    seed = FNV-1a 32 of the name; x_i = mix32((seed + i * 0x9E3779B9) mod 2^32);
    u_i = ((x_i >> 8) - 2^23) / 2^23   (exact in float32, in [-1, 1))
    conv/linear weight: u * float32(sqrt(3 / fan_in));  BN weight: 1 + 0.25 u;
    BN bias and linear bias: 0.25 u;  input: u (name "input:<case>").

Each case runs a training-mode forward (batch statistics, running statistics updated with
momentum 0.1), cross-entropy against fixed labels and backward, then an eval-mode forward with
the running statistics. Records per case <c>: <c>.x, <c>.labels, <c>.logits, <c>.loss, <c>.dx,
<c>.logits_eval, <c>.params (count), <c>.macs (as [v // 2^20, v % 2^20]), <c>.nslots, and per parameter either
<c>/<name>.grad (the full gradient) or, for tensors above FULL_MAX elements, <c>/<name>.gsum =
[sum g, sum |g|, sum g * p, max |g|] with p = the generator's values for "<name>#probe", plus
<c>/<name>.shape. nb201 also holds bench.params / bench.macs: the benchmark arch at C=16, N=5,
3x32x32 input, 10 classes, counted on an nn.Module transcription of TinyNetwork.
References are computed in float64 and stored as float32.
"""
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_io import write_golden  # noqa: E402

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
M32 = 0xFFFFFFFF
FULL_MAX = 512
BATCH = 2


# ---- deterministic values ------------------------------------------------------------------

def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode():
        h ^= b
        h = (h * 0x01000193) & M32
    return h


def det_u(name, n):
    """n float32 values in [-1, 1) from the name (see the module docstring)."""
    x = (fnv1a(name) + np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B9)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(M32)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    k = (x >> np.uint64(8)).astype(np.int64) - (1 << 23)
    return (k.astype(np.float64) / float(1 << 23)).astype(np.float32)


def det_param(name, shape, kind, fan_in):
    u = det_u(name, int(np.prod(shape)))
    if kind == "w":
        v = u * np.float32(math.sqrt(3.0 / fan_in))
    elif kind == "gamma":
        v = np.float32(1.0) + np.float32(0.25) * u
    else:
        v = np.float32(0.25) * u
    return torch.tensor(v.astype(np.float32).reshape(shape), dtype=torch.float64)


# ---- functional network with named parameters ----------------------------------------------

class Net:
    """Parameters created on first use, in call order; BN running stats per BN name."""

    def __init__(self):
        self.params = {}
        self.running = {}
        self.training = True
        self.macs = 0
        self.counting = True

    def param(self, name, shape, kind, fan_in=0):
        if name not in self.params:
            self.params[name] = det_param(name, shape, kind, fan_in).requires_grad_(True)
        p = self.params[name]
        assert tuple(p.shape) == tuple(shape), (name, p.shape, shape)
        return p

    def conv(self, name, x, cout, k, stride=1, pad=0, dil=1, groups=1):
        cin = x.shape[1]
        fan = cin // groups * k * k
        w = self.param(name + ".weight", (cout, cin // groups, k, k), "w", fan)
        y = F.conv2d(x, w, None, stride, pad, dil, groups)
        if self.counting:
            self.macs += cout * fan * y.shape[2] * y.shape[3]
        return y

    def bn(self, name, x):
        c = x.shape[1]
        g = self.param(name + ".weight", (c,), "gamma")
        b = self.param(name + ".bias", (c,), "beta")
        rm, rv = self.running.setdefault(name, (torch.zeros(c), torch.ones(c)))
        return F.batch_norm(x, rm, rv, g, b, training=self.training, momentum=0.1, eps=1e-5)

    def linear(self, name, x, classes):
        c = x.shape[1]
        w = self.param(name + ".weight", (classes, c), "w", c)
        b = self.param(name + ".bias", (classes,), "beta")
        if self.counting:
            self.macs += classes * c
        return F.linear(x, w, b)


def gap(x):
    return F.adaptive_avg_pool2d(x, 1).flatten(1)


def relu_conv_bn(net, name, x, cout, k, stride, pad, dil=1):
    return net.bn(name + ".bn", net.conv(name + ".conv", F.relu(x), cout, k, stride, pad, dil))


def conv_bn_relu(net, name, x, cout, k):
    return F.relu(net.bn(name + ".bn", net.conv(name + ".conv", x, cout, k, 1, k // 2)))


# ---- NAS-Bench-201 (xautodl TinyNetwork) ---------------------------------------------------

def nb201_parse(s):
    nodes = []
    for part in s.strip("|").split("|+|"):
        node = []
        for item in part.split("|"):
            op, src = item.split("~")
            node.append((op, int(src)))
        nodes.append(node)
    return nodes


def nb201_cell(net, i, geno, x):
    nodes = [x]
    c = x.shape[1]
    for j, node in enumerate(geno, start=1):
        terms = []
        for op, src in node:
            sc = "cell%d.e%d%d" % (i, src, j)
            h = nodes[src]
            if op == "none":
                h = h.mul(0.0)  # xautodl Zero
            elif op == "skip_connect":
                pass
            elif op == "nor_conv_1x1":
                h = relu_conv_bn(net, sc, h, c, 1, 1, 0)
            elif op == "nor_conv_3x3":
                h = relu_conv_bn(net, sc, h, c, 3, 1, 1)
            elif op == "avg_pool_3x3":
                h = F.avg_pool2d(h, 3, 1, 1, count_include_pad=False)
            else:
                raise ValueError(op)
            terms.append(h)
        nodes.append(sum(terms))
    return nodes[-1]


def nb201_resnet(net, i, x, planes):
    sc = "res%d" % i
    a = relu_conv_bn(net, sc + ".a", x, planes, 3, 2, 1)
    b = relu_conv_bn(net, sc + ".b", a, planes, 3, 1, 1)
    r = net.conv(sc + ".short.conv", F.avg_pool2d(x, 2, 2, 0), planes, 1)
    return r + b


def nb201_forward(arch, C, N, classes):
    geno = nb201_parse(arch)

    def fwd(net, x):
        h = net.bn("stem.bn", net.conv("stem.conv", x, C, 3, 1, 1))
        idx, ch = 0, C
        for stage in range(3):
            if stage:
                ch *= 2
                h = nb201_resnet(net, idx, h, ch)
                idx += 1
            for _ in range(N):
                h = nb201_cell(net, idx, geno, h)
                idx += 1
        h = F.relu(net.bn("head.bn", h))
        return net.linear("head.fc", gap(h), classes)

    return fwd


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, pad):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, pad, bias=False),
                                nn.BatchNorm2d(cout))


class InferCell(nn.Module):
    def __init__(self, geno, c):
        super().__init__()
        self.layers = nn.ModuleList()
        for node in geno:
            for op, _ in node:
                if op == "nor_conv_1x1":
                    self.layers.append(ReLUConvBN(c, c, 1, 1, 0))
                elif op == "nor_conv_3x3":
                    self.layers.append(ReLUConvBN(c, c, 3, 1, 1))
                elif op == "avg_pool_3x3":
                    self.layers.append(nn.AvgPool2d(3, 1, 1, count_include_pad=False))
                else:
                    self.layers.append(nn.Identity())


class ResNetBasicblock(nn.Module):
    def __init__(self, cin, planes):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, planes, 3, 2, 1)
        self.conv_b = ReLUConvBN(planes, planes, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0),
                                        nn.Conv2d(cin, planes, 1, 1, 0, bias=False))


class TinyNetwork(nn.Module):
    """Parameter-count twin of xautodl's TinyNetwork (no forward needed)."""

    def __init__(self, C, N, geno, classes, in_c):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_c, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        chans = [C] * N + [C * 2] + [C * 2] * N + [C * 4] + [C * 4] * N
        reds = [False] * N + [True] + [False] * N + [True] + [False] * N
        self.cells = nn.ModuleList()
        prev = C
        for c, r in zip(chans, reds):
            self.cells.append(ResNetBasicblock(prev, c) if r else InferCell(geno, c))
            prev = c
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU())
        self.classifier = nn.Linear(prev, classes)


# ---- NAS-Bench-101 (nasbench model_builder) ------------------------------------------------

def nb101_parse(s):
    rows, ops = s.split("|")
    rows = rows.split(".")
    V = len(rows) + 1
    m = [[0] * V for _ in range(V)]
    for i, row in enumerate(rows):
        for k, ch in enumerate(row):
            m[i][i + 1 + k] = int(ch)
    return m, ["input"] + (ops.split(",") if ops else []) + ["output"]


def compute_vertex_channels(cin, cout, matrix):
    V = len(matrix)
    vc = [0] * V
    vc[0] = cin
    vc[V - 1] = cout
    if V == 2:
        return vc
    in_degree = [sum(matrix[r][c] for r in range(1, V)) for c in range(V)]
    interior = cout // in_degree[V - 1]
    correction = cout % in_degree[V - 1]
    for v in range(1, V - 1):
        if matrix[v][V - 1]:
            vc[v] = interior
            if correction:
                vc[v] += 1
                correction -= 1
    for v in range(V - 3, 0, -1):
        if not matrix[v][V - 1]:
            for dst in range(v + 1, V - 1):
                if matrix[v][dst]:
                    vc[v] = max(vc[v], vc[dst])
        assert vc[v] > 0
    return vc


def nb101_module(net, sc, x, matrix, ops, channels):
    V = len(matrix)
    vc = compute_vertex_channels(x.shape[1], channels, matrix)
    tensors = [x]
    final = []
    for t in range(1, V - 1):
        add_in = []
        for src in range(1, t):
            if matrix[src][t]:
                h = tensors[src]
                add_in.append(h[:, :vc[t]] if h.shape[1] > vc[t] else h)
        if matrix[0][t]:
            add_in.append(conv_bn_relu(net, "%s.v%d.proj" % (sc, t), x, vc[t], 1))
        vin = add_in[0] if len(add_in) == 1 else sum(add_in)
        op = ops[t]
        if op == "conv3x3-bn-relu":
            v = conv_bn_relu(net, "%s.v%d" % (sc, t), vin, vc[t], 3)
        elif op == "conv1x1-bn-relu":
            v = conv_bn_relu(net, "%s.v%d" % (sc, t), vin, vc[t], 1)
        elif op == "maxpool3x3":
            v = F.max_pool2d(vin, 3, 1, 1)
        else:
            raise ValueError(op)
        tensors.append(v)
        if matrix[t][V - 1]:
            final.append(v)
    if not final:
        return conv_bn_relu(net, "%s.out.proj" % sc, x, channels, 1)
    out = final[0] if len(final) == 1 else torch.cat(final, 1)
    if matrix[0][V - 1]:
        out = out + conv_bn_relu(net, "%s.out.proj" % sc, x, channels, 1)
    return out


def nb101_forward(arch, C, N, classes, stacks=3):
    matrix, ops = nb101_parse(arch)

    def fwd(net, x):
        h = conv_bn_relu(net, "stem", x, C, 3)
        ch = C
        for s in range(stacks):
            if s:
                h = F.max_pool2d(h, 2, 2)
                ch *= 2
            for m in range(N):
                h = nb101_module(net, "s%dm%d" % (s, m), h, matrix, ops, ch)
        return net.linear("head.fc", gap(h), classes)

    return fwd


# ---- DARTS (quark0/darts NetworkCIFAR) -----------------------------------------------------

def factorized_reduce(net, name, x, cout):
    y = F.relu(x)
    a = net.conv(name + ".conv1", y, cout // 2, 1, 2, 0)
    b = net.conv(name + ".conv2", y[:, :, 1:, 1:], cout // 2, 1, 2, 0)
    return net.bn(name + ".bn", torch.cat([a, b], 1))


def darts_op(net, sc, op, x, stride):
    c = x.shape[1]
    if op == "max_pool_3x3":
        return F.max_pool2d(x, 3, stride, 1)
    if op == "avg_pool_3x3":
        return F.avg_pool2d(x, 3, stride, 1, count_include_pad=False)
    if op == "skip_connect":
        return x if stride == 1 else factorized_reduce(net, sc, x, c)
    m = re.match(r"(sep|dil)_conv_(\d)x\d", op)
    k = int(m.group(2))
    if m.group(1) == "sep":
        p = k // 2
        h = net.conv(sc + ".dw1", F.relu(x), c, k, stride, p, 1, c)
        h = net.bn(sc + ".bn1", net.conv(sc + ".pw1", h, c, 1))
        h = net.conv(sc + ".dw2", F.relu(h), c, k, 1, p, 1, c)
        return net.bn(sc + ".bn2", net.conv(sc + ".pw2", h, c, 1))
    h = net.conv(sc + ".dw", F.relu(x), c, k, stride, k - 1, 2, c)
    return net.bn(sc + ".bn", net.conv(sc + ".pw", h, c, 1))


def darts_forward(normal, reduce, C, layers, classes, mult=3):
    concat = [2, 3, 4, 5]

    def fwd(net, x):
        s = net.bn("stem.bn", net.conv("stem.conv", x, mult * C, 3, 1, 1))
        s0 = s1 = s
        c, red_prev = C, False
        for i in range(layers):
            red = i in [layers // 3, 2 * layers // 3]
            if red:
                c *= 2
            cell = reduce if red else normal
            sc = "cell%d" % i
            p0 = (factorized_reduce(net, sc + ".pre0", s0, c) if red_prev
                  else relu_conv_bn(net, sc + ".pre0", s0, c, 1, 1, 0))
            p1 = relu_conv_bn(net, sc + ".pre1", s1, c, 1, 1, 0)
            states = [p0, p1]
            for k in range(len(cell) // 2):
                hs = []
                for op, src in cell[2 * k:2 * k + 2]:
                    stride = 2 if red and src < 2 else 1
                    hs.append(darts_op(net, "%s.e%d%d" % (sc, src, k + 2), op, states[src], stride))
                states.append(hs[0] + hs[1])
            s0, s1 = s1, torch.cat([states[j] for j in concat], 1)
            red_prev = red
        return net.linear("head.fc", gap(s1), classes)

    return fwd


def darts_text(normal, reduce):
    def cell(c):
        return "[" + ", ".join("('%s', %d)" % e for e in c) + "]"
    return ("Genotype(normal=%s, normal_concat=[2, 3, 4, 5], reduce=%s, reduce_concat=[2, 3, 4, 5])"
            % (cell(normal), cell(reduce)))


# ---- macro (MobileNetV2-style) -------------------------------------------------------------

MACRO_STRIDES = [1, 2, 2, 1]


def macro_forward(arch, classes, stem_c=16, stem_k=3, stem_s=1, head_c=128):
    stages = []
    for s, g in enumerate(arch.split("|")):
        d, w, k, e = (int(v[1:]) for v in g.split("-"))
        stages.append((d, w, k, e, MACRO_STRIDES[s]))

    def fwd(net, x):
        h = F.relu(net.bn("stem.bn", net.conv("stem.conv", x, stem_c, stem_k, stem_s, stem_k // 2)))
        for s, (d, w, k, e, stride) in enumerate(stages):
            for b in range(d):
                sc = "s%db%d" % (s, b)
                st = stride if b == 0 else 1
                cin = h.shape[1]
                hid = cin * e
                y = h
                if e != 1:
                    y = F.relu(net.bn(sc + ".expand.bn", net.conv(sc + ".expand.conv", y, hid, 1)))
                y = net.conv(sc + ".dw.conv", y, hid, k, st, k // 2, 1, hid)
                y = F.relu(net.bn(sc + ".dw.bn", y))
                y = net.bn(sc + ".project.bn", net.conv(sc + ".project.conv", y, w, 1))
                if st == 1 and cin == w:
                    y = h + y
                h = y
        h = F.relu(net.bn("head.bn", net.conv("head.conv", h, head_c, 1)))
        return net.linear("head.fc", gap(h), classes)

    return fwd


# ---- cases ---------------------------------------------------------------------------------

def split(v):
    """An integer as [v // 2^20, v % 2^20]: both exact in float32."""
    return torch.tensor([float(v // (1 << 20)), float(v % (1 << 20))])


def run_case(name, fwd, in_shape, classes):
    net = Net()
    n = BATCH * int(np.prod(in_shape))
    x = torch.tensor(det_u("input:" + name, n).reshape((BATCH,) + tuple(in_shape)),
                     dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([(3 * i + 1) % classes for i in range(BATCH)])
    logits = fwd(net, x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    net.training = False
    net.counting = False
    with torch.no_grad():
        logits_eval = fwd(net, x.detach())
    recs = [
        (name + ".x", x.detach()),
        (name + ".labels", labels.double()),
        (name + ".logits", logits.detach()),
        (name + ".loss", loss.detach().reshape(1)),
        (name + ".dx", x.grad),
        (name + ".logits_eval", logits_eval),
        (name + ".params", torch.tensor([float(sum(p.numel() for p in net.params.values()))])),
        (name + ".macs", split(net.macs)),
        (name + ".nslots", torch.tensor([float(len(net.params))])),
    ]
    for pname, p in net.params.items():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        key = "%s/%s" % (name, pname)
        if g.numel() <= FULL_MAX:
            recs.append((key + ".grad", g))
        else:
            probe = torch.tensor(det_u(pname + "#probe", g.numel()), dtype=torch.float64)
            gf = g.flatten()
            recs.append((key + ".gsum", torch.stack([gf.sum(), gf.abs().sum(),
                                                     (gf * probe).sum(), gf.abs().max()])))
            recs.append((key + ".shape", torch.tensor([float(s) for s in g.shape])))
    print("%-12s params %7d  macs %9d  loss %.5f  slots %d" %
          (name, sum(p.numel() for p in net.params.values()), net.macs, loss.item(),
           len(net.params)))
    return recs


NB201_BENCH = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
               "nor_conv_1x1~2|")
NB201_ZERO = "|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
NB201_C = "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|skip_connect~2|"

NB101_A = "10101.1110.001.01.1|conv3x3-bn-relu,maxpool3x3,conv1x1-bn-relu,conv3x3-bn-relu"
NB101_B = ("111010.00001.0001.100.01.1|conv1x1-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,"
           "conv3x3-bn-relu,maxpool3x3")

DARTS_V2_N = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
              ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)]
DARTS_V2_R = [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
              ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)]
DARTS_B_N = [("sep_conv_5x5", 1), ("avg_pool_3x3", 0), ("dil_conv_5x5", 2), ("skip_connect", 0),
             ("max_pool_3x3", 1), ("dil_conv_3x3", 3), ("sep_conv_3x3", 4), ("avg_pool_3x3", 2)]
DARTS_B_R = [("skip_connect", 0), ("avg_pool_3x3", 1), ("dil_conv_5x5", 2), ("sep_conv_5x5", 0),
             ("skip_connect", 1), ("dil_conv_3x3", 3), ("sep_conv_3x3", 4), ("max_pool_3x3", 0)]

MACRO_A = "d1-w16-k3-e1|d1-w24-k5-e3|d1-w48-k3-e3|d1-w64-k3-e3"
MACRO_B = "d2-w24-k7-e6|d1-w32-k3-e4|d2-w48-k5-e3|d2-w64-k7-e3"


def main():
    files = {
        "nb201": [
            run_case("nb201_bench", nb201_forward(NB201_BENCH, 4, 1, 10), (1, 12, 12), 10),
            run_case("nb201_zero", nb201_forward(NB201_ZERO, 4, 1, 10), (1, 12, 12), 10),
            run_case("nb201_c", nb201_forward(NB201_C, 6, 2, 7), (3, 16, 16), 7),
        ],
        "nb101": [
            run_case("nb101_a", nb101_forward(NB101_A, 8, 1, 10), (1, 12, 12), 10),
            run_case("nb101_b", nb101_forward(NB101_B, 6, 1, 10), (1, 12, 12), 10),
        ],
        "darts": [
            run_case("darts_v2", darts_forward(DARTS_V2_N, DARTS_V2_R, 4, 5, 10), (1, 12, 12), 10),
            run_case("darts_b", darts_forward(DARTS_B_N, DARTS_B_R, 4, 5, 10), (1, 16, 16), 10),
        ],
        "macro": [
            run_case("macro_a", macro_forward(MACRO_A, 10), (1, 12, 12), 10),
            run_case("macro_b", macro_forward(MACRO_B, 10), (1, 12, 12), 10),
        ],
    }
    # The NB201 benchmark net (C=16, N=5, CIFAR-shaped input): parameters of the nn.Module twin
    # and multiply-accumulates of one functional forward.
    tiny = TinyNetwork(16, 5, nb201_parse(NB201_BENCH), 10, 3)
    bench_params = sum(p.numel() for p in tiny.parameters())
    net = Net()
    with torch.no_grad():
        nb201_forward(NB201_BENCH, 16, 5, 10)(net, torch.zeros(2, 3, 32, 32))
    assert bench_params == sum(p.numel() for p in net.params.values())
    print("nb201 bench C=16 N=5 3x32x32: params %d, MACs %d" % (bench_params, net.macs))
    files["nb201"].append([("bench.params", torch.tensor([float(bench_params)])),
                           ("bench.macs", split(net.macs))])
    # for reference in the C test: the DARTS strings as the space's codec writes them
    print("darts_v2:", darts_text(DARTS_V2_N, DARTS_V2_R))
    for space, cases in files.items():
        recs = [r for case in cases for r in case]
        path = os.path.join(HERE, "golden_net_%s.bin" % space)
        write_golden(path, recs)
        print("%s: %d records, %d bytes" % (path, len(recs), os.path.getsize(path)))


if __name__ == "__main__":
    main()
