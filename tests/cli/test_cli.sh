#!/usr/bin/env bash
# CLI-level tests of the ghnas executable: published counts on stdout, and bad input that must
# give a clear message on stderr and a non-zero exit code (never a crash).
#   tests/cli/test_cli.sh path/to/ghnas [path/to/ghnas_png_check [path/to/make_dataset]]
# Prints one line per case and a closing "N passed, M failed" line.
set -u
ghnas=${1:?usage: test_cli.sh path/to/ghnas [path/to/ghnas_png_check]}
png_check=${2:-}
make_dataset=${3:-}
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
expect_out "version" "$("$ghnas" --version)" "$ghnas" version
"$ghnas" --version | grep -q "^built for: .*GHNAS_NATIVE=\(ON\|OFF\)" && ok "--version: CPU target" ||
    bad "--version: CPU target" "$("$ghnas" --version)"
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

# ---- query (issue 5: results store) -----------------------------------------------------------
# Fixtures are built with the sqlite3 shell from `ghnas query --schema`, so these cases need no
# search command. Every refusal must leave the file byte-for-byte unchanged.
if ! "$ghnas" query --help >/dev/null 2>&1; then
    echo "skip query cases: this ghnas has no query command (add it to src/cli/main.c)"
elif ! command -v sqlite3 >/dev/null 2>&1; then
    echo "skip query cases: the sqlite3 shell is not installed"
else
    qdb=$tmp/q.db
    "$ghnas" query --schema | sqlite3 "$qdb" >/dev/null
    sqlite3 "$qdb" <<'SQL'
INSERT INTO ghn_models (id, space, dataset, steps, train_loss, val_acc, seconds, checkpoint)
    VALUES (1, 'nb201', 'fashion-mnist', 500, 0.61, 0.78, 42.5, x'00010203');
INSERT INTO runs (id, name, kind, status, space, dataset, scorer, seed, ghn_id)
    VALUES (1, 'demo, "quoted"', 'search', 'finished', 'nb201', 'fashion-mnist', 'ghn_acc', 1, 1);
INSERT INTO architectures (id, space, canonical_hash, arch, n_params, flops) VALUES
    (1, 'nb201', 'k1', '|a|', 100, 1000), (2, 'nb201', 'k2', '|b|', 200, 500),
    (3, 'nb201', 'k3', '|c|', 300, 3000), (4, 'nb201', 'k4', '|d|', 50, 4000);
INSERT INTO scorers (name, higher_is_better) VALUES ('ghn_acc', 1), ('ghn_loss', 0);
INSERT INTO scores (run_id, arch_id, scorer, value, seq) VALUES
    (1, 1, 'ghn_acc', 0.80, 0), (1, 2, 'ghn_acc', 0.85, 1), (1, 3, 'ghn_acc', 0.90, 2),
    (1, 4, 'ghn_acc', 0.70, 3), (1, 1, 'ghn_loss', 0.6, 0), (1, 2, 'ghn_loss', 0.5, 1),
    (1, 3, 'ghn_loss', 0.4, 2), (1, 4, 'ghn_loss', 0.9, 3);
INSERT INTO trainings (run_id, arch_id, recipe_json, init, epochs, epochs_done, val_acc,
                       curve_json, status)
    VALUES (1, 3, '{"lr":0.1}', 'scratch', 2, 2, 0.91,
            '[{"epoch":1,"val_acc":0.88},{"epoch":2,"val_acc":0.91}]', 'finished');
SQL
    qsum=$(md5sum <"$qdb")

    expect_out "query top csv" $'rank,arch_id,ghn_acc,params,flops,arch\n1,3,0.9,300,3000,|c|\n2,2,0.85,200,500,|b|' \
        "$ghnas" query "$qdb" top -k 2 --format csv
    expect_out "query top lower-is-better" $'rank,arch_id,ghn_loss,params,flops,arch\n1,3,0.4,300,3000,|c|' \
        "$ghnas" query "$qdb" top --scorer ghn_loss -k 1 --run 1 --format csv
    expect_out "query pareto by flops" $'arch_id,ghn_acc,flops,arch\n2,0.85,500,|b|\n3,0.9,3000,|c|' \
        "$ghnas" query "$qdb" pareto --by flops --format csv
    n=$("$ghnas" query "$qdb" pareto --format csv | wc -l)
    [ "$n" = 5 ] && ok "query pareto by params" || bad "query pareto by params" "$n lines"
    expect_out "query sql csv quoting" $'name\n"demo, ""quoted"""' \
        "$ghnas" query "$qdb" sql "SELECT name FROM runs" --format csv
    expect_out "query sql NULL vs empty" $'a,b\n,""' \
        "$ghnas" query "$qdb" sql "SELECT NULL AS a, '' AS b" --format csv
    "$ghnas" query "$qdb" top -k 1 | head -1 | grep -q "^rank  arch_id  ghn_acc  params  flops  arch$" &&
        ok "query top table header" || bad "query top table header"
    "$ghnas" query "$qdb" runs | grep -q 'demo, "quoted"' && ok "query runs table" ||
        bad "query runs table"
    "$ghnas" query "$qdb" ghns | grep -q "fashion-mnist" && ok "query ghns" || bad "query ghns"
    if command -v python3 >/dev/null 2>&1; then
        "$ghnas" query "$qdb" runs --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r[0]["name"] == "demo, \"quoted\"" and r[0]["archs"] == 4 and r[0]["best"] == 0.9, r' \
            && ok "query runs json" || bad "query runs json"
        "$ghnas" query "$qdb" arch 3 --format json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["architecture"]["arch"] == "|c|" and len(d["scores"]) == 2, d
assert d["trainings"][0]["curve_json"][1]["val_acc"] == 0.91, d' \
            && ok "query arch json" || bad "query arch json"
        "$ghnas" query "$qdb" sql "SELECT 'a\"b\\c' || char(10) || char(9) || char(1) || 'é' AS s" \
            --format json | python3 -c '
import json, sys
assert json.load(sys.stdin) == [{"s": "a\"b\\c\n\t\x01é"}]' \
            && ok "query json escaping" || bad "query json escaping"
    fi
    "$ghnas" query "$qdb" arch '|b|' | grep -q "^scores:" && ok "query arch by text" ||
        bad "query arch by text"
    "$ghnas" query --help | grep -q "pareto" && ok "query --help" || bad "query --help"
    "$ghnas" query "$qdb" top --help | grep -q "usage" && ok "query top --help" ||
        bad "query top --help"

    expect_err "query write refused" 2 "refusing.*DELETE" "$ghnas" query "$qdb" sql "DELETE FROM runs"
    expect_err "query two statements" 2 "one statement" "$ghnas" query "$qdb" sql "SELECT 1; SELECT 2"
    expect_err "query sql error" 1 "no such table: nope" "$ghnas" query "$qdb" sql "SELECT * FROM nope"
    [ "$(md5sum <"$qdb")" = "$qsum" ] && ok "query leaves the file unchanged" ||
        bad "query leaves the file unchanged"
    expect_err "query missing db" 1 "nope.db' does not exist" "$ghnas" query "$tmp/nope.db" runs
    [ ! -e "$tmp/nope.db" ] && ok "query does not create a db" || bad "query does not create a db"
    expect_err "query no action" 2 "missing action" "$ghnas" query "$qdb"
    expect_err "query unknown action" 2 \
        "unknown action 'frob' \(runs, top, arch, pareto, ghns, rankers, sql, upgrade, check, drop-weights\)" "$ghnas" query "$qdb" frob
    expect_err "query missing action" 2 "missing action after '.*' \(runs, top, arch, pareto, ghns, rankers, sql, upgrade, check, drop-weights\)" \
        "$ghnas" query "$qdb"
    expect_err "query bad format" 2 "unknown format 'xml'" "$ghnas" query "$qdb" runs --format xml
    expect_err "query -k zero" 2 "out of range" "$ghnas" query "$qdb" top -k 0
    expect_err "query -k not a number" 2 "'many'" "$ghnas" query "$qdb" top -k many
    expect_err "query option not for action" 2 "does not apply" "$ghnas" query "$qdb" runs -k 3
    expect_err "query bad --by" 2 "params or flops" "$ghnas" query "$qdb" pareto --by latency
    expect_err "query sql without statement" 2 "missing the SQL" "$ghnas" query "$qdb" sql
    expect_err "query unknown run" 1 "run 42 does not exist" "$ghnas" query "$qdb" top --run 42
    expect_err "query unknown scorer" 1 "no scores by 'zz'.*ghn_acc" "$ghnas" query "$qdb" top --scorer zz
    expect_err "query unknown arch" 1 "no architecture" "$ghnas" query "$qdb" arch 999

    head -c 4096 /dev/urandom >"$tmp/garbage.db"
    expect_err "query garbage file" 1 "garbage.db.*not an SQLite" "$ghnas" query "$tmp/garbage.db" runs
    sqlite3 "$tmp/other.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
    osum=$(md5sum <"$tmp/other.db")
    expect_err "query foreign sqlite" 1 "other.db.*not a ghnas results store" \
        "$ghnas" query "$tmp/other.db" runs
    expect_err "query upgrade foreign" 1 "not a ghnas results store" "$ghnas" query "$tmp/other.db" upgrade
    [ "$(md5sum <"$tmp/other.db")" = "$osum" ] && ok "foreign file unchanged" ||
        bad "foreign file unchanged"
    cp "$qdb" "$tmp/newer.db"
    sqlite3 "$tmp/newer.db" "PRAGMA user_version = 99"
    nsum=$(md5sum <"$tmp/newer.db")
    expect_err "query newer db" 1 "newer ghnas" "$ghnas" query "$tmp/newer.db" runs
    expect_err "query upgrade newer db" 1 "newer ghnas" "$ghnas" query "$tmp/newer.db" upgrade
    [ "$(md5sum <"$tmp/newer.db")" = "$nsum" ] && ok "newer file unchanged" || bad "newer file unchanged"
    head -c 5000 "$qdb" >"$tmp/trunc.db"
    expect_err "query truncated db" 1 "trunc.db.*truncated" "$ghnas" query "$tmp/trunc.db" runs
    expect_err "query directory as db" 1 "is a directory" "$ghnas" query "$tmp" runs

    # A version-1 store: readers refuse it, `upgrade` migrates it; a full disk rolls back.
    "$ghnas" query --schema | sed '/^-- step 2/,/^PRAGMA application_id/{/^PRAGMA application_id/!d;}' |
        sed 's/user_version = [0-9]*/user_version = 1/' | sqlite3 "$tmp/v1.db" >/dev/null
    sqlite3 "$tmp/v1.db" "INSERT INTO runs (kind, space, dataset) VALUES ('search', 'nb201', 'fm')"
    expect_err "query v1 db" 1 "older than this ghnas.*upgrade" "$ghnas" query "$tmp/v1.db" runs
    v1sum=$(md5sum <"$tmp/v1.db")
    GHNAS_STORE_MAX_PAGES=1 "$ghnas" query "$tmp/v1.db" upgrade >/dev/null 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "full" "$tmp/err" && [ "$(md5sum <"$tmp/v1.db")" = "$v1sum" ]; then
        ok "query upgrade disk full"
    else
        bad "query upgrade disk full" "exit $rc, stderr: $(head -c 300 "$tmp/err")"
    fi
    expect_out "query upgrade" "$tmp/v1.db: schema v1 -> v5" "$ghnas" query "$tmp/v1.db" upgrade
    expect_out "query upgraded runs" $'id\n1' "$ghnas" query "$tmp/v1.db" sql "SELECT id FROM runs" --format csv

    # Permissions, as an unprivileged user (root reads and writes everything).
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
        as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    elif [ "$(id -u)" != 0 ]; then
        as_nobody() { "$@"; }
    else
        as_nobody() { return 99; }
    fi
    chmod 755 "$tmp"
    cp "$qdb" "$tmp/locked.db"
    chmod 000 "$tmp/locked.db"
    as_nobody true && {
        expect_err "query unreadable db" 1 "cannot read.*locked.db" as_nobody "$ghnas" query "$tmp/locked.db" runs
        chmod 444 "$tmp/locked.db"
        mkdir -m 777 "$tmp/rw"
        cp "$tmp/v1.db" "$tmp/rw/v1ro.db"
        sqlite3 "$tmp/rw/v1ro.db" "PRAGMA user_version = 1"
        chmod 444 "$tmp/rw/v1ro.db"
        expect_err "query upgrade read-only db" 1 "v1ro.db' is read-only" \
            as_nobody "$ghnas" query "$tmp/rw/v1ro.db" upgrade
        expect_err "query upgrade in read-only dir" 1 "not writable" \
            as_nobody "$ghnas" query "$tmp/locked.db" upgrade
        expect_out "query read-only db" $'n\n4' as_nobody "$ghnas" query "$tmp/locked.db" sql \
            "SELECT count(*) AS n FROM architectures" --format csv
    }
    chmod 700 "$tmp"
