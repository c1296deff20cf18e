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
    if [ $rc -eq "$code" ] && grep -Eq -- "$pat" "$tmp/err"; then ok "$name"; else
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

# ---- 1. an edited space file reuses no score of its earlier content ---------------------------
spaces_dir=$(cd "$(dirname "$0")/../../search_spaces" && pwd)
sed 's/"name": *"nb101"/"name": "mysp"/; s/"stacks": *[0-9]*/"stacks": 3/' "$spaces_dir/nb101.json" >"$tmp/mysp.json"
srch() { "$ghnas" search --db "$tmp/r.db" --space "$tmp/mysp.json" --scorer params --budget 30 --seed 1 --eval-top 0 "$@"; }
srch >/dev/null 2>&1
sed -i 's/"stacks": 3/"stacks": 1/' "$tmp/mysp.json"
out=$(srch 2>&1)
grep -q "(30 scored, 0 reused" <<<"$out" && ok "edited space: rescored" || bad "edited space: rescored" "$out"
bad_params=$(sqlite3 "$tmp/r.db" "SELECT count(*) FROM scores s JOIN architectures a ON a.id = s.arch_id WHERE s.run_id = 2 AND s.value <> a.n_params")
[ "$bad_params" = 0 ] && ok "edited space: params stored = compiled" || bad "edited space: params stored = compiled" "$bad_params rows differ"
out=$(srch 2>&1)
grep -q "(0 scored, 30 reused" <<<"$out" && ok "same space again: reused" || bad "same space again: reused" "$out"
sqlite3 "$tmp/r.db" "SELECT json_extract(config_json, '$.space.skeleton.stacks') FROM runs WHERE id = 2" | grep -qx 1 &&
    ok "run record holds the space content" || bad "run record holds the space content"
expect_err "resume with edited space refused" 2 "searched space mysp with other content" \
    "$ghnas" search --db "$tmp/r.db" --resume 1

# ---- 3. output paths are checked before the work -----------------------------------------------
start=$(date +%s)
expect_err "train --out in a missing directory: before training" 1 "/nonexistent/dir/ghn.ckpt cannot be written" \
    "$ghnas" train --steps 2000 --out /nonexistent/dir/ghn.ckpt
[ $(($(date +%s) - start)) -lt 20 ] && ok "train --out checked first (fast)" || bad "train --out checked first (fast)"
expect_err "plot --out in a missing directory: before drawing" 1 "/nonexistent/dir/p.svg cannot be written" \
    "$ghnas" plot "$tmp/r.db" history --out /nonexistent/dir/p.svg
expect_err "report --out in a missing directory: before the work" 1 "/nonexistent/dir/r.html cannot be written" \
    "$ghnas" report "$tmp/r.db" --out /nonexistent/dir/r.html
# a GHN trained by a search whose store cannot take it is saved beside the store
rm -f "$tmp/full.db"*
"$ghnas" search --db "$tmp/full.db" --scorer params --budget 1 --eval-top 0 >/dev/null 2>&1
pages=$(sqlite3 "$tmp/full.db" "PRAGMA page_count")
GHNAS_STORE_MAX_PAGES=$((pages + 2)) timeout 300 "$ghnas" search --db "$tmp/full.db" --scorer ghn --train-steps 2 \
    --budget 2 --eval-top 0 >/dev/null 2>"$tmp/err"
if grep -q "saved in .*full.db.unstored-ghn.ckpt" "$tmp/err" && [ -s "$tmp/full.db.unstored-ghn.ckpt" ] &&
    "$ghnas" score --ghn "$tmp/full.db.unstored-ghn.ckpt" --random 1 --val-n 64 >/dev/null 2>&1; then
    ok "unstored GHN kept as a checkpoint"
else bad "unstored GHN kept as a checkpoint" "$(head -c 600 "$tmp/err")"; fi

# ---- 4. checkpoints: the header first, reads bounded by it -------------------------------------
expect_err "score --ghn /dev/zero refused" 1 "/dev/zero is a character device" "$ghnas" score --ghn /dev/zero --random 1
truncate -s 3G "$tmp/big.bin"
out=$( { /usr/bin/time -f "%M" timeout 20 "$ghnas" score --ghn "$tmp/big.bin" --random 1 >/dev/null; } 2>&1)
kb=$(tail -1 <<<"$out")
grep -q "not a ghnas GHN checkpoint" <<<"$out" && [ "${kb:-999999999}" -lt 400000 ] &&
    ok "3 GB non-checkpoint refused from its header (${kb} KB peak)" || bad "3 GB non-checkpoint refused from its header" "$out"
printf 'GHNASGHN\003\000\000\000\001\000\000\000\377\377\377\377\000\000\000\000' >"$tmp/hdr.ckpt"
expect_err "checkpoint header declaring 4 GB refused" 1 "truncated checkpoint: 24 bytes, the header records 4294967295" \
    "$ghnas" score --ghn "$tmp/hdr.ckpt" --random 1
rm -f "$tmp/big.bin"

