#!/usr/bin/env bash
# Generates the bash completion of ghnas from the executable's own help, which every command
# prints from its option table (src/cli/options.c): the commands of `ghnas --help`, then per
# command its options (long, short, "also spelled" aliases), which of them take a value, and its
# actions. Values are completed by kind: files for FILE/DB/DIR/PATH, space names (asked of
# `ghnas spaces list` at completion time) for --space and for the NAME of `spaces` actions,
# scorer names (from `ghnas score --help`) for --scorer/--scorers.
#   cmake/bash_completion.sh path/to/ghnas OUT
set -euo pipefail
ghnas=${1:?usage: bash_completion.sh path/to/ghnas OUT}
out=${2:?usage: bash_completion.sh path/to/ghnas OUT}

# The words of the lines indented by two spaces in section "$1:" of the help on stdin.
section_words() {
    awk -v sec="$1:" '$0 == sec { on = 1; next } on && /^[^ ]/ { on = 0 }
        on && /^  [a-z]/ { print $1 }'
}

commands=$("$ghnas" --help | section_words commands | tr '\n' ' ')
[ -n "$commands" ] || { echo "bash_completion.sh: no commands in '$ghnas --help'" >&2; exit 1; }
scorers=$("$ghnas" score --help | section_words scorers | tr '\n' ' ')

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
    echo "# bash completion for ghnas $("$ghnas" --version | head -1 | cut -d' ' -f2)."
    echo "# Generated from the help of every command by cmake/bash_completion.sh; do not edit."
    echo
    echo "_ghnas_spaces() {"
    echo "    \"\${COMP_WORDS[0]}\" spaces list 2>/dev/null | awk 'NR > 1 { print \$1 }'"
    echo "}"
    echo
    echo "_ghnas() {"
    echo "    local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}"
    echo "    local cword=\$COMP_CWORD"
    echo "    if [ \"\$prev\" = = ] && [ \$cword -ge 3 ]; then"
    echo "        prev=\${COMP_WORDS[cword-2]}   # --opt=value"
    echo "    elif [ \"\$cur\" = = ]; then"
    echo "        cur=''"
    echo "    fi"
    echo "    COMPREPLY=()"
    echo "    if [ \$cword -eq 1 ]; then"
    echo "        mapfile -t COMPREPLY < <(compgen -W '$commands--help --version' -- \"\$cur\")"
    echo "        return"
    echo "    fi"
    echo "    local opts='' files='' dirs='' spaces='' scorers='' none='' actions=''"
    echo "    case \${COMP_WORDS[1]} in"
    for cmd in $commands; do
        help=$("$ghnas" "$cmd" --help)
        # "  -k, --top K   ..." and continuation lines "also spelled --x --y" -> NAME META SHORT
        # ("-" for none)
        opts=$(awk '/^options:/ { on = 1; next } on && /^[^ ]/ { on = 0 }
            on && /^  (-[A-Za-z0-9], )?--[A-Za-z0-9-]+/ {
                line = $0; sub(/^  /, "", line)
                if (line ~ /^-[A-Za-z0-9], /) { short = substr(line, 1, 2); line = substr(line, 5) }
                else short = ""
                split(line, w, " "); name = w[1]; meta = (w[2] ~ /^[A-Z]/) ? w[2] : "-"
                print name, meta, (short == "" ? "-" : short)
            }
            on && /also spelled/ {
                s = $0; sub(/.*also spelled /, "", s); n = split(s, a, " ")
                for (i = 1; i <= n; i++) if (a[i] ~ /^--/) print a[i], meta, "-"
            }' <<<"$help")
        all='' files='' dirs='' spaces='' scorerv='' none=''
        while read -r name meta short; do
            [ -n "$name" ] || continue
            [ "$short" = - ] && short=''
            all+="$name ${short:+$short }"
            [ "$meta" != - ] || continue
            case "$name:$meta" in
                --space:*) spaces+="$name " ;;
                --scorer:* | --scorers:*) scorerv+="$name " ;;
                *:DIR) dirs+="$name ${short:+$short }" ;;
                *:FILE | *:DB | *:PATH | *:*FILE) files+="$name ${short:+$short }" ;;
                *) none+="$name ${short:+$short }" ;;
            esac
        done <<<"$opts"
        actions=$(section_words actions <<<"$help" | tr '\n' ' ')
        echo "        $cmd)"
        echo "            opts='${all% }' files='${files% }' dirs='${dirs% }'"
        echo "            spaces='${spaces% }' scorers='${scorerv% }' none='${none% }'"
        echo "            actions='${actions% }' ;;"
    done
    echo "        *) return ;;"
    echo "    esac"
    echo "    local w"
    echo "    # the value of an option"
    echo "    for w in \$files; do [ \"\$prev\" = \"\$w\" ] && { mapfile -t COMPREPLY < <(compgen -f -- \"\$cur\"); return; }; done"
    echo "    for w in \$dirs; do [ \"\$prev\" = \"\$w\" ] && { mapfile -t COMPREPLY < <(compgen -d -- \"\$cur\"); return; }; done"
    echo "    for w in \$spaces; do [ \"\$prev\" = \"\$w\" ] && {"
    echo "        mapfile -t COMPREPLY < <(compgen -W \"\$(_ghnas_spaces)\" -- \"\$cur\"; compgen -f -X '!*.json' -- \"\$cur\")"
    echo "        return; }; done"
    echo "    for w in \$scorers; do [ \"\$prev\" = \"\$w\" ] && {"
    echo "        local head=''"
    echo "        [[ \$cur == *,* ]] && head=\${cur%,*},   # comma-separated lists"
    echo "        mapfile -t COMPREPLY < <(compgen -P \"\$head\" -W '$scorers' -- \"\${cur##*,}\")"
    echo "        return; }; done"
    echo "    for w in \$none; do [ \"\$prev\" = \"\$w\" ] && return; done"
    echo "    if [[ \$cur == -* ]]; then"
    echo "        mapfile -t COMPREPLY < <(compgen -W \"\$opts\" -- \"\$cur\")"
    echo "        return"
    echo "    fi"
    echo "    # positional words: the action of a command with actions, then space names or files"
    echo "    local i action='' seen=0"
    echo "    for ((i = 2; i < cword; i++)); do"
    echo "        w=\${COMP_WORDS[i]}"
    echo "        [[ \$w == -* || \$w == = ]] && continue"
    echo "        seen=\$((seen + 1))"
    echo "        [[ \" \$actions \" == *\" \$w \"* ]] && action=\$w"
    echo "    done"
    echo "    if [ -n \"\$actions\" ] && [ -z \"\$action\" ]; then"
    echo "        mapfile -t COMPREPLY < <(compgen -W \"\$actions\" -- \"\$cur\")"
    echo "        [ \"\${COMP_WORDS[1]}\" = query ] && [ \$seen -eq 0 ] && mapfile -t -O \${#COMPREPLY[@]} COMPREPLY < <(compgen -f -- \"\$cur\")"
    echo "        return"
    echo "    fi"
    echo "    if [ \"\${COMP_WORDS[1]}\" = spaces ] && [ \"\$action\" != list ] && [ \$seen -eq 1 ]; then"
    echo "        mapfile -t COMPREPLY < <(compgen -W \"\$(_ghnas_spaces)\" -- \"\$cur\"; compgen -f -X '!*.json' -- \"\$cur\")"
    echo "        return"
    echo "    fi"
    echo "    mapfile -t COMPREPLY < <(compgen -f -- \"\$cur\")"
    echo "}"
    echo "complete -o filenames -F _ghnas ghnas"
} >"$tmp"
bash -n "$tmp"
mkdir -p "$(dirname "$out")"
mv "$tmp" "$out"
trap - EXIT
