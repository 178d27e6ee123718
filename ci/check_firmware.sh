#!/bin/sh
# Test firmware (firmware/<part>/<program>.elf/.bin and the bring-up builds
# firmware/bringup/<part>.elf/.bin) must match a rebuild.
set -e
"$(dirname "$0")/check_artefacts.sh" firmware elf bin
exec "$(dirname "$0")/check_artefacts.sh" firmware/bringup elf bin
