#!/usr/bin/env python3
"""Rank quality of GHN variants against the proxy study's ground truth (standard library only).

    ghn_ablation.py DB --search-run 1 [--stored] NAME=SCOREFILE [NAME=SCOREFILE ...]
    ghn_ablation.py DB --search-run 1 --extract-ghn OUT.ckpt     (the study's own GHN)
    ghn_ablation.py DB --search-run 1 --archs                    (the study's architectures)

Each SCOREFILE is the output of `ghnas score --ghn CKPT ARCH...` (val_acc, val_loss, params, arch
per line). For every variant it prints Kendall tau and Spearman rho of the predicted-weight
accuracy against the validation accuracy of every evaluate run of the search run (one per
training recipe / seed) and against their mean, with 95 % percentile-bootstrap intervals
(1000 resamples, seed 1), and the spread of the GHN accuracies. --stored adds every scorer the
search run stored (zero-cost proxies, params, the run's own GHN) to the table.
"""
import argparse
import json
import random
import sqlite3
import sys


def kendall(x, y):
    c = d = tx = ty = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            a, b = x[i] - x[j], y[i] - y[j]
            if a == 0 and b == 0:
                continue
            if a == 0:
                tx += 1
            elif b == 0:
                ty += 1
            elif (a > 0) == (b > 0):
                c += 1
            else:
                d += 1
    den = ((c + d + tx) * (c + d + ty)) ** 0.5
    return (c - d) / den if den > 0 else float("nan")


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else float("nan")


def boot(f, x, y, reps=1000):
    rng = random.Random(1)
    n = len(x)
    vals = []
    for _ in range(reps):
        idx = [rng.randrange(n) for _ in range(n)]
        v = f([x[i] for i in idx], [y[i] for i in idx])
        if v == v:
            vals.append(v)
    vals.sort()
    return vals[int(0.025 * len(vals))], vals[int(0.975 * len(vals)) - 1]


def eval_accs(con, rid):
    return dict(con.execute(
        "SELECT a.arch, t.val_acc FROM trainings t JOIN architectures a ON a.id = t.arch_id"
        " WHERE t.run_id = ? AND t.status = 'finished' AND t.val_acc IS NOT NULL", (rid,)))


def ground_truths(con, search_run, only=None):
    """{label: {arch_text: val_acc}} for every evaluate run of search_run (or those in only)."""
    out = {}
    for rid, cfg in con.execute("SELECT id, config_json FROM runs WHERE kind = 'evaluate' ORDER BY id"):
        if only and rid not in only:
            continue
        try:
            c = json.loads(cfg or "{}")
        except ValueError:
            continue
        if c.get("search_run") != search_run:
            continue
        acc = eval_accs(con, rid)
        if acc:
            r = c.get("recipe", {})
            label = "run%d" % rid
            if isinstance(r, dict) and "epochs" in r:
                label += " (%s ep, seed %s)" % (r.get("epochs"), c.get("seed", "?"))
            out[label] = acc
    return out


def read_scores(path):
    s = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.split()
            s[p[-1]] = float(p[0])
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db")
    ap.add_argument("--search-run", type=int, default=1)
    ap.add_argument("--extract-ghn", metavar="OUT")
    ap.add_argument("--archs", action="store_true")
    ap.add_argument("--stored", action="store_true",
                    help="also rank every scorer stored in the search run (proxies, the run's GHN)")
    ap.add_argument("--truth", help="comma-separated evaluate run ids used as ground truth"
                    " (default: every evaluate run of the search run)")
    ap.add_argument("variants", nargs="*", help="NAME=SCOREFILE, or NAME=run:ID for the validation"
                    " accuracy of evaluate run ID as a score (e.g. a short fine-tuning)")
    a = ap.parse_intermixed_args()
    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    if a.archs:
        for (t,) in con.execute("SELECT a.arch FROM scores s JOIN architectures a ON a.id = s.arch_id"
                                " WHERE s.run_id = ? AND s.scorer = 'ghn_acc' ORDER BY a.id", (a.search_run,)):
            print(t)
        return 0
    if a.extract_ghn:
        row = con.execute("SELECT g.checkpoint FROM runs r JOIN ghn_models g ON g.id = r.ghn_id"
                          " WHERE r.id = ?", (a.search_run,)).fetchone()
        if not row:
            sys.exit(f"ghn_ablation: search run {a.search_run} of {a.db} has no stored GHN")
        with open(a.extract_ghn, "wb") as f:
            f.write(row[0])
        return 0
    only = {int(v) for v in a.truth.split(",")} if a.truth else None
    gts = ground_truths(con, a.search_run, only)
    if not gts:
        sys.exit(f"ghn_ablation: no finished evaluate run of search run {a.search_run} in {a.db}")
    common = set.intersection(*(set(g) for g in gts.values()))
    if len(gts) > 1:
        gts["mean of runs"] = {k: sum(g[k] for g in list(gts.values())) / len(gts) for k in common}
    print("%-22s %-30s %4s  %-24s %-24s %s" % ("variant", "ground truth", "n", "kendall_tau [95% CI]",
                                               "spearman_rho [95% CI]", "score range"))
    variants = []
    for v in a.variants:
        name, _, path = v.partition("=")
        if path.startswith("run:"):
            variants.append((name, eval_accs(con, int(path[4:]))))
        else:
            variants.append((name, read_scores(path)))
    if a.stored:
        stored = {}
        for scorer, t, value in con.execute(
                "SELECT s.scorer, a.arch, s.value FROM scores s JOIN architectures a ON a.id = s.arch_id"
                " WHERE s.run_id = ? AND s.value IS NOT NULL", (a.search_run,)):
            stored.setdefault(scorer, {})[t] = value
        variants += sorted(stored.items())
    for name, sc in variants:
        for label, gt in gts.items():
            keys = sorted(k for k in sc if k in gt)
            x = [sc[k] for k in keys]
            y = [gt[k] for k in keys]
            if len(keys) < 3:
                print("%-22s %-30s %4d  (too few architectures in common)" % (name, label, len(keys)))
                continue
            t, r = kendall(x, y), spearman(x, y)
            tl, th = boot(kendall, x, y)
            rl, rh = boot(spearman, x, y)
            print("%-22s %-30s %4d  %6.3f [%6.3f,%6.3f]  %6.3f [%6.3f,%6.3f]  %.4g..%.4g" %
                  (name, label, len(keys), t, tl, th, r, rl, rh, min(x), max(x)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
