#!/bin/sh
# Test loaders (loaders/good, loaders/faulty) must match a rebuild: external loaders (.stldr)
# and Keil flash algorithms (.FLM).
exec "$(dirname "$0")/check_artefacts.sh" loaders stldr FLM