fi

# ---- search and evaluate (issue 5) -------------------------------------------------------------
# Bad input must give a clear message and a non-zero exit; a small params search, SIGTERM and
# --resume; and (with Fashion-MNIST installed) the whole GHN flow in miniature.
if ! "$ghnas" search --help >/dev/null 2>&1 || ! "$ghnas" evaluate --help >/dev/null 2>&1; then
    echo "skip search cases: this ghnas has no search/evaluate command (add them to src/cli/main.c)"
else
    sdir=$tmp/search
    mkdir -p "$sdir"
    sdb=$sdir/s.db
    "$ghnas" search --help | grep -q -- "--budget N .*default" && ok "search --help shows defaults" ||
        bad "search --help shows defaults"
    "$ghnas" evaluate --help | grep -q -- "--sample K" && ok "evaluate --help" || bad "evaluate --help"

    expect_err "search unknown strategy" 2 "unknown search strategy 'annealing'" \
        "$ghnas" search --db "$sdb" --strategy annealing
    expect_err "search --budget negative" 2 "budget: -5 is out of range" "$ghnas" search --budget -5
    expect_err "search --budget not a number" 2 "'many' is not an integer" "$ghnas" search --budget many
    expect_err "search --time bad unit" 2 "'10x' is not a duration" "$ghnas" search --time 10x
    expect_err "search --time zero" 2 "not a positive duration" "$ghnas" search --time 0
    expect_err "search unknown scorer" 2 "unknown scorer 'zen'" "$ghnas" search --scorer zen
    expect_err "search sample > population" 2 "larger than --population" "$ghnas" search --sample 30
    expect_err "search unknown option" 2 "unknown option '--frob'" "$ghnas" search --frob
    expect_err "search option without value" 2 "db needs a value" "$ghnas" search --db
    expect_err "search unknown dataset" 2 "unknown data ?set 'cifar'" "$ghnas" search --data cifar
    expect_err "search unknown space" 1 "unknown space 'nb202'" \
        "$ghnas" search --db "$sdb" --space nb202 --scorer params --eval-top 0
    expect_err "search missing dataset dir" 1 "nonexistent.*dataset-fashion-mnist" \
        env GHNAS_FASHION_MNIST_DIR=/nonexistent "$ghnas" search --db "$sdir/nodata.db" --train-steps 1
    expect_err "search params missing dataset" 1 "nonexistent.*dataset-fashion-mnist" \
        env GHNAS_FASHION_MNIST_DIR=/nonexistent "$ghnas" search --db "$sdir/nodata.db" --scorer params
    expect_err "search db in missing dir" 1 "directory '/nonexistent' does not exist" \
        "$ghnas" search --db /nonexistent/x.db --scorer params
    head -c 4096 /dev/urandom >"$sdir/garbage.db"
    expect_err "search garbage db" 1 "garbage.db.*not an SQLite" \
        "$ghnas" search --db "$sdir/garbage.db" --scorer params
    expect_err "search --ghn garbage file" 1 "garbage.db: not a ghnas GHN checkpoint" \
        "$ghnas" search --db "$sdb" --ghn "$sdir/garbage.db"
    expect_err "search --ghn unknown id" 1 "GHN 99 does not exist" "$ghnas" search --db "$sdb" --ghn 99
    expect_err "search --resume missing run" 1 "run 42 does not exist" "$ghnas" search --db "$sdb" --resume 42
    expect_err "search --resume with --space" 2 "space cannot change when resuming" \
        "$ghnas" search --db "$sdb" --resume 1 --space nb201
    expect_err "search disk full" 1 "disk or the store's size limit is full.*" \
        env GHNAS_STORE_MAX_PAGES=40 "$ghnas" search --db "$sdir/full.db" --scorer params \
        --eval-top 0 --budget 3000 --quiet
    grep -q "resume 1" "$tmp/err" && ok "search disk full says how to resume" ||
        bad "search disk full says how to resume"
    expect_err "evaluate missing run" 1 "run 42 does not exist" "$ghnas" evaluate "$sdb" --run 42 --top 3
    expect_err "evaluate missing db" 1 "nope.db' does not exist" \
        "$ghnas" evaluate "$sdir/nope.db" --run 1 --top 3
    [ ! -e "$sdir/nope.db" ] && ok "evaluate does not create a db" || bad "evaluate does not create a db"
    expect_err "evaluate top and sample" 2 "exactly one of --top K and --sample K" \
        "$ghnas" evaluate "$sdb" --run 1 --top 3 --sample 2
    expect_err "evaluate without --run" 2 "missing --run" "$ghnas" evaluate "$sdb" --top 3
    expect_err "evaluate bad --init" 2 "'warm' is not scratch or ghn" \
        "$ghnas" evaluate "$sdb" --run 1 --top 3 --init warm
    expect_err "evaluate bad --epochs" 2 "epochs: 0 is out of range" \
        "$ghnas" evaluate "$sdb" --run 1 --top 3 --epochs 0

    # A params search (no GHN, no data for scoring), its query, SIGTERM and --resume.
    out=$("$ghnas" search --db "$sdb" --scorer params --budget 40 --eval-top 0 --quiet 2>"$tmp/err")
    rc=$?
    if [ $rc -eq 0 ] && grep -q "run 1 finished: 40 architectures" <<<"$out" && grep -q "^database: " <<<"$out"; then
        ok "search params budget 40"
    else
        bad "search params budget 40" "exit $rc, stdout: $(head -c 300 <<<"$out"), stderr: $(head -c 300 "$tmp/err")"
    fi
    expect_out "search stored 40 results" $'n\n40' "$ghnas" query "$sdb" sql \
        "SELECT count(DISTINCT arch_id) AS n FROM scores WHERE run_id = 1" --format csv
    out=$("$ghnas" search --db "$sdb" --resume 1 --budget 60 --quiet 2>/dev/null | head -1)
    grep -q "run 1 finished: 60 architectures (20 scored" <<<"$out" && ok "search --resume extends the budget" ||
        bad "search --resume extends the budget" "$out"
    out=$("$ghnas" search --db "$sdb" --resume 1 --budget 70 2>&1 >/dev/null)
    grep -q "training the top" <<<"$out" && bad "search --resume keeps --eval-top 0" "$out" ||
        ok "search --resume keeps --eval-top 0"
    # darts: a space far too large to be exhausted before the signal arrives (nb201 with the
    # params scorer can finish all 6466 unique cells within the second).
    "$ghnas" search --db "$sdir/t.db" --space darts --scorer params --strategy random --budget 0 \
        --eval-top 0 --quiet >"$tmp/out" 2>"$tmp/err" &
    spid=$!
    # Signal once the run exists (its handler is installed before the store is opened), so that
    # a slow start (sanitizers, a loaded machine) cannot turn this into a kill before the handler.
    for _ in $(seq 300); do
        [ "$("$ghnas" query "$sdir/t.db" sql "SELECT count(*) FROM runs" --format csv 2>/dev/null |
            tail -1)" = 1 ] && break
        sleep 0.1
    done
    sleep 0.3
    kill -TERM $spid
    wait $spid
    rc=$?
    if [ $rc -eq 130 ] && grep -q "resume 1" "$tmp/err" &&
        [ "$("$ghnas" query "$sdir/t.db" sql "SELECT status FROM runs" --format csv | tail -1)" = interrupted ]; then
        ok "search SIGTERM marks the run interrupted"
    else
        bad "search SIGTERM marks the run interrupted" "exit $rc, stderr: $(head -c 300 "$tmp/err")"
    fi
    "$ghnas" search --db "$sdir/t.db" --resume 1 --budget 200 --quiet >/dev/null 2>&1 &&
        [ "$("$ghnas" query "$sdir/t.db" sql "SELECT status FROM runs" --format csv | tail -1)" = finished ] &&
        ok "search --resume after SIGTERM" || bad "search --resume after SIGTERM"

    # Permissions, as an unprivileged user.
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
        search_as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    elif [ "$(id -u)" != 0 ]; then
        search_as_nobody() { "$@"; }
    else
        search_as_nobody() { return 99; }
    fi
    if search_as_nobody true; then
        chmod 755 "$tmp" "$sdir"
        mkdir -m 777 "$sdir/rw"
        cp "$sdb" "$sdir/rw/ro.db"
        chmod 444 "$sdir/rw/ro.db"
        cp "$sdb" "$sdir/locked.db"
        chmod 000 "$sdir/locked.db"
        expect_err "search read-only db" 1 "ro.db' is read-only" \
            search_as_nobody "$ghnas" search --db "$sdir/rw/ro.db" --scorer params --eval-top 0
        expect_err "search db in read-only dir" 1 "not writable" \
            search_as_nobody "$ghnas" search --db "$sdb" --scorer params --eval-top 0
        expect_err "search unreadable db" 1 "cannot read.*locked.db" \
            search_as_nobody "$ghnas" search --db "$sdir/locked.db" --scorer params --eval-top 0
        expect_err "evaluate read-only db" 1 "ro.db' is read-only" \
            search_as_nobody "$ghnas" evaluate "$sdir/rw/ro.db" --run 1 --top 1
        chmod 700 "$tmp"
    fi

    # The main job in miniature: train a GHN, search with it, evaluate the best, resume.
    fm=${GHNAS_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
    if [ ! -d "$fm" ]; then
        echo "skip GHN search cases: Fashion-MNIST is not installed"
    else
        gdb=$sdir/g.db
        out=$("$ghnas" search --db "$gdb" --train-steps 2 --budget 8 --val-n 64 --eval-top 1 \
            --eval-train-n 256 --quiet 2>"$tmp/err")
        rc=$?
        if [ $rc -eq 0 ] && grep -q "run 1 finished: 8 architectures" <<<"$out" &&
            grep -q "^leaderboard of run 1" <<<"$out" && grep -q "^evaluate run 2" <<<"$out" &&
            grep -q "training one" "$tmp/err"; then
            ok "search ghn: train, search, evaluate"
        else
            bad "search ghn: train, search, evaluate" "exit $rc, stdout: $(head -c 400 <<<"$out"), stderr: $(head -c 300 "$tmp/err")"
        fi
        expect_out "search ghn stored the GHN" $'n\n1' "$ghnas" query "$gdb" sql \
            "SELECT count(*) AS n FROM ghn_models" --format csv
        expect_err "evaluate of an evaluate run" 2 "run 2 is not a search run" \
            "$ghnas" evaluate "$gdb" --run 2 --top 1
        expect_out "evaluate stored a curve" $'e,s\n1,finished' "$ghnas" query "$gdb" sql \
            "SELECT epochs_done AS e, status AS s FROM trainings" --format csv
        out=$("$ghnas" evaluate "$gdb" --run 1 --top 1 --train-n 256 --val-n 2000 --quiet 2>&1)
        grep -q "finished before this call" <<<"$out" && ok "evaluate skips finished trainings" ||
            bad "evaluate skips finished trainings" "$out"
        # screening then a scaled-up final training of its best (the headline pipeline)
        out=$("$ghnas" evaluate "$gdb" --run 1 --top 1 --best-of 2 --C 6 --train-n 256 \
            --val-n 500 --label-smoothing 0.1 --wd 1e-4 --quiet 2>&1)
        grep -q "^evaluate run 3: search run 1, 1 architectures" <<<"$out" &&
            ok "evaluate --best-of --C trains the screening's best wider" ||
            bad "evaluate --best-of --C trains the screening's best wider" "$out"
        expect_out "evaluate --best-of records its choice and skeleton" $'n\n1' \
            "$ghnas" query "$gdb" sql "SELECT count(*) AS n FROM runs WHERE id = 3 AND config_json LIKE '%\"best_of\": 2,%' AND config_json LIKE '%\"net\": {\"C\": 6, \"N\": 1}%' AND config_json LIKE '%\"label_smoothing\": 0.100000001%'" --format csv
        expect_err "evaluate --best-of a search run" 2 "run 1 is not an evaluate run of search run 1" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --best-of 1
        expect_err "evaluate --best-of with --sample" 2 "best-of RUN picks the --top K" \
            "$ghnas" evaluate "$gdb" --run 1 --sample 1 --best-of 2
        expect_err "evaluate --C 0" 2 "C: 0 is out of range" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --C 0
        # start from the GHN's weights, BN statistics re-estimated before each evaluation
        out=$("$ghnas" evaluate "$gdb" --run 1 --top 1 --init ghn --bn-calib 2 --train-n 256 \
            --val-n 500 --quiet 2>&1)
        grep -q "^evaluate run 4: search run 1, 1 architectures, 1 epoch, init ghn" <<<"$out" &&
            ok "evaluate --init ghn --bn-calib" || bad "evaluate --init ghn --bn-calib" "$out"
        expect_out "evaluate --bn-calib is part of the recipe" $'n\n1' \
            "$ghnas" query "$gdb" sql "SELECT count(*) AS n FROM runs WHERE id = 4 AND config_json LIKE '%\"bn_calib\": 2,%'" --format csv
        expect_err "evaluate --bn-calib -1" 2 "bn-calib: -1 is out of range" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --bn-calib -1
        # a chosen set of the run's architectures, validated past the images the search scored on
        "$ghnas" query "$gdb" sql "SELECT a.arch FROM scores s JOIN architectures a ON a.id = s.arch_id WHERE s.run_id = 1 ORDER BY s.seq DESC LIMIT 1" --format csv | tail -n +2 >"$sdir/one.txt"
        out=$("$ghnas" evaluate "$gdb" --run 1 --top 8 --archs "$sdir/one.txt" --val-offset 64 \
            --val-n 200 --train-n 256 --quiet 2>&1)
        grep -q "^evaluate run 5: search run 1, 1 architectures" <<<"$out" &&
            grep -qF "$(cat "$sdir/one.txt")" <<<"$out" && ok "evaluate --archs trains the listed one" ||
            bad "evaluate --archs trains the listed one" "$out"
        expect_out "evaluate --val-offset is part of the recipe" $'n\n1' \
            "$ghnas" query "$gdb" sql "SELECT count(*) AS n FROM trainings WHERE run_id = 5 AND recipe_json LIKE '%\"val_offset\": 64,%' AND recipe_json LIKE '%\"val_n\": 200,%'" --format csv
        expect_err "evaluate --archs missing file" 2 "cannot open '.*nofile.txt'" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --archs "$sdir/nofile.txt"
        printf '# nothing\n\n' >"$sdir/empty.txt"
        expect_err "evaluate --archs empty file" 2 "lists no architecture" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --archs "$sdir/empty.txt"
        echo "$NB201_BENCH" >"$sdir/other.txt"
        expect_err "evaluate --archs none in the run" 1 "none of the 1 listed architectures is in run 1" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --archs "$sdir/other.txt"
        expect_err "evaluate --val-offset past the split" 2 "validation offset of 99999999 leaves none" \
            "$ghnas" evaluate "$gdb" --run 1 --top 1 --val-offset 99999999
        out=$("$ghnas" search --db "$gdb" --budget 16 --val-n 64 --eval-top 0 --quiet 2>"$tmp/err")
        grep -q "using GHN 1 of the store" "$tmp/err" && grep -q "(8 scored, 8 reused" <<<"$out" &&
            ok "search reuses the stored GHN and scores" ||
            bad "search reuses the stored GHN and scores" "$out $(cat "$tmp/err")"
        printf '{"name": "tiny", "kind": "cell_nb201", "ops": ["none", "skip_connect", "nor_conv_3x3"], "nodes": 3}\n' >"$sdir/tiny.json"
        expect_err "search wrong GHN for the space" 2 "trained on space nb201, not tiny" \
            "$ghnas" search --db "$gdb" --space "$sdir/tiny.json" --ghn 1
        expect_err "evaluate --init ghn without a GHN" 2 "used no GHN" \
            "$ghnas" evaluate "$sdb" --run 1 --top 1 --init ghn

        # zero-cost proxies: as the search objective, recorded next to it, and in ghnas score.
        pdb=$sdir/p.db
        out=$("$ghnas" search --db "$pdb" --scorer synflow --scorers naswot,params,jacob_cov \
            --budget 12 --eval-top 0 --quiet 2>"$tmp/err")
        rc=$?
        [ $rc -eq 0 ] && grep -q "^best synflow" <<<"$out" && ok "search --scorer synflow --scorers" ||
            bad "search --scorer synflow --scorers" "exit $rc, $out $(head -c 300 "$tmp/err")"
        expect_out "search recorded every scorer" $'scorer,n\njacob_cov,12\nnaswot,12\nparams,12\nsynflow,12' \
            "$ghnas" query "$pdb" sql \
            "SELECT scorer, count(value) AS n FROM scores GROUP BY scorer ORDER BY scorer" --format csv
        expect_err "search --resume other --scorers" 2 "scorers cannot change when resuming" \
            "$ghnas" search --db "$pdb" --resume 1 --scorers snip
        out=$("$ghnas" search --db "$pdb" --resume 1 --budget 16 --quiet 2>"$tmp/err")
        grep -q "run 1 finished: 16 architectures (4 scored" <<<"$out" &&
            ok "search --resume keeps the extra scorers" ||
            bad "search --resume keeps the extra scorers" "$out $(head -c 300 "$tmp/err")"
        expect_out "resumed run recorded every scorer" $'n\n64' "$ghnas" query "$pdb" sql \
            "SELECT count(value) AS n FROM scores WHERE run_id = 1" --format csv
        out=$("$ghnas" score --scorers snip,grad_norm,synflow,jacob_cov,naswot --random 2 2>"$tmp/err")
        [ "$(grep -vc '^#' <<<"$out")" = 2 ] && grep -q "^# snip  grad_norm  synflow  jacob_cov  naswot" <<<"$out" &&
            ok "score with five proxies" || bad "score with five proxies" "$out $(head -c 300 "$tmp/err")"
        expect_err "score unknown scorer" 2 "unknown scorer 'zen'" "$ghnas" score --scorer zen --random 1
        expect_err "score ghn without --ghn" 2 "needs --ghn FILE" "$ghnas" score --scorers ghn,snip --random 1

        # learned rankers (issue 12): fit on the store's trainings, score and search with them,
        # refusals. g.db holds GHN 1 and the search run 1; train 6 of its architectures briefly.
        expect_err "rank without trainings" 2 "no finished training of space nb201" \
            "$ghnas" rank "$pdb" --quiet
        expect_err "rank missing store" 1 "nope.db' does not exist" "$ghnas" rank "$sdir/nope.db"
        expect_err "rank without store" 2 "missing the results store DB" "$ghnas" rank
        expect_err "rank bad model" 2 "unknown ranker model 'forest'" \
            "$ghnas" rank "$gdb" --model forest
        expect_err "rank bad features" 2 "unknown group 'colour'" "$ghnas" rank "$gdb" --features colour
        expect_err "rank --cv-folds 1" 2 "cv-folds: 0 \\(skip\\) or at least 2" \
            "$ghnas" rank "$gdb" --cv-folds 1
        expect_err "rank too few labels" 2 "a ranker needs at least 3" \
            "$ghnas" rank "$gdb" --run 2 --quiet
        "$ghnas" evaluate "$gdb" --run 1 --top 6 --train-n 256 --val-n 200 --epochs 1 --quiet \
            >/dev/null 2>"$tmp/err" || bad "evaluate 6 for the ranker" "$(head -c 300 "$tmp/err")"
        out=$("$ghnas" rank "$gdb" --val-n 64 --cv-folds 3 --quiet 2>"$tmp/err")
        rc=$?
        if [ $rc -eq 0 ] && grep -q "^ranker: 1$" <<<"$out" && grep -q "^labels: 6 architectures" <<<"$out" &&
            grep -q "^ghn: 1$" <<<"$out" && grep -q "^cv: 3-fold Kendall tau" <<<"$out" &&
            grep -q "^feature groups: size,ghn,embed,proxies$" <<<"$out"; then
            ok "rank: a GP on the GHN and proxy features"
        else
            bad "rank: a GP on the GHN and proxy features" "exit $rc, $out $(head -c 300 "$tmp/err")"
        fi
        out=$("$ghnas" rank "$gdb" --model ridge --features size,proxies --name sp --cv-folds 0 \
            --quiet 2>"$tmp/err")
        grep -q "^ghn: none$" <<<"$out" && grep -q "^features used: log_params" <<<"$out" &&
            grep -q "^cv: not measured" <<<"$out" && ok "rank --features size,proxies (no GHN)" ||
            bad "rank --features size,proxies (no GHN)" "$out $(head -c 300 "$tmp/err")"
        expect_out "query rankers" $'id,name,model,ghn_id\n1,"",gp,1\n2,sp,ridge,' \
            "$ghnas" query "$gdb" sql "SELECT id, name, model, ghn_id FROM rankers" --format csv
        "$ghnas" query "$gdb" rankers | grep -q "cv_tau" && ok "query DB rankers" || bad "query DB rankers"
        out=$("$ghnas" score --db "$gdb" --ranker 1 --scorers ranker,params --val-n 64 --random 2 2>"$tmp/err")
        [ "$(grep -vc '^#' <<<"$out")" = 2 ] && grep -q "^# ranker  params" <<<"$out" &&
            ok "score --scorers ranker" || bad "score --scorers ranker" "$out $(head -c 300 "$tmp/err")"
        expect_err "score ranker without --db" 2 "ranker scorer needs --db" \
            "$ghnas" score --scorers ranker --random 1
        expect_err "score unknown ranker" 1 "ranker 9 does not exist" \
            "$ghnas" score --db "$gdb" --ranker 9 --scorers ranker --random 1
        expect_err "score ranker of another space" 2 "fitted on search space 'nb201' and cannot rank.*'nb101'" \
            "$ghnas" score --db "$gdb" --ranker 2 --space nb101 --scorers ranker --random 1
        expect_err "score ranker with --ghn" 2 "leave --ghn out" \
            "$ghnas" score --db "$gdb" --ranker 1 --ghn "$sdir/garbage.db" --scorers ranker --random 1
        out=$("$ghnas" search --db "$gdb" --scorer ranker --ranker 1 --val-n 64 --budget 8 \
            --eval-top 0 --quiet 2>"$tmp/err")
        rc=$?
        [ $rc -eq 0 ] && grep -q "^best ranker" <<<"$out" && ok "search --scorer ranker" ||
            bad "search --scorer ranker" "exit $rc, $out $(head -c 300 "$tmp/err")"
        rrun=$("$ghnas" query "$gdb" sql "SELECT max(id) FROM runs WHERE kind = 'search'" --format csv | tail -1)
        out=$("$ghnas" search --db "$gdb" --resume "$rrun" --budget 12 --quiet 2>"$tmp/err")
        grep -q "finished: 12 architectures (4 scored" <<<"$out" && ok "search --scorer ranker resumes" ||
            bad "search --scorer ranker resumes" "$out $(head -c 300 "$tmp/err")"
        expect_err "search ranker and --ghn" 2 "leave --ghn out" \
            "$ghnas" search --db "$gdb" --scorer ranker --ranker 1 --ghn 1 --eval-top 0
        expect_err "search ranker of another space" 2 "cannot rank architectures of 'nb101'" \
            "$ghnas" search --db "$gdb" --scorer ranker --ranker 2 --space nb101 --eval-top 0
        expect_err "search without a ranker" 1 "has no ranker for space 'nb201'.*ghnas rank" \
            "$ghnas" search --db "$pdb" --scorer ranker --eval-top 0
        # the loop that earns labels: search, train 3, fit, search with the ranker, train 3 more
        ldb=$sdir/l.db
        out=$("$ghnas" search --db "$ldb" --scorer params --budget 8 --learn 6 --learn-round 3 \
            --learn-epochs 1 --learn-train-n 256 --eval-top 0 --quiet 2>"$tmp/err")
        rc=$?
        if [ $rc -eq 0 ] && grep -q "^learn round 1: trained in evaluate run 2 (3 trainings so far); ranker 1 on 3 labels" <<<"$out" &&
            grep -q "^learn round 2: trained in evaluate run 4 (6 trainings so far); ranker 2 on 6 labels" <<<"$out"; then
            ok "search --learn: two rounds"
        else
            bad "search --learn: two rounds" "exit $rc, $out $(head -c 300 "$tmp/err")"
        fi
        expect_out "search --learn trained 6 distinct" $'n,a\n6,6' "$ghnas" query "$ldb" sql \
            "SELECT count(*) AS n, count(DISTINCT arch_id) AS a FROM trainings WHERE status = 'finished'" --format csv
        out=$("$ghnas" search --db "$ldb" --resume 1 --quiet 2>"$tmp/err")
        grep -q "^learn round 2: trained in evaluate run 4 (6 trainings so far); ranker 2;" <<<"$out" &&
            [ "$("$ghnas" query "$ldb" sql "SELECT count(*) FROM rankers" --format csv | tail -1)" = 2 ] &&
            ok "search --learn resumes without redoing" ||
            bad "search --learn resumes without redoing" "$out $(head -c 300 "$tmp/err")"
        expect_err "search --learn-round 2" 2 "learn-round: 2 is out of range" \
            "$ghnas" search --db "$ldb" --learn 4 --learn-round 2
        expect_err "search --resume --learn" 2 "learn cannot change when resuming" \
            "$ghnas" search --db "$ldb" --resume 1 --learn 9


        # ghnas train / score: checkpoints, resume, the store, refusals.
        ck=$sdir/g.ckpt
        out=$("$ghnas" train --steps 2 --meta-batch 2 --batch 16 --val 1000 --out "$ck" \
            --db "$sdir/t2.db" --quiet 2>"$tmp/err")
        rc=$?
        if [ $rc -eq 0 ] && grep -q "^trained 2 steps" <<<"$out" && grep -q "^stored as GHN 1" <<<"$out" &&
            [ -s "$ck" ]; then ok "train --out --db"; else
            bad "train --out --db" "exit $rc, stdout: $out, stderr: $(head -c 300 "$tmp/err")"; fi
        expect_out "train --db stored the GHN" $'steps\n2' "$ghnas" query "$sdir/t2.db" sql \
            "SELECT steps FROM ghn_models" --format csv
        out=$("$ghnas" train --resume "$ck" --steps 3 --quiet 2>"$tmp/err")
        grep -q "^trained 1 steps" <<<"$out" && ok "train --resume continues to --steps" ||
            bad "train --resume continues to --steps" "$out $(head -c 300 "$tmp/err")"
        out=$("$ghnas" score --ghn "$ck" --val-n 64 --random 2 --seed 3 "$NB201_BENCH" 2>"$tmp/err")
        [ "$(grep -vc '^#' <<<"$out")" = 3 ] && grep -q "^# 3 architectures: mean val_acc" <<<"$out" &&
            ok "score 3 architectures" || bad "score 3 architectures" "$out $(head -c 300 "$tmp/err")"
        out=$("$ghnas" score --ghn "$ck" --val-n 64 --scorers ghn,ghn_bn,ghn_bn_loss "$NB201_BENCH" 2>"$tmp/err")
        if grep -q "^# val_acc  val_loss  ghn_bn  ghn_bn_loss" <<<"$out" &&
            awk '!/^#/ { exit !($3 >= 0 && $3 <= 1 && $4 > 0) }' <<<"$out"; then
            ok "score ghn_bn, ghn_bn_loss (BN recalibrated)"
        else
            bad "score ghn_bn, ghn_bn_loss (BN recalibrated)" "$out $(head -c 300 "$tmp/err")"
        fi
        head -c 1000 "$ck" >"$sdir/trunc.ckpt"
        expect_err "score truncated checkpoint" 1 "trunc.ckpt: truncated checkpoint" \
            "$ghnas" score --ghn "$sdir/trunc.ckpt" "$NB201_BENCH"
        cp "$ck" "$sdir/flip.ckpt"
        printf '\377' | dd of="$sdir/flip.ckpt" bs=1 seek=5000 conv=notrunc 2>/dev/null
        expect_err "score corrupted checkpoint" 1 "flip.ckpt: corrupted checkpoint" \
            "$ghnas" score --ghn "$sdir/flip.ckpt" "$NB201_BENCH"
        expect_err "score foreign file" 1 "garbage.db" \
            "$ghnas" score --ghn "$sdir/garbage.db" "$NB201_BENCH"
        expect_err "score missing checkpoint" 1 "nope.ckpt" \
            "$ghnas" score --ghn "$sdir/nope.ckpt" "$NB201_BENCH"
        expect_err "score bad arch" 1 "unknown op 'bad'" \
            "$ghnas" score --ghn "$ck" '|nor_conv_3x3~0|+|bad~0|'
        expect_err "score without --ghn" 2 "ghn" "$ghnas" score "$NB201_BENCH"
        expect_err "train --resume other model" 2 "hid: checkpoint 32, requested 64" \
            "$ghnas" train --resume "$ck" --steps 4 --hid 64
        expect_err "train bad decoder" 2 "unknown GHN decoder 'foo'" "$ghnas" train --decoder foo
        expect_err "train zero steps" 2 "steps: 0 is out of range" "$ghnas" train --steps 0
        expect_err "train --snapshot-every without --db" 2 "snapshot-every stores snapshots in --db" \
            "$ghnas" train --steps 4 --snapshot-every 2
        out=$("$ghnas" train --steps 4 --snapshot-every 2 --save-every 0 --meta-batch 2 --batch 8 \
            --val-n 500 --db "$tmp/snap.db" --out "$tmp/snap.ckpt" --quiet 2>&1)
        expect_out "train --snapshot-every stores snapshots and the end" $'steps\n2\n4' \
            "$ghnas" query "$tmp/snap.db" sql "SELECT steps FROM ghn_models ORDER BY id" --format csv
        expect_err "train --uniform-classes on an infinite space" 1 \
            "uniformly over classes enumerates the space, and darts has" \
            "$ghnas" train --space darts --steps 1 --uniform-classes --out "$tmp/u.ckpt"
        expect_err "train bad --db" 1 "directory '/nonexistent' does not exist" \
            "$ghnas" train --steps 1 --db /nonexistent/x.db
    fi
fi

# ---- the option parser (issue 13): one parser, getopt_long rules, for every command ------------
# For each command: --opt=value, `--` ends the options, an alias, an unknown option, a malformed
# value, a missing value.
pdir=$tmp/parser
mkdir -p "$pdir"
# spaces
a=$("$ghnas" spaces sample nb201 -n 3 --seed 7)
expect_out "spaces --opt=value" "$a" "$ghnas" spaces sample nb201 --count=3 --seed=7
expect_out "spaces -- ends options" "$a" "$ghnas" spaces sample -n3 --seed 7 -- nb201
expect_out "spaces alias --count" "$a" "$ghnas" spaces sample nb201 --count 3 --seed 7
expect_out "spaces bundled short options" 15625 "$ghnas" spaces count nb201 -q
expect_err "spaces unknown option" 2 "spaces: unknown option '--frob'" "$ghnas" spaces count nb201 --frob
expect_err "spaces malformed value" 2 "count: 'x' is not an integer" "$ghnas" spaces sample nb201 --count=x
expect_err "spaces missing value" 2 "seed needs a value" "$ghnas" spaces sample nb201 --seed
expect_err "spaces flag with a value" 2 "valid takes no value" "$ghnas" spaces count nb201 --valid=1
expect_err "spaces option of another action" 2 "count: option -n does not apply" \
    "$ghnas" spaces count nb201 -n 3
expect_err "spaces unknown action lists the actions" 2 \
    "unknown action 'frob' \(list, show, count, sample, check\)" "$ghnas" spaces frob
out=$("$ghnas" spaces check nb201 '|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_1x1~2|' 2>&1)
[ "$(printf '%s\n' "$out" | cut -c1-11 | tr -d ' ' | paste -sd,)" = "arch,valid,published,igraph" ] &&
    grep -qx "published  (#+#)@nor_conv_1x1+(0)@nor_conv_1x1+(0)@nor_conv_3x3" <<<"$out" &&
    grep -Eqx "igraph     [0-9a-f]{32}" <<<"$out" && ok "spaces check: text, validity and both keys" ||
    bad "spaces check: text, validity and both keys" "$out"
out=$("$ghnas" spaces check darts "$("$ghnas" spaces sample darts -n 1 --seed 2)" 2>&1)
if ! grep -q "^published" <<<"$out" && grep -Eq "^igraph +[0-9a-f]{32}$" <<<"$out"; then
    ok "spaces check darts: no published key"
else bad "spaces check darts: no published key" "$out"; fi
# show
"$ghnas" show --format=dot --C=8 "$NB201_BENCH" | grep -q "^digraph" && ok "show --opt=value" ||
    bad "show --opt=value"
"$ghnas" show --space nb201 -- "$NB201_BENCH" | grep -q "params" && ok "show -- ends options" ||
    bad "show -- ends options"
expect_err "show -- makes options arguments" 2 "unexpected argument '--C'" \
    "$ghnas" show -- "$NB201_BENCH" --C 8
expect_err "show unknown option" 2 "show: unknown option '--colour=red'" "$ghnas" show "$NB201_BENCH" --colour=red
expect_err "show malformed value" 2 "in: '3x32' is not an input shape" "$ghnas" show "$NB201_BENCH" --in=3x32
expect_err "show missing value" 2 "classes needs a value" "$ghnas" show "$NB201_BENCH" --classes
# version
expect_out "version -- ends options" "$("$ghnas" version)" "$ghnas" version --
expect_err "version unknown option" 2 "version: unknown option '--frob'" "$ghnas" version --frob
expect_err "version unexpected argument" 2 "unexpected argument 'x'" "$ghnas" version -- x
# search (a params search needs no data set for scoring)
out=$("$ghnas" search --db="$pdir/p.db" --scorer=params --budget=5 --eval-top=0 --quiet 2>/dev/null | head -1)
grep -q "run 1 finished: 5 architectures" <<<"$out" && ok "search --opt=value" || bad "search --opt=value" "$out"
expect_err "search -- ends options" 2 "unexpected argument '--budget'" "$ghnas" search -- --budget 5
expect_err "search alias --val" 2 "val: 0 is out of range" "$ghnas" search --val 0
expect_err "search alias --steps" 2 "steps: 0 is out of range" "$ghnas" search --steps=0
expect_err "search unknown option" 2 "search: unknown option '--budgett=5'" "$ghnas" search --budgett=5
expect_err "search malformed value" 2 "budget: '5x' is not an integer" "$ghnas" search --budget=5x
expect_err "search missing value" 2 "budget needs a value" "$ghnas" search --budget
expect_err "search flag with a value" 2 "quiet takes no value" "$ghnas" search --quiet=yes
expect_err "search --resume with --val-n alias" 2 "val cannot change when resuming" \
    "$ghnas" search --db "$pdir/p.db" --resume 1 --val 5
# query (on that store)
expect_out "query --opt=value" $'rank,arch_id,params,params,flops,arch' \
    sh -c "\"\$0\" query \"\$1\" top --top=1 --format=csv | head -1" "$ghnas" "$pdir/p.db"
expect_out "query --db and --" $'x\n1' "$ghnas" query --db "$pdir/p.db" --format csv -- sql "SELECT 1 AS x"
n=$("$ghnas" query "$pdir/p.db" top -k2 --format csv | wc -l)
[ "$n" = 3 ] && ok "query -k2 (value attached)" || bad "query -k2 (value attached)" "$n lines"
n=$("$ghnas" query "$pdir/p.db" top --top 2 --format csv | wc -l)
[ "$n" = 3 ] && ok "query alias --top" || bad "query alias --top" "$n lines"
expect_err "query unknown option" 2 "query: unknown option '--formt'" "$ghnas" query "$pdir/p.db" runs --formt csv
expect_err "query malformed value" 2 "top: 'two' is not an integer" "$ghnas" query "$pdir/p.db" top --top=two
expect_err "query missing value" 2 "format needs a value" "$ghnas" query "$pdir/p.db" runs --format
# evaluate
expect_err "evaluate --opt=value" 1 "nope.db' does not exist" \
    "$ghnas" evaluate --db="$pdir/nope.db" --run=1 --top=3
expect_err "evaluate -- ends options" 2 "unexpected argument '--run'" \
    "$ghnas" evaluate -- "$pdir/p.db" --run 1
expect_err "evaluate alias --val" 2 "val: -1 is out of range" \
    "$ghnas" evaluate "$pdir/p.db" --run 1 -k 3 --val -1
expect_err "evaluate unknown option" 2 "evaluate: unknown option '--epoch'" \
    "$ghnas" evaluate "$pdir/p.db" --run 1 --top 3 --epoch 2
expect_err "evaluate malformed value" 2 "lr: 'fast' is not a finite number" \
    "$ghnas" evaluate "$pdir/p.db" --run 1 --top 3 --lr=fast
expect_err "evaluate missing value" 2 "run needs a value" "$ghnas" evaluate "$pdir/p.db" --top 3 --run
# train
expect_err "train --opt=value" 2 "steps: 0 is out of range" "$ghnas" train --steps=0
expect_err "train -- ends options" 2 "unexpected argument '--steps'" "$ghnas" train -- --steps 1
expect_err "train alias --val" 2 "val: 0 is out of range" "$ghnas" train --val 0
expect_err "train unknown option" 2 "train: unknown option '--step'" "$ghnas" train --step 5
expect_err "train malformed value" 2 "chunk: '16,16' is not CO,CI,K" "$ghnas" train --chunk=16,16
expect_err "train missing value" 2 "out needs a value" "$ghnas" train --out
# score (params need no data set)
out=$("$ghnas" score --scorers=params,flops --random=2 --seed=4 2>/dev/null)
[ "$(grep -vc '^#' <<<"$out")" = 2 ] && grep -q "^# params  flops  arch" <<<"$out" &&
    ok "score --opt=value" || bad "score --opt=value" "$out"
out=$("$ghnas" score --scorer params -- "$NB201_BENCH" 2>/dev/null)
[ "$(grep -vc '^#' <<<"$out")" = 1 ] && grep -qF "  $NB201_BENCH" <<<"$out" && ok "score alias --scorer and --" ||
    bad "score alias --scorer and --" "$out"
expect_err "score unknown option" 2 "score: unknown option '--randon'" "$ghnas" score --randon 2
expect_err "score malformed value" 2 "random: 'x' is not an integer" "$ghnas" score --scorer params --random=x
expect_err "score missing value" 2 "ghn needs a value" "$ghnas" score --ghn


# ---- export / predict / drop-weights (issue 14) ----------------------------------------------------
edir="$tmp/export"
mkdir -p "$edir"
edb="$edir/e.db"
for c in export predict; do
    "$ghnas" $c --help >/dev/null 2>&1 && ok "$c --help" || bad "$c --help"
done
if "$ghnas" search --db "$edb" --scorer params --budget 4 --C 4 --N 1 --eval-top 1 \
    --eval-epochs 1 --eval-train-n 256 --quiet >/dev/null 2>"$tmp/err"; then
    ok "export: a store with one finished training"
    "$ghnas" export --db "$edb" --training 1 --out "$edir/m.onnx" >"$tmp/out" 2>"$tmp/err" &&
        grep -q "wrote .*m.onnx (onnx" "$tmp/out" && [ -s "$edir/m.onnx" ] &&
        ok "export --training to onnx" || bad "export --training to onnx" "$(cat "$tmp/out" "$tmp/err")"
    "$ghnas" export --db "$edb" --training 1 -o "$edir/m.npz" >/dev/null 2>&1 &&
        [ "$(head -c 2 "$edir/m.npz")" = PK ] && ok "export --training to npz" ||
        bad "export --training to npz"
    fm=${GHNAS_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
    out=$("$ghnas" predict --db "$edb" --training 1 -n 5 --labels "$fm/t10k-labels-idx1-ubyte.gz" \
        "$fm/t10k-images-idx3-ubyte.gz" 2>"$tmp/err")
    [ "$(wc -l <<<"$out")" = 6 ] && head -1 <<<"$out" | grep -q "^file,index,label,pred,class,prob,p0" &&
        grep -q "accuracy" "$tmp/err" && ok "predict IDX with labels (csv)" ||
        bad "predict IDX with labels (csv)" "$out $(cat "$tmp/err")"
    { printf 'P5\n28 28\n255\n'; head -c 784 /dev/zero; } >"$edir/a.pgm"
    "$ghnas" predict --db "$edb" --training 1 --format json "$edir/a.pgm" | grep -q '"pred": ' &&
        ok "predict PGM (json)" || bad "predict PGM (json)"
    { printf 'P5\n32 32\n255\n'; head -c 1024 /dev/zero; } >"$edir/b.pgm"
    expect_err "predict wrong image size" 1 "b.pgm: the image is 32x32.*takes 28x28" \
        "$ghnas" predict --db "$edb" --training 1 "$edir/b.pgm"
    printf 'GIF89a....' >"$edir/c.gif"
    expect_err "predict wrong image format" 1 "c.gif: not an image ghnas reads" \
        "$ghnas" predict --db "$edb" --training 1 "$edir/c.gif"
    expect_err "predict without images" 2 "at least one IMAGE" \
        "$ghnas" predict --db "$edb" --training 1
    expect_err "export unknown training" 1 "training 7 does not exist" \
        "$ghnas" export --db "$edb" --training 7 --out "$edir/x.onnx"
    expect_err "export unwritable output" 1 "x.onnx cannot be written: directory /nonexistent/d" \
        "$ghnas" export --db "$edb" --training 1 --out /nonexistent/d/x.onnx
    cp "$edir/m.onnx" "$edir/keep.onnx"
    "$ghnas" query "$edb" sql "SELECT 1" >/dev/null
    sqlite3 "$edb" "UPDATE trained_weights SET weights = CAST(zeroblob(bytes) AS BLOB)" 2>/dev/null ||
        "$ghnas" query "$edb" upgrade >/dev/null
    expect_err "export damaged kept weights" 1 "kept weights of training 1.*not a ghnas" \
        "$ghnas" export --db "$edb" --training 1 --out "$edir/m.onnx"
    cmp -s "$edir/m.onnx" "$edir/keep.onnx" && ok "a refused export leaves the output alone" ||
        bad "a refused export leaves the output alone"
    out=$("$ghnas" query "$edb" drop-weights 1 2>&1)
    grep -q "dropped the kept weights of 1 training" <<<"$out" && ok "query drop-weights" ||
        bad "query drop-weights" "$out"
    expect_err "export after drop-weights" 1 "training 1 of .* has no kept weights" \
        "$ghnas" export --db "$edb" --training 1 --out "$edir/x.onnx"
    expect_err "drop-weights again" 1 "training 1 has no kept weights" \
        "$ghnas" query "$edb" drop-weights 1
    expect_err "drop-weights bad id" 2 "'x' is not an integer" "$ghnas" query "$edb" drop-weights x
    sqlite3 "$edb" "UPDATE trainings SET status = 'interrupted'" 2>/dev/null &&
        expect_err "export unfinished training" 1 "training 1 of .* is interrupted" \
            "$ghnas" export --db "$edb" --training 1 --out "$edir/x.onnx"
else
    bad "export: a store with one finished training" "$(head -c 400 "$tmp/err")"
fi
expect_err "export without a model" 2 "give --db DB --training ID, or an ARCH" \
    "$ghnas" export --out "$edir/x.onnx"
expect_err "export ARCH without weights" 2 "ARCH needs its weights" \
    "$ghnas" export "$NB201_BENCH" --out "$edir/x.onnx"
expect_err "export without --out" 2 "missing --out" "$ghnas" export "$NB201_BENCH" --init random
expect_err "export bad --format" 2 "'tflite' is not onnx or npz" \
    "$ghnas" export "$NB201_BENCH" --init random --out x --format tflite
expect_err "export --training without --db" 2 "training needs --db" \
    "$ghnas" export --training 1 --out "$edir/x.onnx"
expect_err "export --ghn garbage" 1 "not a ghnas GHN checkpoint" \
    "$ghnas" export "$NB201_BENCH" --ghn "$edir/a.pgm" --out "$edir/x.onnx"
# ---- plot and report (issue 17) -------------------------------------------------------------
pl="$tmp/plot"
mkdir -p "$pl"
"$ghnas" search --db "$pl/s.db" --strategy random --scorer params --scorers flops,naswot \
    --budget 12 --eval-top 0 --quiet >/dev/null 2>&1 &&
    "$ghnas" evaluate "$pl/s.db" --run 1 --top 3 --epochs 2 --train-n 256 --val-n 256 \
        --quiet >/dev/null 2>&1 &&
    "$ghnas" search --db "$pl/s.db" --strategy random --scorer params --budget 3 --seed 2 \
        --eval-top 0 --quiet >/dev/null 2>&1 &&
    sqlite3 "$pl/s.db" "INSERT INTO runs (kind, space, dataset) VALUES ('search', 'nb201', 'x')" &&
    ok "plot: a small store (search, evaluate, search, empty run)" ||
    bad "plot: a small store (search, evaluate, search, empty run)"
sqlv() { "$ghnas" query "$pl/s.db" sql "$1" --format csv | tail -1; }
# header_is FILE EXT: the file starts as its format says
header_is() {
    case $2 in
        svg) [ "$(head -c 5 "$1")" = "<?xml" ] && grep -q "<svg" "$1" ;;
        png) [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ;;
        pdf) [ "$(head -c 5 "$1")" = "%PDF-" ] ;;
    esac
}
for k in history pareto curves scorers; do
    for e in svg png pdf; do
        out=$("$ghnas" plot "$pl/s.db" $k --run 1 --out "$pl/$k.$e" 2>&1)
        if [ $? -eq 0 ] && header_is "$pl/$k.$e" $e; then ok "plot $k .$e"; else
            bad "plot $k .$e" "$out"; fi
    done
