#!/usr/bin/env bash
# Side-by-side benchmark of the GHN: ghnas (bench_ghn) and its PyTorch twin (ghn_torch.py bench,
# Debian python3-torch), alternating in rounds on this machine, with their ratios:
#   - GHN training step: meta-batch 4 random NB201 cells at (--C, --N), batch 64, AdamW;
#     ms/step and architecture-images/s (meta-batch x batch / step time);
#   - scoring: architectures/s with predicted weights evaluated on the first --val-n validation
#     images (what `ghnas score` does), BN on batch statistics of evaluation batches of 128;
#   - a scaling table: time per GHN step and per scored architecture for N in {1,2,5} and
#     C in {8,16,32}, both implementations (one invocation each, after the rounds).
# Ratios are ghnas' speed over PyTorch's (> 1: ghnas is faster). ghnas parallelises the
# meta-batch / the scored architectures over threads (one arch per thread, as `ghnas train` and
# `ghnas score` do); the twin runs one arch at a time with torch.set_num_threads(threads).
#
#   experiments/bench/bench_ghn.sh [--threads 2] [--seconds 10] [--rounds 3] [--C 8] [--N 1]
#                                  [--val-n 2000] [--build DIR] [--no-scaling] [--quick]
# --quick: a smoke test of well under a minute (1 round of 1 s, 500 validation images, the
# scaling table reduced to (N, C) = (1, 8) and (2, 16), one step and one scored arch each).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
threads=2 seconds=10 rounds=3 C=8 N=1 val_n=2000 quick=0 scaling=1
build=${GHNAS_BUILD:-$root/build}
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=$2; shift ;;
        --seconds) seconds=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --C) C=$2; shift ;;
        --N) N=$2; shift ;;
        --val-n) val_n=$2; shift ;;
        --build) build=$2; shift ;;
        --no-scaling) scaling=0 ;;
        --quick) quick=1 ;;
        *) echo "usage: $0 [--threads N] [--seconds S] [--rounds R] [--C C] [--N N] [--val-n V]" \
                "[--build DIR] [--no-scaling] [--quick]" >&2; exit 2 ;;
    esac
    shift
done
warmup=2 grid="1:8,1:16,1:32,2:8,2:16,2:32,5:8,5:16,5:32"
scale_seconds=$(awk -v s="$seconds" 'BEGIN { print (s / 2 > 2 ? s / 2 : 2) }')
scale_warmup=1
if [ "$quick" = 1 ]; then
    rounds=1 seconds=1 warmup=1 val_n=500 grid="1:8,2:16" scale_seconds=0.01
    scale_warmup=0
fi
bin="$build/experiments/bench_ghn"
if [ ! -x "$bin" ] && [ "$build" = "$root/build" ]; then
    "$root/scripts/setup.sh"
fi
if [ ! -x "$bin" ]; then
    echo "bench: $bin not found (build it, or pass --build DIR)" >&2
    exit 1
fi
/usr/bin/python3 -c "import torch" 2>/dev/null || {
    echo "bench: installing python3-torch for the PyTorch twin" >&2
    apt-get update -qq && apt-get install -y -qq python3-torch >/dev/null
}
twin=(/usr/bin/python3 "$here/ghn_torch.py" bench)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  threads: $threads  seconds per measurement: $seconds" \
     " rounds: $rounds  OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(default)}$([ "$quick" = 1 ] &&
     echo '  QUICK (smoke test, numbers are noise)')"
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l >= n) }'; then
    echo "warning: the machine is busy (load >= cores): PyTorch's intra-op OpenMP threads wait" \
         "for descheduled team mates on every small op (a GHN step can take 10x longer);" \
         "OMP_WAIT_POLICY=passive softens that. ghnas runs one architecture per thread."
fi
echo "GHN step: meta-batch 4 x batch 64, NB201 C=$C N=$N;" \
     "scoring: $val_n validation images, eval batch 128"
