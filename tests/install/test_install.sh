#!/usr/bin/env bash
# The installation of a build, tested like a user of the Debian-style layout would use it:
# `cmake --install` into a temporary prefix, then from another directory
#   - the layout: binary, libghnas.so.0 (SONAME, only public nas_* symbols exported), libghnas.a
#     (position independent), headers, search spaces, ghnas.pc, the CMake package, man page and
#     bash completion;
#   - the installed ghnas: --version, `spaces list`, a `score` that needs the search spaces, the
#     same after moving the prefix, and a clear message when no spaces directory is found;
#   - a C program built with `pkg-config --cflags --libs ghnas` (shared) and against libghnas.a
#     (ghnas.pc's Libs.private and Requires.private), and with find_package(ghnas) in a tiny
#     CMake project (ghnas::ghnas, ghnas::ghnas_static);
#   - the bash completion (commands, options, values) and the man page (renders, no warnings).
#   tests/install/test_install.sh BUILD_DIR [MAN_PAGE=ON|OFF] [EXTRA_CFLAGS]
# EXTRA_CFLAGS: flags the test programs need too (the sanitizers of a GHNAS_SANITIZE build).
set -u
build=$(cd "${1:?usage: test_install.sh BUILD_DIR [ON|OFF] [EXTRA_CFLAGS]}" && pwd)
man_page=${2:-ON}
extra=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cmake=${CMAKE:-cmake}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' <<<"$2"; }
check() { # check NAME CMD...: the command succeeds
    local name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$(head -c 1500 <<<"$out")"; fi
}

NB201='|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'

# ---- install ----------------------------------------------------------------------------------
if ! out=$("$cmake" --install "$build" --prefix "$prefix" 2>&1); then
    bad "cmake --install" "$out"
    echo "0 passed, 1 failed"
    exit 1
fi
ok "cmake --install into a temporary prefix"
libdir=$(dirname "$(find "$prefix" -name ghnas.pc | head -1)")
libdir=${libdir%/pkgconfig}
for f in bin/ghnas include/ghnas.h include/ghnas/job.h include/ghnas/core.h \
    share/ghnas/search_spaces/nb201.json share/ghnas/search_spaces/darts.json \
    share/bash-completion/completions/ghnas; do
    [ -f "$prefix/$f" ] && ok "installed $f" || bad "installed $f"
done
for f in libghnas.a libghnas.so libghnas.so.0 pkgconfig/ghnas.pc cmake/ghnas/ghnasConfig.cmake \
    cmake/ghnas/ghnasConfigVersion.cmake cmake/ghnas/ghnasTargets.cmake; do
    [ -e "$libdir/$f" ] && ok "installed ${libdir#"$prefix"/}/$f" || bad "installed $f"
done
if [ "$man_page" = ON ]; then
    [ -f "$prefix/share/man/man1/ghnas.1" ] && ok "installed man page" || bad "installed man page"
fi
ni=$(find "$prefix/include" -name '*.h' | wc -l)
[ "$ni" -ge 10 ] && ok "installed $ni headers" || bad "installed headers" "$ni"

