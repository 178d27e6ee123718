#!/bin/sh
# Test loaders (loaders/good, loaders/faulty) must match a rebuild.
exec "$(dirname "$0")/check_artefacts.sh" loaders stldr
