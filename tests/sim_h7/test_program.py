"""Programming: 256-bit flash words, ECC on partial/double writes, 1 -> 0 only."""

from __future__ import annotations

from typing import Any

import pytest

from stm32_hil.errors import EccError


def test_full_flash_word_programs_and_reads_back(h743: Any, seq: Any) -> None:
    data = seq.pattern(64)
    assert h743.program(0x08000040, data) == 0
    assert h743.read(0x08000040, 64) == data
    assert h743.reg(seq.SR) & seq.EOP


def test_seven_words_program_nothing_and_eighth_programs(h743: Any, seq: Any) -> None:
    data = seq.pattern(32, seed=3)
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG)
    h743.write_words(0x08000000, data[:28])
    sr = h743.reg(seq.SR)
    assert sr & seq.WBNE and not sr & seq.QW
    assert h743.read(0x08000000, 32) == b"\xff" * 32
    h743.write_words(0x08000000 + 28, data[28:])
    assert h743.wait_bank() & seq.ERRORS == 0
    assert h743.read(0x08000000, 32) == data


def test_partial_buffer_lost_at_reset(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG)
    h743.write_words(0x08000000, seq.pattern(28))
    h743.power_cycle()
    assert h743.reg(seq.SR) & seq.WBNE == 0
    assert h743.read(0x08000000, 32) == b"\xff" * 32


def test_busy_while_programming_then_clears(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG)
    h743.write_words(0x08000000, seq.pattern(32))
    assert h743.reg(seq.SR) & (seq.QW | seq.BSY) == seq.QW | seq.BSY
    assert h743.wait_bank() & (seq.QW | seq.BSY) == 0


def test_force_write_pads_with_ones_and_blocks_later_fill(h743: Any, seq: Any) -> None:
    data = seq.pattern(8, seed=5)
    assert h743.program(0x08000100, data, force=True) == 0
    assert h743.read(0x08000100, 32) == data + b"\xff" * 24
    # The missing bytes can no longer be written: a second write spoils the ECC.
    assert h743.program(0x08000100, b"\xff" * 8 + seq.pattern(24)) == 0
    with pytest.raises(EccError):
        h743.read(0x08000100, 4)
    assert h743.reg(seq.SR) & seq.DBECCERR
    assert h743.reg(seq.ECC_FA) == 0x100 // 32


def test_force_write_needs_data_in_buffer(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG | seq.FW)
    assert h743.reg(seq.SR) & (seq.QW | seq.WBNE) == 0
    assert h743.board.flash.array.written == set()


def test_second_write_of_a_word_is_ecc_error_until_sector_erase(h743: Any, seq: Any) -> None:
    first = bytes([0xF0]) * 32
    second = bytes([0x3C]) * 32
    assert h743.program(0x08020000, first) == 0
    assert h743.program(0x08020000, second) == 0
    with pytest.raises(EccError) as err:
        h743.read(0x08020000, 32)
    assert err.value.address == 0x08020000
    # Cells only ever went 1 -> 0: the array holds the AND of both writes.
    array = h743.board.flash.array
    assert bytes(array.data[0x20000:0x20020]) == bytes([0x30]) * 32
    # Neighbouring words are untouched and readable.
    assert h743.read(0x08020020, 32) == b"\xff" * 32
    assert h743.erase_sector(0, 1) == 0
    assert h743.read(0x08020000, 32) == b"\xff" * 32
    assert h743.program(0x08020000, second) == 0
    assert h743.read(0x08020000, 32) == second


def test_bank2_programs_through_its_own_registers(h743: Any, seq: Any) -> None:
    data = seq.pattern(32, seed=9)
    assert h743.program(0x08100000, data) == 0
    assert h743.read(0x08100000, 32) == data
    assert h743.reg(seq.SR, bank=1) & seq.EOP
    assert h743.reg(seq.SR, bank=0) & seq.EOP == 0
    assert h743.reg(seq.CR, bank=0) & seq.LOCK


def test_h750_single_bank(h750: Any, seq: Any) -> None:
    data = seq.pattern(64, seed=2)
    assert h750.program(0x0801FFC0, data) == 0
    assert h750.read(0x0801FFC0, 64) == data
    assert h750.reg(seq.CR, bank=1) == 0  # no second bank on this part
    assert h750.erase_sector(0, 0) == 0
    assert h750.read(0x0801FFC0, 64) == b"\xff" * 64


def test_program_survives_power_cycle(h743: Any, seq: Any) -> None:
    data = seq.pattern(96, seed=4)
    assert h743.program(0x081E0000, data) == 0
    h743.power_cycle()
    assert h743.read(0x081E0000, 96) == data
    assert h743.reg(seq.CR, bank=1) & seq.LOCK
