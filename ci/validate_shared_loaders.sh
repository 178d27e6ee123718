#!/bin/sh
# Validate each third-party loader in shared/loaders on a simulated board declared from data
# (ci/shared_loaders.toml: the part and NOR chip each loader was built for). A verdict is
# required: exit 0 (passed) or 1 (a check failed); 2 means the harness could not judge the
# loader, which fails CI. Every .stldr gets every check, whole-device passes included (about a
# minute per 16 MiB: the simulator serves the loaders' FIFO reads without a call per byte),
# except the loader that bit-bangs SPI on GPIOs (1.5 KiB/s: its whole 8 MiB would take an hour),
# which gets every check but those. Keil .FLM flash algorithms get the quick set plus
# blank_check, and a loader shipped as both .stldr and .flm must reach the same verdict in every
# check both builds have.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$(dirname "$0")/../../shared/loaders"
[ -d "$shared" ] || { echo "no shared loaders at $shared"; exit 0; }
quick="metadata,ram_fit,init,init_idle,sector_erase,unaligned_write,verify,checksum,order,timing"
status=0
verdicts=$(mktemp -d)
trap 'rm -rf "$verdicts"' EXIT
for path in "$shared"/*.stldr "$shared"/*.flm "$shared"/*.FLM; do
    [ -e "$path" ] || continue
    inventory="$root/ci/shared_loaders.toml"
    only=""
    case "$path" in *.flm | *.FLM) only="--only $quick,blank_check" ;; esac
    case "$(basename "$path")" in
        weact_h7_w25q128.stldr) board=weact-mini-h750; inventory="$root/fixtures/boards.toml" ;;
        st_contrib_csp.stldr) board=stm32f769i-disco; inventory="$root/fixtures/boards.toml" ;;
        st_f469_mt25ql.stldr) board=stm32469i-eval; inventory="$root/fixtures/boards.toml" ;;
        CLIVEONE-W25Q128_STM32F7XX-*) board=f7-w25q128 ;;
        CLIVEONE-W25Q64_STM32F4XX-*) board=f4-w25q64 ;;
        CLIVEONE-W25Q128_STM32G47X-*) board=g474-w25q128 ;;
        CLIVEONE-MT25QL512A_STM32H7XX-*) board=h743-mt25ql512a ;;
        MT25TL01G_STM32H743I-*) board=h743-mt25tl01g ;;
        CLIVEONE-MX25L64_STM32L4XX-*) board=l496-mx25l64 ;;
        CLIVEONE-IS25LP128_STM32H72X-*) board=h723-is25lp128 ;;
        CLIVEONE-MX25LM51245G_STM32H7X3-*) board=h7b3-mx25lm51245g ;;
        CLIVEONE-W25Q128_STM32H563-*) board=h563-w25q128 ;;
        CLIVEONE-MT25QL256_STM32L552-*) board=l552-mt25ql256 ;;
        CLIVEONE-W25Q128_STM32U545-*) board=u545-w25q128 ;;
        CLIVEONE-MX25L64_STM32G0B0-*) board=g0b0-mx25l64; only="--only $quick" ;;
        *) echo "$path: no board declared for this loader in ci/shared_loaders.toml" >&2; status=1; continue ;;
    esac
    # shellcheck disable=SC2086
    (cd "$root" && python3 -c "from stm32_hil.cli.main import main; main()" loader validate "$path" \
        --board "$board" --inventory "$inventory" $only --json "$verdicts/$(basename "$path").json")
    rc=$?
    echo "$(basename "$path") on $board: exit $rc"
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "$path: the harness could not judge this loader (exit $rc)" >&2
        status=1
    fi
done
for flm in "$shared"/*.flm "$shared"/*.FLM; do
    [ -e "$flm" ] || continue
    name=$(basename "$flm")
    twin="$verdicts/${name%.*}.stldr.json"
    [ -e "$twin" ] && [ -e "$verdicts/$name.json" ] || continue
    (cd "$root" && python3 - "$twin" "$verdicts/$name.json" <<'PY') || status=1
import json
import sys

from stm32_hil.stldr.flm_validate import cross_check
from stm32_hil.stldr.validate import CheckResult


def results(path: str) -> list[CheckResult]:
    return [
        CheckResult(r["loader"], r["check"], r["passed"], r["detail"], verdict=r["verdict"])
        for r in json.load(open(path))
    ]


differ = cross_check(results(sys.argv[1]), results(sys.argv[2]))
for check, stldr, flm in differ:
    print(f"{check}: .stldr {'passed' if stldr else 'failed'}, .flm {'passed' if flm else 'failed'}")
print(f"{sys.argv[2]}: .stldr and .FLM verdicts " + ("differ" if differ else "match"))
sys.exit(1 if differ else 0)
PY
done
exit "$status"
