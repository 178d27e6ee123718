"""Every STM32's memory map, peripheral blocks and register layouts, from stm32-data.

The facts come from `data/stm32.json.gz`, which `python -m stm32_hil.parts.generate` builds from an
stm32-data snapshot (itself extracted from ST's CubeMX database and SVD files). The file is
read lazily on first use and every object built from it is cached, so importing this module
costs nothing and repeated look-ups are free.

Naming rule for arrays (registers and fields alike): an array element is `NAME[i]` with the
0-based index the data uses, never the reference manual's 1-based suffix, because the data's
arrays are not all numbered from 1 (DMA streams count from 0, GPIO AFR[0]/AFR[1] are AFRL/AFRH).
So TIM CCR1..CCR4 are `CCR[0]`..`CCR[3]`, GPIO MODER pins are fields `MODER[0]`..`MODER[15]`.
Registers of nested blocks are `BLOCK.REG`, of nested block arrays `BLOCK[i].REG`
(DMA `ST[0].CR`, H7 FLASH `BANK[1].SR`, bxCAN `TX[2].TIR`).

This module is the raw data; `stm32_hil.parts.catalogue` merges it with hand-written facts
(bootloader, option bytes) that the data does not carry.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import gzip
import json
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import cached_property
from importlib import resources
from typing import Any

from stm32_hil.errors import ConfigError, UnknownPartError

DATA_FILE = "data/stm32.json.gz"
_SUPPORTED_FORMAT = 1
_MAX_REGISTER_BYTES = 8  # the data has 1, 2 and 4-byte registers; at() looks back this far
# What may follow a chip name in an ordering code: package, temperature range, packing
# ("STM32H743ZIT6", "STM32F411CEU6TR", "STM32G071RBT6"); longer tails are not a part number.
_ORDER_SUFFIX = re.compile(r"[A-Z0-9]{1,6}")


class UnknownBlockError(ConfigError):
    """A peripheral block name the chip does not have."""


class AmbiguousPartError(UnknownPartError):
    """A part name that is the prefix of several chips (e.g. "STM32H743")."""


@dataclass(frozen=True)
class RccBits:
    """One RCC register bit: the block's clock enable or reset."""

    register: str  # "AHB3ENR"
    field: str  # "QUADSPIEN"


@dataclass(frozen=True)
class PinFunction:
    """One pin that can carry one of a block's signals."""

    pin: str  # "PB2"
    signal: str  # "CLK"
    af: int | None  # alternate function number; None for analog/additional functions and F1


@dataclass(frozen=True)
class BlockInfo:
    """One peripheral block instance of a chip, as the primary core sees it."""

    name: str
    base: int
    # Bus span: max(1 KiB, register extent rounded up to 1 KiB), clipped at the next block's
    # base. The data has no sizes; this is what the reference manuals' memory maps allot.
    size: int
    kind: str | None  # register layout family ("quadspi", "gpio", "timer"); None: no layout
    version: str | None  # "v1", "h7rm0433", ...
    block: str | None  # block inside the layout ("QUADSPI", "TIM_GP32")
    rcc_enable: RccBits | None
    rcc_reset: RccBits | None
    pins: tuple[PinFunction, ...]
    interrupts: tuple[tuple[str, str], ...]  # (signal, interrupt name)
    # Other names the data lists at the same base (ADC1_COMMON on F1, I3C1 on H7R/S); the
    # block keeps the name that has a register layout and RCC bits.
    aliases: tuple[str, ...] = ()

    @property
    def layout_key(self) -> str | None:
        """The registers.json key of this block's layout ("quadspi_v1")."""
        if self.kind is None or self.version is None:
            return None
        return f"{self.kind}_{self.version}"

    @property
    def end(self) -> int:
        """First address past the block's span."""
        return self.base + self.size

    def layout(self) -> RegisterLayout | None:
        """The block's register layout, None when the data has none."""
        key = self.layout_key
        return None if key is None else layout(key, self.block)


@dataclass(frozen=True)
class MemoryInfo:
    """One memory region: a flash bank (or bank region), RAM, EEPROM or OTP."""

    name: str  # "BANK_1", "BANK_1_REGION_2", "SRAM1", "OTP"
    kind: str  # "flash" (also OTP), "ram", "eeprom"
    base: int
    size: int
    erase_size: int | None  # bytes; 0 for OTP (not erasable); None for RAM
    write_size: int | None  # programming unit in bytes
    erase_value: int | None  # byte value of erased flash

    @property
    def end(self) -> int:
        """First address past the region."""
        return self.base + self.size


