#!/usr/bin/env bash
# The Fashion-MNIST NB201 ground-truth table (issue 11), regenerated from nothing through the
# results store and resumable at any point (Ctrl-C, a killed session, another machine):
#
#   experiments/truth.sh [DB]          (default experiments/out/truth.db)
#
# 1. Cells: `ghnas search --strategy exhaustive --budget 128 --seed 2026` visits NB201's unique
#    classes (NAS-Bench-201's own dedup rule; the 6461 that compute something) in a seeded random
#    order, so its 128 candidates are a uniform sample of the classes. Their order is the cell
#    index; even cells are the fit half, odd cells the test half. The list is committed as
#    experiments/data/nb201_fmnist_cells.txt and checked against the run.
# 2. Truth: every cell trained with the `ghnas evaluate` recipe (SGD Nesterov, lr 0.05 cosine,
#    wd 5e-4, batch 64, crop + flip) at the search skeleton C=8 N=1 for 8 epochs on the first
#    30,000 training images, seed 1; validation accuracy per epoch on 5,000 images of the search's
#    validation split that the GHN never scores on (--val-offset 5000: searches score on the
#    first images), test accuracy on the 10,000 test images. The first 48 cells also with seed 2.
#    Work goes in chunks of 16 cells; after each chunk the finished trainings are merged into
#    experiments/data/nb201_fmnist_truth.csv (commit it as it grows). Cells the CSV already holds
#    are not trained again, so a new machine continues where the committed table stops.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/experiments/out/truth.db}
csv=${TRUTH_CSV:-$root/experiments/data/nb201_fmnist_truth.csv}
cells=$root/experiments/data/nb201_fmnist_cells.txt
n_cells=128
n_seed2=48
chunk=16
ghnas=$root/build/ghnas
py=/usr/bin/python3
[ -x "$ghnas" ] || "$root/scripts/setup.sh"
[ -x "$py" ] || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
mkdir -p "$(dirname "$db")" "$(dirname "$csv")"
t0=$(date +%s)

# 1. the cells (a store made by an older ghnas is upgraded first: a query that fails must stop
#    the script, not look like a store without the run and start a second one)
run=
if [ -f "$db" ]; then
    "$ghnas" query "$db" upgrade >/dev/null
    run=$("$ghnas" query "$db" sql "SELECT id FROM runs WHERE name = 'truth-cells' ORDER BY id
        LIMIT 1" --format csv | tail -n +2)
fi
if [ -z "$run" ]; then
    "$ghnas" search --db "$db" --strategy exhaustive --budget "$n_cells" --seed 2026 \
        --scorer params --scorers flops --eval-top 0 --name truth-cells --quiet >/dev/null
    run=$("$ghnas" query "$db" sql "SELECT id FROM runs WHERE name = 'truth-cells' ORDER BY id
        LIMIT 1" --format csv | tail -n +2)
fi
listed=$(mktemp)
trap 'rm -f "$listed" "$listed.todo"' EXIT
"$ghnas" query "$db" sql "SELECT a.arch FROM scores s JOIN architectures a ON a.id = s.arch_id
    WHERE s.run_id = $run AND s.scorer = 'params' ORDER BY s.seq" --format csv | tail -n +2 >"$listed"
if [ "$(wc -l <"$listed")" -ne "$n_cells" ]; then
    echo "truth.sh: run $run of $db lists $(wc -l <"$listed") cells, not $n_cells" >&2
    exit 1
fi
if [ -f "$cells" ]; then
    if ! diff -q <(grep -v '^#' "$cells") "$listed" >/dev/null; then
        echo "truth.sh: the cells of run $run differ from $cells (did the exhaustive order change?)" >&2
        exit 1
    fi
else
    { echo "# NB201 ground-truth cells: ghnas search --strategy exhaustive --budget 128 --seed 2026"
      echo "# (cell i = line i from 0; even = fit half, odd = test half; seed 2 for cells 0-47)"
      cat "$listed"; } >"$cells"
fi

# 2. the trainings, chunk by chunk
train() { # seed from to
    local seed=$1 from=$2 to=$3 first=$n_cells
    [ "$seed" = 1 ] || first=$n_seed2
    "$py" "$root/experiments/truth_table.py" todo --cells "$cells" --csv "$csv" --seed "$seed" \
        --first "$first" --from "$from" --to "$to" >"$listed.todo"
    [ -s "$listed.todo" ] || return 0
    echo "truth.sh: seed $seed, cells $from-$((to - 1)): $(wc -l <"$listed.todo") to train"
    local rc=0
    "$ghnas" evaluate "$db" --run "$run" --top "$n_cells" --archs "$listed.todo" --epochs 8 \
        --train-n 30000 --val-offset 5000 --val-n 5000 --seed "$seed" --quiet >/dev/null || rc=$?
    "$py" "$root/experiments/truth_table.py" export "$db" --cells-run "$run" --csv "$csv"
    return $rc
}
for ((from = 0; from < n_cells; from += chunk)); do
    train 1 "$from" $((from + chunk))
    [ "$from" -ge "$n_seed2" ] || train 2 "$from" $((from + chunk))
done
echo "truth.sh: done in this call: $(( $(date +%s) - t0 )) s; table $csv"
