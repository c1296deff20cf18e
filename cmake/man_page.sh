#!/usr/bin/env bash
# Generates the ghnas(1) man page with help2man from the executable's own help: `ghnas --help`
# gives the synopsis and the command list, and a COMMANDS section holds every command's
# `ghnas CMD --help` (printed from its option table, so the page never disagrees with the
# program). ENVIRONMENT, FILES and EXIT STATUS are written here.
#   cmake/man_page.sh HELP2MAN path/to/ghnas VERSION SPACES_DIR OUT
set -euo pipefail
help2man=${1:?usage: man_page.sh HELP2MAN path/to/ghnas VERSION SPACES_DIR OUT}
ghnas=${2:?}
version=${3:?}
spaces_dir=${4:?}
out=${5:?}

# Plain text as roff: backslashes escaped, lines starting with . or ' protected.
roff_text() {
    sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}

inc=$(mktemp)
trap 'rm -f "$inc"' EXIT
{
    echo "[COMMANDS]"
    echo "Each command prints this text with \\fBghnas\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR."
    for cmd in $("$ghnas" --help | awk '$0 == "commands:" { on = 1; next }
                                       on && /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }'); do
        echo ".SS \"ghnas $cmd\""
        echo ".nf"
        "$ghnas" "$cmd" --help | roff_text
        echo ".fi"
    done
    cat <<EOF
[ENVIRONMENT]
.TP
.B GHNAS_SPACES_DIR
Directory of the built-in search spaces (\\fINAME\\fR.json), searched first.
.TP
.B GHNAS_FASHION_MNIST_DIR\fR, \fBGHNAS_MNIST_DIR\fR, \fBGHNAS_CIFAR10_DIR
Data set directories (default: the Debian package's, e.g. /usr/share/datasets/fashion\\-mnist
from \\fBdataset\\-fashion\\-mnist\\fR).
.TP
.B OMP_NUM_THREADS
Threads used by OpenMP and OpenBLAS (default: all cores).
[FILES]
.TP
.I $spaces_dir
The built-in search spaces, used when \\fBGHNAS_SPACES_DIR\\fR is not set (a ghnas run from its
build tree uses its source tree's search_spaces/ instead; \\fBghnas \\-\\-version\\fR prints the
directory in use).
.TP
.I ghnas.db
The default results store (SQLite) of \\fBsearch\\fR, in the current directory.
[EXIT STATUS]
0 on success, 1 when a command fails (bad data, I/O), 2 for a bad command line, 130 when
interrupted (SIGINT/SIGTERM; a search can be resumed with \\fB\\-\\-resume\\fR).
[SEE ALSO]
The README of the ghnas sources (the library API: \\fBpkg\\-config \\-\\-cflags \\-\\-libs
ghnas\\fR, \\fBfind_package(ghnas)\\fR).
EOF
} >"$inc"

mkdir -p "$(dirname "$out")"
"$help2man" --no-info --section=1 --version-string="$version" \
    --name="neural architecture search with a graph hypernetwork" \
    --include="$inc" --output="$out.tmp" "$ghnas"
mv "$out.tmp" "$out"
