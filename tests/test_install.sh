#!/bin/sh
# cmake --install of this build into a temporary prefix: the binary runs and
# names its build, the man page has a section for every subcommand the
# binary lists, the configs are there as examples and load, the licence and
# the reference docs are there.
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d /tmp/tb_install_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "install"; }
tb="$tmp/prefix/bin/thermabench"
[ -x "$tb" ] || fail "no bin/thermabench"
"$tb" --version | grep -q "^commit: " || fail "the installed binary's --version names no commit"

man="$tmp/prefix/share/man/man1/thermabench.1"
[ -f "$man" ] || fail "no share/man/man1/thermabench.1"
commands=$("$tb" --help | sed -n '/^commands:/,/^$/p' | awk 'NF >= 2 {print $1}')
[ -n "$commands" ] || fail "thermabench --help lists no commands"
for c in $commands; do
    grep -q "^\.SH \"THERMABENCH $c\"" "$man" || fail "the man page has no section for '$c'"
    "$tb" "$c" --help | head -1 >"$tmp/first"
    grep -qF "$(cat "$tmp/first")" "$man" || fail "the man page's '$c' section is not its --help"
done

doc="$tmp/prefix/share/doc/thermabench"
for f in LICENSE README.md RESULTS.md CONFIG.md; do
    [ -f "$doc/$f" ] || fail "no $doc/$f"
done
grep -q "MIT License" "$doc/LICENSE" || fail "LICENSE is not MIT"
n=0
for cfg in "$src"/configs/*.json; do
    name=$(basename "$cfg")
    cmp -s "$cfg" "$doc/examples/$name" || fail "examples/$name is missing or differs from configs/$name"
    "$tb" run "$doc/examples/$name" --print-config >/dev/null 2>&1 || fail "examples/$name does not load"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no configs"
echo "ok: $n example configs, man page with $(echo $commands | wc -w) commands"
