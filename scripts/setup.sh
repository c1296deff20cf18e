#!/usr/bin/env bash
# ghnas set-up: installs the Debian packages ghnas needs (only the missing ones, quietly), then
# configures and builds into build/ (Release). Safe to run again: it does nothing that is done.
#
#   scripts/setup.sh                 install what is missing, build build/
#   scripts/setup.sh --no-build      only install packages
#   scripts/setup.sh --dev           also install the developer tools CI uses (clang-format)
#   scripts/setup.sh --tests         also install what the tests use (chromium: report screenshot)
#   scripts/setup.sh --build-dir D [--sanitize]   build into D (with ASan+UBSan)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build"
do_build=1
dev=0
tests=0
sanitize=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) do_build=0 ;;
        --dev) dev=1 ;;
        --tests) tests=1 ;;
        --sanitize) sanitize=1 ;;
        --build-dir) build_dir=$2; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

packages=(build-essential cmake pkg-config libopenblas-openmp-dev libigraph-dev libsqlite3-dev
          sqlite3 check libsubunit-dev zlib1g-dev libjansson-dev libpng-dev libjpeg62-turbo-dev
          libpixman-1-dev dataset-fashion-mnist
          python3-onnx python3-numpy libcairo2-dev libgraphviz-dev help2man)
[ "$dev" = 1 ] && packages+=(clang-format python3)
[ "$tests" = 1 ] && packages+=(chromium)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# ONNX Runtime for the export tests (tests/onnx): Node.js and npm when missing, then the npm
# packages locked in tests/onnx/package-lock.json (CPU binaries bundled; no install scripts).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing nodejs npm"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        nodejs npm >/dev/null
fi
if [ ! -d "$root/tests/onnx/node_modules/onnxruntime-node" ]; then
    echo "setup: npm ci in tests/onnx (onnxruntime-node)"
    (cd "$root/tests/onnx" && npm ci --ignore-scripts --no-audit --no-fund --silent >/dev/null)
fi

[ "$do_build" = 1 ] || exit 0

args=(-DCMAKE_BUILD_TYPE=Release)
if [ "$sanitize" = 1 ]; then
    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DGHNAS_SANITIZE=ON)
fi
[ "${CI:-}" = true ] && args+=(-DGHNAS_WERROR=ON)
cmake -S "$root" -B "$build_dir" "${args[@]}" >/dev/null
log="$build_dir/build.log"
if ! cmake --build "$build_dir" -j"$(nproc)" >"$log" 2>&1; then
    grep -E -A3 "error|Error" "$log" | head -60 >&2
    echo "setup: the build failed; full log in $log" >&2
    exit 1
fi
grep -E "warning:" "$log" >&2 || true
