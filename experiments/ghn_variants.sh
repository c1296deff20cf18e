#!/usr/bin/env bash
# GHN predicted-weights score variants against the ground-truth table (issue 11 §3), resumable:
#
#   experiments/ghn_variants.sh [DB]           (default experiments/out/ghn_study.db)
#
# Every variant is a GHN trained with `ghnas train` (checkpoint experiments/out/ghn_<name>.ckpt,
# resumed when it exists), then the table's 128 cells scored with it by
# `ghnas search --strategy exhaustive --budget 128 --seed 2026` (the exhaustive order with that
# seed visits exactly the table's cells) with both GHN scores, accuracy (ghn) and loss
# (ghn_loss), on 2,000 validation images (images 0-1999 of the validation split; the table
# validates on 5000-9999). The zero-cost proxies and params/FLOPs of the same cells go into the
# same store once. Then build/experiments/truth_rank prints every row, with rank-averaged
# ensembles of the seeds and of accuracy and loss.
#
# Variants (all NB201, C=8 N=1, hid 32, chunk decoder, meta-batch 8 x 64 images):
#   base      6000 steps, seed 1 (the default of ghnas train)
#   uniform   the same with --uniform-classes (training cells uniform over the 6466 classes)
#   seed2/3   6000 steps, seeds 2 and 3 (ensembles with base)
#   long      12000 steps, seed 5, a snapshot stored every 2000 steps (tau by training step)
# VARIANTS="base uniform" limits the run to some of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/experiments/out/ghn_study.db}
out=$(dirname "$db")
variants=${VARIANTS:-base uniform seed2 seed3 long}
ghnas=$root/build/ghnas
[ -x "$ghnas" ] || "$root/scripts/setup.sh"
mkdir -p "$out"

sql() { "$ghnas" query "$db" sql "$1" --format csv 2>/dev/null | tail -n +2 || true; }

# The cells scored by SCORER (with SCORERS) under run NAME, resumed when the run exists.
score() { # name scorer scorers [search options...]
    local name=$1 scorer=$2 scorers=$3
    shift 3
    local run
    run=$(sql "SELECT id FROM runs WHERE name = '$name' ORDER BY id LIMIT 1")
    if [ -n "$run" ]; then
        [ "$(sql "SELECT status FROM runs WHERE id = $run")" = finished ] && return 0
        "$ghnas" search --db "$db" --resume "$run" --force --quiet >/dev/null
    else
        "$ghnas" search --db "$db" --strategy exhaustive --budget 128 --seed 2026 --scorer "$scorer" \
            --scorers "$scorers" --eval-top 0 --name "$name" --quiet "$@" >/dev/null
    fi
    echo "ghn_variants: scored $name"
}

# A GHN trained to the end of its schedule (resumed from its checkpoint after a stop).
train() { # name [train options...]
    local name=$1 ckpt=$out/ghn_$1.ckpt
    shift
    [ -f "$ckpt.done" ] && return 0
    if [ -f "$ckpt" ]; then
        "$ghnas" train --resume "$ckpt" --out "$ckpt" --quiet "$@"
    else
        "$ghnas" train --out "$ckpt" --quiet "$@"
    fi
    touch "$ckpt.done"
}

score truth-proxies params flops,grad_norm,snip,synflow,jacob_cov,naswot
means=()
for v in $variants; do
    case $v in
        base) train base --steps 6000 --seed 1 ;;
        uniform) train uniform --steps 6000 --seed 1 --uniform-classes ;;
        seed2) train seed2 --steps 6000 --seed 2 ;;
        seed3) train seed3 --steps 6000 --seed 3 ;;
        long) train long --steps 12000 --seed 5 --db "$db" --snapshot-every 2000 ;;
        *) echo "ghn_variants: unknown variant '$v'" >&2; exit 2 ;;
    esac
    score "ghn-$v" ghn ghn_loss --ghn "$out/ghn_$v.ckpt" --val-n 2000
    if [ "$v" = long ]; then # the snapshots, stored by --snapshot-every (seed 5 in their config)
        for s in 2000 4000 6000 8000 10000; do
            id=$(sql "SELECT id FROM ghn_models WHERE steps = $s AND config_json LIKE '%\"seed\": 5}' ORDER BY id LIMIT 1")
            [ -n "$id" ] && score "ghn-long-$s" ghn ghn_loss --ghn "$id" --val-n 2000
        done
    fi
done
run_of() { sql "SELECT id FROM runs WHERE name = '$1' ORDER BY id LIMIT 1"; }
b=$(run_of ghn-base) s2=$(run_of ghn-seed2) s3=$(run_of ghn-seed3)
if [ -n "$b" ]; then
    means+=(--mean "acc+loss=$b:ghn_acc+-$b:ghn_loss")
    if [ -n "$s2" ] && [ -n "$s3" ]; then
        means+=(--mean "3seeds=$b:ghn_acc+$s2:ghn_acc+$s3:ghn_acc")
        means+=(--mean "3seeds-loss=-$b:ghn_loss+-$s2:ghn_loss+-$s3:ghn_loss")
    fi
fi
"$root/build/experiments/truth_rank" "$db" --csv "$root/experiments/data/nb201_fmnist_truth.csv" \
    "${means[@]}"
