"""Readout protection, write protection and PCROP (RM0444 3.5)."""

from __future__ import annotations

import sys

import pytest

from stm32_hil.errors import ProtectionError
from stm32_hil.sim.bus import Access
from stm32_hil.sim.rom.boot import BootSource
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import ResetKind

g0 = sys.modules["sim_g0_host"]  # loaded by conftest.py
BASE = 0x08000000
PAGE = 2048


def set_rdp(host, value: int) -> None:
    optr = host.set_optr_field("RDP", value)
    assert host.write_options(OPTR=optr) == 0
    host.launch()


def test_rdp_0_to_1_closes_debug_reads_keeps_content(host):
    board = host.board
    assert host.program(BASE, b"\x42" * 8) == 0
    set_rdp(host, 0xBB)
    assert board.flash.rdp_level() == 1
    with pytest.raises(ProtectionError, match="RDP level 1"):
        board.read(BASE, 4)
    with pytest.raises(ProtectionError):
        board.bus.read(BASE, 4, Access.BOOTROM)
    assert board.flash.array.data[0:8] == b"\x42" * 8
    assert board.boot_decision.source is BootSource.FLASH
    assert board.bus.read(BASE, 4, Access.CPU) == 0x42424242  # code booted from flash


def test_rdp1_cpu_read_refused_when_booted_from_system_memory(host):
    board = host.board
    set_rdp(host, 0xBB)  # flash is empty: boots the bootloader
    assert board.boot_decision.source is BootSource.SYSTEM
    with pytest.raises(ProtectionError):
        board.bus.read(BASE, 4, Access.CPU)


def test_rdp1_debug_cannot_program(host):
    set_rdp(host, 0xBB)
    assert host.program(BASE, bytes(8)) & g0.SR_WRPERR
    assert host.board.flash.array.data[0:8] == b"\xff" * 8


def test_rdp_1_to_0_mass_erases(host):
    board = host.board
    assert host.program(BASE + 10 * PAGE, b"\x01" * 8) == 0
    set_rdp(host, 0xBB)
    set_rdp(host, 0xAA)
    assert board.flash.rdp_level() == 0
    assert board.read(BASE + 10 * PAGE, 8) == b"\xff" * 8
    assert board.flash.array.is_blank(0, board.part.flash.size)


def test_rdp_regression_keeps_pcrop_pages_unless_pcrop_rdp(host):
    board = host.board
    assert host.program(BASE + 2 * PAGE, b"\x07" * 8) == 0
    assert host.program(BASE + 9 * PAGE, b"\x08" * 8) == 0
    # PCROP1A over 512-byte sub-pages 8..11 = page 2
    assert host.write_options(PCROP1ASR=8, PCROP1AER=11) == 0
    host.launch()
    set_rdp(host, 0xBB)
    set_rdp(host, 0xAA)
    assert board.flash.array.data[2 * PAGE : 2 * PAGE + 8] == b"\x07" * 8
    assert board.flash.array.data[9 * PAGE : 9 * PAGE + 8] == b"\xff" * 8


def test_rdp_regression_with_pcrop_rdp_erases_everything(host):
    board = host.board
    assert host.program(BASE + 2 * PAGE, b"\x07" * 8) == 0
    assert host.write_options(PCROP1ASR=8, PCROP1AER=(1 << 31) | 11) == 0
    host.launch()
    set_rdp(host, 0xBB)
    set_rdp(host, 0xAA)
    assert board.flash.array.is_blank(0, board.part.flash.size)


def test_level_2_is_permanent(host):
    board = host.board
    assert host.program(BASE, bytes(8)) == 0
    set_rdp(host, 0xCC)
    assert board.flash.rdp_level() == 2
    assert host.write_options(OPTR=host.set_optr_field("RDP", 0xAA)) & g0.SR_WRPERR
    host.launch()
    assert board.flash.rdp_level() == 2
    board.reset(ResetKind.POWER)
    assert board.flash.rdp_level() == 2
    target = SimTarget(board.spec, board=board)
    with pytest.raises(ProtectionError, match="RDP level 2"):
        target.read32(BASE)
    assert board.flash.array.data[0:8] == bytes(8)


def test_write_protection_refuses_program_and_erase(host):
    board = host.board
    assert host.program(BASE + 3 * PAGE, bytes(8)) == 0
    # WRP1A over pages 3..4
    assert host.write_options(WRP1AR=(4 << 16) | 3) == 0
    host.launch()
    assert host.program(BASE + 4 * PAGE, bytes(8)) & g0.SR_WRPERR
    assert host.erase_page(3) & g0.SR_WRPERR
    assert host.mass_erase() & g0.SR_WRPERR
    assert board.read(BASE + 3 * PAGE, 8) == bytes(8)
    assert board.read(BASE + 4 * PAGE, 8) == b"\xff" * 8
    assert host.program(BASE + 5 * PAGE, bytes(8)) == 0  # outside the area


def test_wrp_start_above_end_protects_nothing(host):
    assert host.write_options(WRP1BR=(1 << 16) | 5) == 0
    host.launch()
    assert host.program(BASE + 3 * PAGE, bytes(8)) == 0


def test_pcrop_area_refuses_debug_read_and_erase(host):
    board = host.board
    assert host.program(BASE + PAGE, b"\x33" * 8) == 0
    assert host.write_options(PCROP1BSR=4, PCROP1BER=4) == 0  # bytes 0x800..0x9FF
    host.launch()
    with pytest.raises(ProtectionError, match="PCROP"):
        board.read(BASE + PAGE, 4)
    assert board.read(BASE + PAGE + 0x200, 4) == b"\xff" * 4  # next sub-page readable
    assert board.bus.read(BASE + PAGE, 4, Access.CPU) == 0x33333333
    assert host.erase_page(1) & g0.SR_WRPERR
    assert board.flash.array.data[PAGE : PAGE + 8] == b"\x33" * 8
