#!/usr/bin/env bash
# End to end (issue 12): does the label-earning loop find a better cell than ranking by synflow
# or random search, for the same number of trainings? Resumable through the stores.
#
#   experiments/learn_e2e.sh [OUT]        (default experiments/out/learn_e2e; K=12 BUDGET=500)
#
# Three methods, each in its own store, each spending K trainings of the loop's recipe (4 epochs
# on 10,000 images, validated on 5,000 images past those the scorers see) and choosing the
# trained cell with the best validation accuracy:
#   loop      ghnas search --scorer synflow --budget BUDGET --learn K (rounds of 4: train, fit a
#             GP ranker on every training so far, search again with it)
#   synflow   ghnas search --scorer synflow --budget BUDGET, then its top K trained
#   random    K random cells trained (ghnas evaluate --sample K of a random search run)
# Each store gets the GHN checkpoint GHN (default experiments/out/ghn_base.ckpt, if present) as
# its GHN, so the loop's ranker also reads GHN features. The wall time of each method is logged.
# Then each chosen cell is trained with the ground-truth table's recipe (8 epochs, 30,000
# images, seeds 1 and 2) and its test accuracy reported (ghnas evaluate --archs in a common
# store). SEEDS="1 2 3" repeats the whole comparison with other search seeds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/experiments/out/learn_e2e}
K=${K:-12}
budget=${BUDGET:-500}
ghn=${GHN:-$root/experiments/out/ghn_base.ckpt}
ghnas=$root/build/ghnas
[ -x "$ghnas" ] || "$root/scripts/setup.sh"
mkdir -p "$out"
log=$out/times.txt
sql() { "$ghnas" query "$1" sql "$2" --format csv | tail -n +2; }
timed() { # label command...
    local label=$1 t0
    shift
    t0=$(date +%s)
    "$@" >>"$out/log.txt" 2>&1
    echo "$label $(($(date +%s) - t0)) s" | tee -a "$log"
}
import_ghn() { # db: make the GHN the store's own (a 1-candidate GHN search imports it)
    [ -f "$ghn" ] || return 0
    [ -n "$(sql "$1" "SELECT id FROM ghn_models LIMIT 1" 2>/dev/null)" ] && return 0
    "$ghnas" search --db "$1" --ghn "$ghn" --budget 1 --eval-top 0 --name ghn-import --quiet >/dev/null
}
best_trained() { # db: the arch with the best validation accuracy among its scratch trainings
    sql "$1" "SELECT a.arch FROM trainings t JOIN architectures a ON a.id = t.arch_id
        WHERE t.status = 'finished' AND t.init = 'scratch' ORDER BY t.val_acc DESC, t.id LIMIT 1"
}
recipe=(--epochs 4 --train-n 10000 --val-offset 5000 --val-n 5000)
for s in ${SEEDS:-1}; do
    d=$out/seed$s
    mkdir -p "$d"
    # loop
    db=$d/loop.db
    import_ghn "$db"
    if [ -z "$(sql "$db" "SELECT id FROM runs WHERE name = 'e2e-loop'" 2>/dev/null)" ]; then
        timed "seed $s loop" "$ghnas" search --db "$db" --scorer synflow --budget "$budget" \
            --learn "$K" --seed "$s" --eval-top 0 --name e2e-loop --quiet
    else
        timed "seed $s loop (resumed)" "$ghnas" search --db "$db" --force --quiet --resume \
            "$(sql "$db" "SELECT id FROM runs WHERE name = 'e2e-loop'")"
    fi
    # synflow top K
    db=$d/synflow.db
    import_ghn "$db"
    [ -n "$(sql "$db" "SELECT id FROM runs WHERE name = 'e2e-synflow'" 2>/dev/null)" ] ||
        timed "seed $s synflow search" "$ghnas" search --db "$db" --scorer synflow \
            --budget "$budget" --seed "$s" --eval-top 0 --name e2e-synflow --quiet
    run=$(sql "$db" "SELECT id FROM runs WHERE name = 'e2e-synflow'")
    timed "seed $s synflow train top $K" "$ghnas" evaluate "$db" --run "$run" --top "$K" \
        "${recipe[@]}" --seed "$s" --quiet
    # random K
    db=$d/random.db
    [ -n "$(sql "$db" "SELECT id FROM runs WHERE name = 'e2e-random'" 2>/dev/null)" ] ||
        "$ghnas" search --db "$db" --strategy random --scorer params --budget "$budget" \
            --seed "$s" --eval-top 0 --name e2e-random --quiet >/dev/null
    run=$(sql "$db" "SELECT id FROM runs WHERE name = 'e2e-random'")
    timed "seed $s random train $K" "$ghnas" evaluate "$db" --run "$run" --sample "$K" \
        "${recipe[@]}" --seed "$s" --quiet
    # the chosen cells, trained with the table's recipe in one store
    for m in loop synflow random; do
        best_trained "$d/$m.db" >"$d/$m.choice"
        echo "seed $s $m chose $(cat "$d/$m.choice")" | tee -a "$log"
    done
    fdb=$d/final.db
    if [ -z "$(sql "$fdb" "SELECT id FROM runs WHERE name = 'e2e-final'" 2>/dev/null)" ]; then
        cat "$d"/*.choice | sort -u >"$d/final.txt"
        "$ghnas" search --db "$fdb" --strategy exhaustive --scorer params --budget 6466 \
            --seed 2026 --eval-top 0 --name e2e-final --quiet >/dev/null
    fi
    cat "$d"/*.choice | sort -u >"$d/final.txt"
    run=$(sql "$fdb" "SELECT id FROM runs WHERE name = 'e2e-final'")
    for ts in 1 2; do
        "$ghnas" evaluate "$fdb" --run "$run" --top 6466 --archs "$d/final.txt" --epochs 8 \
            --train-n 30000 --val-offset 5000 --val-n 5000 --seed "$ts" --quiet >/dev/null
    done
    for m in loop synflow random; do
        a=$(cat "$d/$m.choice")
        echo "seed $s $m test accuracy (table recipe, seeds 1 2): $(sql "$fdb" "SELECT group_concat(printf('%.4f', t.test_acc), ' ') FROM trainings t JOIN architectures x ON x.id = t.arch_id WHERE x.arch = '$a' AND t.status = 'finished'")" |
            tee -a "$log"
    done
done
