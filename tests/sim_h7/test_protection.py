"""Readout protection levels, PCROP/DMEP, the level 1 -> 0 regression and level 2."""

from __future__ import annotations

from typing import Any

import pytest

from stm32_hil.errors import ProtectionError
from stm32_hil.sim.bus import Access

PCROP_4K = 0x000F0000  # bank-relative blocks 0..0x0F: the first 4 KiB of the bank
DMEP = 1 << 31


def test_level1_blocks_debug_reads_keeps_data(h743: Any, seq: Any) -> None:
    data = seq.pattern(64)
    assert h743.program(0x08000000, data) == 0
    assert h743.set_rdp(0xBB)
    assert h743.board.flash.rdp_level() == 1
    with pytest.raises(ProtectionError):
        h743.read(0x08000000, 4)
    with pytest.raises(ProtectionError):
        h743.board.bus.read(0x08100000, 4, Access.BOOTROM)
    assert bytes(h743.board.flash.array.data[:64]) == data
    assert h743.board.bus.read_block(0x08000000, 64, Access.CPU) == data
    h743.power_cycle()
    assert h743.board.flash.rdp_level() == 1
    with pytest.raises(ProtectionError):
        h743.read(0x08000000, 4)


def test_regression_to_level0_erases_flash(h743: Any, seq: Any) -> None:
    assert h743.program(0x08000000, seq.pattern(32)) == 0
    assert h743.program(0x081C0000, seq.pattern(32, seed=1)) == 0
    assert h743.set_rdp(0xBB)
    assert h743.set_rdp(0xAA)
    assert h743.board.flash.rdp_level() == 0
    assert h743.read(0x08000000, 32) == b"\xff" * 32
    assert h743.board.flash.array.is_blank(0, 0x200000)


def test_level2_is_permanent(h743: Any, seq: Any) -> None:
    board = h743.board
    h743.unlock_options()
    h743.set_reg(seq.OPTSR_PRG, (h743.reg(seq.OPTSR_PRG) & ~0xFF00) | 0xCC00)
    h743.set_reg(seq.OPTCR, seq.OPTSTART)
    board.clock.advance_us(200_000)
    assert board.flash.rdp_level() == 2
    with pytest.raises(ProtectionError):
        h743.reg(seq.OPTSR_CUR)  # the debug port is closed
    # Firmware on the core still reaches FLASH, but the option bytes are frozen.
    regs = seq.FLASH

    def cpu_write(offset: int, value: int) -> None:
        board.bus.write(regs + offset, 4, value, Access.CPU)

    optsr = board.bus.read(regs + seq.OPTSR_PRG, 4, Access.CPU)
    cpu_write(seq.OPTSR_PRG, (optsr & ~0xFF00) | 0xAA00)  # OPTCR is still unlocked
    cpu_write(seq.OPTCR, seq.OPTSTART)
    board.clock.advance_us(200_000)
    assert board.bus.read(regs + seq.OPTSR_CUR, 4, Access.CPU) & seq.OPTCHANGEERR
    assert board.flash.rdp_level() == 2
    h743.power_cycle()
    assert board.flash.rdp_level() == 2
    with pytest.raises(ProtectionError):
        h743.read(0x08000000, 4)


def _program_pcrop_image(h: Any, seq: Any) -> tuple[bytes, bytes, bytes]:
    secret = seq.pattern(0x1000, seed=7)
    other = seq.pattern(32, seed=8)
    high = seq.pattern(32, seed=9)
    assert h.program(0x08000000, secret) == 0
    assert h.program(0x08020000, other) == 0  # sector 1, outside the area
    assert h.program(0x08100000, high) == 0  # bank 2
    return secret, other, high


def test_pcrop_is_execute_only(h743: Any, seq: Any) -> None:
    secret, other, _ = _program_pcrop_image(h743, seq)
    assert h743.change_options({seq.PRAR_PRG: PCROP_4K})
    for access in (Access.DEBUG, Access.BOOTROM, Access.CPU):
        with pytest.raises(ProtectionError):
            h743.board.bus.read(0x08000FFC, 4, access)
    assert h743.reg(seq.SR) & seq.RDPERR
    assert h743.read(0x08001000, 4) == b"\xff" * 4  # just past the area
    assert h743.read(0x08020000, 32) == other
    assert h743.erase_sector(0, 0) == seq.WRPERR
    assert bytes(h743.board.flash.array.data[:0x1000]) == secret


