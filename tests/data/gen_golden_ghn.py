#!/usr/bin/env python3
"""Golden file of the graph hypernetwork end to end (tests/unit/test_golden.c reads the output).

Run with Debian's python3-torch, from anywhere:

    /usr/bin/python3 tests/data/gen_golden_ghn.py [--ghn-dump PATH] [--build-dir DIR] [--jobs J]

It writes golden_ghn.bin next to this file; the C test only reads the committed file and needs
neither torch nor Fashion-MNIST. Without --ghn-dump it configures and builds the ghn_dump target
(experiments/bench/ghn_dump.c, Release) in --build-dir (default: a temporary directory).

For every case of CASES it runs ghn_dump (a fresh GHN of hidden size HID from INIT_SEED, one
NB201 cell at width C and depth N, BATCH Fashion-MNIST training images drawn with DATA_SEED,
optionally --mark), then recomputes everything with the PyTorch twin experiments/bench/
ghn_torch.py (imported: its plan, GHN module, target-net forward and cross-entropy). Two sets of
GHN gradients are stored:
  grad  d loss / d GHN parameters, loss = mean cross-entropy of the target net on the batch
        (what ghn_dump computes). Exact up to rounding, but rounding can flip the branch of a
        target-net ReLU whose input is within ~1e-5 of 0 (Fashion-MNIST's constant background
        makes such inputs common), which moves some gradients by up to ~1e-2 of their scale;
        the C test compares these with E2E_TOL.
  pin   d pin / d GHN parameters, pin = sum over slots of <predicted weight, r>, with r a fixed
        pseudo-random tensor (pin_direction): the GHN's own backward without the target net,
        smooth in float32 (the GHN's ReLUs are far from 0, see below), compared with PIN_TOL.
Before anything is written the generator asserts, per case, that
  - the twin's `check` passes on the dump (plan identical, weights, logits, loss and GHN
    gradients within ghn_torch.TOL);
  - the twin's GHN backward matches ghnas' without the target net: ghnas' d loss / d weights
    (pred_grad in the dump) backpropagated through the twin's GHN gives ghnas' GHN gradients
    within PIN_TOL (normwise, per tensor);
  - the twin's float32 and ghnas' float32 loss gradients, and the twin's pin gradients, are
    within F64_GUARD of a float64 run of the twin (per tensor, normwise): no ReLU branch was
    decided by rounding in the stored results;
  - ReLU branch noise: re-running the twin with every ReLU branch decided on x + u, u uniform
    in +-BRANCH_SIGMA over BRANCH_DRAWS draws (a stand-in for another build's rounding; ghnas'
    activations differ from float64 by up to ~1e-5), moves no loss gradient by more than
    E2E_TOL / 2 of the case's largest gradient and the pin gradients by at most F64_GUARD (the
    GHN's own ReLUs do not flip);
so a broken generator or an unlucky case cannot write a golden. The marked case marks the
rows its own net uses (all ghn_dump --mark can do), so its stand-in remap is the identity: it
pins nas_ghn_mark_seen's flags and the prediction with marks set, not the stand-in choice.

The cases share one GHN (same HID and INIT_SEED, hence the same parameter values, stored once)
and one image batch (same DATA_SEED). Records (all float32, golden_io.py format):
  ghn.config          [13] hid, rounds, s_max, chunk_out, chunk_in, chunk_k, dec_hid, n_pos,
                      classes, res_embed, layernorm, weight_norm, init seed
  ghn.param/<name>    every GHN parameter, its shape (ghnas' declaration order)
  x  [B, 1, 28, 28]   normalised images;   y  [B] labels
  cases               [1] number of cases
  c<k>.case           [4] decoder (0 chunk, 1 tile), C, N, mark (0/1)
  c<k>.arch           [6] NB201 op index per edge in string order (ghn_torch.NB201_OPS)
  c<k>.slots          [n_slots, 4] every slot's shape (unused dims 0)
  c<k>.seen           [n_seen] trained-row flags after the optional marking
  c<k>.embed          [n_nodes, hid] node embeddings (node order)
  c<k>.pred/<slot>    predicted weight of the slot, flattened and sampled: sample(numel, PRED_MAX)
  c<k>.logits [B, classes], c<k>.loss [1]   mean cross-entropy
  c<k>.grad/<name>, c<k>.pin/<name>
                      the two GHN gradients, the full tensor when numel <= GRAD_FULL_MAX;
                      larger ones (decoder.2.weight) as <...>#sample (flattened,
                      sample(numel, GRAD_SAMPLE)) and <...>#colsum (sum over dim 0)
where sample(n, k) takes the elements floor(i * n / min(n, k)) for i < min(n, k).
Everything stored is the twin's float32 result (the dump's only where they are inputs).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as TF

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "experiments", "bench"))
import ghn_torch as G  # noqa: E402
from golden_io import write_golden  # noqa: E402

HID = 4          # hidden size; decoder width 4 * HID as `ghn_dump --hid` (45,148 parameters)
INIT_SEED = 7    # GHN initialisation
DATA_SEED = 3    # image batch
BATCH = 8
PRED_MAX = 32          # sampled elements per predicted slot
GRAD_FULL_MAX = 8192   # larger gradients are stored as a sample + column sums
GRAD_SAMPLE = 1024
# Tolerances shared with tests/unit/test_golden.c (GHN_E2E_TOL, GHN_PIN_TOL there).
E2E_TOL = 3e-2         # loss gradients: of the case's largest gradient
PIN_TOL = 1e-3         # pin gradients: of the tensor's largest gradient
F64_GUARD = 1e-4
BRANCH_SIGMA = 3e-5
BRANCH_DRAWS = 3

# Together: both decoders, N = 1 and 2, every NB201 op (none, skip_connect, 1x1 and 3x3 convs,
# avg pooling), a node with no incoming op (zero node, case 1), and trained-row marks (case 2).
CASES = [
    dict(decoder="chunk", C=8, N=1, mark=False,
         arch="|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|"
              "skip_connect~2|"),
    dict(decoder="tile", C=8, N=2, mark=False,
         arch="|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|"
              "nor_conv_3x3~2|"),
    dict(decoder="chunk", C=8, N=2, mark=True,
         arch="|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|"
              "nor_conv_3x3~2|"),
]

M32 = 0xFFFFFFFF


def sample_index(n, k):
    """Indices floor(i * n / min(n, k)), i < min(n, k) (the C test repeats this)."""
    m = min(n, k)
    return (np.arange(m, dtype=np.int64) * n) // m


def pin_direction(n):
    """r[j], j < n, over all slots flattened in slot order (the C test repeats this): a
    murmur3-finalised counter, ((x >> 8) - 2^23) / 2^23, exact in float32, in [-1, 1)."""
    x = (np.arange(n, dtype=np.uint64) * 0x9E3779B9 + 0x7F4A7C15) & M32
    x ^= x >> np.uint64(16)
    x = (x * 0x85EBCA6B) & M32
    x ^= x >> np.uint64(13)
    x = (x * 0xC2B2AE35) & M32
    x ^= x >> np.uint64(16)
    return ((x >> np.uint64(8)).astype(np.float64) - 2.0 ** 23) / 2.0 ** 23


class BranchNoise:
    """Stands in for torch.nn.functional inside ghn_torch: relu(x) = x where x + u > 0."""

    def __init__(self, sigma, seed):
        self.sigma = sigma
        self.gen = torch.Generator().manual_seed(seed)

    def __getattr__(self, name):
        return getattr(TF, name)

    def relu(self, x):
        u = torch.rand(x.shape, generator=self.gen, dtype=torch.float64) * 2.0 - 1.0
        return torch.where(x + (u * self.sigma).to(x.dtype) > 0, x, torch.zeros_like(x))


def build_dumper(build_dir, jobs):
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build_dir, "--target", "ghn_dump", "-j%d" % jobs],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build_dir, "experiments", "ghn_dump")


def run_dump(dumper, case, path):
    cmd = [dumper, "--hid", str(HID), "--decoder", case["decoder"], "--init-seed",
           str(INIT_SEED), "--C", str(case["C"]), "--N", str(case["N"]), "--batch", str(BATCH),
           "--seed", str(DATA_SEED), "--threads", "1", "--out", path]
    if case["mark"]:
        cmd.append("--mark")
    env = dict(os.environ)
    env.setdefault("GHNAS_SPACES_DIR", os.path.join(ROOT, "search_spaces"))
    subprocess.run(cmd + [case["arch"]], check=True, env=env)
    return G.read_dump(path)


def ghn_backward(d, cfg, dtype, upstream):
    """The twin's GHN (the dump's parameters and marks) with d out / d slot s = upstream(s, w)
    backpropagated; returns the GHN gradients as float64 arrays."""
    net = G.net_from_dump(d)
    values = {n: d["ghn.param/" + n] for n in G.PARAM_NAMES}
    ghn = G.GHN(cfg, values).to(dtype)
    pl = G.finish_plan(G.build_plan(net, cfg, np.asarray(d["ghn.seen"])), net)
    ws = ghn(pl)
    grads = [torch.tensor(np.asarray(upstream(s, w), dtype=np.float64)).to(dtype)
             for s, w in enumerate(ws)]
    torch.autograd.backward(ws, grads)
    return {n: (ghn.p[n].grad.double().numpy() if ghn.p[n].grad is not None
                else np.zeros(tuple(ghn.p[n].shape))) for n in G.PARAM_NAMES}


def pin_grads(d, cfg, dtype):
    sizes = [int(np.prod(sl[3])) for sl in G.net_from_dump(d).slots]
    off = np.concatenate([[0], np.cumsum(sizes)])
    r = pin_direction(int(off[-1]))
    return ghn_backward(d, cfg, dtype,
                        lambda s, w: r[off[s]:off[s + 1]].reshape(tuple(w.shape)))


def worst_rel(a, b):
    """Largest per-tensor normwise distance max|a - b| / max|b| and its tensor."""
    return max((G.diff(a[n], b[n])[1], n) for n in G.PARAM_NAMES)


def verify(d, cfg, t32, pin32):
    """The assertions listed in the module docstring (after `check`)."""
    net = t32["net"]
    from_c = ghn_backward(d, cfg, torch.float32,
                          lambda s, w: d["pred_grad/" + net.slots[s][0]])
    ghnas = {n: d["ghn.grad/" + n] for n in G.PARAM_NAMES}
    rel, name = worst_rel(from_c, ghnas)
    assert rel <= PIN_TOL, "GHN backward from ghnas' d loss / d w: %s off by %.2e" % (name, rel)
    t64 = G.run_twin(d, cfg, torch.float64)
    pin64 = pin_grads(d, cfg, torch.float64)
    for who, got, ref in (("twin loss", t32["grads"], t64["grads"]),
                          ("ghnas loss", ghnas, t64["grads"]), ("twin pin", pin32, pin64)):
        r64, name = worst_rel(got, ref)
        assert r64 <= F64_GUARD, ("%s gradient of %s is %.2e (normwise) from float64: pick "
                                  "another case" % (who, name, r64))
    scale = max(float(np.abs(g).max()) for g in t32["grads"].values())
    noise_e2e = noise_pin = 0.0
    for seed in range(BRANCH_DRAWS):
        G.F = BranchNoise(BRANCH_SIGMA, seed)
        try:
            g = G.run_twin(d, cfg, torch.float32)["grads"]
            p = pin_grads(d, cfg, torch.float32)
        finally:
            G.F = TF
        noise_e2e = max(noise_e2e, max(float(np.abs(g[n] - t32["grads"][n]).max())
                                       for n in G.PARAM_NAMES) / scale)
        noise_pin = max(noise_pin, worst_rel(p, pin32)[0])
    assert noise_e2e <= E2E_TOL / 2, "ReLU branch noise moves the loss gradients by %.2e" \
        % noise_e2e
    assert noise_pin <= F64_GUARD, "ReLU branch noise moves the pin gradients by %.2e" % noise_pin
    return rel, noise_e2e


def grad_records(name, g):
    if g.size <= GRAD_FULL_MAX:
        return [(name, g)]
    flat = g.reshape(-1)
    return [(name + "#sample", flat[sample_index(flat.size, GRAD_SAMPLE)]),
            (name + "#colsum", g.sum(axis=0))]


def case_records(k, case, d, cfg, t32, pin32):
    net = t32["net"]
    pre = "c%d." % k
    recs = [(pre + "case", [1.0 if case["decoder"] == "tile" else 0.0, case["C"], case["N"],
                            1.0 if case["mark"] else 0.0]),
            (pre + "arch", G.nb201_parse(case["arch"]))]
    slots = np.zeros((len(net.slots), 4))
    for s, sl in enumerate(net.slots):
        slots[s, :len(sl[3])] = sl[3]
    recs.append((pre + "slots", slots))
    seen = np.zeros(np.asarray(d["ghn.seen"]).shape, dtype=np.uint8)
    if case["mark"]:
        G.mark_seen(cfg, seen, t32["plan"])  # the twin's nas_ghn_mark_seen
    assert np.array_equal(seen, d["ghn.seen"]), "trained-row marks differ from ghn_dump's"
    recs.append((pre + "seen", seen))
    recs.append((pre + "embed", t32["embed"]))
    for s, sl in enumerate(net.slots):
        w = t32["ws"][s].reshape(-1)
        recs.append((pre + "pred/" + sl[0], w[sample_index(w.size, PRED_MAX)]))
    recs.append((pre + "logits", t32["logits"]))
    recs.append((pre + "loss", [t32["loss"]]))
    for name in G.PARAM_NAMES:
        recs += grad_records(pre + "grad/" + name, t32["grads"][name])
    for name in G.PARAM_NAMES:
        recs += grad_records(pre + "pin/" + name, pin32[name])
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ghn-dump", help="path of a built ghn_dump (default: build one)")
    ap.add_argument("--build-dir", help="where to build ghn_dump (default: a temporary dir)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel build jobs")
    ap.add_argument("--out", default=os.path.join(HERE, "golden_ghn.bin"))
    args = ap.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory(prefix="gen_golden_ghn.") as tmp:
        dumper = args.ghn_dump or build_dumper(args.build_dir or os.path.join(tmp, "build"),
                                               args.jobs)
        shared, records = None, []
        for k, case in enumerate(CASES):
            path = os.path.join(tmp, "case%d.bin" % k)
            d = run_dump(dumper, case, path)
            if G.check(argparse.Namespace(dump=path, f64=False, threads=1, quiet=True)) != 0:
                raise SystemExit("gen_golden_ghn: the twin disagrees with ghn_dump on case %d"
                                 % k)
            cfg = G.cfg_from_meta(d["meta"])
            t32 = G.run_twin(d, cfg, torch.float32)
            pin32 = pin_grads(d, cfg, torch.float32)
            rel, noise = verify(d, cfg, t32, pin32)
            print("case %d: GHN backward vs ghnas %.1e; ReLU branch noise %.1e of the loss "
                  "gradients' scale" % (k, rel, noise))
            params = [(n, np.asarray(d["ghn.param/" + n])) for n in G.PARAM_NAMES]
            inputs = (np.asarray(d["x"]), np.asarray(d["y"]))
            if shared is None:
                shared = (cfg, params, inputs)
                records.append(("ghn.config",
                                [cfg[key] for key in ("hid", "rounds", "s_max", "chunk_out",
                                                      "chunk_in", "chunk_k", "dec_hid",
                                                      "n_pos", "classes", "res_embed",
                                                      "layernorm", "weight_norm")] +
                                [INIT_SEED]))
                assert int(d["meta"]["in_c"]) == 1 and int(d["meta"]["batch"]) == BATCH
                records += [("ghn.param/" + n, v) for n, v in params]
                records += [("x", inputs[0]), ("y", inputs[1])]
                records.append(("cases", [len(CASES)]))
            else:
                # one GHN and one batch for all cases (the decoder does not change parameters)
                for key in cfg:
                    assert key == "decoder" or cfg[key] == shared[0][key], key
                assert all(np.array_equal(a[1], b[1]) for a, b in zip(params, shared[1]))
                assert all(np.array_equal(a, b) for a, b in zip(inputs, shared[2]))
            records += case_records(k, case, d, cfg, t32, pin32)

    for name, v in records:
        assert len(name.encode()) < 64, name  # tests/unit/golden.c's name limit
        assert np.all(np.isfinite(np.asarray(v, dtype=np.float64))), name
    write_golden(args.out, records)
    total = sum(np.asarray(v).size for _, v in records)
    print("wrote %s: %d records, %d floats, %d bytes"
          % (args.out, len(records), total, os.path.getsize(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
