#!/usr/bin/env bash
# The real colour-data check of issue 16: a search and an evaluation on an image folder made of
# the full-colour 32x32 PNG icons the Debian package oxygen-icon-theme ships, one class per icon
# category (actions, apps, categories, devices, mimetypes, places, status: 1169 images, regular
# files only, so no icon appears twice through an alias link). The folder has no train/ and
# test/, so every 5th icon of a category (by file name) is the test split.
#
#   experiments/colour_check.sh [DIR]        (default experiments/out/colour)
#
# Installs oxygen-icon-theme when it is missing, builds DIR/oxygen, then
#   ghnas search --db DIR/oxy.db --data DIR/oxygen --train-time 120 --budget 100 --eval-top 3
#                --eval-epochs 3
#   ghnas evaluate DIR/oxy.db --run 1 --top 3 --epochs 30
# (about 6 minutes on 2 shared cores). The accuracies are in README.md, "Your own data".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/experiments/out/colour}
ghnas=$root/build/ghnas
[ -x "$ghnas" ] || "$root/scripts/setup.sh"
src=/usr/share/icons/oxygen/base/32x32
if [ ! -d "$src" ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        oxygen-icon-theme >/dev/null
fi
mkdir -p "$out"
if [ ! -d "$out/oxygen" ]; then
    for c in actions apps categories devices mimetypes places status; do
        mkdir -p "$out/oxygen.part/$c"
        find "$src/$c" -maxdepth 1 -type f -name '*.png' -exec cp {} "$out/oxygen.part/$c/" \;
    done
    mv "$out/oxygen.part" "$out/oxygen"
fi
"$ghnas" search --db "$out/oxy.db" --data "$out/oxygen" --train-time 120 --budget 100 \
    --eval-top 3 --eval-epochs 3 --quiet
"$ghnas" evaluate "$out/oxy.db" --run 1 --top 3 --epochs 30 --quiet
