"""Firmware that takes PA13/PA14 closes the debug port; connect-under-reset opens it again."""

from __future__ import annotations

import pytest
from jumpfw import FAMILIES, running_target

from stm32_hil.errors import ProtectionError, TargetError
from stm32_hil.flows.recover import connect_under_reset, recover
from stm32_hil.target.base import HaltReason


@pytest.mark.parametrize("family", FAMILIES)
def test_swd_pins_reset_to_af0(family: str) -> None:
    target = running_target(family, "hello")
    target.delay(0.001)  # hello reconfigures PA2/PA3 only
    assert target.read32(target.part.idcode_addr) & 0xFFF == target.part.pid


@pytest.mark.parametrize("family", FAMILIES)
def test_firmware_taking_swd_pins_closes_the_debug_port(family: str) -> None:
    target = running_target(family, "swd_off")
    target.delay(0.001)
    with pytest.raises(TargetError, match="debug port not answering") as err:
        target.read32(target.part.idcode_addr)
    assert not isinstance(err.value, ProtectionError)
    assert "PA13 (SWDIO) set to output mode" in str(err.value)
    with pytest.raises(TargetError, match="debug port not answering"):
        target.halt()


@pytest.mark.parametrize("family", FAMILIES)
def test_connect_under_reset_gets_in_before_the_firmware_runs(family: str) -> None:
    target = running_target(family, "swd_off")
    target.delay(0.001)
    result = connect_under_reset(target)
    assert result.halted and result.pid == target.part.pid
    assert target.board.core.halt_reason is not HaltReason.NONE
    assert result.pc == target.read32(target.part.flash.base + 4) & ~1  # the reset handler


def test_af_other_than_af0_also_closes_the_port() -> None:
    target = running_target("g0", "hello")
    gpioa = target.part.peripherals["GPIOA"]
    target.write32(gpioa + 0x24, 1 << 24)  # PA14 -> AF1
    with pytest.raises(TargetError, match=r"PA14 \(SWCLK\) set to AF1 instead of AF0"):
        target.read32(target.part.idcode_addr)


def test_recover_reports_connect_under_reset() -> None:
    target = running_target("h7", "swd_off")
    target.delay(0.001)
    report = recover(target)
    assert report.ok, report.table()
    assert report.steps[0].action == "connect under reset"
    assert "debug port does not answer" in report.steps[0].found
