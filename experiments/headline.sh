#!/usr/bin/env bash
# The headline run (issue 7): the whole ghnas pipeline on Fashion-MNIST on this machine's cores,
# every stage through the CLI and one results store, then the report from that store.
#
#   experiments/headline.sh [DB]          (default experiments/out/headline.db)
#
# 1. ghnas search (NB201, skeleton C=8 N=1): trains a GHN for GHN_TIME (default 5m) when the
#    store has none, then regularized evolution over BUDGET candidates ranked by SCORER (default
#    synflow, the best-ranking scorer of the proxy study against 5-epoch training; SCORER=ghn
#    ranks by the accuracy of GHN-predicted weights), with SCORERS (default: ghn, synflow, snip
#    and params, minus SCORER) recorded for every candidate next to it.
# 2. Screening: the SCREEN_K best by SCORER trained briefly from scratch (SCREEN_EPOCHS epochs
#    on SCREEN_TRAIN_N images), because every cheap score ranks only coarsely (proxy study).
# 3. Final: the best of the screening by validation accuracy, scaled up to FINAL_C / FINAL_N and
#    trained FINAL_EPOCHS epochs on the whole training split with crop + flip augmentation,
#    label smoothing and a cosine schedule; test accuracy on the 10,000 test images.
# 4. experiments/headline_report.py: accuracy, parameters, per-stage and total wall time and the
#    learning curve (SVG drawn by `ghnas plot DB curves`, written next to the store as
#    <DB without .db>_curve.svg), all read from the store.
#
# Every stage resumes where it stopped when the script is run again (Ctrl-C is safe at any point;
# the wall time then counts only the stored stage durations). Settings can be overridden from the
# environment, e.g. FINAL_EPOCHS=10 experiments/headline.sh /tmp/h.db
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/experiments/out/headline.db}
ghn_time=${GHN_TIME:-5m}
scorer=${SCORER:-synflow}
# default: the GHN, synflow, snip and #params, minus the ranking scorer (a scorer is given once)
scorers=${SCORERS:-$(printf '%s\n' ghn synflow snip params | grep -vx "$scorer" | paste -sd, -)}
budget=${BUDGET:-1000}
screen_k=${SCREEN_K:-10}
screen_epochs=${SCREEN_EPOCHS:-2}
screen_train_n=${SCREEN_TRAIN_N:-12000}
final_c=${FINAL_C:-20}
final_n=${FINAL_N:-1}
final_epochs=${FINAL_EPOCHS:-30}
final_lr=${FINAL_LR:-0.1}
final_batch=${FINAL_BATCH:-128}
final_ls=${FINAL_LABEL_SMOOTHING:-0.1}
threads=${THREADS:-$(nproc)}
ghnas=$root/build/ghnas
[ -x "$ghnas" ] || "$root/scripts/setup.sh"
mkdir -p "$(dirname "$db")"

q() { "$ghnas" query "$db" sql "$1" --format csv 2>/dev/null | tail -n +2; }

# 1. GHN + search (resumed when the run exists)
run=$( [ -f "$db" ] && q "SELECT id FROM runs WHERE kind = 'search' ORDER BY id LIMIT 1" || true)
if [ -z "$run" ]; then
    "$ghnas" search --db "$db" --space nb201 --strategy evolution --budget "$budget" \
        --scorer "$scorer" --scorers "$scorers" --train-time "$ghn_time" --eval-top 0 \
        --threads "$threads" --name headline
    run=$(q "SELECT id FROM runs WHERE kind = 'search' ORDER BY id LIMIT 1")
else
    "$ghnas" search --db "$db" --resume "$run" --force --threads "$threads"
fi

# 2. screening (resumes unfinished trainings, skips finished ones)
"$ghnas" evaluate "$db" --run "$run" --top "$screen_k" --epochs "$screen_epochs" \
    --train-n "$screen_train_n" --threads "$threads"
screen=$(q "SELECT id FROM runs WHERE kind = 'evaluate' AND json_extract(config_json, '$.best_of') IS NULL ORDER BY id LIMIT 1")

# 3. the final training of the screening's best
"$ghnas" evaluate "$db" --run "$run" --top 1 --best-of "$screen" --C "$final_c" --N "$final_n" \
    --epochs "$final_epochs" --lr "$final_lr" --batch "$final_batch" \
    --label-smoothing "$final_ls" --threads "$threads"

# 4. the report, from the store only; the curve is written next to the store
/usr/bin/python3 "$root/experiments/headline_report.py" "$db" --svg "${db%.db}_curve.svg"
