#!/usr/bin/env bash
# Reliability tests of the ghnas executable (issue 15): what a hostile user or a hostile machine
# does -- a low memory limit, FIFOs and devices as files, damaged and foreign stores, paths that
# cannot be written, an edited space file, two writers on one run. Each case failed before the fix
# it names. Prints one line per case and a closing "N passed, M failed" line.
#   tests/cli/test_reliability.sh path/to/ghnas
set -u
ghnas=${1:?usage: test_reliability.sh path/to/ghnas}
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' <<<"$2"; }

# expect_err NAME CODE PATTERN CMD...: exit CODE within 60 s, stderr matches PATTERN (grep -E).
expect_err() {
    local name=$1 code=$2 pat=$3
    shift 3
    timeout 60 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    local rc=$?
    if [ $rc -eq "$code" ] && grep -Eq "$pat" "$tmp/err"; then ok "$name"; else
        bad "$name" "exit $rc (want $code), stderr: $(head -c 400 "$tmp/err")"; fi
}

sanitized=0
if nm -D "$ghnas" 2>/dev/null | grep -q __asan_init || nm "$ghnas" 2>/dev/null | grep -q __asan_init; then
    sanitized=1
fi

# ---- 2. a low address-space limit fails fast instead of hanging in OpenBLAS's start-up --------
if [ "$sanitized" = 0 ]; then
    expect_err "ulimit -v 300000: message, exit 1" 1 "address-space limit \(ulimit -v 300000\) is too low.*ulimit -v [0-9]+ or more" \
        bash -c "ulimit -v 300000; exec \"$ghnas\" --version"
    out=$(bash -c "ulimit -v 1500000; exec \"$ghnas\" --version" 2>&1)
    [ "$out" = "$("$ghnas" --version)" ] && ok "ulimit -v 1500000 runs" || bad "ulimit -v 1500000 runs" "$out"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
