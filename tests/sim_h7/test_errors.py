"""Error flags on misuse and the key lock-out."""

from __future__ import annotations

from typing import Any

import pytest

from stm32_hil.errors import BusFault


def test_write_with_pg_clear_is_pgserr(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.target.write32(0x08000000, 0x12345678)
    assert h743.reg(seq.SR) & seq.PGSERR
    assert h743.read(0x08000000, 4) == b"\xff" * 4
    h743.set_reg(seq.CCR, seq.PGSERR)
    assert h743.reg(seq.SR) & seq.PGSERR == 0


def test_write_while_locked_is_pgserr_and_cr_ignores_writes(h743: Any, seq: Any) -> None:
    h743.set_reg(seq.CR, seq.PG)
    assert h743.reg(seq.CR) == seq.LOCK | seq.PSIZE_64
    h743.target.write32(0x08000000, 0)
    assert h743.reg(seq.SR) & seq.PGSERR


def test_crossing_to_another_flash_word_is_incerr(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG)
    h743.write_words(0x08000000, seq.pattern(12))
    h743.target.write32(0x08000020, 0)
    sr = h743.reg(seq.SR)
    assert sr & seq.INCERR and not sr & seq.WBNE
    h743.board.clock.advance_us(1000)
    assert h743.board.flash.array.written == set()


def test_same_byte_twice_in_buffer_is_strberr(h743: Any, seq: Any) -> None:
    h743.unlock()
    h743.set_reg(seq.CR, seq.PG)
    h743.target.write32(0x08000000, 0x11111111)
    h743.target.write32(0x08000000, 0x22222222)
    assert h743.reg(seq.SR) & seq.STRBERR


def test_write_protected_sector_refuses_program_and_erase(h743: Any, seq: Any) -> None:
    assert h743.program(0x08040000, seq.pattern(32)) == 0
    assert h743.change_options({seq.WPSN_PRG: 0xFF & ~(1 << 2)})
    assert h743.reg(seq.WPSN_CUR) == 0xFB
    assert h743.erase_sector(0, 2) == seq.WRPERR
    assert h743.program(0x08040020, seq.pattern(32)) == seq.WRPERR
    assert h743.erase_bank(0) == seq.WRPERR
    assert h743.mass_erase() & seq.WRPERR
    assert h743.read(0x08040000, 64) == seq.pattern(32) + b"\xff" * 32
    # Other sectors and bank 2 stay usable.
    assert h743.erase_sector(0, 3) == 0
    assert h743.erase_bank(1) == 0


def test_bad_sector_number_is_pgserr(h750: Any, seq: Any) -> None:
    assert h750.erase_sector(0, 1) == seq.PGSERR


def test_wrong_key_locks_until_reset(h743: Any, seq: Any) -> None:
    with pytest.raises(BusFault):
        h743.set_reg(seq.KEYR, 0x11111111)
    with pytest.raises(BusFault):
        h743.set_reg(seq.KEYR, 0x45670123)  # even the right key is refused now
    assert h743.reg(seq.CR) & seq.LOCK
    # Bank 2 has its own key register and is unaffected.
    h743.unlock(1)
    assert not h743.reg(seq.CR, 1) & seq.LOCK
    h743.board.reset(seq.ResetKind.SYSTEM, "test")
    h743.unlock(0)
    assert not h743.reg(seq.CR) & seq.LOCK


def test_second_key_wrong_and_key_while_unlocked_are_refused(h743: Any, seq: Any) -> None:
    h743.set_reg(seq.KEYR, 0x45670123)
    with pytest.raises(BusFault):
        h743.set_reg(seq.KEYR, 0x45670123)
    assert h743.reg(seq.CR) & seq.LOCK
    h743.power_cycle()
    h743.unlock()
    with pytest.raises(BusFault):
        h743.set_reg(seq.KEYR, 0x45670123)
    assert h743.reg(seq.CR) & seq.LOCK


def test_wrong_option_key_locks_optcr_until_reset(h743: Any, seq: Any) -> None:
    with pytest.raises(BusFault):
        h743.set_reg(seq.OPTKEYR, 0x45670123)
    h743.set_reg(seq.OPTSR_PRG, 0)  # ignored: OPTCR locked
    assert h743.reg(seq.OPTSR_PRG) == h743.reg(seq.OPTSR_CUR)
    assert h743.reg(seq.OPTCR) & seq.OPTLOCK
    h743.board.reset(seq.ResetKind.PIN, "test")
    h743.unlock_options()
    assert not h743.reg(seq.OPTCR) & seq.OPTLOCK
