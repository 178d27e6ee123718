#!/usr/bin/env bash
# Install everything the harness and its tests need on a fresh Debian machine:
# Debian tools (stm32flash, arm-none-eabi-gcc, gdb-multiarch, Node.js/npm), the Python package
# with its dev extras, and the Allure 3 report generator from npm into ci/node_modules
# (`hil report`).
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v stm32flash >/dev/null 2>&1 || need_apt+=(stm32flash)
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need_apt+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v gdb-multiarch >/dev/null 2>&1 || need_apt+=(gdb-multiarch)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=strict
# Allure 3 (npm package `allure`, version pinned in ci/package.json and package-lock.json).
if [ ! -x ci/node_modules/.bin/allure ]; then
    (cd ci && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
