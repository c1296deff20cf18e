#!/usr/bin/env python3
"""PyTorch twins of the zero-cost proxies of src/proxy (tests/unit/test_proxy.c reads the output).

Run once with Debian's python3-torch:  /usr/bin/python3 gen_golden_proxy.py
It writes golden_proxy.bin next to this file; the C test only reads the committed file.

The networks and their deterministic parameters are gen_golden_net.py's (imported, not copied):
the functional twins of NB201, NB101 and the macro space with every parameter filled from its
name. Inputs are det_u("proxy:<case>") in [-1, 1), labels (3 i + 1) mod classes. Everything runs
in float64. The proxies follow references/nas.md §5 (zero-cost-nas, nas-without-training):

  grad_norm  sum over conv/linear weights of ||dL/dW||_2, L = mean cross-entropy, BN training mode
  snip       sum over conv/linear weights of |W * dL/dW|
  synflow    all parameters -> |p|, BN bypassed, one all-ones input, R = sum(logits),
             sum over conv/linear weights of |W * dR/dW|
  jacob_cov  J = d sum(logits) / d x (BN training mode), eigenvalues l of corrcoef(J rows),
             -sum(log(l + 1e-5) + 1 / (l + 1e-5))
  naswot     codes (relu input > 0) of every F.relu call, K = sum c c^T + (1 - c)(1 - c)^T,
             log|det K| (numpy slogdet)

Records per case <c>: <c>.x, <c>.labels, and per proxy <c>.<proxy> = [hi, lo] with
hi = float32(v), lo = float32(v - hi) (the value to ~1e-14 relative), plus <c>.naswot_units (the
diagonal of K: the number of ReLU units per sample) and <c>.jacob_eig (the eigenvalues).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as TF

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_golden_net as G  # noqa: E402
from golden_io import write_golden  # noqa: E402

torch.set_default_dtype(torch.float64)
BATCH = 8


class ReluRecorder:
    """Stands in for torch.nn.functional inside gen_golden_net: relu records binary codes."""

    def __init__(self):
        self.codes = None

    def __getattr__(self, name):
        return getattr(TF, name)

    def relu(self, x):
        if self.codes is not None:
            self.codes.append((x > 0).reshape(x.shape[0], -1).double())
        return TF.relu(x)


REC = ReluRecorder()
G.F = REC  # gen_golden_net's network code calls F.relu / F.conv2d / ... through this name


class ProxyNet(G.Net):
    """gen_golden_net.Net that remembers each parameter's kind ("w" = conv or linear weight) and
    can bypass BN and take absolute values of all parameters (synflow)."""

    def __init__(self, bypass_bn=False, absolute=False):
        super().__init__()
        self.kinds = {}
        self.bypass_bn = bypass_bn
        self.absolute = absolute

    def param(self, name, shape, kind, fan_in=0):
        if name not in self.params:
            p = G.det_param(name, shape, kind, fan_in)
            if self.absolute:
                p = p.abs()
            self.params[name] = p.requires_grad_(True)
            self.kinds[name] = kind
        return super().param(name, shape, kind, fan_in)

    def bn(self, name, x):
        return x if self.bypass_bn else super().bn(name, x)

    def weights(self):
        return [p for n, p in self.params.items() if self.kinds[n] == "w"]


def grads(p):
    return p.grad if p.grad is not None else torch.zeros_like(p)


def proxies(fwd, x, labels):
    out = {}
    # grad_norm and snip
    net = ProxyNet()
    loss = TF.cross_entropy(fwd(net, x), labels)
    loss.backward()
    out["grad_norm"] = sum(grads(p).norm().item() for p in net.weights())
    out["snip"] = sum((p.detach() * grads(p)).abs().sum().item() for p in net.weights())
    # synflow
    net = ProxyNet(bypass_bn=True, absolute=True)
    ones = torch.ones((1,) + tuple(x.shape[1:]))
    fwd(net, ones).sum().backward()
    out["synflow"] = sum((p.detach() * grads(p)).abs().sum().item() for p in net.weights())
    # jacob_cov
    net = ProxyNet()
    xg = x.clone().requires_grad_(True)
    y = fwd(net, xg)
    y.backward(torch.ones_like(y))
    J = xg.grad.reshape(x.shape[0], -1).numpy()
    lam = np.linalg.eigvalsh(np.corrcoef(J))
    k = 1e-5
    out["jacob_cov"] = float(-np.sum(np.log(lam + k) + 1.0 / (lam + k)))
    # naswot
    net = ProxyNet()
    REC.codes = []
    with torch.no_grad():
        fwd(net, x)
    codes, REC.codes = REC.codes, None
    K = np.zeros((x.shape[0], x.shape[0]))
    units = 0
    for c in codes:
        c = c.numpy()
        K += c @ c.T + (1.0 - c) @ (1.0 - c).T
        units += c.shape[1]
    _, ld = np.linalg.slogdet(K)
    out["naswot"] = float(ld)
    return out, units, lam


def split(v):
    hi = np.float32(v)
    lo = np.float32(v - float(hi))
    return np.array([hi, lo], dtype=np.float32)


def run_case(name, fwd, in_shape, classes):
    n = BATCH * int(np.prod(in_shape))
    x = torch.tensor(G.det_u("proxy:" + name, n).reshape((BATCH,) + tuple(in_shape)),
                     dtype=torch.float64)
    labels = torch.tensor([(3 * i + 1) % classes for i in range(BATCH)])
    vals, units, lam = proxies(fwd, x, labels)
    recs = [(name + ".x", x), (name + ".labels", labels.double())]
    for k, v in vals.items():
        recs.append(("%s.%s" % (name, k), split(v)))
    recs.append((name + ".naswot_units", torch.tensor([float(units)])))
    recs.append((name + ".jacob_eig", torch.tensor(lam)))
    print("%-12s " % name + "  ".join("%s %.10g" % kv for kv in vals.items()) +
          "  units %d" % units)
    return recs


def main():
    cases = [
        run_case("nb201_bench", G.nb201_forward(G.NB201_BENCH, 4, 1, 10), (1, 12, 12), 10),
        run_case("nb201_zero", G.nb201_forward(G.NB201_ZERO, 4, 1, 10), (1, 12, 12), 10),
        run_case("nb201_c", G.nb201_forward(G.NB201_C, 6, 2, 7), (3, 16, 16), 7),
        run_case("nb101_a", G.nb101_forward(G.NB101_A, 8, 1, 10), (1, 12, 12), 10),
        run_case("macro_a", G.macro_forward(G.MACRO_A, 10), (1, 12, 12), 10),
    ]
    recs = [r for case in cases for r in case]
    path = os.path.join(HERE, "golden_proxy.bin")
    write_golden(path, recs)
    print("%s: %d records, %d bytes" % (path, len(recs), os.path.getsize(path)))


if __name__ == "__main__":
    main()
