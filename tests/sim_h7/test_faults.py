"""Power loss and resets in the middle of flash operations."""

from __future__ import annotations

from typing import Any

import pytest

from stm32_hil.errors import EccError
from stm32_hil.sim.faults import FaultKind, FaultPlan, FaultTrigger


def test_power_loss_after_n_words_damages_only_that_word(h743: Any, seq: Any) -> None:
    board = h743.board
    data = seq.pattern(8 * 32, seed=3)
    board.faults.arm(FaultPlan(FaultKind.POWER_LOSS, FaultTrigger.AFTER_UNITS, count=3))
    h743.program(0x08040000, data)  # the remaining writes hit a locked, reset controller
    assert board.faults.fired and board.faults.fired[0].address == 0x08040000 + 3 * 32
    assert board.reset_log[-1][1] == "power"
    assert h743.read(0x08040000, 96) == data[:96]
    with pytest.raises(EccError) as err:
        h743.read(0x08040000 + 96, 32)
    assert err.value.address == 0x08040000 + 96
    assert h743.read(0x08040000 + 128, 128) == b"\xff" * 128
    assert board.flash.array.bad_units_in(0x40000, 0x20000) == [(0x40000 + 96) // 32]
    assert h743.erase_sector(0, 2) == 0
    assert h743.read(0x08040060, 32) == b"\xff" * 32


def test_reset_during_erase_leaves_sector_half_erased(h743: Any, seq: Any) -> None:
    board = h743.board
    for offset in (0, 0x1FFE0):
        assert h743.program(0x08060000 + offset, seq.pattern(32)) == 0
    board.faults.arm(FaultPlan(FaultKind.RESET, FaultTrigger.DURING_ERASE))
    h743.erase_sector(0, 3)
    assert board.reset_log[-1][1] == "pin"
    assert h743.read(0x08060000, 32) == b"\xff" * 32
    with pytest.raises(EccError):
        h743.read(0x08060000 + 0x1FFE0, 32)
    assert h743.erase_sector(0, 3) == 0
    assert board.flash.array.is_blank(0x60000, 0x20000)


def test_power_loss_during_option_change_keeps_old_values(h743: Any, seq: Any) -> None:
    board = h743.board
    board.faults.arm(FaultPlan(FaultKind.POWER_LOSS, FaultTrigger.DURING_OPTION_CHANGE))
    h743.unlock_options()
    h743.set_reg(seq.BOOT_PRG, 0x24002400)
    h743.set_reg(seq.OPTCR, seq.OPTSTART)
    assert board.reset_log[-1][1] == "power"
    assert h743.reg(seq.BOOT_CUR) == 0x1FF00800
    assert h743.reg(seq.OPTSR_CUR) & seq.OPTCHANGEERR
    h743.set_reg(seq.OPTCCR, seq.OPTCHANGEERR)
    assert h743.change_options({seq.BOOT_PRG: 0x24002400})
    assert h743.reg(seq.BOOT_CUR) == 0x24002400


def test_power_loss_during_regression_stays_level1(h743: Any, seq: Any) -> None:
    board = h743.board
    assert h743.program(0x08000000, seq.pattern(32)) == 0
    assert h743.set_rdp(0xBB)
    board.faults.arm(FaultPlan(FaultKind.POWER_LOSS, FaultTrigger.DURING_OPTION_CHANGE))
    h743.unlock_options()
    h743.set_reg(seq.OPTSR_PRG, (h743.reg(seq.OPTSR_PRG) & ~0xFF00) | 0xAA00)
    h743.set_reg(seq.OPTCR, seq.OPTSTART)
    assert board.flash.rdp_level() == 1
    assert h743.set_rdp(0xAA)  # a second attempt completes the regression
    assert board.flash.array.is_blank(0, 0x200000)
    assert board.flash.array.ecc_bad == set()


def test_reset_with_program_in_flight_interrupts_it(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG)
    h743.write_words(0x08000000, seq.pattern(32))
    assert h743.reg(seq.SR) & seq.BSY
    h743.board.reset(seq.ResetKind.SYSTEM, "reset while programming")
    with pytest.raises(EccError):
        h743.read(0x08000000, 4)
    assert h743.reg(seq.SR) & (seq.BSY | seq.QW) == 0
