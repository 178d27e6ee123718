"""Programming and erase through FLASH registers (RM0444 3.3.7, 3.3.8)."""

from __future__ import annotations

import sys

import pytest

from stm32_hil.sim.bus import Access
from stm32_hil.target.base import ResetKind

g0 = sys.modules["sim_g0_host"]  # loaded by conftest.py
BASE = 0x08000000
PAGE = 2048


def test_program_double_word_reads_back(host):
    data = bytes(range(16))
    assert host.program(BASE + 0x100, data) == 0
    assert host.board.read(BASE + 0x100, 16) == data
    assert host.board.read(BASE + 0x110, 8) == b"\xff" * 8


def test_one_word_programs_nothing_second_word_programs_both(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG)
    host.w32(BASE + 0x200, 0x11223344)
    assert host.sr & g0.SR_CFGBSY
    assert host.board.flash.array.data[0x200:0x208] == b"\xff" * 8
    host.w32(BASE + 0x204, 0x55667788)
    host.wait_idle()
    assert host.board.read(BASE + 0x200, 8) == bytes.fromhex("4433221188776655")
    assert not host.sr & (g0.SR_CFGBSY | g0.SR_ERRORS)


def test_busy_until_program_time_has_passed(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG)
    host.w32(BASE, 1)
    host.w32(BASE + 4, 2)
    assert host.sr & g0.SR_BSY1
    host.board.clock.advance_us(host.board.part.timing_us["program_unit"])
    assert not host.sr & g0.SR_BSY1


def test_eop_only_with_eopie(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG)
    host.w32(BASE, 0)
    host.w32(BASE + 4, 0)
    assert not host.wait_idle() & g0.SR_EOP
    host.set_reg(g0.CR, g0.CR_PG | g0.CR_EOPIE)
    host.w32(BASE + 8, 0)
    host.w32(BASE + 12, 0)
    assert host.wait_idle() & g0.SR_EOP


def test_bits_only_go_from_one_to_zero_and_reprogram_is_progerr(host):
    assert host.program(BASE, bytes.fromhex("F0F0F0F0F0F0F0F0")) == 0
    errors = host.program(BASE, bytes.fromhex("0F0F0F0F0F0F0F0F"))
    assert errors & g0.SR_PROGERR
    assert host.board.read(BASE, 8) == bytes.fromhex("F0F0F0F0F0F0F0F0")
    assert host.board.flash.array.bad_units_in(0, 8) == []


def test_zero_overwrite_of_programmed_double_word_is_allowed(host):
    assert host.program(BASE, b"\x5a" * 8) == 0
    assert host.program(BASE, bytes(8)) == 0
    assert host.board.read(BASE, 8) == bytes(8)  # readable: ECC stays consistent


def test_write_without_pg_is_pgserr(host):
    host.unlock()
    host.w32(BASE, 0)
    assert host.sr & g0.SR_PGSERR
    assert host.board.read(BASE, 4) == b"\xff" * 4


def test_write_while_locked_is_pgserr(host):
    host.w32(BASE, 0)
    assert host.cr & g0.CR_LOCK
    assert host.sr & g0.SR_PGSERR


def test_unaligned_first_word_is_pgaerr(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG)
    host.w32(BASE + 4, 0)
    assert host.sr & g0.SR_PGAERR
    assert host.board.read(BASE, 8) == b"\xff" * 8


def test_second_word_in_other_double_word_is_pgaerr(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG)
    host.w32(BASE, 0)
    host.w32(BASE + 12, 0)
    assert host.sr & g0.SR_PGAERR
    assert host.board.read(BASE, 16) == b"\xff" * 16


def test_byte_write_is_sizerr_and_later_writes_are_pgserr(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG)
    host.board.bus.write(BASE, 1, 0x00, Access.DEBUG)
    assert host.sr & g0.SR_SIZERR
    host.w32(BASE, 0)
    host.w32(BASE + 4, 0)
    assert host.sr & g0.SR_PGSERR
    assert host.board.read(BASE, 8) == b"\xff" * 8


def test_page_erase_erases_exactly_one_page(host):
    for page in (4, 5, 6):
        assert host.program(BASE + page * PAGE, b"\x00" * 8) == 0
        assert host.program(BASE + page * PAGE + PAGE - 8, b"\x00" * 8) == 0
    assert host.erase_page(5) == 0
    assert host.board.read(BASE + 5 * PAGE, PAGE) == b"\xff" * PAGE
    assert host.board.read(BASE + 4 * PAGE + PAGE - 8, 8) == bytes(8)
    assert host.board.read(BASE + 6 * PAGE, 8) == bytes(8)


