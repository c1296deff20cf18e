#!/usr/bin/env bash
# CLI-level tests of the ghnas executable: published counts on stdout, and bad input that must
# give a clear message on stderr and a non-zero exit code (never a crash).
#   tests/cli/test_cli.sh path/to/ghnas
# Prints one line per case and a closing "N passed, M failed" line.
set -u
ghnas=${1:?usage: test_cli.sh path/to/ghnas}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' <<<"$2"; }

# expect_out NAME EXPECTED_STDOUT CMD...: exit 0 and stdout exactly EXPECTED_STDOUT.
expect_out() {
    local name=$1 want=$2
    shift 2
    local out rc
    out=$("$@" 2>"$tmp/err")
    rc=$?
    if [ $rc -eq 0 ] && [ "$out" = "$want" ]; then ok "$name"; else
        bad "$name" "exit $rc, stdout: $out, stderr: $(head -c 300 "$tmp/err")"; fi
}

# expect_err NAME CODE PATTERN CMD...: exit CODE, stderr matches PATTERN (grep -E), no crash.
expect_err() {
    local name=$1 code=$2 pat=$3
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -eq "$code" ] && grep -Eq "$pat" "$tmp/err"; then ok "$name"; else
        bad "$name" "exit $rc (want $code), stderr: $(head -c 400 "$tmp/err")"; fi
}

NB201_BENCH='|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'

# ---- counts (issue 3) ------------------------------------------------------------------------
expect_out "count nb201" 15625 "$ghnas" spaces count nb201 -q
expect_out "count nb201 --unique" 6466 "$ghnas" spaces count nb201 --unique -q
expect_out "count nb201 --valid" 15284 "$ghnas" spaces count nb201 --valid -q
if [ "${GHNAS_SKIP_SLOW:-0}" != 1 ]; then
    expect_out "count nb101 --unique" 423624 "$ghnas" spaces count nb101 --unique -q
fi

# ---- happy paths ------------------------------------------------------------------------------
expect_out "version" "ghnas $("$ghnas" --version | cut -d' ' -f2)" "$ghnas" version
"$ghnas" --help | grep -q "spaces" && ok "--help lists commands" || bad "--help lists commands"
for c in spaces show version; do
    "$ghnas" $c --help >/dev/null 2>&1 && ok "$c --help" || bad "$c --help"
done
n=$("$ghnas" spaces sample nb201 -n 5 --seed 3 | wc -l)
[ "$n" = 5 ] && ok "sample -n 5" || bad "sample -n 5" "$n lines"
a=$("$ghnas" spaces sample macro -n 3 --seed 9)
b=$("$ghnas" spaces sample macro -n 3 --seed 9)
[ "$a" = "$b" ] && ok "sample is seeded" || bad "sample is seeded"
"$ghnas" show "$NB201_BENCH" --space nb201 --C 16 --N 1 | grep -q "params 224,442" &&
    ok "show NB201 params" || bad "show NB201 params"
"$ghnas" show "$NB201_BENCH" --format graphml | grep -q "<graphml" && ok "show graphml" ||
    bad "show graphml"
"$ghnas" show "$NB201_BENCH" --format dot | grep -q "^digraph" && ok "show dot" || bad "show dot"

# ---- bad input: clear message, non-zero exit --------------------------------------------------
expect_err "no command" 2 "usage" "$ghnas"
expect_err "unknown command" 2 "unknown command 'frobnicate'" "$ghnas" frobnicate
expect_err "unknown space" 1 "unknown space 'nb202'" "$ghnas" spaces count nb202
expect_err "spaces without action" 2 "." "$ghnas" spaces
expect_err "sample -n not a number" 2 "'x'" "$ghnas" spaces sample nb201 -n x
expect_err "sample -n negative" 2 "." "$ghnas" spaces sample nb201 -n -4
expect_err "malformed nb201 string" 1 "." "$ghnas" show "|nor_conv_3x3~0|+|bogus~0|" --space nb201
expect_err "nb201 op unknown" 1 "bogus" "$ghnas" spaces check nb201 \
    "|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|"
expect_err "show bad format" 2 "." "$ghnas" show "$NB201_BENCH" --format png
expect_err "show bad --C" 2 "." "$ghnas" show "$NB201_BENCH" --C zero
expect_err "show unknown option" 2 "." "$ghnas" show "$NB201_BENCH" --frobnicate
echo '{"name": "x", "kind": "cell_nb201", "ops": ["none", "warp_drive"], "nodes": 4}' >"$tmp/bad.json"
expect_err "space file with unknown op" 1 "bad.json.*warp_drive" "$ghnas" spaces show "$tmp/bad.json"
echo '{"name": "x", "kind": ' >"$tmp/trunc.json"
expect_err "truncated space file" 1 "trunc.json" "$ghnas" spaces show "$tmp/trunc.json"
expect_err "missing space file" 1 "nope.json" "$ghnas" spaces show "$tmp/nope.json"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