@dataclass(frozen=True)
class FieldInfo:
    """One bit field of a register."""

    name: str
    bit_offset: int  # lowest bit (of the first part, for split fields)
    bit_size: int  # total width
    # Non-empty only for fields split over several bit ranges: ((offset, width), ...) with the
    # field's low bits first (timer OCM = bits 4..6 and bit 16).
    parts: tuple[tuple[int, int], ...] = ()

    @property
    def mask(self) -> int:
        """The field's bits within the register."""
        ranges = self.parts or ((self.bit_offset, self.bit_size),)
        return functools.reduce(lambda m, r: m | (((1 << r[1]) - 1) << r[0]), ranges, 0)


@dataclass(frozen=True)
class RegisterInfo:
    """One register at its offset from the block base (arrays and nested blocks flattened)."""

    name: str  # "CR", "AFR[1]", "ST[0].CR" (see the module docstring)
    offset: int
    size: int  # bytes, usually 4
    fields: tuple[FieldInfo, ...]  # sorted by bit offset; empty for whole-register values
    fieldset: str | None = None  # the data's field set name (shared by array elements)

    def field(self, name: str) -> FieldInfo | None:
        """The field called `name`, None if the register has none."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class RegisterLayout:
    """A register block's flat layout: every register with its offset from the block base."""

    name: str  # "QUADSPI"
    registers: tuple[RegisterInfo, ...]  # sorted by offset, then name
    extent: int  # bytes from the base to the end of the last register

    @cached_property
    def _starts(self) -> list[int]:
        return [r.offset for r in self.registers]

    @cached_property
    def _by_name(self) -> dict[str, RegisterInfo]:
        return {r.name: r for r in reversed(self.registers)}

    def at(self, offset: int) -> RegisterInfo | None:
        """The register covering byte `offset`, None in a gap.

        Some layouts overlay registers (CRC DR/DR16/DR8, timer CCMR_Input/CCMR_Output); then
        the one starting closest below `offset` wins, then the widest, then the first by name."""
        candidates: list[RegisterInfo] = []
        i = bisect.bisect_right(self._starts, offset) - 1
        while i >= 0 and self.registers[i].offset > offset - _MAX_REGISTER_BYTES:
            reg = self.registers[i]
            if offset < reg.offset + reg.size:
                candidates.append(reg)
            i -= 1
        if not candidates:
            return None
        return min(candidates, key=lambda r: (-r.offset, -r.size, r.name))

    def named(self, name: str) -> RegisterInfo | None:
        """The register called `name` (exact, else case-insensitive), None if absent."""
        reg = self._by_name.get(name)
        if reg is None:
            upper = name.upper()
            reg = next((r for r in self.registers if r.name.upper() == upper), None)
        return reg

    def field(self, register: str, field: str) -> FieldInfo | None:
        """`register`'s field called `field`, None if either is absent."""
        reg = self.named(register)
        return None if reg is None else reg.field(field)


@dataclass(frozen=True)
class ChipData:
    """One chip as the data describes it, seen from its primary core."""

    name: str  # "STM32H743ZI"
    family: str  # "STM32H7"; the L4+ series is its own family, "STM32L4+"
    line: str  # "STM32H743/753"
    die: str  # "DIE450"
    device_id: int  # DBGMCU_IDCODE DEV_ID (0x450)
    core: str  # primary core: "cm7" on H745/H747/H755/H757, "cm4" on WL5x, "ca7" on MP1
    memory: tuple[MemoryInfo, ...]  # sorted by base; single-bank organisation if selectable
    blocks: tuple[BlockInfo, ...]  # sorted by base
    interrupts: dict[str, int] = dc_field(hash=False)
    nvic_priority_bits: int
    cores: tuple[str, ...] = ()  # every core, primary first
    # The dual-bank organisation of chips whose bank mode is an option bit (F42x/F43x DB1M,
    # F76x/F77x nDBANK, G0B/G4/L4+/L5 DBANK); None elsewhere. Which one is the factory default
    # differs per line and is not in the data.
    memory_dual_bank: tuple[MemoryInfo, ...] | None = None

    @cached_property
    def _by_name(self) -> dict[str, BlockInfo]:
        names = {alias: b for b in self.blocks for alias in b.aliases}
        names.update((b.name, b) for b in self.blocks)
        return names

    def block(self, name: str) -> BlockInfo:
        """The block called `name` (case-insensitive; aliases accepted)."""
        found = self._by_name.get(name) or self._by_name.get(name.upper())
        if found is None:
            raise UnknownBlockError(
                f"{self.name} has no peripheral block {name!r}",
                hint="its blocks: " + ", ".join(b.name for b in self.blocks),
            )
        return found

    def has_block(self, name: str) -> bool:
        """Whether the chip has a block called `name` (case-insensitive; aliases accepted)."""
        return name in self._by_name or name.upper() in self._by_name

    def block_at(self, address: int) -> BlockInfo | None:
        """The block whose span covers `address`, None outside every span."""
        i = bisect.bisect_right([b.base for b in self.blocks], address) - 1
        if i >= 0 and address < self.blocks[i].end:
            return self.blocks[i]
        return None

    def memory_region(self, name: str) -> MemoryInfo | None:
        """The memory region called `name` ("BANK_1", "SRAM1"), None if absent."""
        return next((m for m in self.memory if m.name == name), None)

    @property
    def flash_size(self) -> int:
        """Bytes of main flash (every flash region but OTP)."""
        return sum(m.size for m in self.memory if m.kind == "flash" and m.name != "OTP")

    @property
    def ram_size(self) -> int:
        """Bytes of on-chip RAM regions (ICODE/DCODE aliases of one RAM counted once; external
        FMC/OCTOSPI/SDRAM windows excluded)."""
        external = ("FMC_", "OCTOSPI_", "SDRAM_")
        return sum(
            m.size
            for m in self.memory
            if m.kind == "ram" and not m.name.endswith("_ICODE") and not m.name.startswith(external)
        )


