#!/bin/sh
# The committed STM32 data file (harness/parts/data/stm32.json.gz) must match a regeneration
# from the stm32-data snapshot beside the repository (../shared/stm32-data, or $HIL_STM32_DATA).
# Exit 1 on a difference, 2 if the snapshot is missing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
source=${HIL_STM32_DATA:-"$root/../shared/stm32-data"}
cd "$root"
exec python3 -m stm32_hil.parts.generate --check --source "$source"