def test_pcrop_without_dmep_survives_regression(h743: Any, seq: Any) -> None:
    secret, _, _ = _program_pcrop_image(h743, seq)
    assert h743.change_options({seq.PRAR_PRG: PCROP_4K})
    assert h743.set_rdp(0xBB)
    assert h743.set_rdp(0xAA)
    array = h743.board.flash.array
    assert bytes(array.data[:0x1000]) == secret
    assert h743.reg(seq.PRAR_CUR) == PCROP_4K
    assert array.is_blank(0x20000, 0x1E0000)  # every other sector, both banks
    with pytest.raises(ProtectionError):
        h743.read(0x08000000, 4)


def test_pcrop_with_dmep_is_erased_and_removed(h743: Any, seq: Any) -> None:
    _program_pcrop_image(h743, seq)
    assert h743.change_options({seq.PRAR_PRG: PCROP_4K | DMEP})
    assert h743.set_rdp(0xBB)
    assert h743.set_rdp(0xAA)
    assert h743.board.flash.array.is_blank(0, 0x200000)
    assert h743.reg(seq.PRAR_CUR) & 0xFFF > (h743.reg(seq.PRAR_CUR) >> 16) & 0xFFF
    assert h743.read(0x08000000, 16) == b"\xff" * 16


def test_pcrop_area_cannot_be_dropped_without_regression(h743: Any, seq: Any) -> None:
    assert h743.change_options({seq.PRAR_PRG: PCROP_4K})
    assert not h743.change_options({seq.PRAR_PRG: 0xFF})
    assert h743.reg(seq.PRAR_CUR) == PCROP_4K


def test_recovery_recipe_for_stuck_pcrop(h743: Any, seq: Any) -> None:
    """stm32-parts.md: level 1 with DMEP set, power-cycle, then RDP=0xAA, start=0xFF, DMEP=0."""
    _program_pcrop_image(h743, seq)
    assert h743.change_options({seq.PRAR_PRG: PCROP_4K})
    assert h743.erase_sector(0, 0) == seq.WRPERR  # stuck: the area cannot go away
    optsr = h743.reg(seq.OPTSR_PRG)
    assert h743.change_options(
        {seq.OPTSR_PRG: (optsr & ~0xFF00) | 0xBB00, seq.PRAR_PRG: PCROP_4K | DMEP}
    )
    h743.power_cycle()
    assert h743.board.flash.rdp_level() == 1
    optsr = h743.reg(seq.OPTSR_PRG)
    assert h743.change_options(
        {seq.OPTSR_PRG: (optsr & ~0xFF00) | 0xAA00, seq.PRAR_PRG: PCROP_4K | 0xFF}
    )
    h743.power_cycle()
    assert h743.board.flash.rdp_level() == 0
    prar = h743.reg(seq.PRAR_CUR)
    assert prar & 0xFFF > (prar >> 16) & 0xFFF and not prar & DMEP
    assert h743.board.flash.array.is_blank(0, 0x200000)
    assert h743.erase_sector(0, 0) == 0
    assert h743.program(0x08000000, seq.pattern(32)) == 0
    assert h743.read(0x08000000, 32) == seq.pattern(32)


def test_secure_area_with_dmes(h743: Any, seq: Any) -> None:
    _program_pcrop_image(h743, seq)
    optsr = h743.reg(seq.OPTSR_PRG)
    assert h743.change_options({seq.OPTSR_PRG: optsr | (1 << 21), seq.SCAR_PRG: PCROP_4K})
    with pytest.raises(ProtectionError):
        h743.read(0x08000000, 4)
    assert h743.board.bus.read(0x08000000, 4, Access.CPU)  # the core (secure code) may read
    optsr = h743.reg(seq.OPTSR_PRG)
    assert not h743.change_options({seq.OPTSR_PRG: optsr & ~(1 << 21)})  # SECURITY stays
    assert h743.set_rdp(0xBB)
    assert h743.set_rdp(0xAA)
    assert not h743.board.flash.array.is_blank(0, 0x1000)  # DMES=0: kept