# -- loading --------------------------------------------------------------------------------------


@functools.cache
def _document() -> dict[str, Any]:
    raw = resources.files("stm32_hil.parts").joinpath(DATA_FILE).read_bytes()
    doc: dict[str, Any] = json.loads(gzip.decompress(raw))
    if doc.get("format") != _SUPPORTED_FORMAT:
        raise ConfigError(
            f"harness/parts/{DATA_FILE} has format {doc.get('format')!r}, "
            f"this harness reads format {_SUPPORTED_FORMAT}",
            hint="regenerate it with 'python -m stm32_hil.parts.generate'",
        )
    return doc


@functools.cache
def _names() -> tuple[str, ...]:
    return tuple(sorted(_document()["chips"]))


def chip_names() -> list[str]:
    """Every chip name the data holds, sorted ("STM32C011D6" ... "STM32WLE5JC")."""
    return list(_names())


def source_commit() -> str:
    """The stm32-data-generated commit the data file was built from."""
    return str(_document()["source"]["commit"])


def _normalise(name: str) -> str:
    text = "".join(name.split()).upper()
    return text if text.startswith("STM32") else "STM32" + text


def resolve(name: str) -> str:
    """The canonical chip name for `name`.

    Case-insensitive; the "STM32" prefix is optional; an ordering code's package/temperature
    suffix is dropped ("STM32H743ZIT6" -> "STM32H743ZI"); a prefix naming exactly one chip is
    accepted ("STM32H750X" -> "STM32H750XB"). Raises UnknownPartError (with the closest names)
    for unknown names and AmbiguousPartError for prefixes of several chips."""
    names = _names()
    wanted = _normalise(name)
    i = bisect.bisect_left(names, wanted)
    if i < len(names) and names[i] == wanted:
        return wanted
    # Longest chip name that `wanted` starts with, followed by an ordering-code suffix.
    for length in range(len(wanted) - 1, 10, -1):
        head, tail = wanted[:length], wanted[length:]
        j = bisect.bisect_left(names, head)
        if j < len(names) and names[j] == head and _ORDER_SUFFIX.fullmatch(tail):
            return head
    longer = names[i : bisect.bisect_right(names, wanted + "\x7f")]
    if len(longer) == 1:
        return longer[0]
    if longer:
        shown = ", ".join(longer[:12]) + (
            f" and {len(longer) - 12} more" if len(longer) > 12 else ""
        )
        raise AmbiguousPartError(
            f"part name {name!r} is ambiguous: {len(longer)} chips start with {wanted}",
            hint=f"give the full name: {shown}",
        )
    close = difflib.get_close_matches(wanted, names, n=6, cutoff=0.6)
    raise UnknownPartError(
        f"unknown part {name!r}: stm32-data holds no chip {wanted}",
        hint=("closest: " + ", ".join(close))
        if close
        else "see stm32_hil.parts.chipdata.chip_names()",
    )


def chip(name: str) -> ChipData:
    """The chip called `name` (any spelling `resolve` accepts)."""
    return _chip(resolve(name))


@functools.cache
def _chip(name: str) -> ChipData:
    doc = _document()
    raw = doc["chips"][name]
    pins = {
        block: tuple(PinFunction(p, s, af) for p, s, af in doc["pinlists"][index])
        for block, index in doc["pintables"][raw["pins"]].items()
    }
    blocks = tuple(
        _block(doc["blocks"][i], pins.get(doc["blocks"][i][0], ()))
        for i in (doc["peripherals"][raw["peripherals"]])
    )
    dual = raw["memory_dual_bank"]
    return ChipData(
        name=name,
        family=raw["family"],
        line=raw["line"],
        die=raw["die"],
        device_id=raw["device_id"],
        core=raw["cores"][0],
        memory=_memory(raw["memory"]),
        blocks=blocks,
        interrupts=dict(doc["irqtables"][raw["interrupts"]]),
        nvic_priority_bits=raw["nvic_priority_bits"],
        cores=tuple(raw["cores"]),
        memory_dual_bank=None if dual is None else _memory(dual),
    )


