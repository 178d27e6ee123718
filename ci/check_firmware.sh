#!/bin/sh
# Test firmware (firmware/<part>/<program>.elf/.bin) must match a rebuild.
exec "$(dirname "$0")/check_artefacts.sh" firmware elf bin