done
# the points drawn are the store's
n=$(sqlv "SELECT count(*) FROM scores WHERE run_id = 1 AND value IS NOT NULL")
out=$("$ghnas" plot "$pl/s.db" history --run 1 --out "$pl/h.svg" 2>&1)
grep -q "3 panels, $n points" <<<"$out" && [ "$n" = 36 ] && ok "plot history: $n points" ||
    bad "plot history: points" "$n scores; $out"
n=$(sqlv "SELECT sum(epochs_done) FROM trainings WHERE run_id = 2")
out=$("$ghnas" plot --db "$pl/s.db" curves --run 2 --out "$pl/c.png" 2>&1)
grep -q "2 panels, $((2 * n)) points" <<<"$out" && ok "plot curves: 2 x $n epochs" ||
    bad "plot curves: points" "$n epochs; $out"
front=$("$ghnas" query "$pl/s.db" pareto --run 1 --format csv | tail -n +2 | wc -l)
out=$("$ghnas" plot "$pl/s.db" pareto --run 1 --out "$pl/p.pdf" 2>&1)
grep -q "($front of 12 on the front) (1 panel, $((12 + front)) points" <<<"$out" &&
    ok "plot pareto: the front of query pareto ($front)" || bad "plot pareto: front" "$front; $out"
