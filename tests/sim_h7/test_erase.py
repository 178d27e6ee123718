"""Sector, bank and mass erase."""

from __future__ import annotations

from typing import Any


def _fill_each_sector(h: Any, seq: Any) -> dict[int, bytes]:
    """Program one flash word at the start of every sector; address -> data."""
    written = {}
    flash = h.board.part.flash
    for bank in range(flash.banks):
        for sector in range(flash.pages_per_bank):
            address = h.sector_address(bank, sector)
            data = seq.pattern(32, seed=bank * 8 + sector)
            assert h.program(address, data) == 0
            written[address] = data
    return written


def test_sector_erase_erases_exactly_one_sector_of_the_right_bank(h743: Any, seq: Any) -> None:
    written = _fill_each_sector(h743, seq)
    # Also the last word of sector 3 of bank 2, to check the sector's end.
    assert h743.program(h743.sector_address(1, 4) - 32, seq.pattern(32, seed=99)) == 0
    assert h743.erase_sector(1, 3) == 0
    target = h743.sector_address(1, 3)
    assert h743.board.flash.array.is_blank(target - 0x08000000, 0x20000)
    for address, data in written.items():
        if address != target:
            assert h743.read(address, 32) == data, hex(address)
    assert h743.reg(seq.SR, bank=1) & seq.EOP


def test_sector_erase_takes_virtual_time(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.SER | (2 << 8) | seq.START)
    assert h743.reg(seq.SR) & seq.BSY
    start = h743.board.clock.now
    h743.wait_bank()
    elapsed_us = (h743.board.clock.now - start) * 1_000_000 // h743.board.clock.hz
    assert elapsed_us >= h743.board.part.timing_us["erase_page"] - 2000


def test_bank_erase_leaves_other_bank(h743: Any, seq: Any) -> None:
    written = _fill_each_sector(h743, seq)
    assert h743.erase_bank(0) == 0
    array = h743.board.flash.array
    assert array.is_blank(0, 0x100000)
    for address, data in written.items():
        if address >= 0x08100000:
            assert h743.read(address, 32) == data


def test_mass_erase_erases_both_banks(h743: Any, seq: Any) -> None:
    _fill_each_sector(h743, seq)
    assert h743.mass_erase() == 0
    assert h743.board.flash.array.is_blank(0, 0x200000)
    assert h743.board.flash.array.written == set()


def test_mass_erase_needs_unlocked_optcr(h743: Any, seq: Any) -> None:
    _fill_each_sector(h743, seq)
    h743.set_reg(seq.OPTCR, seq.MER)  # OPTLOCK still set: ignored
    h743.board.clock.advance_us(5_000_000)
    assert not h743.board.flash.array.is_blank(0, 0x200000)


def test_read_during_erase_stalls_until_done(h743: Any, seq: Any) -> None:
    assert h743.program(0x08000000, seq.pattern(32)) == 0
    h743.unlock()
    h743.set_reg(seq.CR, seq.SER | seq.START)
    before = h743.board.clock.now
    assert h743.read(0x08000000, 32) == b"\xff" * 32
    assert h743.board.clock.now - before >= h743.board.clock.cycles(900_000)
