#!/usr/bin/env python3
"""Figures of the proxy-quality study from a ghnas results store (standard library only).

    plot_study.py DB --run SEARCH_RUN --table EVALUATE_OUTPUT.txt --out DIR

Writes DIR/proxy_scatter.svg (one panel per scorer: its raw value against the trained validation
accuracy of the evaluate run of SEARCH_RUN; log axis for scorers spanning > 2 decades) and
DIR/proxy_tau.svg (Kendall tau of every scorer with its 95 % bootstrap interval, on all
architectures and on the better half). The tau values and intervals are read from the table that
`ghnas evaluate` printed (saved to EVALUATE_OUTPUT.txt), so the figure shows exactly what ghnas
computed.
"""
import argparse
import json
import math
import re
import sqlite3
import sys


def load(db, run):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ev = None
    for rid, cfg in con.execute("SELECT id, config_json FROM runs WHERE kind = 'evaluate' ORDER BY id"):
        try:
            if json.loads(cfg or "{}").get("search_run") == run:
                ev = rid
        except ValueError:
            pass
    if ev is None:
        sys.exit(f"plot_study: no evaluate run of search run {run} in {db}")
    acc = dict(con.execute("SELECT arch_id, val_acc FROM trainings WHERE run_id = ? AND status = 'finished'"
                           " AND val_acc IS NOT NULL", (ev,)))
    scores = {}
    for scorer, arch, value in con.execute("SELECT scorer, arch_id, value FROM scores WHERE run_id = ?"
                                           " AND value IS NOT NULL", (run,)):
        if arch in acc and math.isfinite(value):
            scores.setdefault(scorer, []).append((value, acc[arch]))
    return scores


ROW = re.compile(r"^(\S+)\s+(\d+)\s+(-|-?\d\.\d+(?: \[\s*-?\d\.\d+,\s*-?\d\.\d+\])?)\s+"
                 r"(-|-?\d\.\d+(?: \[\s*-?\d\.\d+,\s*-?\d\.\d+\])?)\s+(\d+)\s+"
                 r"(-|-?\d\.\d+(?: \[\s*-?\d\.\d+,\s*-?\d\.\d+\])?)")


def parse_ci(text):
    if text == "-":
        return None
    nums = [float(v) for v in re.findall(r"-?\d\.\d+", text)]
    return (nums[0], nums[1], nums[2]) if len(nums) == 3 else (nums[0], nums[0], nums[0])


def load_table(path):
    rows, on = {}, False
    with open(path) as f:
        for line in f:
            if line.startswith("scorer ") and "kendall_tau" in line:
                on = True
                continue
            if on:
                m = ROW.match(line)
                if not m:
                    if rows:
                        break
                    continue
                rows[m.group(1)] = {"n": int(m.group(2)), "tau": parse_ci(m.group(3)),
                                    "rho": parse_ci(m.group(4)), "tau_top": parse_ci(m.group(6))}
    if not rows:
        sys.exit(f"plot_study: no correlation table in {path}")
    return rows


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;")


def scatter(scores, table, path):
    names = sorted(scores)
    cols = 3
    rws = (len(names) + cols - 1) // cols
    W, H, pad = 300, 230, 46
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * W}" height="{rws * H}" '
           f'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    for k, name in enumerate(names):
        ox, oy = (k % cols) * W, (k // cols) * H
        pts = scores[name]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        logx = min(xs) > 0 and max(xs) / min(xs) > 100
        tx = [math.log10(x) for x in xs] if logx else xs
        x0, x1 = min(tx), max(tx)
        y0, y1 = min(ys), max(ys)
        x1 = x1 if x1 > x0 else x0 + 1
        y1 = y1 if y1 > y0 else y0 + 0.01
        px = lambda v: ox + pad + (v - x0) / (x1 - x0) * (W - pad - 12)
        py = lambda v: oy + H - pad + 10 - (v - y0) / (y1 - y0) * (H - pad - 30)
        t = table.get(name, {}).get("tau")
        title = f"{name}: tau {t[0]:.3f}" if t else name
        out.append(f'<text x="{ox + W / 2}" y="{oy + 14}" text-anchor="middle" font-weight="bold">{esc(title)}</text>')
        out.append(f'<rect x="{ox + pad}" y="{oy + 20}" width="{W - pad - 12}" height="{H - pad - 10}" '
                   f'fill="none" stroke="#888"/>')
        for a, b in zip(tx, ys):
            out.append(f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="2.6" fill="#1f77b4" fill-opacity="0.7"/>')
        out.append(f'<text x="{ox + W / 2}" y="{oy + H - 8}" text-anchor="middle">'
                   f'{"log10 " if logx else ""}{esc(name)} ({x0:.3g} .. {x1:.3g})</text>')
        out.append(f'<text x="{ox + 12}" y="{oy + H / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 {ox + 12} {oy + H / 2})">val_acc ({y0:.3f} .. {y1:.3f})</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def bars(table, path):
    names = sorted(table, key=lambda s: -(table[s]["tau"][0] if table[s]["tau"] else -2))
    W, H, left, top, bw = 120 + 70 * len(names), 340, 60, 30, 24
    zero = top + (H - top - 60) / 2
    scale = (H - top - 60) / 2
    y = lambda v: zero - v * scale
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" '
           f'font-size="11">', '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{W / 2}" y="16" text-anchor="middle" font-weight="bold">Kendall tau vs trained '
           f'val_acc (95% bootstrap interval)</text>']
    for v in (-1, -0.5, 0, 0.5, 1):
        out.append(f'<line x1="{left}" x2="{W - 10}" y1="{y(v)}" y2="{y(v)}" stroke="{"#000" if v == 0 else "#ddd"}"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4}" text-anchor="end">{v:g}</text>')
    for k, name in enumerate(names):
        x = left + 20 + k * 70
        for j, (key, color) in enumerate((("tau", "#1f77b4"), ("tau_top", "#ff7f0e"))):
            c = table[name][key]
            if not c:
                continue
            bx = x + j * (bw + 2)
            out.append(f'<rect x="{bx}" y="{min(y(c[0]), zero):.1f}" width="{bw}" '
                       f'height="{abs(y(c[0]) - zero):.1f}" fill="{color}"/>')
            out.append(f'<line x1="{bx + bw / 2}" x2="{bx + bw / 2}" y1="{y(c[1]):.1f}" y2="{y(c[2]):.1f}" '
                       f'stroke="#000"/>')
        out.append(f'<text x="{x + bw}" y="{H - 40}" text-anchor="middle">{esc(name)}</text>')
    out.append(f'<rect x="{left}" y="{H - 22}" width="10" height="10" fill="#1f77b4"/>'
               f'<text x="{left + 14}" y="{H - 13}">all architectures</text>'
               f'<rect x="{left + 140}" y="{H - 22}" width="10" height="10" fill="#ff7f0e"/>'
               f'<text x="{left + 154}" y="{H - 13}">better half by val_acc</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--run", type=int, required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    scores = load(a.db, a.run)
    table = load_table(a.table)
    scatter(scores, table, f"{a.out}/proxy_scatter.svg")
    bars(table, f"{a.out}/proxy_tau.svg")
    print(f"wrote {a.out}/proxy_scatter.svg and {a.out}/proxy_tau.svg")


if __name__ == "__main__":
    main()
