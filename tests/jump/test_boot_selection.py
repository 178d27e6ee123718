"""Boot selection as the silicon samples it (AN2606, RM0444 table 9, RM0433 BOOT_ADD0/1)."""

from __future__ import annotations

import pytest

from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.rom import boot
from stm32_hil.sim.rom.boot import BootSource
from stm32_hil.target.base import ResetKind

S, F, R = BootSource.SYSTEM, BootSource.FLASH, BootSource.SRAM


def _g0(n_boot_sel: int, n_boot0: int, n_boot1: int, boot_lock: int, pin: bool, empty: bool):
    board = SimBoard.from_inventory("nucleo-g071rb")
    optr = board.part.option_register("OPTR")
    secr = board.part.option_register("SECR")
    opts = board.flash.options
    value = opts["OPTR"]
    for name, bit in (("nBOOT_SEL", n_boot_sel), ("nBOOT0", n_boot0), ("nBOOT1", n_boot1)):
        value = optr.field(name).put(value, bit)
    opts["OPTR"] = value
    opts["SECR"] = secr.field("BOOT_LOCK").put(opts["SECR"], boot_lock)
    board.pins["BOOT0"] = pin
    board.flash.empty_flag = empty
    return boot.decide(board).source


@pytest.mark.parametrize(
    ("n_boot_sel", "n_boot0", "n_boot1", "boot_lock", "pin", "empty", "source"),
    [
        (0, 1, 1, 0, True, False, S),  # BOOT0 pin high, nBOOT1=1: system memory
        (0, 1, 0, 0, True, False, R),  # BOOT0 pin high, nBOOT1=0: SRAM
        (0, 0, 1, 0, False, False, F),  # pin low: flash, nBOOT0 bit ignored
        (0, 0, 1, 0, False, True, S),  # pin low but flash empty: system memory
        (1, 0, 1, 0, False, False, S),  # nBOOT_SEL=1: nBOOT0=0 selects, pin ignored
        (1, 1, 1, 0, True, False, F),  # nBOOT_SEL=1, nBOOT0=1: flash although the pin is high
        (1, 1, 1, 0, True, True, S),  # ... unless flash is empty
        (1, 0, 0, 0, False, False, R),  # nBOOT0=0, nBOOT1=0: SRAM
        (1, 0, 1, 1, True, True, F),  # BOOT_LOCK=1: main flash whatever else says
        (0, 1, 1, 1, True, False, F),
    ],
)
def test_g0_truth_table(n_boot_sel, n_boot0, n_boot1, boot_lock, pin, empty, source) -> None:
    assert _g0(n_boot_sel, n_boot0, n_boot1, boot_lock, pin, empty) is source


def test_g0_empty_flag_is_sampled_at_power_on_not_live() -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    assert board.boot_decision.source is S  # factory: blank flash
    board.flash.array.program_unit(0, b"\x00" * board.flash.array.unit)
    board.reset(ResetKind.PIN)
    assert board.boot_decision.source is S, "a pin reset must not re-sample the empty flag"
    board.reset(ResetKind.POWER)
    assert board.boot_decision.source is F
    assert "selects main flash" in board.boot_decision.reason


@pytest.mark.parametrize(("pin", "add0", "add1", "source", "address"), [
    (False, 0x0800, 0x1FF0, F, 0x08000000),
    (True, 0x0800, 0x1FF0, S, 0x1FF09800),  # system memory boots the documented entry
    (False, 0x1FF0, 0x0800, S, 0x1FF09800),
    (True, 0x0800, 0x2400, R, 0x24000000),  # AXI SRAM
    (False, 0x0810, 0x1FF0, F, 0x08100000),  # bank 2
])  # fmt: skip
def test_h7_boot_pin_selects_boot_add(pin, add0, add1, source, address) -> None:
    board = SimBoard.from_inventory("nucleo-h743zi")
    reg = board.part.option_register("BOOT")
    value = reg.field("BOOT_ADD0").put(board.flash.options["BOOT"], add0)
    board.flash.options["BOOT"] = reg.field("BOOT_ADD1").put(value, add1)
    board.pins["BOOT0"] = pin
    decision = boot.decide(board)
    assert (decision.source, decision.address) == (source, address)
    assert ("BOOT_ADD1" if pin else "BOOT_ADD0") in decision.reason
