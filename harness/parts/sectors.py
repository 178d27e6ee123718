"""Sector-erase flash controllers (F2, F4, F7): the sector map and the FLASH register facts.

Sector-erase controllers (F2, F4, F7) mix sector sizes in one bank (16 KiB, 64 KiB, then
128 KiB on F4), so `FlashGeometry.page_size` alone cannot say where a sector starts. The
stm32-data regions (`BANK_1_REGION_2`, erase size 64 KiB, ...) can; the flow that programs
such a part and the simulator's model of its controller both read the sector map from here,
so they agree on it by construction. The FLASH register offsets and bits come from the part's
register layout the same way (`sector_controller`), so no family is named in code: a part
whose FLASH block has KEYR, SR.BSY and CR.{PG, SER, SNB, PSIZE, STRT, LOCK} is driven as RM0090
(F4) and RM0410 (F7) describe.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from stm32_hil.errors import ConfigError
from stm32_hil.parts import chipdata
from stm32_hil.parts.catalogue import Part, get_part

_BANK = re.compile(r"BANK_(\d+)")


@dataclass(frozen=True)
class Sector:
    index: int  # global, in address order from 0
    bank: int  # 0-based bank
    number: int  # sector number inside its bank (what the reference manuals count)
    base: int  # absolute address
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class SectorMap:
    sectors: tuple[Sector, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bases", tuple(s.base for s in self.sectors))

    def at(self, address: int) -> Sector:
        """The sector holding `address`; ConfigError outside main flash."""
        bases: tuple[int, ...] = self._bases  # type: ignore[attr-defined]
        i = bisect.bisect_right(bases, address) - 1
        if i < 0 or address >= self.sectors[i].end:
            first, last = self.sectors[0], self.sectors[-1]
            raise ConfigError(
                f"0x{address:08X} is in no flash sector "
                f"(main flash is 0x{first.base:08X}..0x{last.end - 1:08X})"
            )
        return self.sectors[i]

    def covering(self, address: int, length: int) -> list[Sector]:
        """Every sector touching [address, address+length)."""
        first = self.at(address).index
        last = self.at(address + max(length, 1) - 1).index
        return list(self.sectors[first : last + 1])

    def in_bank(self, bank: int) -> list[Sector]:
        return [s for s in self.sectors if s.bank == bank]

    def find(self, bank: int, number: int) -> Sector | None:
        return next((s for s in self.sectors if s.bank == bank and s.number == number), None)


def sector_map(part: Part) -> SectorMap:
    """Sectors of main flash (cached per part name)."""
    return _sector_map(part.name)


@functools.cache
def _sector_map(name: str) -> SectorMap:
    """Sectors of main flash: the data's bank regions cut at their erase size.

    Parts whose data has no regions (or regions that do not tile main flash) get uniform
    sectors of `FlashGeometry.page_size`, numbered per bank.
    """
    part = get_part(name)
    g = part.flash
    end = g.base + g.size
    regions = sorted(
        (
            m
            for m in (part.chip.memory if part.chip is not None else ())
            if m.kind == "flash" and _BANK.match(m.name) and g.base <= m.base < end
        ),
        key=lambda m: m.base,
    )
    out: list[Sector] = []
    numbers: dict[int, int] = {}
    cursor = g.base
    for m in regions:
        step = m.erase_size or g.page_size
        if m.base != cursor or m.size % step:
            out = []
            break
        bank = int(_BANK.match(m.name).group(1)) - 1  # type: ignore[union-attr]
        for base in range(m.base, m.base + m.size, step):
            number = numbers.get(bank, 0)
            numbers[bank] = number + 1
            out.append(Sector(len(out), bank, number, base, step))
        cursor = m.base + m.size
    if not out or cursor != end:
        out = [
            Sector(i, i // g.pages_per_bank, i % g.pages_per_bank, g.base + i * g.page_size,
                   g.page_size)
            for i in range(g.page_count)
        ]  # fmt: skip
    return SectorMap(tuple(out))


@dataclass(frozen=True)
class SectorControllerRegs:
    """Offsets and bit positions of a sector-erase FLASH block, from its register layout."""

    keyr: int
    optkeyr: int | None
    sr: int
    cr: int
    optcr: int | None
    sr_bits: dict[str, int]  # SR flag name -> mask (EOP, OPERR, WRPERR, ..., BSY)
    cr_pg: int
    cr_ser: int
    cr_mer: int
    cr_strt: int
    cr_lock: int
    cr_eopie: int
    cr_errie: int
    snb_shift: int
    snb_width: int
    psize_shift: int
    optlock: int

    @property
    def sr_errors(self) -> dict[str, int]:
        return {n: m for n, m in self.sr_bits.items() if n not in ("EOP", "BSY")}

    @property
    def sr_error_mask(self) -> int:
        return functools.reduce(lambda a, b: a | b, self.sr_errors.values(), 0)

    def snb(self, sector: Sector) -> int:
        """SNB value selecting `sector`: bank 2 sectors are 0b1_0000 + number (RM0090 3.9.8)."""
        return (sector.bank << 4) | sector.number if self.snb_width >= 5 else sector.number

    def sector_of_snb(self, snb: int) -> tuple[int, int]:
        """(bank, number) an SNB value selects."""
        if self.snb_width >= 5:
            return snb >> 4, snb & 0xF
        return 0, snb


def sector_controller(part: Part) -> SectorControllerRegs | None:
    """The FLASH block's facts when its layout is a sector-erase controller, else None."""
    return _sector_controller(part.name)


@functools.cache
def _sector_controller(name: str) -> SectorControllerRegs | None:
    part = get_part(name)
    block = next((b for b in part.blocks if b.name == "FLASH"), None)
    key = block.layout_key if block is not None else None
    layout = chipdata.layout(key, block.block) if key is not None and block is not None else None
    if layout is None:
        return None
    regs = {n: layout.named(n) for n in ("KEYR", "OPTKEYR", "SR", "CR", "OPTCR")}
    keyr, sr, cr = regs["KEYR"], regs["SR"], regs["CR"]
    if keyr is None or sr is None or cr is None:
        return None
    need = ("PG", "SER", "MER", "SNB", "PSIZE", "STRT", "LOCK")
    fields = {n: cr.field(n) for n in (*need, "EOPIE", "ERRIE")}
    bsy = sr.field("BSY")
    if bsy is None or any(fields[n] is None for n in need):
        return None

    def bit(name: str) -> int:
        f = fields[name]
        return 0 if f is None else f.mask

    snb, psize = fields["SNB"], fields["PSIZE"]
    assert snb is not None and psize is not None
    optcr = regs["OPTCR"]
    optlock = optcr.field("OPTLOCK") if optcr is not None else None
    return SectorControllerRegs(
        keyr=keyr.offset,
        optkeyr=regs["OPTKEYR"].offset if regs["OPTKEYR"] is not None else None,
        sr=sr.offset,
        cr=cr.offset,
        optcr=optcr.offset if optcr is not None else None,
        sr_bits={f.name: f.mask for f in sr.fields if f.bit_size == 1},
        cr_pg=bit("PG"),
        cr_ser=bit("SER"),
        cr_mer=bit("MER"),
        cr_strt=bit("STRT"),
        cr_lock=bit("LOCK"),
        cr_eopie=bit("EOPIE"),
        cr_errie=bit("ERRIE"),
        snb_shift=snb.bit_offset,
        snb_width=snb.bit_size,
        psize_shift=psize.bit_offset,
        optlock=optlock.mask if optlock is not None else 0,
    )
