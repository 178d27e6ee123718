#!/bin/sh
# Rebuild the test loaders into a temporary directory and fail if any committed .stldr
# (loaders/good/*.stldr, loaders/faulty/*.stldr) differs by a single byte.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
make -s -C "$root/loaders" OUT="$out" all >/dev/null
status=0
for built in "$out"/*/*.stldr; do
    rel=${built#"$out"/}
    if ! cmp -s "$built" "$root/loaders/$rel"; then
        echo "loaders/$rel differs from a fresh build: run 'make -C loaders' and commit" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "loader artefacts match a fresh build"
exit "$status"
