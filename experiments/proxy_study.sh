#!/usr/bin/env bash
# The proxy-quality study (issue 6): how well does each scorer rank NB201 architectures on
# Fashion-MNIST? Every stage goes through the ghnas CLI and the results store, so the study
# resumes where it stopped when run again (Ctrl-C is safe at any point).
#
#   experiments/proxy_study.sh [DB]        (default experiments/out/proxy_study.db)
#
# 1. ghnas search: a GHN trained for STEPS steps (when the store has none), then a fixed-seed
#    random sample of N unique NB201 cells (default skeleton C=8, N=1), each scored by the GHN
#    (accuracy of predicted weights on 2000 validation images) and by every zero-cost proxy,
#    params and FLOPs in one pass.
# 2. ghnas evaluate: the ground truth, every sampled cell trained from scratch with a short fixed
#    recipe; prints Kendall tau / Spearman rho of each scorer with bootstrap intervals.
# 3. ghnas plot scorers: every scorer against the trained accuracy (scatter) and the tau / rho
#    bar chart with its intervals, read from the store, into experiments/figures/proxy_scorers.svg.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/experiments/out/proxy_study.db}
n=${N_ARCHS:-64}
steps=${STEPS:-6000}
epochs=${EPOCHS:-2}
train_n=${TRAIN_N:-12000}
val_n=${VAL_N:-5000}
ghnas=$root/build/ghnas
[ -x "$ghnas" ] || "$root/scripts/setup.sh"
mkdir -p "$(dirname "$db")"
t0=$(date +%s)

# 1. search (resumed when the run exists)
run=$("$ghnas" query "$db" sql "SELECT id FROM runs WHERE kind = 'search' ORDER BY id LIMIT 1" \
    --format csv 2>/dev/null | tail -n +2 || true)
if [ -z "$run" ]; then
    "$ghnas" search --db "$db" --strategy random --budget "$n" --seed 7 --val-n 2000 \
        --scorers params,flops,grad_norm,snip,synflow,jacob_cov,naswot --eval-top 0 \
        --train-steps "$steps" --name proxy-study
    run=1
else
    "$ghnas" search --db "$db" --resume "$run" --force
fi

# 2. ground truth (resumes unfinished trainings, skips finished ones)
"$ghnas" evaluate "$db" --run "$run" --sample "$n" --epochs "$epochs" --train-n "$train_n" \
    --val-n "$val_n" | tee "$(dirname "$db")/proxy_study_evaluate.txt"

# 3. figures (the correlations are those ghnas evaluate printed: same statistics, same seed)
"$ghnas" plot "$db" scorers --run "$run" --out "$root/experiments/figures/proxy_scorers.svg"
echo "proxy study: $(( $(date +%s) - t0 )) s of wall time in this call; database $db"
