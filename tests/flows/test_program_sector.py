"""Sector-erase flash (F4, F7): the flow's register sequences against the register-level model."""

from __future__ import annotations

import itertools
import random

import pytest

from stm32_hil.errors import BusFault, ConfigError, FlashError, ProtectionError
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.flows.program_sector import SectorInternalFlash
from stm32_hil.inventory import BoardSpec
from stm32_hil.parts import get_part
from stm32_hil.parts.sectors import sector_controller, sector_map
from stm32_hil.sim.target import SimTarget

PARTS = ["STM32F401RE", "STM32F469NI", "STM32F769NI", "STM32F205RG"]


def _target(part: str) -> SimTarget:
    return SimTarget(BoardSpec(name=f"t-{part.lower()}", part=part, backend="sim"))


def _data(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.mark.parametrize("part", PARTS)
def test_sector_map_tiles_main_flash_with_the_reference_manual_sizes(part: str) -> None:
    p = get_part(part)
    sectors = sector_map(p).sectors
    assert sectors[0].base == p.flash.base and sectors[-1].end == p.flash.base + p.flash.size
    assert all(a.end == b.base for a, b in itertools.pairwise(sectors))
    first_kib = 32 if p.family == "f7" else 16  # RM0410 single-bank F76x: 32 KiB sectors 0-3
    assert [s.size // 1024 for s in sectors[:6]] == [first_kib] * 4 + [
        first_kib * 4,
        first_kib * 8,
    ]


@pytest.mark.parametrize("part", PARTS)
def test_erase_program_read_back_across_a_sector_boundary(part: str) -> None:
    target = _target(part)
    flash = internal_flash(target)
    assert isinstance(flash, SectorInternalFlash)
    sectors = sector_map(target.part).sectors
    s3, s4 = sectors[3], sectors[4]
    start = s4.base - 0x1000  # 4 KiB before sector 4 and 8 KiB into it
    payload = _data(1, 0x3000)
    # Neighbours first: sector 2 and sector 5 programmed, they must survive the erase.
    flash.program(sectors[2].base, _data(2, 256))
    flash.program(sectors[5].base, _data(3, 256))
    flash.program(start, payload)
    assert flash.read(start, len(payload)) == payload
    assert flash.erase(start, len(payload)) == [s3.index, s4.index]
    assert flash.read(s3.base, s3.size + s4.size) == b"\xff" * (s3.size + s4.size)
    assert flash.read(sectors[2].base, 256) == _data(2, 256)
    assert flash.read(sectors[5].base, 256) == _data(3, 256)


def test_bank_two_sectors_use_the_high_sector_numbers() -> None:
    target = _target("STM32F469NI")
    flash = internal_flash(target)
    bank2 = [s for s in sector_map(target.part).sectors if s.bank == 1]
    regs = sector_controller(target.part)
    assert regs is not None and regs.snb(bank2[0]) == 0b10000 and regs.snb(bank2[-1]) == 0b11011
    base = bank2[0].base
    flash.program(base, _data(4, 1024))
    flash.program(target.part.flash.base, _data(5, 1024))
    flash.erase(base, 1)
    assert flash.read(base, 1024) == b"\xff" * 1024
    assert flash.read(target.part.flash.base, 1024) == _data(5, 1024)  # bank 1 untouched


def test_mass_erase_clears_both_banks() -> None:
    target = _target("STM32F469NI")
    flash = internal_flash(target)
    last = sector_map(target.part).sectors[-1]
    flash.program(target.part.flash.base, _data(6, 64))
    flash.program(last.base, _data(7, 64))
    flash.mass_erase()
    assert flash.read(target.part.flash.base, 64) == b"\xff" * 64
    assert flash.read(last.base, 64) == b"\xff" * 64


def test_cells_only_go_from_one_to_zero() -> None:
    target = _target("STM32F401RE")
    flash = internal_flash(target)
    base = target.part.flash.base
    flash.program(base, (0xF0F0F0F0).to_bytes(4, "little"))
    flash.program(base, (0x3C3C3C3C).to_bytes(4, "little"))
    assert target.read32(base) == 0x30303030


def test_erase_takes_the_datasheet_time_in_virtual_time() -> None:
    target = _target("STM32F401RE")
    flash = internal_flash(target)
    clock = target.sim.clock
    t0 = clock.now
    flash.erase(sector_map(target.part).sectors[5].base, 1)  # a 128 KiB sector
    elapsed_s = (clock.now - t0) / clock.hz
    assert 1.0 <= elapsed_s < 4.0


def test_wrong_key_locks_the_controller_until_reset() -> None:
    target = _target("STM32F769NI")
    regs = sector_controller(target.part)
    assert regs is not None
    flash_regs = target.part.flash_regs
    with pytest.raises(BusFault):
        target.write32(flash_regs + regs.keyr, 0x12345678)
    with pytest.raises(BusFault):
        target.write32(flash_regs + regs.keyr, target.part.flash_keys[0])
    flash = internal_flash(target)
    with pytest.raises((BusFault, ProtectionError)):
        flash.erase(target.part.flash.base, 1)


def test_access_size_other_than_psize_is_a_parallelism_error() -> None:
    target = _target("STM32F401RE")
    regs = sector_controller(target.part)
    assert regs is not None
    flash = internal_flash(target)
    flash.unlock()
    flash._programming(True)
    target.write16(target.part.flash.base, 0x1234)  # x16 write with PSIZE = x32
    with pytest.raises(FlashError, match="PGPERR"):
        flash._wait("half-word program", 1.0)
    assert target.read32(target.part.flash.base) == 0xFFFFFFFF


def test_write_without_pg_is_a_sequence_error() -> None:
    target = _target("STM32F401RE")
    flash = internal_flash(target)
    flash.unlock()
    target.write32(target.part.flash.base, 0)
    with pytest.raises(FlashError, match="PGSERR"):
        flash._wait("program without PG", 1.0)
    assert target.read32(target.part.flash.base) == 0xFFFFFFFF


def test_a_part_without_a_known_controller_is_refused_naming_its_flash_block() -> None:
    target = _target("STM32L496AG")
    with pytest.raises(ConfigError, match="flash_l4"):
        internal_flash(target)