# ---- the libraries ---------------------------------------------------------------------------
soname=$(readelf -d "$libdir/libghnas.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libghnas.so.0 ] && ok "SONAME libghnas.so.0" || bad "SONAME" "$soname"
syms=$(nm -D --defined-only "$libdir/libghnas.so" | awk '{ print $3 }')
grep -q '^nas_job_search@@GHNAS_0$' <<<"$syms" && ok "exports nas_job_search (version GHNAS_0)" ||
    bad "exports nas_job_search" "$(head -5 <<<"$syms")"
if grep -q '^nas_i_' <<<"$syms"; then bad "internal nas_i_* not exported" "$(grep '^nas_i_' <<<"$syms" | head -3)"
else ok "internal nas_i_* not exported"; fi
others=$(grep -v '^nas_' <<<"$syms" | grep -v '^GHNAS_0$' || true)
[ -z "$others" ] && ok "only nas_* symbols exported" || bad "only nas_* exported" "$others"
# Position independent: the whole archive links into a shared object (a non-PIC archive fails,
# e.g. "relocation R_X86_64_TPOFF32 ... recompile with -fPIC").
# shellcheck disable=SC2086
check "libghnas.a is position independent (links into a .so)" $cc -shared $extra \
    -o "$tmp/whole.so" -Wl,--whole-archive "$libdir/libghnas.a" -Wl,--no-whole-archive

# ---- the installed ghnas, run from another directory --------------------------------------------
mkdir -p "$tmp/work"
cd "$tmp/work" || exit 1
ghnas=$prefix/bin/ghnas
ver=$("$ghnas" --version 2>&1)
grep -q "^ghnas [0-9]" <<<"$ver" && grep -q "^built for: " <<<"$ver" &&
    grep -qx "search spaces: $prefix/share/ghnas/search_spaces" <<<"$ver" &&
    ok "--version: version, CPU target, installed spaces" || bad "--version" "$ver"
if readelf -d "$ghnas" | grep -q 'NEEDED.*libghnas.so.0'; then
    used=$(ldd "$ghnas" | awk '$1 == "libghnas.so.0" { print $3 }')
    [ -n "$used" ] && [ "$(realpath "$used")" = "$(realpath "$libdir/libghnas.so.0")" ] &&
        ok "ghnas uses the installed libghnas.so.0" || bad "ghnas uses the installed libghnas" "$(ldd "$ghnas")"
else
    ok "ghnas linked statically (GHNAS_CLI_STATIC)"
fi
check "installed ghnas spaces list" bash -c "'$ghnas' spaces list | grep -q '^nb201 '"
expect=$("$ghnas" spaces count nb201 -q 2>&1)
[ "$expect" = 15625 ] && ok "installed ghnas spaces count nb201" || bad "spaces count" "$expect"
score=$("$ghnas" score --scorers params --space nb201 "$NB201" 2>&1)
params=$(awk 'NR == 2 { print $1 }' <<<"$score")
[[ $params =~ ^[0-9]+$ ]] && [ "$params" -gt 1000 ] && ok "installed ghnas score (params $params)" ||
    bad "installed ghnas score" "$score"
[ ! -e "$tmp/work/ghnas.db" ] && ok "score writes nothing to the cwd" || bad "score wrote ghnas.db"

# A moved prefix still works ($ORIGIN RPATH, spaces relative to the binary).
mv "$prefix" "$tmp/moved"
out=$("$tmp/moved/bin/ghnas" spaces count nb201 -q 2>&1)
[ "$out" = 15625 ] && ok "moved prefix: spaces found" || bad "moved prefix" "$out"
mv "$tmp/moved" "$prefix"

# No spaces anywhere: a clear message naming every place looked in, exit 1, never a crash.
datadir=$(strings "$libdir/libghnas.so.0" | grep -m1 '/share/ghnas/search_spaces$' || true)
mkdir -p "$tmp/lone/bin"
cp "$ghnas" "$tmp/lone/bin/"
if [ -n "$datadir" ] && [ -d "$datadir" ]; then
    echo "skip no-spaces case: $datadir exists on this machine"
else
    LD_LIBRARY_PATH=$libdir "$tmp/lone/bin/ghnas" spaces list >/dev/null 2>"$tmp/err"
    rc=$?
    msg=$(cat "$tmp/err")
    [ $rc = 1 ] && grep -q "GHNAS_SPACES_DIR (not set)" <<<"$msg" &&
        grep -q "$tmp/lone/share/ghnas/search_spaces" <<<"$msg" &&
        grep -q "${datadir:-/share/ghnas/search_spaces}" <<<"$msg" &&
        ok "no spaces: message lists where it looked" || bad "no spaces message" "exit $rc: $msg"
    out=$(GHNAS_SPACES_DIR=$prefix/share/ghnas/search_spaces LD_LIBRARY_PATH=$libdir \
        "$tmp/lone/bin/ghnas" spaces count nb201 -q 2>&1)
    [ "$out" = 15625 ] && ok "GHNAS_SPACES_DIR overrides" || bad "GHNAS_SPACES_DIR" "$out"
fi

# ---- a C program against the installed library -------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
spaces=$prefix/share/ghnas/search_spaces/nb201.json
want="params $params"
pc_cflags=$(pkg-config --cflags ghnas) && pc_libs=$(pkg-config --libs ghnas) &&
    ok "pkg-config --cflags --libs ghnas: $pc_cflags $pc_libs" || bad "pkg-config ghnas"
[ "$(pkg-config --modversion ghnas)" = "$("$ghnas" --version | head -1 | cut -d' ' -f2)" ] &&
    ok "pkg-config --modversion" || bad "pkg-config --modversion"
# shellcheck disable=SC2086
check "cc hello.c \$(pkg-config --cflags --libs ghnas)" \
    $cc -std=c11 -Wall -Wextra -pedantic -Werror $extra "$here/hello.c" -o "$tmp/hello" \
    $pc_cflags $pc_libs -Wl,-rpath,"$libdir"
out=$("$tmp/hello" "$spaces" "$NB201" 2>&1)
grep -q "^$want synflow [0-9]" <<<"$out" && ok "hello (shared): $out" || bad "hello (shared)" "$out"
out=$("$tmp/hello" "$tmp/no-such.json" "$NB201" 2>&1)
rc=$?
[ $rc = 1 ] && grep -q "no-such.json" <<<"$out" && ok "hello: bad space gives a message" ||
    bad "hello: bad space" "exit $rc: $out"

# Static: libghnas.a, then ghnas.pc's Libs.private (pkgconf: depth 2 = ghnas alone) and the
# libraries of its Requires.private, linked shared (a fully static link is not possible here:
# Debian's igraph.pc lists private libraries, -lglpk -larpack -lplfit, whose -dev packages
# libigraph-dev does not bring).
mapfile -t requires < <(pkg-config --print-requires-private ghnas)
static_libs="$(pkg-config --libs-only-L ghnas) -Wl,-Bstatic -lghnas -Wl,-Bdynamic
    $(pkg-config --static --libs --maximum-traverse-depth=2 ghnas | sed 's/-lghnas//; s/-L[^ ]*//g')
    $(pkg-config --libs "${requires[@]}")"
# shellcheck disable=SC2086
check "cc hello.c against libghnas.a (Libs.private, Requires.private)" \
    $cc -std=c11 -Wall -Wextra -pedantic -Werror $extra "$here/hello.c" -o "$tmp/hello_static" \
    $pc_cflags $static_libs
[ -f "$tmp/hello_static" ] && ! readelf -d "$tmp/hello_static" | grep -q 'libghnas' &&
    ok "hello_static needs no libghnas.so" || bad "hello_static needs no libghnas.so"
out=$("$tmp/hello_static" "$spaces" "$NB201" 2>&1)
grep -q "^$want synflow [0-9]" <<<"$out" && ok "hello (static): $out" || bad "hello (static)" "$out"

# ---- the CMake package -----------------------------------------------------------------------------
if out=$("$cmake" -S "$here/project" -B "$tmp/project" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_FLAGS="$extra" 2>&1) && out=$("$cmake" --build "$tmp/project" 2>&1); then
    ok "find_package(ghnas) project builds"
    for exe in hello hello_static; do
        out=$("$tmp/project/$exe" "$spaces" "$NB201" 2>&1)
        grep -q "^$want synflow [0-9]" <<<"$out" && ok "CMake $exe: $out" || bad "CMake $exe" "$out"
    done
    [ -f "$tmp/project/hello_static" ] && ! readelf -d "$tmp/project/hello_static" | grep -q libghnas &&
        ok "CMake hello_static needs no libghnas.so" || bad "CMake hello_static needs no libghnas.so"
else
    bad "find_package(ghnas) project builds" "$(tail -30 <<<"$out")"
fi

# ---- bash completion -------------------------------------------------------------------------------
compl=$prefix/share/bash-completion/completions/ghnas
comp() { # comp WORD...: what completing the last word offers
    PATH=$prefix/bin:$PATH bash -c 'source "$1"; shift; COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1)); _ghnas; echo "${COMPREPLY[*]}"' _ "$compl" "$@"
}
[ "$(comp ghnas sp)" = spaces ] && ok "completion: commands" || bad "completion: commands" "$(comp ghnas sp)"
[ "$(comp ghnas score --scor)" = "--scorers --scorer" ] && ok "completion: options" ||
    bad "completion: options" "$(comp ghnas score --scor)"
[ "$(comp ghnas spaces c)" = "count check" ] && ok "completion: actions" ||
    bad "completion: actions" "$(comp ghnas spaces c)"
[ "$(comp ghnas search --space nb2)" = nb201 ] && ok "completion: space names" ||
    bad "completion: space names" "$(comp ghnas search --space nb2)"
[ "$(comp ghnas score --scorers params,syn)" = params,synflow ] && ok "completion: scorer lists" ||
    bad "completion: scorer lists" "$(comp ghnas score --scorers params,syn)"
touch "$tmp/work/my study.db"
[ "$(comp ghnas search --db my)" = "my study.db" ] && ok "completion: file names with spaces" ||
    bad "completion: file names with spaces" "$(comp ghnas search --db my)"

# ---- man page ------------------------------------------------------------------------------------
if [ "$man_page" = ON ] && command -v man >/dev/null; then
    page=$prefix/share/man/man1/ghnas.1
    warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
    [ -z "$warn" ] && ok "man page renders without warnings" || bad "man page warnings" "$warn"
    text=$(MANWIDTH=100 man -l "$page" 2>/dev/null)
    grep -q "ghnas spaces" <<<"$text" && grep -q -- "--scorers LIST" <<<"$text" &&
        grep -q "GHNAS_SPACES_DIR" <<<"$text" && ok "man page: commands, options, environment" ||
        bad "man page content" "$(head -20 <<<"$text")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