# bad input: a message and exit 2 (command line) or 1 (data), never a file
expect_err "plot no kind" 2 "missing KIND" "$ghnas" plot "$pl/s.db"
expect_err "plot unknown kind" 2 "unknown kind 'bars' \(history, pareto, curves, scorers, ghn\)" \
    "$ghnas" plot "$pl/s.db" bars --out "$pl/x.svg"
expect_err "plot no --out" 2 "missing --out" "$ghnas" plot "$pl/s.db" history
expect_err "plot bad extension" 2 "\.svg, \.png or \.pdf" "$ghnas" plot "$pl/s.db" history --out "$pl/x.gif"
expect_err "plot option not for the kind" 2 "curves: option --scorer does not apply" \
    "$ghnas" plot "$pl/s.db" curves --scorer params --out "$pl/x.svg"
expect_err "plot empty run" 1 "run 4 has no scores" "$ghnas" plot "$pl/s.db" history --run 4 --out "$pl/x.svg"
expect_err "plot curves without trainings" 1 "run 3 has no trainings" \
    "$ghnas" plot "$pl/s.db" curves --run 3 --out "$pl/x.svg"
expect_err "plot ghn without a GHN" 1 "has no GHN" "$ghnas" plot "$pl/s.db" ghn --out "$pl/x.svg"
expect_err "plot unwritable output" 1 "/nonexistent-dir/x.svg" \
    "$ghnas" plot "$pl/s.db" history --out /nonexistent-dir/x.svg
