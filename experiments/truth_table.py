#!/usr/bin/env python3
"""The Fashion-MNIST NB201 ground-truth table (issue 11): export and merge.

    truth_table.py export DB --cells-run R --csv experiments/data/nb201_fmnist_truth.csv
    truth_table.py todo --cells FILE --csv CSV --seed S --first N --from I --to J

`export` reads every finished training of the evaluate runs of search run R whose recipe is the
table's (see TRUTH_RECIPE) and merges them into the CSV, one row per (cell, seed); rows already in
the CSV are kept as they are (a row from an earlier machine is never rewritten), so the CSV only
grows. `todo` prints the cells of positions [I, J) of the cell list that the CSV does not yet hold
for seed S (for the second seed only the first N cells of the list are in the table).

The cell list is the search run's candidate order (an exhaustive run over NB201's unique classes
with a fixed seed: its first 128 candidates are a uniform sample of the classes). Cell i is in the
fit half when i is even and in the test half when i is odd.
"""
import argparse
import csv
import json
import os
import sqlite3
import sys

COLUMNS = ["cell", "half", "seed", "arch", "params", "flops", "epochs", "train_n", "val_n",
           "val_offset", "train_acc", "val_acc", "test_acc", "seconds", "val_curve"]

# What a training must have been trained with to enter the table.
TRUTH_RECIPE = {"epochs": 8, "train_n": 30000, "val_n": 5000, "val_offset": 5000}


def read_csv(path):
    rows = {}
    if os.path.exists(path):
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                rows[(r["arch"], int(r["seed"]))] = r
    return rows


def write_csv(path, rows):
    tmp = path + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in sorted(rows.values(), key=lambda r: (int(r["seed"]), int(r["cell"]))):
            w.writerow({k: r.get(k, "") for k in COLUMNS})
    os.replace(tmp, path)


def cells_of_run(con, run):
    q = ("SELECT a.arch, a.n_params, a.flops FROM scores s JOIN architectures a ON a.id = s.arch_id"
         " WHERE s.run_id = ? AND s.scorer = (SELECT scorer FROM scores WHERE run_id = ? LIMIT 1)"
         " ORDER BY s.seq")
    return con.execute(q, (run, run)).fetchall()


def export(args):
    con = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    cells = cells_of_run(con, args.cells_run)
    index = {arch: (i, params, flops) for i, (arch, params, flops) in enumerate(cells)}
    rows = read_csv(args.csv)
    before = len(rows)
    q = ("SELECT t.recipe_json, t.epochs, t.epochs_done, t.train_acc, t.val_acc, t.test_acc,"
         " t.curve_json, t.seconds, a.arch FROM trainings t JOIN runs r ON r.id = t.run_id"
         " JOIN architectures a ON a.id = t.arch_id"
         " WHERE r.kind = 'evaluate' AND t.status = 'finished' AND t.init = 'scratch'")
    for recipe_json, epochs, done, tr, va, te, curve_json, secs, arch in con.execute(q):
        if arch not in index:
            continue
        recipe = json.loads(recipe_json)
        if any(recipe.get(k, 0) != v for k, v in TRUTH_RECIPE.items()):
            continue
        cfg_seed = int(recipe["seed"])
        key = (arch, cfg_seed)
        if key in rows:
            continue
        i, params, flops = index[arch]
        curve = json.loads(curve_json)
        vals = " ".join(f"{e['val_acc']:.4f}" for e in curve if e.get("val_acc") is not None)
        rows[key] = {"cell": i, "half": "fit" if i % 2 == 0 else "test", "seed": cfg_seed,
                     "arch": arch, "params": params, "flops": flops, "epochs": epochs,
                     "train_n": recipe["train_n"], "val_n": recipe["val_n"],
                     "val_offset": recipe.get("val_offset", 0), "train_acc": f"{tr:.4f}",
                     "val_acc": f"{va:.4f}", "test_acc": f"{te:.4f}", "seconds": f"{secs:.1f}",
                     "val_curve": vals}
    write_csv(args.csv, rows)
    n1 = sum(1 for k in rows if k[1] == 1)
    n2 = sum(1 for k in rows if k[1] == 2)
    print(f"truth table: {len(rows)} rows ({len(rows) - before} new): seed 1 {n1} cells, "
          f"seed 2 {n2} cells -> {args.csv}")


def todo(args):
    with open(args.cells) as f:
        cells = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    rows = read_csv(args.csv)
    hi = min(args.to, args.first if args.first > 0 else len(cells), len(cells))
    for i in range(args.frm, hi):
        if (cells[i], args.seed) not in rows:
            print(cells[i])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("db")
    e.add_argument("--cells-run", type=int, required=True)
    e.add_argument("--csv", required=True)
    t = sub.add_parser("todo")
    t.add_argument("--cells", required=True)
    t.add_argument("--csv", required=True)
    t.add_argument("--seed", type=int, required=True)
    t.add_argument("--first", type=int, default=0)
    t.add_argument("--from", dest="frm", type=int, default=0)
    t.add_argument("--to", type=int, default=1 << 30)
    args = p.parse_args()
    {"export": export, "todo": todo}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
