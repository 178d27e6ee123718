#!/bin/sh
# Rebuild committed build artefacts into a temporary directory with the project's Makefile and
# fail if any committed file differs by a single byte. Artefacts are compared at the top of DIR
# (DIR/<name>.EXT) and one level down (DIR/<sub>/<name>.EXT).
#   ci/check_artefacts.sh DIR EXT...     e.g. ci/check_artefacts.sh firmware elf bin
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
make -s -C "$root/$dir" OUT="$out" all >/dev/null
status=0
count=0
for ext in "$@"; do
    for built in "$out"/*."$ext" "$out"/*/*."$ext"; do
        [ -e "$built" ] || continue
        count=$((count + 1))
        rel=${built#"$out"/}
        if ! cmp -s "$built" "$root/$dir/$rel"; then
            echo "$dir/$rel differs from a fresh build: run 'make -C $dir' and commit" >&2
            status=1
        fi
    done
done
if [ "$count" -eq 0 ]; then
    echo "make -C $dir built nothing to compare" >&2
    exit 1
fi
[ "$status" -eq 0 ] && echo "$dir: $count artefacts match a fresh build"
exit "$status"
