"""Power loss and reset in the middle of flash operations (fault injection)."""

from __future__ import annotations

import sys

import pytest

from stm32_hil.errors import EccError
from stm32_hil.sim.faults import FaultKind, FaultPlan, FaultTrigger
from stm32_hil.target.base import ResetKind

g0 = sys.modules["sim_g0_host"]  # loaded by conftest.py
BASE = 0x08000000
PAGE = 2048


def test_power_loss_after_n_double_words(host):
    board = host.board
    ram = board.part.ram[0].base
    board.write(ram, b"\x99" * 4)
    board.faults.arm(FaultPlan(FaultKind.POWER_LOSS, FaultTrigger.AFTER_UNITS, 3))
    data = bytes(range(64))
    host.program(BASE, data)
    assert board.reset_log[-1][1] == "power"
    assert board.read(ram, 4) == b"\x00" * 4
    assert board.read(BASE, 24) == data[:24]
    with pytest.raises(EccError) as exc:
        board.read(BASE + 24, 8)
    assert exc.value.address == BASE + 24
    eccr = host.reg(g0.ECCR)
    assert eccr & (1 << 31)
    assert eccr & 0xFFFF == 3  # double-word offset of the bad unit
    assert board.read(BASE + 32, 8) == b"\xff" * 8
    # repaired by a page erase
    assert host.erase_page(0) == 0
    assert host.program(BASE, data) == 0
    assert board.read(BASE, 64) == data


def test_power_loss_during_page_erase(host):
    board = host.board
    assert host.program(BASE + 7 * PAGE, bytes(8)) == 0
    assert host.program(BASE + 7 * PAGE + PAGE - 8, bytes(8)) == 0
    board.faults.arm(FaultPlan(FaultKind.POWER_LOSS, FaultTrigger.DURING_ERASE))
    host.erase_page(7)
    assert board.faults.fired
    assert board.flash.array.bad_units_in(7 * PAGE, PAGE)
    with pytest.raises(EccError):
        board.read(BASE + 7 * PAGE + PAGE - 8, 8)
    assert host.erase_page(7) == 0
    assert board.read(BASE + 7 * PAGE, PAGE) == b"\xff" * PAGE


def test_reset_during_mass_erase(host):
    board = host.board
    assert host.program(BASE, bytes(8)) == 0
    board.faults.arm(FaultPlan(FaultKind.RESET, FaultTrigger.DURING_ERASE))
    host.mass_erase()
    assert board.reset_log[-1][1] == "pin"
    assert board.flash.array.ecc_bad
    assert host.mass_erase() == 0
    assert not board.flash.array.ecc_bad


def test_power_loss_during_option_change_gives_optverr_and_level_1(host):
    board = host.board
    board.faults.arm(FaultPlan(FaultKind.POWER_LOSS, FaultTrigger.DURING_OPTION_CHANGE))
    host.write_options(OPTR=host.set_optr_field("nRST_STOP", 0))
    assert board.reset_log[-1][1] == "power"
    assert host.sr & g0.SR_OPTVERR
    assert board.flash.rdp_level() == 1
    # Recovery: a clean option change (a regression to level 0) and a reload.
    host.clear_errors()
    assert host.write_options(OPTR=host.set_optr_field("RDP", 0xAA)) == 0
    host.launch()
    assert not host.sr & g0.SR_OPTVERR
    assert board.flash.rdp_level() == 0


def test_reset_during_option_change_keeps_loaded_options_until_power_on(host):
    board = host.board
    board.faults.arm(FaultPlan(FaultKind.RESET, FaultTrigger.DURING_OPTION_CHANGE))
    host.write_options(OPTR=host.set_optr_field("nRST_STOP", 0))
    assert board.flash.rdp_level() == 0
    board.reset(ResetKind.POWER)
    assert host.sr & g0.SR_OPTVERR
    assert board.flash.rdp_level() == 1
