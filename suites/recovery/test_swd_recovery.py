"""Firmware that takes the SWD pins for itself: the debug port stops answering as soon as it
runs, and only connect-under-reset (NRST held while attaching) reaches the part again.

The image is the committed firmware/<part>/swd_off.bin (PA13/PA14 as outputs at start).
"""

from __future__ import annotations

import pytest

from stm32_hil.errors import ProtectionError, TargetError
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.flows.recover import connect_under_reset, recover
from stm32_hil.report import attach_text, step
from stm32_hil.target import Target
from stm32_hil.target.base import Capability, Pin, ResetKind
from stm32_hil_suites import FIRMWARE

pytestmark = [
    pytest.mark.destructive,
    pytest.mark.needs("connect_under_reset", "core"),
    pytest.mark.family("g0", "h7"),  # the swd_off test firmware exists for these families
]

FIRMWARE_DIRS = {"g0": "g071", "h7": "h743"}
G0_FLASH_ACR = 0x40022000
G0_ACR_EMPTY = 1 << 16
RUN_S = 0.01  # long enough for the firmware's first instructions


def _lock_out(target: Target) -> int:
    """Program swd_off, let it run, and check that the debug port is gone. Returns its size."""
    family = target.part.family
    if family not in FIRMWARE_DIRS:
        pytest.skip(f"no test firmware built for family {family}")
    image = (FIRMWARE / FIRMWARE_DIRS[family] / "swd_off.bin").read_bytes()
    base = target.part.flash.base
    with step("program swd_off and let it run"):
        flash = internal_flash(target)
        flash.erase(base, len(image))
        flash.program(base, image)
        if family == "g0":
            target.write32(G0_FLASH_ACR, target.read32(G0_FLASH_ACR) & ~G0_ACR_EMPTY)
        if target.has(Capability.BOOT0):
            target.set_pin(Pin.BOOT0, False)
        target.reset(ResetKind.PIN)
        target.delay(RUN_S)
    with step("the debug port no longer answers"):
        with pytest.raises(TargetError) as err:
            target.read32(target.part.idcode_addr)
        assert not isinstance(err.value, ProtectionError)  # pins, not readout protection
        attach_text("debug access after the firmware started", str(err.value))
    return len(image)


def test_connect_under_reset_reaches_a_part_whose_firmware_takes_swd(target: Target) -> None:
    size = _lock_out(target)
    result = connect_under_reset(target)
    assert result.halted and result.pid == target.part.pid
    with step("erase the firmware while it is held: the board is usable again"):
        internal_flash(target).erase(target.part.flash.base, size)
        target.reset(ResetKind.PIN)
        target.delay(RUN_S)
        assert target.read32(target.part.idcode_addr) & 0xFFF == target.part.pid


def test_recover_uses_connect_under_reset(target: Target) -> None:
    _lock_out(target)
    report = recover(target)
    attach_text("recovery report", report.table())
    assert report.ok, report.table()
    assert "connect under reset" in report.table()
    assert "debug port does not answer" in report.table()
