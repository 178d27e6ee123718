"""The NOR chip catalogue (chips.toml) as typed specs: one `ChipSpec` per chip table.

Each table inherits its vendor family's base table and overrides fields; `timing`,
`registers` and `addressed_registers` merge key by key, every other field replaces. Datasheet
timing symbols (tPP, tSE, tBE64, tCE, ...) become the busy times the chip model uses, and the
command table is built from the data (rowsets.py); the SFDP image from the same parameters
(sfdp.py), so what a loader reads back is what the chip does.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from stm32_hil.errors import ConfigError
from stm32_hil.sim.memories.nor.commands import Command

K = 1024
M = K * K
MERGED = ("timing", "registers", "addressed_registers")
# Datasheet symbol -> the busy-time key the chip model looks up.
TIMING_SYMBOLS = {
    "tPP": "page_program",
    "tSE": "erase_4k",
    "tBE32": "erase_32k",
    "tBE64": "erase_64k",
    "tBE128": "erase_128k",
    "tBE256": "erase_256k",
    "tCE": "chip_erase",
    "tDE": "die_erase",
    "tW": "write_sr",
}


@dataclass(frozen=True)
class FourByte:
    """How a chip over 16 MiB reaches its upper half (JESD216 DWORD16 methods)."""

    enter: int = 0  # B7h-style enter opcode (0 = none)
    exit: int = 0
    wel: bool = False  # WREN needed before enter/exit
    opcodes: bool = False  # dedicated 4-byte instruction set
    ear: tuple[int, int] | None = None  # extended address register (write, read) opcodes
    ear_wel: bool = True
    ear_extadd: int | None = None  # bit of the EAR/bank register that selects 4-byte mode
    flag: tuple[str, int] | None = None  # register bit showing the current mode
    power_up: tuple[str, int] | None = None  # bit = 1: 4-byte mode out of power-up
    power_up_low: tuple[str, int] | None = None  # bit = 0: 4-byte mode out of power-up


@dataclass(frozen=True)
class Suspend:
    suspend: int
    resume: int
    flag: tuple[str, int]  # register bit that reads 1 while an operation is suspended


@dataclass(frozen=True)
class Octal:
    """Octal (8-line) protocol: how to enter it and how its instructions are formed."""

    entry: str  # "macronix_cr2" | "micron_vcr"
    ext_str: str = "invert"  # second instruction byte in STR: "invert", "repeat", "none"
    ext_dtr: str = "invert"
    read_dtr: int = 0xEE
    reg_dummy: int = 4  # dummy cycles of register reads in octal mode
    str_values: tuple[int, ...] = ()  # micron_vcr: IOMODE values selecting octal STR
    dtr_values: tuple[int, ...] = ()  # ... and octal DTR
    dtr_pairs: bool = False  # DTR: each register and ID byte comes out twice (Macronix)


@dataclass(frozen=True)
class ChipSpec:
    name: str
    vendor: str
    jedec_id: bytes
    size: int
    commands: dict[int, Command]
    timing: dict[str, float]  # page_program, erase_4k, erase_64k, chip_erase, write_sr, ...
    qe: tuple[str, int] | None  # register and bit of Quad Enable; None = quad always available
    registers: dict[str, int] = field(default_factory=dict)  # reset (factory) values
    status_reg: str = "SR1"  # register holding WIP (bit 0) and WEL (bit 1)
    flag_status: bool = False  # Micron flag status register (bit 7 = ready)
    octal: bool = False  # has an octal (OPI) protocol
    page_size: int = 256
    mfr_dev: bytes = b""  # answer to 0x90
    protocol: str = "winbond"
    erase_types: tuple[tuple[int, int], ...] = ()  # (size, opcode)
    erase_types_4b: tuple[tuple[int, int], ...] = ()
    chip_erase: tuple[int, ...] = ()
    dies: int = 1
    die_erase: int = 0
    four_byte: FourByte | None = None
    dummy_config: str = "none"
    reset: tuple[int, int] = (0x66, 0x99)
    deep_power_down: tuple[int, int] | None = None
    suspend: Suspend | None = None
    octal_mode: Octal | None = None
    addressed_registers: dict[int, str] = field(default_factory=dict)
    continuous_read: tuple[int, int] | None = None  # mode-byte (mask, value) that enters XIP

    @property
    def four_byte_capable(self) -> bool:
        return self.size > 16 * M

    @functools.cached_property
    def sfdp(self) -> bytes:
        """The SFDP image (5Ah) built from this spec's own parameters (JESD216)."""
        from stm32_hil.sim.memories.nor.sfdp import build_sfdp

        return build_sfdp(self)


