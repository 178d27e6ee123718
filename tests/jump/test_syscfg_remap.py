"""G0 SYSCFG_CFGR1.MEM_MODE: reads the boot mode after reset, remaps 0x00000000, needs its clock."""

from __future__ import annotations

from jumpfw import flash_image, image

from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.periph.syscfg import G0Syscfg
from stm32_hil.target.base import ResetKind

SYSCFG = 0x40010000
APBENR2 = 0x40021000 + 0x40


def _board() -> SimBoard:
    board = SimBoard.from_inventory("nucleo-g071rb")
    flash_image(board, image("g0", "jump_ok"))
    board.reset(ResetKind.POWER)
    return board


def test_remap_with_clock_on_shows_system_memory_at_zero() -> None:
    board = _board()
    assert board.read(0, 8) == board.read(0x08000000, 8)
    board.bus.write(APBENR2, 4, 1)
    assert board.bus.read(SYSCFG, 4) & 3 == 0b00  # boot mode: main flash
    board.bus.write(SYSCFG, 4, 0b01)
    assert board.read(0, 8) == board.read(0x1FFF0000, 8)
    assert board.bus.read(SYSCFG, 4) & 3 == 0b01
    board.reset(ResetKind.PIN)
    assert board.read(0, 8) == board.read(0x08000000, 8), "a reset ends the remap"


def test_remap_with_clock_off_is_ignored_and_recorded() -> None:
    board = _board()
    board.bus.write(SYSCFG, 4, 0b01)
    assert board.read(0, 8) == board.read(0x08000000, 8)
    assert board.bus.read(SYSCFG, 4) == 0  # unclocked: reads 0
    syscfg = board.device("SYSCFG")
    assert isinstance(syscfg, G0Syscfg) and syscfg.ignored_writes == [(0, 0b01)]


def test_mem_mode_reads_the_boot_mode_after_reset() -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")  # blank flash: boots system memory
    board.bus.write(APBENR2, 4, 1)
    assert board.bus.read(SYSCFG, 4) & 3 == 0b01


def test_cpu_sees_the_remap_at_zero() -> None:
    board = _board()
    board.bus.write(APBENR2, 4, 1)
    board.bus.write(SYSCFG, 4, 0b01)
    core = board.core
    core.halt()
    core._sync()
    assert bytes(core.uc.mem_read(0, 8)) == board.read(0x1FFF0000, 8)
