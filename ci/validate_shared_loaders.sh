#!/bin/sh
# Validate each third-party loader in shared/loaders on the simulated board it was built for.
# A verdict is required (exit 0 = passed or 1 = a check failed); 2 means the harness could not
# judge the loader, which fails CI.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$(dirname "$0")/../../shared/loaders"
[ -d "$shared" ] || { echo "no shared loaders at $shared"; exit 0; }
status=0
for path in "$shared"/*.stldr; do
    [ -e "$path" ] || continue
    case "$(basename "$path")" in
        weact_h7_w25q128.stldr) board=weact-mini-h750 ;;
        st_contrib_csp.stldr) board=stm32f769i-disco ;;
        st_f469_mt25ql.stldr) board=stm32469i-eval ;;
        *) echo "$path: no board known for this loader, skipped"; continue ;;
    esac
    (cd "$root" && python3 -c "from harness.cli.main import main; main()" loader validate "$path" --board "$board")
    rc=$?
    echo "$(basename "$path") on $board: exit $rc"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "$path: the harness could not judge this loader (exit $rc)" >&2
        status=1
    fi
done
exit "$status"
