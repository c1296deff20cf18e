#!/usr/bin/env python3
"""Report of the headline run from its ghnas results store (standard library only).

    headline_report.py DB [--svg CURVE.svg] [--ghnas build/ghnas]

Reads the search run, its GHN, the screening evaluate run and the final training (the evaluate
run made with --best-of) and prints: the winner, its test / validation accuracy, its parameter
count at the trained skeleton, the wall time of every stage (GHN training, search, screening,
final training) and in total, and the learning curve per epoch. With --svg it draws the curve
(train and validation accuracy and loss per epoch) with `ghnas plot DB curves`.
"""
import argparse
import datetime
import json
import os
import sqlite3
import subprocess
import sys


def ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def hms(seconds):
    s = int(round(seconds))
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def params_of(ghnas, space, arch, C, N):
    """Parameter count of arch at skeleton C, N, from ghnas itself (a pure function of the stored
    architecture and the stored skeleton)."""
    try:
        out = subprocess.run([ghnas, "show", arch, "--space", space, "--C", str(C), "--N", str(N)],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"headline_report: ghnas show failed: {e}")
    for line in out.splitlines():
        if line.startswith("# params "):
            return int(line.split()[2].rstrip(",").replace(",", ""))
    sys.exit("headline_report: ghnas show printed no parameter count")


def plot_curve(ghnas, db, run, path):
    """The learning curve of evaluate run `run`, drawn by ghnas itself from the store."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        subprocess.run([ghnas, "plot", db, "curves", "--run", str(run), "--out", path], check=True,
                       capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"headline_report: ghnas plot failed: {getattr(e, 'stderr', '') or e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db")
    ap.add_argument("--svg")
    ap.add_argument("--ghnas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "ghnas"))
    a = ap.parse_args()
    if not os.path.exists(a.db):
        sys.exit(f"headline_report: {a.db} does not exist")
    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    search = con.execute("SELECT id, space, ghn_id, started_at, finished_at, scorer FROM runs"
                         " WHERE kind = 'search' ORDER BY id LIMIT 1").fetchone()
    if not search:
        sys.exit(f"headline_report: {a.db} has no search run")
    sid, space, ghn_id, s_start, s_end, scorer = search
    evals = con.execute("SELECT id, config_json, started_at, finished_at, status FROM runs WHERE kind = 'evaluate'"
                        " ORDER BY id").fetchall()
    screen = final = None
    for rid, cfg, st, fi, status in evals:
        c = json.loads(cfg or "{}")
        if c.get("search_run") != sid:
            continue
        if "best_of" in c:
            final = (rid, c, st, fi, status)
        elif screen is None:
            screen = (rid, c, st, fi, status)
    if not final:
        sys.exit("headline_report: no final training (an evaluate run with --best-of) yet")
    stages = []
    if ghn_id:
        g = con.execute("SELECT seconds, steps, created_at FROM ghn_models WHERE id = ?", (ghn_id,)).fetchone()
        g_end = ts(g[2])
        stages.append(("GHN training (%d steps)" % g[1], g[0], g_end - datetime.timedelta(seconds=g[0])))
    for label, run in (("search", (sid, None, s_start, s_end, None)), ("screening", screen), ("final training", final)):
        if run and run[3]:
            stages.append((label, (ts(run[3]) - ts(run[2])).total_seconds(), ts(run[2])))
    tr = con.execute("SELECT a.arch, t.train_acc, t.val_acc, t.test_acc, t.curve_json, t.seconds, t.epochs_done,"
                     " t.epochs, t.status FROM trainings t JOIN architectures a ON a.id = t.arch_id"
                     " WHERE t.run_id = ? ORDER BY t.val_acc DESC LIMIT 1", (final[0],)).fetchone()
    if not tr:
        sys.exit("headline_report: the final evaluate run has no training yet")
    arch, tr_acc, va_acc, te_acc, curve_json, secs, done, epochs, status = tr
    net = final[1].get("recipe", {}).get("net", {})
    C, N = net.get("C", 0), net.get("N", 0)
    n_params = params_of(a.ghnas, space, arch, C, N)
    n_screen = con.execute("SELECT count(*) FROM trainings WHERE run_id = ? AND status = 'finished'",
                           (screen[0],)).fetchone()[0] if screen else 0
    n_cand = con.execute("SELECT count(DISTINCT arch_id) FROM scores WHERE run_id = ?", (sid,)).fetchone()[0]
    recorded = [r[0] for r in con.execute("SELECT DISTINCT scorer FROM scores WHERE run_id = ? AND scorer != ?"
                                          " ORDER BY scorer", (sid, scorer))]
    print("headline run, store %s" % a.db)
    print("  winner          %s" % arch)
    print("  skeleton        C=%s N=%s, %s parameters" % (C, N, format(n_params, ",")))
    print("  final training  %d/%d epochs (%s), %s" % (done, epochs, status, hms(secs)))
    print("  test accuracy   %s" % ("%.4f" % te_acc if te_acc is not None else "-"))
    print("  val accuracy    %s   train accuracy %s" % ("%.4f" % va_acc if va_acc is not None else "-",
                                                       "%.4f" % tr_acc if tr_acc is not None else "-"))
    print("  candidates      %d ranked by %s (also recorded: %s), %d screened" %
          (n_cand, scorer, ", ".join(recorded) or "-", n_screen))
    print("  stages:")
    total = 0.0
    for label, sec, _ in stages:
        total += sec
        print("    %-26s %s" % (label, hms(sec)))
    print("    %-26s %s" % ("total (sum of stages)", hms(total)))
    if stages and final[3]:
        print("    %-26s %s" % ("first start to last end", hms((ts(final[3]) - min(s[2] for s in stages)).total_seconds())))
    curve = json.loads(curve_json or "[]")
    if curve:
        print("  learning curve: epoch  lr  train_loss  train_acc  val_loss  val_acc  seconds")
        for c in curve:
            print("    %3d  %.4f  %.4f  %.4f  %.4f  %.4f  %.1f" % (c["epoch"], c["lr"], c["train_loss"], c["train_acc"],
                                                               c["val_loss"], c["val_acc"], c["seconds"]))
    if a.svg and curve:
        plot_curve(a.ghnas, a.db, final[0], a.svg)
        print("  curve: %s" % a.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
