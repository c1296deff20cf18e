#!/usr/bin/env bash
# The main job on the default set-up (Fashion-MNIST): set up, build, run.
# Until the search controller lands this trains the baseline CNN (experiments/baseline_cnn.c)
# and prints its test accuracy; afterwards it runs `ghnas search` with its defaults.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
exec "$root/build/experiments/baseline_cnn" "$@"
