#!/usr/bin/env bash
# How well the learned rankers rank the ground-truth table (issue 12), from commands anyone can
# run; resumable (each part is skipped when its output exists):
#
#   experiments/ranker_study.sh [DB] [GHN]
#       DB   a store holding scores of the table's cells (default experiments/out/ghn_study.db,
#            filled by experiments/ghn_variants.sh: the proxies, params/FLOPs and ghn/ghn_loss)
#       GHN  a GHN checkpoint for the embedding features (default experiments/out/ghn_base.ckpt)
#
# For L = 8, 16, 32, 64 labels of the table's fit half (seed-1 validation accuracy, cells in
# index order) every model (ridge, GP, pairwise) is fitted and ranks the test half: Kendall tau,
# Spearman rho and precision at the top 10 % with 95 % bootstrap intervals, beside every single
# feature on the test half (build/experiments/rank_table). Then the ablations at the same label
# counts: proxies + size only (no GHN), the GHN only (predicted-weight accuracy/loss and the
# embedding), the embedding alone, the predicted-weight features alone. Labels beyond the table's
# fit half so far are capped by rank_table (it says how many it had). Outputs:
# OUT/*.txt (default OUT=experiments/out/ranker_study; FORCE=1 redoes parts that exist).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-$root/experiments/out/ghn_study.db}
ghn=${2:-$root/experiments/out/ghn_base.ckpt}
out=${OUT:-$root/experiments/out/ranker_study}
rt=$root/build/experiments/rank_table
[ -x "$rt" ] || "$root/scripts/setup.sh"
mkdir -p "$out"
labels=${LABELS:-8,16,32,64}
emb=()
[ -f "$ghn" ] && emb=(--ghn "$ghn")

part() { # name [rank_table options...]
    local name=$1
    shift
    [ -s "$out/$name.txt" ] && [ -z "${FORCE:-}" ] && return 0
    "$rt" "$db" --labels "$labels" "$@" >"$out/$name.txt.tmp"
    mv "$out/$name.txt.tmp" "$out/$name.txt"
    echo "ranker_study: $out/$name.txt"
}
part all "${emb[@]}"
part proxies_size --only log_params,log_flops,log_synflow,log_snip,log_grad_norm,jacob_cov,naswot
if [ ${#emb[@]} -gt 0 ]; then
    part ghn_only "${emb[@]}" --only ghn_acc,ghn_loss,emb
    part embedding "${emb[@]}" --only emb
    part embedding_proxies "${emb[@]}" --only emb,log_params,log_flops,log_synflow,log_snip,log_grad_norm,jacob_cov,naswot
fi
part predicted_weights --only ghn_acc,ghn_loss
part predicted_weights_proxies --only ghn_acc,ghn_loss,log_params,log_flops,log_synflow,log_snip,log_grad_norm,jacob_cov,naswot