def test_erase_takes_page_erase_time(host):
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PER | (3 << 3) | g0.CR_STRT)
    host.board.clock.advance_us(host.board.part.timing_us["erase_page"] - 100)
    assert host.sr & g0.SR_BSY1
    assert host.cr & g0.CR_STRT
    host.board.clock.advance_us(200)
    assert not host.sr & g0.SR_BSY1
    assert not host.cr & g0.CR_STRT


def test_page_out_of_range_is_pgserr(host):
    assert host.program(BASE, bytes(8)) == 0
    assert host.erase_page(64) & g0.SR_PGSERR  # G071: 64 pages
    assert host.board.read(BASE, 8) == bytes(8)


def test_g0b1_bank1_page_above_63(host_b1):
    host = host_b1
    for page in (99, 100, 101):
        assert host.program(BASE + page * PAGE, bytes(8)) == 0
    assert host.erase_page(100) == 0
    assert host.board.read(BASE + 100 * PAGE, 8) == b"\xff" * 8
    assert host.board.read(BASE + 99 * PAGE, 8) == bytes(8)
    assert host.board.read(BASE + 101 * PAGE, 8) == bytes(8)


@pytest.mark.parametrize("pnb", [256 + 70, 70], ids=["rm0444-numbering", "hal-numbering"])
def test_g0b1_bank2_page_erase(host_b1, pnb):
    host = host_b1
    bank2 = BASE + 0x40000
    for local in (69, 70, 71):
        assert host.program(bank2 + local * PAGE, bytes(8)) == 0
    assert host.program(BASE + 70 * PAGE, bytes(8)) == 0
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PER | g0.CR_BKER | (pnb << 3) | g0.CR_STRT)
    assert host.sr & g0.SR_BSY2
    sr = host.wait_idle()
    assert not sr & g0.SR_ERRORS
    assert host.board.read(bank2 + 70 * PAGE, PAGE) == b"\xff" * PAGE
    assert host.board.read(bank2 + 69 * PAGE, 8) == bytes(8)
    assert host.board.read(bank2 + 71 * PAGE, 8) == bytes(8)
    assert host.board.read(BASE + 70 * PAGE, 8) == bytes(8)  # same page number in bank 1


def test_mass_erase(host):
    size = host.board.part.flash.size
    assert host.program(BASE, bytes(8)) == 0
    assert host.program(BASE + size - 8, bytes(8)) == 0
    assert host.mass_erase() == 0
    assert host.board.flash.array.is_blank(0, size)


def test_g0b1_mass_erase_of_bank2_only(host_b1):
    host = host_b1
    assert host.program(BASE, bytes(8)) == 0
    assert host.program(BASE + 0x40000, bytes(8)) == 0
    assert host.mass_erase(g0.CR_MER2) == 0
    assert host.board.read(BASE, 8) == bytes(8)
    assert host.board.read(BASE + 0x40000, 8) == b"\xff" * 8


def test_strt_with_pg_and_per_is_pgserr(host):
    assert host.program(BASE, bytes(8)) == 0
    host.unlock()
    host.set_reg(g0.CR, g0.CR_PG | g0.CR_PER | g0.CR_STRT)
    assert host.sr & g0.SR_PGSERR
    assert host.board.read(BASE, 8) == bytes(8)


def test_erase_refused_while_errors_pending(host):
    assert host.program(BASE, bytes(8)) == 0
    host.unlock()
    host.w32(BASE, 0)  # PGSERR: PG not set
    host.set_reg(g0.CR, g0.CR_PER | g0.CR_STRT)
    assert host.board.read(BASE, 8) == bytes(8)


def test_nonvolatile_state_survives_power_cycle_ram_does_not(host):
    board = host.board
    assert host.program(BASE, b"\x12" * 8) == 0
    ram = board.part.ram[0].base
    board.write(ram, b"\xaa" * 4)
    board.reset(ResetKind.POWER)
    assert board.read(BASE, 8) == b"\x12" * 8
    assert board.read(ram, 4) == b"\x00" * 4
    assert host.cr & g0.CR_LOCK


def test_empty_flag_sampled_at_power_on_not_live(host):
    board = host.board
    assert board.flash.empty_flag
    assert host.reg(g0.ACR) & (1 << 16)
    assert host.program(BASE, bytes(8)) == 0
    assert board.flash.empty_flag  # not live
    board.reset(ResetKind.SYSTEM)
    assert board.flash.empty_flag
    board.reset(ResetKind.POWER)
    assert not board.flash.empty_flag
    assert not host.reg(g0.ACR) & (1 << 16)
    assert board.boot_decision.source.value == "flash"
