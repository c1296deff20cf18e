#!/usr/bin/env bash
# GHN ablations of the proxy study (issue 6): train GHN variants, score the study's architectures
# with each (`ghnas score`), and rank them against the study's ground truth(s) in its results store
# (experiments/ghn_ablation.py). Resumable: a finished variant (its .scores file) is skipped, an
# interrupted training continues from its checkpoint.
#
#   experiments/ghn_ablation.sh DB [VARIANT ...]      (default: all variants below)
#
# DB is a store made by experiments/proxy_study.sh (search run 1 and its evaluate runs). Outputs go
# next to it in ghn_ablation/. Each variant trains on 1 thread (OMP_NUM_THREADS=1), so two can run
# side by side on 2 cores: `ghn_ablation.sh DB hid64 & ghn_ablation.sh DB steps12k`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:?usage: ghn_ablation.sh DB [VARIANT ...]}
shift
ghnas=$root/build/ghnas
py=$root/experiments/ghn_ablation.py
out=$(dirname "$db")/ghn_ablation
mkdir -p "$out"
export OMP_NUM_THREADS=1

# name | how the GHN is made ("study" = the study's own GHN; "resume:NAME" = continue NAME's
# checkpoint) | ghnas train options | ghnas score options
variants='
base6k   | study       |                                        |
val10k   | study       |                                        | --val-n 10000
bs32     | study       |                                        | --batch 32
bs512    | study       |                                        | --batch 512
steps12k | resume:base6k | --steps 12000                        |
hid64    | new         | --steps 6000 --hid 64                  |
mb16     | new         | --steps 3000 --meta-batch 16           |
tile     | new         | --steps 6000 --decoder tile            |
'

trim() { sed -e 's/^ *//' -e 's/ *$//'; }
"$py" "$db" --archs > "$out/archs.txt"
mapfile -t archs < "$out/archs.txt"
[ "${#archs[@]}" -gt 0 ] || { echo "ghn_ablation: no GHN-scored architectures in $db" >&2; exit 1; }

want=" $* "
while IFS='|' read -r name how topt sopt; do
    name=$(echo "$name" | trim)
    [ -n "$name" ] || continue
    [ $# -eq 0 ] || [[ $want == *" $name "* ]] || continue
    how=$(echo "$how" | trim)
    ckpt=$out/$name.ckpt
    if [ ! -s "$out/$name.scores" ]; then
        case $how in
        study)
            [ -s "$out/base6k.ckpt" ] || "$py" "$db" --extract-ghn "$out/base6k.ckpt"
            ckpt=$out/base6k.ckpt ;;
        resume:*)
            src=$out/${how#resume:}.ckpt
            [ -s "$ckpt" ] || { [ -s "$src" ] || "$py" "$db" --extract-ghn "$src"; cp "$src" "$ckpt"; }
            # shellcheck disable=SC2086
            "$ghnas" train --resume "$ckpt" $topt --threads 1 --out "$ckpt" --save-every 250 ;;
        new)
            resume=()
            [ -s "$ckpt" ] && resume=(--resume "$ckpt")
            # shellcheck disable=SC2086
            "$ghnas" train $topt "${resume[@]}" --threads 1 --out "$ckpt" --save-every 250 ;;
        esac
        # shellcheck disable=SC2086
        "$ghnas" score --ghn "$ckpt" $sopt --threads 1 "${archs[@]}" > "$out/$name.scores.tmp"
        mv "$out/$name.scores.tmp" "$out/$name.scores"
    fi
done <<< "$variants"

args=()
for f in "$out"/*.scores; do
    [ -e "$f" ] && args+=("$(basename "$f" .scores)=$f")
done
"$py" "$db" --stored "${args[@]}" | tee "$out/table.txt"