expect_err "plot missing store" 1 "does not exist" "$ghnas" plot "$pl/none.db" history --out "$pl/x.svg"
[ ! -e "$pl/x.svg" ] && [ ! -e "$pl/none.db" ] && ok "plot: no file after a failure" ||
    bad "plot: no file after a failure"
expect_err "report no --out" 2 "missing --out" "$ghnas" report "$pl/s.db"
expect_err "report empty run" 1 "no scores" "$ghnas" report "$pl/s.db" --run 4 --out "$pl/x.html"
out=$("$ghnas" report "$pl/s.db" --run 1 --out "$pl/r.html" 2>&1)
grep -q "4 figures, 3 architecture graphs" <<<"$out" && ! grep -q "<script" "$pl/r.html" &&
    [ "$(grep -o 'src="data:image/svg+xml;base64,' "$pl/r.html" | wc -l)" = 7 ] &&
    ok "report: 4 figures + 3 graphs inlined, no script" || bad "report" "$out"
# the report in a browser: a headless Chromium screenshot that is not blank
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ] || [ -z "$png_check" ]; then
    echo "skip report screenshot (no chromium: scripts/setup.sh --tests installs it)"
else
    timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$pl/chrome" --window-size=1200,2400 --screenshot="$pl/shot.png" \
        "file://$pl/r.html" >/dev/null 2>&1
    read -r w h permille colours < <("$png_check" "$pl/shot.png" 2>/dev/null || echo 0 0 0 0)
    # text, tables and figures ink a few % of the page in many colours; blank pages ink none
    if [ "$w" = 1200 ] && [ "$h" = 2400 ] && [ "$permille" -ge 20 ] && [ "$colours" -ge 16 ]; then
        ok "report screenshot in chromium (${permille} per mille inked, $colours colours)"
    else
        bad "report screenshot in chromium" "${w}x$h, $permille per mille, $colours colours"
    fi
    # and a page that is blank is told apart
    printf '<!DOCTYPE html><html><body></body></html>' >"$pl/blank.html"
    timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$pl/chrome" --window-size=1200,2400 --screenshot="$pl/blank.png" \
        "file://$pl/blank.html" >/dev/null 2>&1
    read -r w h permille colours < <("$png_check" "$pl/blank.png" 2>/dev/null || echo 0 0 0 0)
    [ "$w" = 1200 ] && [ "$permille" -lt 20 ] && ok "blank screenshot detected as blank" ||
        bad "blank screenshot detected as blank" "$w $h $permille $colours"
