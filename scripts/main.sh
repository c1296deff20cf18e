#!/usr/bin/env bash
# The main job on the default set-up: set up, build, then `ghnas search` with its defaults
# (NB201 on Fashion-MNIST: train a GHN when the store has none, search, evaluate the top 3,
# print the leaderboard). Extra arguments go to `ghnas search` (see build/ghnas search --help).
# The results store is ghnas.db in the current directory unless --db is given.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
exec "$root/build/ghnas" search "$@"