common=(--threads "$threads" --meta 4 --batch 64 --val-n "$val_n" --eval-batch 128)
# Alternate the two implementations so that drift on a shared machine hits both alike.
for r in $(seq "$rounds"); do
    c=$(OMP_NUM_THREADS=$threads "$bin" "${common[@]}" --seconds "$seconds" --warmup "$warmup" \
        --grid "$N:$C")
    p=$(OMP_NUM_THREADS=$threads "${twin[@]}" "${common[@]}" --seconds "$seconds" \
        --warmup "$warmup" --grid "$N:$C")
    echo "$c"
    echo "$p"
    printf 'round %s\t%s\n' "$r" "$c" >>"$log"
    printf 'round %s\t%s\n' "$r" "$p" >>"$log"
    /usr/bin/python3 - "$c" "$p" <<'PY'
import json, sys
c, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("ratio ghnas/pytorch: train step %.2fx (%.1f vs %.1f ms/step; %.0f vs %.0f arch-img/s)  "
      "scoring %.2fx (%.2f vs %.2f archs/s)"
      % (p["train_ms_mean"] / c["train_ms_mean"], c["train_ms_mean"], p["train_ms_mean"],
         c["train_arch_img_s"], p["train_arch_img_s"], c["score_archs_s"] / p["score_archs_s"],
         c["score_archs_s"], p["score_archs_s"]))
PY
done
if [ "$scaling" = 1 ]; then
    echo "scaling: grid N:C = $grid, $scale_seconds s per point (after $scale_warmup untimed step)"
    c=$(OMP_NUM_THREADS=$threads "$bin" "${common[@]}" --seconds "$scale_seconds" \
        --warmup "$scale_warmup" --grid "$grid")
    p=$(OMP_NUM_THREADS=$threads "${twin[@]}" "${common[@]}" --seconds "$scale_seconds" \
        --warmup "$scale_warmup" --grid "$grid")
    printf '%s\n' "$c" | sed 's/^/scale\t/' >>"$log"
    printf '%s\n' "$p" | sed 's/^/scale\t/' >>"$log"
fi
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rounds, scale = {"ghnas": [], "pytorch": []}, {}
for line in open(sys.argv[1]):
    tag, js = line.rstrip("\n").split("\t", 1)
    d = json.loads(js)
    if tag.startswith("round"):
        rounds[d["impl"]].append(d)
    else:
        scale[(d["impl"], d["N"], d["C"])] = d
med = lambda xs: statistics.median(xs)
c, p = rounds["ghnas"], rounds["pytorch"]
if c and p:
    tr = [b["train_ms_mean"] / a["train_ms_mean"] for a, b in zip(c, p)]
    sr = [a["score_archs_s"] / b["score_archs_s"] for a, b in zip(c, p)]
    print("\nmedians over %d round(s)   %12s %12s %8s" % (len(c), "ghnas", "pytorch", "ratio"))
    print("GHN step ms/step          %12.1f %12.1f %7.2fx" % (
        med([a["train_ms_mean"] for a in c]), med([b["train_ms_mean"] for b in p]), med(tr)))
    print("GHN step arch-images/s    %12.0f %12.0f" % (
        med([a["train_arch_img_s"] for a in c]), med([b["train_arch_img_s"] for b in p])))
    print("scoring archs/s           %12.2f %12.2f %7.2fx" % (
        med([a["score_archs_s"] for a in c]), med([b["score_archs_s"] for b in p]), med(sr)))
    print("(ratio column: median of the per-round ratios; twin's per-step net/plan preparation "
          "%.1f ms of its step)" % med([b["train_prep_ms"] for b in p]))
if scale:
    keys = sorted({(n, cc) for _, n, cc in scale})
    print("\nscaling  N   C | step ms: ghnas  pytorch  ratio | per scored arch ms: ghnas  pytorch"
          "  ratio")
    for n, cc in keys:
        a, b = scale.get(("ghnas", n, cc)), scale.get(("pytorch", n, cc))
        if not a or not b:
            continue
        sa, sb = 1e3 / a["score_archs_s"], 1e3 / b["score_archs_s"]
        print("        %2d %3d | %14.1f %8.1f %5.2fx | %24.1f %8.1f %5.2fx" % (
            n, cc, a["train_ms_mean"], b["train_ms_mean"], b["train_ms_mean"] / a["train_ms_mean"],
            sa, sb, sb / sa))
PY
