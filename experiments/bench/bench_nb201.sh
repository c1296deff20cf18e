#!/usr/bin/env bash
# Side-by-side benchmark of the NB201 training step: ghnas (bench_nb201) and its PyTorch twin
# (nb201_torch.py, Debian python3-torch), one after the other on this machine, and their ratios.
#   experiments/bench/bench_nb201.sh [--threads 2] [--seconds 10] [--rounds 2]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
threads=2 seconds=10 rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        *) echo "usage: $0 [--threads N] [--seconds S] [--rounds R]" >&2; exit 2 ;;
    esac
    shift
done
bin="$root/build/experiments/bench_nb201"
[ -x "$bin" ] || "$root/scripts/setup.sh"
/usr/bin/python3 -c "import torch" 2>/dev/null || {
    echo "bench: installing python3-torch for the PyTorch twin" >&2
    apt-get update -qq && apt-get install -y -qq python3-torch >/dev/null
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  threads: $threads  seconds per measurement: $seconds"
# Alternate the two implementations so that drift on a shared machine hits both alike.
for r in $(seq "$rounds"); do
    c=$(OMP_NUM_THREADS=$threads "$bin" --threads "$threads" --seconds "$seconds")
    p=$(OMP_NUM_THREADS=$threads /usr/bin/python3 "$here/nb201_torch.py" --threads "$threads" \
        --seconds "$seconds")
    echo "$c"
    echo "$p"
    /usr/bin/python3 - "$c" "$p" <<'PY'
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("ratio ghnas/pytorch: train %.2fx  forward %.2fx  | conv %.1f GFLOP/s = %.0f%% of sgemm peak %.1f"
      % (c["train_img_s"] / p["train_img_s"], c["fwd_img_s"] / p["fwd_img_s"],
         c["conv_gflops_train"], 100 * c["conv_gflops_train"] / c["sgemm_peak_gflops"],
         c["sgemm_peak_gflops"]))
PY
done
