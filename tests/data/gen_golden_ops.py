#!/usr/bin/env python3
"""PyTorch twin of the small network in tests/unit/test_golden.c.

Run once with Debian's python3-torch (/usr/bin/python3 gen_golden_ops.py) to regenerate
golden_ops.bin; the C test only reads the committed file. The network touches every op family:
conv2d (bias, stride, dilation, groups/depthwise), batchnorm (batch statistics, affine; and a
running-statistics pass), relu/sigmoid/tanh, add/mul/scale/sum, max and avg pooling
(count_include_pad both ways), concat, slice, tile, reshape, global average pool, linear,
layernorm, embedding, matmul and softmax cross-entropy with label smoothing.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from golden_io import write_golden  # noqa: E402

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)  # compute the reference in double, store float32

N, CIN, H, W, K = 4, 3, 10, 10, 5


def P(*shape, scale=0.5):
    return (torch.rand(*shape) * 2 - 1) * scale


params = {
    "x": torch.rand(N, CIN, H, W) * 2 - 1,
    "w1": P(8, CIN, 3, 3), "b1": P(8),
    "bn1_g": 1 + P(8, scale=0.2), "bn1_b": P(8, scale=0.2),
    "w2": P(8, 1, 3, 3),                      # depthwise, stride 2
    "w3": P(8, 4, 3, 3),                      # groups 2, dilation 2, pad 2
    "w4": P(16, 16, 1, 1),                    # 1x1 after concat
    "ln_g": 1 + P(16, scale=0.2), "ln_b": P(16, scale=0.2),
    "emb": P(6, 16),
    "wl": P(K, 16), "bl": P(K),
    "wm": P(16, 16),
}
labels = torch.tensor([0, 3, 4, 1])
emb_idx = torch.tensor([2, 5, 2, 0])
for v in params.values():
    v.requires_grad_(True)
p = params

h = F.conv2d(p["x"], p["w1"], p["b1"], stride=1, padding=1)              # [4,8,10,10]
h = F.batch_norm(h, None, None, p["bn1_g"], p["bn1_b"], training=True, eps=1e-5)
h = F.relu(h)
a = F.conv2d(h, p["w2"], None, stride=2, padding=1, groups=8)              # [4,8,5,5]
b = F.conv2d(h, p["w3"], None, stride=1, padding=2, dilation=2, groups=2)  # [4,8,10,10]
b = F.max_pool2d(b, 3, stride=2, padding=1)                                # [4,8,5,5]
c = F.avg_pool2d(a, 3, stride=1, padding=1, count_include_pad=False)
d = F.avg_pool2d(b, 3, stride=1, padding=1, count_include_pad=True)
e = torch.sigmoid(c) * torch.tanh(d)                                       # mul
f = a + b + e                                                              # sum of 3
g = torch.cat([f, 0.5 * c], dim=1)                                         # [4,16,5,5]
g = F.conv2d(g, p["w4"])                                                   # 1x1
g = F.batch_norm(g, None, None, None, None, training=True, eps=1e-5)       # no affine
g = F.relu(g)
s = g[:, 4:12]                                                             # slice channels
s = s.repeat(1, 2, 1, 1)                                                   # tile -> 16 ch
g = g + s
v = F.adaptive_avg_pool2d(g, 1).reshape(N, 16)                             # GAP
v = F.layer_norm(v, (16,), p["ln_g"], p["ln_b"], eps=1e-5)
v = v + p["emb"][emb_idx]
v = v + torch.matmul(v, p["wm"].t()) * 0.25                               # matmul(trans_b)
logits = F.linear(v, p["wl"], p["bl"])
loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
loss.backward()

# Running-statistics BN on the same input (inference path).
rm = torch.linspace(-0.2, 0.2, 8)
rv = torch.linspace(0.5, 1.5, 8)
with torch.no_grad():
    hr = F.conv2d(p["x"], p["w1"], p["b1"], stride=1, padding=1)
    bn_eval = F.batch_norm(hr, rm, rv, p["bn1_g"], p["bn1_b"], training=False, eps=1e-5)

records = [(k, v.detach()) for k, v in params.items()]
records += [("labels", labels.double()), ("emb_idx", emb_idx.double())]
records += [("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
records += [("grad_" + k, v.grad) for k, v in params.items()]
records += [("bn_eval_rm", rm), ("bn_eval_rv", rv), ("bn_eval_out", bn_eval)]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden_ops.bin")
write_golden(out, [(k, v.numpy()) for k, v in records])
print("wrote", out, "loss", float(loss))