# ---- 5. FIFOs and devices are refused, never waited on -----------------------------------------
mkfifo "$tmp/f.db" "$tmp/f.ckpt" "$tmp/f.json"
expect_err "query on a FIFO" 1 "f.db' is a FIFO, not a regular file" "$ghnas" query "$tmp/f.db" runs
expect_err "search --db FIFO" 1 "f.db' is a FIFO" "$ghnas" search --db "$tmp/f.db" --scorer params --budget 1 --eval-top 0
expect_err "train --resume FIFO" 1 "f.ckpt is a FIFO" "$ghnas" train --resume "$tmp/f.ckpt" --steps 1
expect_err "space file FIFO" 1 "f.json is a FIFO" "$ghnas" spaces show "$tmp/f.json"
expect_err "search --db /dev/null" 1 "'/dev/null' is a character device" \
    "$ghnas" search --db /dev/null --scorer params --budget 1 --eval-top 0
[ ! -e /dev/null-journal ] && [ ! -e /dev/null-wal ] && ok "no /dev/null-journal left" || bad "no /dev/null-journal left"

# ---- 6. a refused file is not modified ---------------------------------------------------------
sqlite3 "$tmp/empty_ours.db" "PRAGMA application_id = 1734897267; PRAGMA user_version = 2;"
sum=$(md5sum <"$tmp/empty_ours.db")
expect_err "ghnas id, no tables: refused" 1 "no table runs" \
    "$ghnas" search --db "$tmp/empty_ours.db" --scorer params --budget 1 --eval-top 0
[ "$(md5sum <"$tmp/empty_ours.db")" = "$sum" ] && [ ! -e "$tmp/empty_ours.db-wal" ] &&
    ok "refused store untouched (no WAL switch)" || bad "refused store untouched (no WAL switch)"

# ---- 7. damage in the middle of a store ----------------------------------------------------------
"$ghnas" search --db "$tmp/dmg.db" --scorer params --budget 200 --eval-top 0 >/dev/null 2>&1
"$ghnas" query "$tmp/dmg.db" check >"$tmp/out" 2>&1 && grep -q ": ok" "$tmp/out" && ok "check: a sound store is ok" ||
    bad "check: a sound store is ok" "$(cat "$tmp/out")"
python3 - "$tmp/dmg.db" <<'PY'
import sys
path = sys.argv[1]
with open(path, "r+b") as f:
    f.seek(4096 * 6)
    f.write(bytes((i * 37 + 11) % 256 for i in range(4096 * 3)))
PY
sum=$(md5sum <"$tmp/dmg.db")
expect_err "search on a damaged store refused" 1 "is damaged \(quick check.*refusing to write.*\.dump" \
    "$ghnas" search --db "$tmp/dmg.db" --scorer params --budget 5 --eval-top 0
[ "$(md5sum <"$tmp/dmg.db")" = "$sum" ] && ok "damaged store not appended to" || bad "damaged store not appended to"
expect_err "query check reports the damage" 1 "dmg.db.*(integrity check|malformed).*sqlite3 .*\.dump" \
    "$ghnas" query "$tmp/dmg.db" check

# ---- 8. smaller findings ------------------------------------------------------------------------
expect_err "--time 1e308h names the option" 2 "--time: '1e308h' is longer than" \
    "$ghnas" search --db "$tmp/t.db" --time 1e308h --scorer params
[ ! -e "$tmp/t.db" ] && ok "--time refused before the store is created" || bad "--time refused before the store is created"
expect_err "--scorers with an empty entry" 2 "--scorers: entry 2 of 'params,,params' is empty" \
    "$ghnas" search --db "$tmp/t.db" --scorer params --scorers params,,params --budget 1 --eval-top 0
expect_err "--resume on a missing store" 1 "does not exist" "$ghnas" search --db "$tmp/missing.db" --resume 999
[ ! -e "$tmp/missing.db" ] && ok "--resume creates no store" || bad "--resume creates no store"
# a live writer of a run holds its lock: a second --resume --force is refused; a killed one's dies
"$ghnas" search --db "$tmp/live.db" --space nb101 --scorer params --budget 0 --time 60s --eval-top 0 >/dev/null 2>&1 &
live=$!
pids+=("$live")
for _ in $(seq 100); do
    [ -n "$(sqlite3 "$tmp/live.db" "SELECT n_done FROM run_state WHERE run_id = 1" 2>/dev/null)" ] && break
    sleep 0.2
done
expect_err "second writer of a live run refused (even --force)" 2 "in use by another live process" \
    "$ghnas" search --db "$tmp/live.db" --resume 1 --force --eval-top 0
kill -9 "$live" 2>/dev/null
wait "$live" 2>/dev/null
timeout 120 "$ghnas" search --db "$tmp/live.db" --resume 1 --force --time 2s --eval-top 0 >/dev/null 2>"$tmp/err" &&
    ok "killed writer's lock died with it" || bad "killed writer's lock died with it" "$(cat "$tmp/err")"
# evaluate: every training failing is a failure, not a finished run
"$ghnas" search --db "$tmp/ev.db" --space nb101 --scorer params --budget 4 --eval-top 0 >/dev/null 2>&1
sqlite3 "$tmp/ev.db" "UPDATE architectures SET arch = arch || 'x'" # no longer decodes
expect_err "evaluate: all trainings failed" 1 "all 2 trainings failed" \
    "$ghnas" evaluate "$tmp/ev.db" --run 1 --top 2 --epochs 1 --train-n 64 --val-n 64
sqlite3 "$tmp/ev.db" "SELECT status FROM runs WHERE kind = 'evaluate'" | grep -qx failed &&
    ok "evaluate run marked failed" || bad "evaluate run marked failed" "$(sqlite3 "$tmp/ev.db" "SELECT id, kind, status FROM runs")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
