"""Typed view of `catalogue.toml`.

The catalogue is data so that adding a part never means adding code; this module only turns the
TOML into frozen records and merges a part's own keys over its family's.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from harness.errors import ConfigError, UnknownPartError


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    base: int
    size: int

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.base + self.size

    def contains(self, address: int, length: int = 1) -> bool:
        return self.base <= address and address + length <= self.end


@dataclass(frozen=True)
class FlashGeometry:
    base: int
    size: int
    banks: int
    page_size: int
    program_unit: int
    erase_value: int

    @property
    def bank_size(self) -> int:
        return self.size // self.banks

    @property
    def pages_per_bank(self) -> int:
        return self.bank_size // self.page_size

    @property
    def page_count(self) -> int:
        return self.size // self.page_size

    def page_of(self, address: int) -> int:
        """Global page (G0) or sector (H7) index of an absolute address."""
        return (address - self.base) // self.page_size

    def bank_of(self, address: int) -> int:
        return (address - self.base) // self.bank_size


@dataclass(frozen=True)
class OptionField:
    name: str
    shift: int
    width: int

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.shift

    def get(self, value: int) -> int:
        return (value >> self.shift) & ((1 << self.width) - 1)

    def put(self, value: int, field_value: int) -> int:
        limit = (1 << self.width) - 1
        if not 0 <= field_value <= limit:
            raise ConfigError(
                f"option field {self.name} holds {self.width} bit(s): "
                f"value {field_value:#x} is outside 0..{limit:#x}"
            )
        return (value & ~self.mask) | (field_value << self.shift)


@dataclass(frozen=True)
class OptionRegister:
    name: str
    offset: int
    factory: int
    fields: tuple[OptionField, ...] = ()

    def field(self, name: str) -> OptionField:
        for f in self.fields:
            if f.name == name:
                return f
        raise ConfigError(
            f"option register {self.name} has no field {name!r}",
            hint="fields: " + ", ".join(f.name for f in self.fields),
        )

    def decode(self, value: int) -> dict[str, int]:
        return {f.name: f.get(value) for f in self.fields}


@dataclass(frozen=True)
class BootloaderInfo:
    version: int
    commands: tuple[int, ...]
    id_byte: int
    id_addr: int
    usarts: tuple[str, ...]
    entry: int

    @property
    def extended_erase(self) -> bool:
        return 0x44 in self.commands


@dataclass(frozen=True)
class Part:
    name: str
    family: str
    pid: int
    core: str
    fpu: bool
    flash: FlashGeometry
    flash_controller: str
    flash_regs: int
    idcode_addr: int
    uid_addr: int
    flash_size_addr: int
    boot_alias: bool
    ram: tuple[MemoryRegion, ...]
    system_memory: tuple[MemoryRegion, ...]
    otp: MemoryRegion | None
    engi: MemoryRegion | None
    peripherals: dict[str, int]
    irqs: dict[str, int]
    bootloader: BootloaderInfo
    flash_keys: tuple[int, int]
    option_keys: tuple[int, int]
    option_registers: tuple[OptionRegister, ...]
    timing_us: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)

    def option_register(self, name: str) -> OptionRegister:
        for reg in self.option_registers:
            if reg.name == name:
                return reg
        raise ConfigError(
            f"{self.name} has no option register {name!r}",
            hint="registers: " + ", ".join(r.name for r in self.option_registers),
        )

    def ram_region(self, name: str) -> MemoryRegion:
        for r in self.ram:
            if r.name == name:
                return r
        raise ConfigError(f"{self.name} has no RAM region {name!r}")

    def peripheral(self, name: str) -> int:
        try:
            return self.peripherals[name]
        except KeyError:
            raise ConfigError(
                f"{self.name} has no peripheral {name!r} in the catalogue",
                hint="known: " + ", ".join(sorted(self.peripherals)),
            ) from None

    @property
    def factory_options(self) -> dict[str, int]:
        return {r.name: r.factory for r in self.option_registers}


def _region(d: dict[str, Any], default_name: str) -> MemoryRegion:
    return MemoryRegion(str(d.get("name", default_name)), int(d["base"]), int(d["size"]))


def _build_part(name: str, raw: dict[str, Any], families: dict[str, Any]) -> Part:
    fam_name = raw.get("family")
    if fam_name not in families:
        raise ConfigError(f"catalogue: part {name} names unknown family {fam_name!r}")
    merged: dict[str, Any] = {**families[fam_name], **raw}
    try:
        fields_by_reg: dict[str, dict[str, list[int]]] = merged.get("option_fields", {})
        factory_over: dict[str, int] = merged.get("option_factory", {})
        regs = tuple(
            OptionRegister(
                reg_name,
                int(off_fac[0]),
                int(factory_over.get(reg_name, off_fac[1])),
                tuple(
                    OptionField(fname, int(sw[0]), int(sw[1]))
                    for fname, sw in fields_by_reg.get(reg_name, {}).items()
                ),
            )
            for reg_name, off_fac in merged["option_registers"].items()
        )
        bl = merged["bootloader"]
        known = {
            "family",
            "core",
            "fpu",
            "flash_controller",
            "flash_regs",
            "idcode_addr",
            "boot_alias",
            "flash_keys",
            "option_keys",
            "option_registers",
            "option_fields",
            "option_factory",
            "timing_us",
            "pid",
            "uid_addr",
            "flash_size_addr",
            "flash",
            "ram",
            "system_memory",
            "otp",
            "engi",
            "peripherals",
            "irqs",
            "bootloader",
        }
        return Part(
            name=name,
            family=str(fam_name),
            pid=int(merged["pid"]),
            core=str(merged["core"]),
            fpu=bool(merged["fpu"]),
            flash=FlashGeometry(**{k: int(v) for k, v in merged["flash"].items()}),
            flash_controller=str(merged["flash_controller"]),
            flash_regs=int(merged["flash_regs"]),
            idcode_addr=int(merged["idcode_addr"]),
            uid_addr=int(merged["uid_addr"]),
            flash_size_addr=int(merged["flash_size_addr"]),
            boot_alias=bool(merged["boot_alias"]),
            ram=tuple(_region(r, "RAM") for r in merged["ram"]),
            system_memory=tuple(
                _region(r, f"SYSMEM{i}") for i, r in enumerate(merged["system_memory"])
            ),
            otp=_region(merged["otp"], "OTP") if "otp" in merged else None,
            engi=_region(merged["engi"], "ENGI") if "engi" in merged else None,
            peripherals={k: int(v) for k, v in merged.get("peripherals", {}).items()},
            irqs={k: int(v) for k, v in merged.get("irqs", {}).items()},
            bootloader=BootloaderInfo(
                version=int(bl["version"]),
                commands=tuple(int(c) for c in bl["commands"]),
                id_byte=int(bl["id_byte"]),
                id_addr=int(bl["id_addr"]),
                usarts=tuple(str(u) for u in bl["usarts"]),
                entry=int(bl["entry"]),
            ),
            flash_keys=(int(merged["flash_keys"][0]), int(merged["flash_keys"][1])),
            option_keys=(int(merged["option_keys"][0]), int(merged["option_keys"][1])),
            option_registers=regs,
            timing_us={k: int(v) for k, v in merged["timing_us"].items()},
            extra={k: v for k, v in merged.items() if k not in known},
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(f"catalogue: part {name} is malformed ({exc!r})") from exc


@functools.cache
def _load() -> dict[str, Part]:
    text = resources.files("harness.parts").joinpath("catalogue.toml").read_text()
    data = tomllib.loads(text)
    families = data.get("families", {})
    return {name: _build_part(name, raw, families) for name, raw in data["parts"].items()}


def all_parts() -> dict[str, Part]:
    return dict(_load())


def get_part(name: str) -> Part:
    parts = _load()
    key = name.upper()
    if key not in parts:
        raise UnknownPartError(
            f"unknown part {name!r}", hint="known parts: " + ", ".join(sorted(parts))
        )
    return parts[key]
