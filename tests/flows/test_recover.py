"""recover(): diagnosis and repair, and a report a person can read."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from stm32_hil.errors import EccError, HarnessError
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.flows.option_bytes import read_option_bytes
from stm32_hil.flows.rdp import set_rdp
from stm32_hil.flows.recover import DEMCR, connect_under_reset, recover
from stm32_hil.sim.faults import FaultKind, FaultPlan, FaultTrigger

from .conftest import DeadDebugTarget


def test_ecc_damage_is_found_and_its_sector_erased(make_target: Callable[..., Any]) -> None:
    target = make_target("STM32H743ZI")
    base = target.part.flash.base + 2 * target.part.flash.page_size  # sector 2
    flash = internal_flash(target)
    target.sim.faults.arm(FaultPlan(FaultKind.RESET, FaultTrigger.AFTER_UNITS, 2))
    with pytest.raises(HarnessError):
        flash.program(base, random.Random(26).randbytes(256))
    with pytest.raises(EccError) as err:
        target.read_memory(base, 256)
    report = recover(target)
    assert report.ok, report.table()
    assert any(s.action == "erase sector 2" for s in report.steps)
    assert f"0x{err.value.address:08X}" in report.table()
    assert target.read_memory(base, 256) == b"\xff" * 256


def test_rdp_level_1_is_regressed(make_target: Callable[..., Any]) -> None:
    target = make_target("STM32G0B1RE")
    internal_flash(target).program(target.part.flash.base, b"\x11" * 64)
    set_rdp(target, 1)
    report = recover(target)
    assert report.ok, report.table()
    assert "RDP regression" in report.table()
    assert read_option_bytes(target).rdp_level == 0
    assert target.read_memory(target.part.flash.base, 64) == b"\xff" * 64


def test_rdp_level_2_is_reported_unrecoverable(make_target: Callable[..., Any]) -> None:
    target = make_target("STM32H743ZI")
    set_rdp(target, 2, allow_irreversible=True)
    report = recover(target)
    assert not report.ok
    assert "permanent" in report.table() and "NOT recovered" in report.table()


def test_dead_debug_port_is_reached_under_reset(make_target: Callable[..., Any]) -> None:
    target = make_target("STM32G071RB", DeadDebugTarget)
    report = recover(target)
    assert report.ok, report.table()
    assert report.steps[0].action == "connect under reset"
    assert "no ACK" in report.steps[0].found


def test_connect_under_reset_halts_before_the_firmware_runs(
    make_target: Callable[..., Any],
) -> None:
    target = make_target("STM32H743ZI")
    target.resume()
    demcr = target.read32(DEMCR)
    result = connect_under_reset(target)
    assert result.halted and target.is_halted()
    assert result.pid == 0x450
    assert target.read32(DEMCR) == demcr  # the vector catch used for the halt is undone
    assert target.sim.reset_log[-1][1] == "pin"


def test_report_table_lists_found_action_result(make_target: Callable[..., Any]) -> None:
    report = recover(make_target("STM32G071RB"))
    lines = report.table().splitlines()
    assert lines[0] == "recovery of flows-stm32g071rb: recovered"
    assert lines[1].split() == ["found", "action", "result"]
    assert all(line.endswith(("ok", "FAILED")) for line in lines[3:])