fi

# ---- data sources (issue 16): IDX by path, CIFAR-10/100 dirs, image folders ------------------
if [ -z "$make_dataset" ]; then
    echo "skip data sources (no make_dataset)"
else
    dd=$tmp/data16
    mk() { "$make_dataset" "$@" >/dev/null 2>"$tmp/mkerr" || bad "make_dataset $*" "$(cat "$tmp/mkerr")"; }
    q16() { "$ghnas" query "$1" sql "$2" --format csv | tail -1; }
    mk idx "$dd/idx" --classes 3 --train 40 --test 10 --size 16x16 --gz --seed 1
    mk cifar10 "$dd/c10" --classes 10 --train 10 --test 2 --seed 2
    mk cifar100 "$dd/c100" --classes 100 --train 2 --test 1 --seed 3
    mk folder "$dd/mixed" --classes 3 --channels 3 --size 16x16 --mixed --train 40 --test 0 --seed 4
    mk folder "$dd/grey" --classes 3 --channels 1 --size 16x16 --train 40 --test 6 --seed 5
    # train a GHN on IDX files by path: the canonical spec and the fingerprint are stored
    out=$("$ghnas" train --data "$dd/idx" --steps 2 --meta-batch 2 --batch 16 --out "$dd/i.ckpt" \
        --db "$dd/i.db" --quiet 2>&1)
    [ "$(q16 "$dd/i.db" "SELECT dataset FROM ghn_models")" = "idx:$dd/idx" ] &&
        [ "$(q16 "$dd/i.db" "SELECT length(data_fingerprint) FROM ghn_models")" = 16 ] &&
        ok "train on IDX by path: canonical spec + fingerprint stored" || bad "train on IDX by path" "$out"
    # search with that GHN, evaluate, on 1x16x16 and 3 classes
    out=$("$ghnas" search --db "$dd/i.db" --data "idx:$dd/idx" --budget 4 --val-n 16 --eval-top 1 \
        --eval-epochs 1 --quiet 2>&1)
    [ $? -eq 0 ] && [ "$(q16 "$dd/i.db" "SELECT ghn_id FROM runs WHERE id = 1")" = 1 ] &&
        [ "$(q16 "$dd/i.db" "SELECT data_fingerprint = (SELECT data_fingerprint FROM ghn_models)
                              FROM runs WHERE id = 1")" = 1 ] &&
        ok "search IDX by path reuses its GHN (same fingerprint)" || bad "search IDX by path" "$out"
    out=$("$ghnas" evaluate "$dd/i.db" --run 1 --top 2 --epochs 1 --quiet 2>&1)
    [ $? -eq 0 ] && [ "$(q16 "$dd/i.db" "SELECT count(*) FROM trainings WHERE status = 'finished'
                                         AND test_acc IS NOT NULL")" -ge 2 ] &&
        ok "evaluate reopens the run's IDX data by its spec" || bad "evaluate IDX" "$out"
    # CIFAR-10 directory: proxies scored; CIFAR-100: a GHN of 100 classes on 3x32x32
    out=$("$ghnas" score --data "cifar10:$dd/c10" --scorers params,synflow --random 2 2>&1)
    [ $? -eq 0 ] && grep -q "synflow" <<<"$out" && ok "score on a CIFAR-10 directory" ||
        bad "score on a CIFAR-10 directory" "$out"
    out=$("$ghnas" search --db "$dd/c.db" --data "$dd/c100" --train-steps 2 --budget 3 --val-n 16 \
        --eval-top 1 --eval-epochs 1 --eval-train-n 100 --quiet 2>&1)
    [ $? -eq 0 ] && [ "$(q16 "$dd/c.db" "SELECT dataset FROM runs WHERE id = 1")" = "cifar100:$dd/c100" ] &&
        "$ghnas" query "$dd/c.db" ghns --format csv | tail -1 | grep -q "cifar100:" &&
        ok "search on a CIFAR-100 directory trains a 100-class GHN" || bad "search on CIFAR-100" "$out"
    # augmentation follows the data: crops padded by 4 on 32x32 colour images, IDX keeps 2
    [ "$(q16 "$dd/c.db" "SELECT count(*) FROM trainings WHERE recipe_json LIKE '%\"crop_pad\": 4,%'")" = 1 ] &&
        [ "$(q16 "$dd/i.db" "SELECT count(*) FROM trainings WHERE recipe_json NOT LIKE '%\"crop_pad\": 2,%'")" = 0 ] &&
        ok "crop padding: 4 on CIFAR (32x32), 2 on IDX" || bad "crop padding follows the data"
    # a folder of PNG and JPEG files of mixed sizes, resized to 16x16, 3 channels
    out=$("$ghnas" search --db "$dd/f.db" --data "folder:$dd/mixed@16x16" --scorer synflow \
        --budget 4 --eval-top 1 --eval-epochs 1 --quiet 2>&1)
    [ $? -eq 0 ] && [ "$(q16 "$dd/f.db" "SELECT dataset FROM runs WHERE id = 1")" = "folder:$dd/mixed@16x16" ] &&
        q16 "$dd/f.db" "SELECT config_json FROM runs WHERE id = 1" | grep -q '"class_names"' &&
        ok "search a PNG + JPEG folder with a resize" || bad "search a folder" "$out"
    # predict on a grey folder's images: class names are the folder names
    out=$("$ghnas" search --db "$dd/g.db" --data "$dd/grey" --scorer params --budget 2 \
        --eval-top 1 --eval-epochs 1 --quiet 2>&1)
    out=$("$ghnas" predict --db "$dd/g.db" --training 1 "$dd/grey/test/class_01/img0000.png" 2>&1)
    [ $? -eq 0 ] && grep -Eq "^$dd/grey/test/class_01/img0000.png,0,[0-2],class_0[0-2]," <<<"$out" &&
        ok "predict names a folder's classes" || bad "predict on a folder" "$out"
    # ... and reads the folder model's JPEG and PNG images of any size, resized as its data was
    jpg=$(find "$dd/mixed/class_00" -name '*.jpg' | sort | head -1)
    out=$("$ghnas" predict --db "$dd/f.db" --training 1 --format json "$jpg" 2>&1)
    [ $? -eq 0 ] && grep -q '"class": "class_0[0-2]"' <<<"$out" &&
        ok "predict a JPEG of a resized folder's model" || bad "predict a JPEG" "$out"
    # bad data sets: a clear message, exit 1, the store left intact
    cp "$dd/f.db" "$dd/keep.db"
    mk folder "$dd/empty" --classes 3 --channels 3 --size 16x16 --train 6 --test 0 --break empty-class
    mk folder "$dd/corrupt" --classes 3 --channels 3 --size 16x16 --train 6 --test 0 --break corrupt-image
    mk cifar10 "$dd/labels" --classes 10 --train 8 --test 2 --break label-range
    mk cifar10 "$dd/trunc" --train 4 --test 2 --break truncate
    expect_err "data: empty class folder" 1 "empty|no image" \
        "$ghnas" search --db "$dd/f.db" --data "folder:$dd/empty" --scorer synflow --budget 2 --eval-top 0
    expect_err "data: corrupt image" 1 "$dd/corrupt/" \
        "$ghnas" search --db "$dd/f.db" --data "folder:$dd/corrupt" --scorer synflow --budget 2 --eval-top 0
    expect_err "data: mixed sizes without a resize" 1 "@HxW|resize|size" \
        "$ghnas" search --db "$dd/f.db" --data "folder:$dd/mixed" --scorer synflow --budget 2 --eval-top 0
    expect_err "data: label out of range" 1 "label" \
        "$ghnas" score --data "cifar10:$dd/labels" --scorers synflow --random 1
    expect_err "data: truncated CIFAR batch" 1 "data_batch_1.bin|3073|truncated" \
        "$ghnas" search --db "$dd/f.db" --data "cifar10:$dd/trunc" --scorer synflow --budget 2 --eval-top 0
    expect_err "data: unknown kind" 1 "nowhere" \
        "$ghnas" search --db "$dd/f.db" --data "$dd/nowhere" --scorer synflow --budget 2 --eval-top 0
    cmp -s "$dd/f.db" "$dd/keep.db" && ok "bad data sets leave the store intact" ||
        bad "bad data sets leave the store intact"
    # a data set changed under a stored run: resume and evaluate refuse, the store is intact
    cp -r "$dd/idx" "$dd/idx2"
    out=$("$ghnas" search --db "$dd/x.db" --data "$dd/idx2" --scorer synflow --budget 3 --eval-top 0 \
        --quiet 2>&1)
    mk idx "$dd/idx2" --classes 3 --train 40 --test 10 --size 16x16 --gz --seed 1 --break one-pixel
    cp "$dd/x.db" "$dd/keep.db"
    expect_err "data changed: search --resume refuses" 2 "data set changed since run 1 was made: fingerprint [0-9a-f]{16}, now [0-9a-f]{16}" \
        "$ghnas" search --db "$dd/x.db" --resume 1 --budget 6
    expect_err "data changed: evaluate refuses" 2 "data set changed since run 1 was made" \
        "$ghnas" evaluate "$dd/x.db" --run 1 --top 1 --epochs 1
    cmp -s "$dd/x.db" "$dd/keep.db" && ok "changed data: the store is intact" ||
        bad "changed data: the store is intact"
    # an explicit GHN trained on other data (the same path, other content) is refused
    cp -r "$dd/idx" "$dd/idx3"
    "$ghnas" train --data "$dd/idx3" --steps 1 --meta-batch 2 --batch 16 --out "$dd/3.ckpt" --db "$dd/y.db" \
        --quiet >/dev/null 2>&1
    mk idx "$dd/idx3" --classes 3 --train 40 --test 10 --size 16x16 --gz --seed 1 --break one-pixel
    expect_err "data changed: --ghn ID of other data refused" 2 "trained on other data" \
        "$ghnas" search --db "$dd/y.db" --data "$dd/idx3" --ghn 1 --budget 2 --eval-top 0
    # ... and the store's newest GHN is not reused silently: a new one is trained
    out=$("$ghnas" search --db "$dd/y.db" --data "$dd/idx3" --train-steps 1 --budget 2 --val-n 8 \
        --eval-top 0 --quiet 2>&1)
    [ "$(q16 "$dd/y.db" "SELECT ghn_id FROM runs ORDER BY id DESC LIMIT 1")" = 2 ] &&
        ok "changed data: a new GHN, not the stored one" || bad "changed data: a new GHN" "$out"
    # ... and so is an explicit ranker fitted on the data before it changed
    mk idx "$dd/idx4" --classes 3 --train 120 --test 20 --size 16x16 --gz --seed 1
    "$ghnas" search --db "$dd/z.db" --data "$dd/idx4" --scorer params --budget 4 --eval-top 4 \
        --eval-epochs 1 --quiet >/dev/null 2>&1
    "$ghnas" rank "$dd/z.db" --data "$dd/idx4" --ghn none --model ridge --quiet >/dev/null 2>&1
    out=$("$ghnas" score --db "$dd/z.db" --data "$dd/idx4" --ranker 1 --scorers ranker --random 1 2>&1)
    [ $? -eq 0 ] && ok "ranker on its own data scores" || bad "ranker on its own data scores" "$out"
    mk idx "$dd/idx4" --classes 3 --train 120 --test 20 --size 16x16 --gz --seed 1 --break one-pixel
    cp "$dd/z.db" "$dd/keep.db"
    expect_err "data changed: score --ranker ID refused" 2 "ranker 1 was fitted on other data \(fingerprint [0-9a-f]{16}\)" \
        "$ghnas" score --db "$dd/z.db" --data "$dd/idx4" --ranker 1 --scorers ranker --random 1
    expect_err "data changed: search --ranker ID refused" 2 "ranker 1 was fitted on other data" \
        "$ghnas" search --db "$dd/z.db" --data "$dd/idx4" --ranker 1 --scorer ranker --budget 2 --eval-top 0
    cmp -s "$dd/z.db" "$dd/keep.db" && ok "changed data, ranker refused: the store is intact" ||
        bad "changed data, ranker refused: the store is intact"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
