"""pyOCD connect modes on the simulated probe: the core is caught before the firmware runs."""

from __future__ import annotations

from pathlib import Path

from stm32_hil.sim.board import SimBoard
from stm32_hil.target.base import HaltReason

from .conftest import MARKER_VALUE, RESET_HANDLER_OFFSET, SPIN_OFFSET, marker_address, open_target

# The stm32h743xx target's "halt" mode holds NRST, sets DEMCR.VC_CORERESET and DHCSR.C_DEBUGEN,
# then releases NRST; cortex_m's "under-reset" sets the catch while NRST is held.
CAUGHT_AT_RESET = {"nucleo-h743zi": "halt", "nucleo-g071rb": "under-reset"}


def test_connect_catches_the_core_at_the_reset_vector(flashed: SimBoard, lock_dir: Path) -> None:
    marker = marker_address(flashed)
    flashed.bus.write(marker, 4, 0)
    t = open_target("pyocd", flashed, CAUGHT_AT_RESET[flashed.name])
    try:
        assert t.is_halted()
        assert t.read_core_register("pc") == flashed.part.flash.base + RESET_HANDLER_OFFSET
        assert t.read32(marker) == 0  # not one instruction of the firmware ran
        t.resume()
        t.halt()
        assert t.read32(marker) == MARKER_VALUE
        assert t.read_core_register("pc") == flashed.part.flash.base + SPIN_OFFSET
    finally:
        t.close()


def test_attach_leaves_running_firmware_running(flashed: SimBoard, lock_dir: Path) -> None:
    flashed.core.resume()  # a simulated board starts halted; let the firmware run
    flashed.run(1000)  # ... into its spin loop
    t = open_target("pyocd", flashed, "attach")
    try:
        assert not t.is_halted()
        assert t.read32(marker_address(flashed)) == MARKER_VALUE
        t.halt()
        assert t.wait_for_halt(1.0) is HaltReason.DEBUG_REQUEST
        assert t.read_core_register("pc") == flashed.part.flash.base + SPIN_OFFSET
    finally:
        t.close()