def die_blocks(name: str) -> tuple[BlockInfo, ...]:
    """Blocks that other chips cut from the same die document and this chip's data omits.

    Lines that share a die (DEV_ID) differ by what ST documents and bonds out, not by the
    silicon: an STM32H743 carries the H745's IWDG2 and WWDG2, and pyOCD's H7 flash algorithm
    refreshes them on every H7. Firmware written for a sibling line touches such blocks, and
    silicon answers, so the simulated bus must answer too (as register files the gap log
    names, since their behaviour on this line is undocumented). Only spans no block of this
    chip overlaps are returned, one block per base."""
    return _die_blocks(resolve(name))


@functools.cache
def _die_blocks(name: str) -> tuple[BlockInfo, ...]:
    doc = _document()
    own = _chip(name)
    spans = [(b.base, b.end) for b in own.blocks]
    found: dict[int, BlockInfo] = {}
    tables = {
        raw["peripherals"]
        for other, raw in doc["chips"].items()
        if raw["die"] == own.die and other != name
    }
    for table in sorted(tables):
        for i in doc["peripherals"][table]:
            info = _block(doc["blocks"][i], ())
            if info.base in found or any(s < info.end and info.base < e for s, e in spans):
                continue
            found[info.base] = info
    return tuple(found[base] for base in sorted(found))


def _bits(pair: list[str] | None) -> RccBits | None:
    return None if pair is None else RccBits(pair[0], pair[1])


def _block(row: list[Any], pins: tuple[PinFunction, ...]) -> BlockInfo:
    name, base, size, kind, version, block, enable, reset, irqs, aliases = row
    return BlockInfo(
        name=name,
        base=base,
        size=size,
        kind=kind,
        version=version,
        block=block,
        rcc_enable=_bits(enable),
        rcc_reset=_bits(reset),
        pins=pins,
        interrupts=tuple((signal, irq) for signal, irq in irqs),
        aliases=tuple(aliases),
    )


@functools.cache
def _memory(index: int) -> tuple[MemoryInfo, ...]:
    return tuple(MemoryInfo(*region) for region in _document()["memories"][index])


# -- register layouts -----------------------------------------------------------------------------


def layout_keys() -> list[str]:
    """Every layout key ("adc_v4", "quadspi_v1", ...), sorted."""
    return sorted(_document()["layouts"])


@functools.cache
def layout(key: str, block: str | None = None) -> RegisterLayout | None:
    """The flat register layout of `block` in layout `key` ("timer_v3", "TIM_GP32").

    Without `block`, the layout's main block: the only one, or the one named like the key's
    kind ("QUADSPI" in quadspi_v1); ConfigError if that is ambiguous (timer_v3 has ten).
    None when the key or block is unknown."""
    entry = _document()["layouts"].get(key)
    if entry is None:
        return None
    blocks: dict[str, list[Any]] = entry["blocks"]
    if block is None:
        block = _main_block(key, blocks)
    regs = blocks.get(block)
    if regs is None:
        return None
    fieldsets: dict[str, list[Any]] = entry["fieldsets"]
    registers = tuple(
        RegisterInfo(
            name=name,
            offset=offset,
            size=size,
            fields=_fields(key, fieldset, fieldsets) if fieldset is not None else (),
            fieldset=fieldset,
        )
        for name, offset, size, fieldset in regs
    )
    extent = max((r.offset + r.size for r in registers), default=0)
    return RegisterLayout(name=block, registers=registers, extent=extent)


def _main_block(key: str, blocks: dict[str, list[Any]]) -> str:
    if len(blocks) == 1:
        return next(iter(blocks))
    kind = key.rsplit("_", 1)[0].upper()
    if kind in blocks:
        return kind
    raise ConfigError(
        f"layout {key} has several blocks; name one",
        hint="blocks: " + ", ".join(sorted(blocks)),
    )


@functools.cache
def _fieldset(key: str, name: str) -> tuple[FieldInfo, ...]:
    rows = _document()["layouts"][key]["fieldsets"][name]
    return tuple(
        FieldInfo(row[0], row[1], row[2], tuple((o, w) for o, w in row[3]) if len(row) > 3 else ())
        for row in rows
    )


def _fields(key: str, name: str, fieldsets: dict[str, list[Any]]) -> tuple[FieldInfo, ...]:
    if name not in fieldsets:
        raise ConfigError(f"layout {key}: register field set {name} is missing from the data")
    return _fieldset(key, name)
