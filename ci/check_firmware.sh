#!/bin/sh
# Rebuild the test firmware into a temporary directory and fail if any committed artefact
# (firmware/<part>/<program>.elf/.bin) differs by a single byte.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
make -s -C "$root/firmware" OUT="$out" all >/dev/null
status=0
for built in "$out"/*/*.elf "$out"/*/*.bin; do
    rel=${built#"$out"/}
    if ! cmp -s "$built" "$root/firmware/$rel"; then
        echo "firmware/$rel differs from a fresh build: run 'make -C firmware' and commit" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "firmware artefacts match a fresh build"
exit "$status"
