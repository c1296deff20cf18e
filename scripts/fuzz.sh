#!/usr/bin/env bash
# Fuzz ghnas with libFuzzer (clang, ASan + UBSan): the architecture decoders of the four spaces,
# the space-file loader, the GHN checkpoint loader and the results-store opener.
#
#   scripts/fuzz.sh                      every harness for 10 s (CI: about 70 s in all)
#   scripts/fuzz.sh --time 3600 --jobs 2 the long run: an hour per harness, 2 processes each
#   scripts/fuzz.sh --time 60 store      one harness
#
# Builds into build-fuzz/ (CC=clang, -DGHNAS_FUZZ=ON). Each harness starts from its committed
# seed corpus (tests/fuzz/corpus/NAME, read only) and a work corpus kept in build-fuzz/corpus/NAME
# between runs. A crash stops with exit 1 and leaves its input in build-fuzz/crashes/: copy it to
# tests/fuzz/regressions/NAME/ (every build replays those in ctest) and fix the bug. The last
# line per harness reports its executions ("NAME: N runs in S s").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=10
jobs=1
harnesses=()
while [ $# -gt 0 ]; do
    case "$1" in
        --time) seconds=$2; shift ;;
        --jobs) jobs=$2; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *) harnesses+=("$1") ;;
    esac
    shift
done
all=(arch_nb201 arch_nb101 arch_darts arch_macro space checkpoint store)
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
    [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz.sh: no harness '$h' (${all[*]})" >&2; exit 2; }
done

"$root/scripts/setup.sh" --no-build
if ! command -v clang >/dev/null || [ ! -e "$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a)" ]; then
    echo "fuzz: installing clang (libFuzzer)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang \
        libclang-rt-14-dev libomp-dev >/dev/null
fi

build="$root/build-fuzz"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGHNAS_FUZZ=ON \
    -DGHNAS_NATIVE=OFF >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
if ! cmake --build "$build" -j2 "${targets[@]}" >"$build/build.log" 2>&1; then
    grep -E -A3 "error|Error" "$build/build.log" | head -40 >&2
    echo "fuzz: the build failed; full log in $build/build.log" >&2
    exit 1
fi

mkdir -p "$build/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1
status=0
total=0
for h in "${harnesses[@]}"; do
    work="$build/corpus/$h"
    mkdir -p "$work"
    log="$build/fuzz_$h.log"
    args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
          -artifact_prefix="$build/crashes/$h-" "$work" "$root/tests/fuzz/corpus/$h")
    if [ "$jobs" -gt 1 ]; then
        args=(-jobs="$jobs" -workers="$jobs" "${args[@]}")
    fi
    if (cd "$build" && "$build/fuzz/fuzz_$h" "${args[@]}") >"$log" 2>&1; then
        runs=$(cat "$log" "$build"/fuzz-*.log 2>/dev/null | grep "stat::number_of_executed_units" |
               awk '{s += $2} END {print s + 0}' || true)
        total=$((total + runs))
        echo "$h: $runs runs in $seconds s (corpus $(ls "$work" | wc -l) inputs)"
    else
        status=1
        echo "$h: CRASH -- $(grep -m1 -E "ERROR|invariant failed|SUMMARY" "$log" || tail -1 "$log")" >&2
        ls -t "$build/crashes/$h-"* 2>/dev/null | head -1 | sed 's/^/  input: /' >&2
        echo "  log: $log" >&2
    fi
    rm -f "$build"/fuzz-*.log
done
echo "fuzz: $total executions in all"
exit $status