def _size(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip().upper()
    for suffix, mult in (("M", M), ("K", K)):
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * mult
    return int(text, 0)


@functools.cache
def _raw() -> dict[str, Any]:
    text = resources.files("stm32_hil.sim.memories.nor").joinpath("chips.toml").read_text()
    return tomllib.loads(text)


def _resolve(name: str, table: dict[str, Any], bases: dict[str, Any], depth: int = 0) -> dict:
    """The table with its base chain applied (base first, the table's own fields last)."""
    if depth > 8:
        raise ConfigError(f"chips.toml: base chain of {name!r} is too deep (a cycle?)")
    base_name = table.get("base")
    merged: dict[str, Any] = {}
    if base_name is not None:
        if base_name not in bases:
            raise ConfigError(f"chips.toml: {name!r} names unknown base {base_name!r}")
        merged = _resolve(base_name, bases[base_name], bases, depth + 1)
    for key, value in table.items():
        if key == "base":
            continue
        if key in MERGED and isinstance(value, dict):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def _pair(value: Any) -> tuple[str, int] | None:
    return (str(value[0]), int(value[1])) if value else None


def _spec(name: str, d: dict[str, Any]) -> ChipSpec:
    from stm32_hil.sim.memories.nor.rowsets import command_table

    jedec = bytes.fromhex(str(d["jedec"]))
    size = _size(d["size"])
    timing = {TIMING_SYMBOLS.get(k, k): float(v) for k, v in d.get("timing", {}).items()}
    fb_raw = d.get("four_byte") or None
    four_byte = None
    if fb_raw:
        four_byte = FourByte(
            enter=int(fb_raw.get("enter", 0)),
            exit=int(fb_raw.get("exit", 0)),
            wel=bool(fb_raw.get("wel", False)),
            opcodes=bool(fb_raw.get("opcodes", False)),
            ear=(int(fb_raw["ear"][0]), int(fb_raw["ear"][1])) if fb_raw.get("ear") else None,
            ear_wel=bool(fb_raw.get("ear_wel", "ear_extadd" not in fb_raw)),
            ear_extadd=int(fb_raw["ear_extadd"]) if "ear_extadd" in fb_raw else None,
            flag=_pair(fb_raw.get("flag")),
            power_up=_pair(fb_raw.get("power_up")),
            power_up_low=_pair(fb_raw.get("power_up_low")),
        )
    sus = d.get("suspend")
    oc = d.get("octal")
    octal = None
    if oc:
        octal = Octal(
            entry=str(oc["entry"]),
            ext_str=str(oc.get("ext_str", "invert")),
            ext_dtr=str(oc.get("ext_dtr", "invert")),
            read_dtr=int(oc.get("read_dtr", 0xEE)),
            reg_dummy=int(oc.get("reg_dummy", 4)),
            str_values=tuple(int(v) for v in oc.get("str", ())),
            dtr_values=tuple(int(v) for v in oc.get("dtr", ())),
            dtr_pairs=bool(oc.get("dtr_pairs", False)),
        )
    dpd = d.get("deep_power_down")
    at_regs = d.get("addressed_registers", {})
    xip = d.get("continuous_read")
    reset = d.get("reset", [0x66, 0x99])
    spec = ChipSpec(
        name=name,
        vendor=str(d["vendor"]),
        jedec_id=jedec,
        size=size,
        commands={},
        timing=timing,
        qe=_pair(d.get("qe")),
        registers={str(k): int(v) for k, v in d.get("registers", {}).items()},
        status_reg=str(d.get("status_reg", "SR1")),
        flag_status=bool(d.get("flag_status", False)),
        octal=octal is not None,
        page_size=int(d.get("page_size", 256)),
        mfr_dev=bytes([jedec[0], (jedec[2] - 1) & 0xFF]),
        protocol=str(d["protocol"]),
        erase_types=tuple((int(s), int(o)) for s, o in d.get("erase", ())),
        erase_types_4b=tuple((int(s), int(o)) for s, o in d.get("erase_4b", ())),
        chip_erase=tuple(int(o) for o in d.get("chip_erase", ())),
        dies=int(d.get("dies", 1)),
        die_erase=int(d.get("die_erase", 0)),
        four_byte=four_byte,
        dummy_config=str(d.get("dummy_config", "none")),
        reset=(int(reset[0]), int(reset[1])),
        deep_power_down=(int(dpd[0]), int(dpd[1])) if dpd else None,
        suspend=Suspend(int(sus[0]), int(sus[1]), (str(sus[2]), int(sus[3]))) if sus else None,
        octal_mode=octal,
        addressed_registers={int(k, 0): str(v) for k, v in at_regs.items()},
        continuous_read=(int(xip[0]), int(xip[1])) if xip else None,
    )
    _check(spec)
    spec.commands.update(command_table(spec))
    return spec


def _check(spec: ChipSpec) -> None:
    """A table the model could not run is refused when the catalogue loads, with its name."""
    problems = []
    for size, _op in (*spec.erase_types, *spec.erase_types_4b):
        if f"erase_{size // K}k" not in spec.timing:
            problems.append(f"no erase time for {size // K} KiB (timing.tSE/tBE..)")
    if spec.chip_erase and "chip_erase" not in spec.timing:
        problems.append("chip erase without tCE")
    if spec.die_erase and "die_erase" not in spec.timing:
        problems.append("die erase without tDE")
    for key in ("page_program", "write_sr"):
        if key not in spec.timing:
            problems.append(f"no {key} time")
    if spec.size & (spec.size - 1) or spec.page_size & (spec.page_size - 1):
        problems.append("size and page size must be powers of two")
    if problems:
        raise ConfigError(f"chips.toml: chip {spec.name}: " + "; ".join(sorted(set(problems))))


@functools.cache
def _catalogue() -> dict[str, ChipSpec]:
    raw = _raw()
    bases = raw.get("base", {})
    return {
        name.upper(): _spec(name.upper(), _resolve(name, table, bases))
        for name, table in raw.get("chip", {}).items()
    }


CHIPS: dict[str, ChipSpec] = dict(_catalogue())


def chip_spec(name: str) -> ChipSpec:
    try:
        return CHIPS[name.upper()]
    except KeyError:
        raise ConfigError(
            f"unknown NOR flash chip {name!r}",
            hint="known: " + ", ".join(sorted(CHIPS)) + " (add a table to chips.toml)",
        ) from None
