"""Parts: chip facts from the generated stm32-data file, merged with `catalogue.toml`.

Every STM32 in stm32-data is a part (`get_part("STM32L496AG")`). The generated data gives the
memory map, every peripheral block with its register-block kind/version, RCC bits, pins and
IRQs; `catalogue.toml` adds only what that data lacks (flash-controller models, option-byte
layouts, bootloader facts per device, blocks a family's data omits). A chip with no
hand-written entry is still a complete part: a loader host with no bootloader model.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from stm32_hil.errors import ConfigError
from stm32_hil.parts import chipdata
from stm32_hil.parts.chipdata import BlockInfo, ChipData

# stm32-data core names -> the core models of stm32_hil.sim.cpu
CORES = {
    "cm0": "cortex-m0",
    "cm0p": "cortex-m0+",
    "cm3": "cortex-m3",
    "cm4": "cortex-m4",
    "cm7": "cortex-m7",
    "cm33": "cortex-m33",
    "cm55": "cortex-m55",
}
# RAM regions of the data that are windows onto external memory controllers, not SRAM.
EXTERNAL_WINDOWS = ("FMC", "SDRAM", "OCTOSPI", "QSPI", "HSPI", "XSPI")


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
    flash_size_addr: int | None
    boot_alias: bool
    ram: tuple[MemoryRegion, ...]
    system_memory: tuple[MemoryRegion, ...]
    otp: MemoryRegion | None
    engi: MemoryRegion | None
    peripherals: dict[str, int]
    irqs: dict[str, int]
    bootloader: BootloaderInfo | None
    flash_keys: tuple[int, int]
    option_keys: tuple[int, int]
    option_registers: tuple[OptionRegister, ...]
    timing_us: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)
    line: str = ""
    chip: ChipData | None = None
    blocks: tuple[BlockInfo, ...] = ()  # every peripheral block, by base (data + family extras)
    # Blocks of the same die that only sibling lines document (chipdata.die_blocks).
    die_blocks: tuple[BlockInfo, ...] = ()
    gpio_reset: str = "input"  # mode of non-debug pins out of reset: "analog" or "input"
    described: bool = False  # the catalogue has hand-written facts for this part's device

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
                f"{self.name} has no peripheral {name!r}",
                hint="known: " + ", ".join(sorted(self.peripherals)),
            ) from None

    @property
    def factory_options(self) -> dict[str, int]:
        return {r.name: r.factory for r in self.option_registers}

    @property
    def rom(self) -> BootloaderInfo:
        """The bootloader facts, for code that only runs on parts that have them."""
        if self.bootloader is None:
            raise ConfigError(
                f"{self.name}: no bootloader facts (device 0x{self.pid:03X} has no entry in "
                "the catalogue)",
                hint="the part works as a loader host; AN3155 needs a [devices] entry",
            )
        return self.bootloader


def _region(d: dict[str, Any], default_name: str) -> MemoryRegion:
    return MemoryRegion(str(d.get("name", default_name)), int(d["base"]), int(d["size"]))


@functools.cache
def _catalogue() -> dict[str, Any]:
    text = resources.files("stm32_hil.parts").joinpath("catalogue.toml").read_text()
    return tomllib.loads(text)


def family_facts(family: str) -> dict[str, Any]:
    """The catalogue's hand-written facts for an stm32-data family ("STM32H7")."""
    return dict(_catalogue().get("families", {}).get(family, {}))


def _option_registers(
    ctrl: dict[str, Any], factory_over: dict[str, int]
) -> tuple[OptionRegister, ...]:
    fields_by_reg: dict[str, dict[str, list[int]]] = ctrl.get("option_fields", {})
    return tuple(
        OptionRegister(
            reg_name,
            int(off_fac[0]),
            int(factory_over.get(reg_name, off_fac[1])),
            tuple(
                OptionField(fname, int(sw[0]), int(sw[1]))
                for fname, sw in fields_by_reg.get(reg_name, {}).items()
            ),
        )
        for reg_name, off_fac in ctrl.get("option_registers", {}).items()
    )


def _flash_geometry(chip: ChipData, device: dict[str, Any]) -> FlashGeometry:
    """Main flash as one contiguous array from the data's banks/regions (OTP excluded)."""
    if "flash" in device:
        return FlashGeometry(**{k: int(v) for k, v in device["flash"].items()})
    regions = sorted(
        (m for m in chip.memory if m.kind == "flash" and m.name.startswith("BANK")),
        key=lambda m: m.base,
    )
    if not regions:
        # Flashless parts (H7R/S, N6...): a token array so the board still has a boot memory.
        return FlashGeometry(0x08000000, 0x10000, 1, 0x2000, 16, 0xFF)
    base = regions[0].base
    end = base
    for m in regions:
        if m.base != end:
            break
        end = m.base + m.size
    banks = len({m.name.split("_REGION")[0] for m in regions if m.base < end})
    page = min((m.erase_size or 0x800) for m in regions)
    unit = max((m.write_size or 4) for m in regions)
    erase_value = regions[0].erase_value if regions[0].erase_value is not None else 0xFF
    size = end - base
    banks = banks if size % (banks * page) == 0 else 1
    return FlashGeometry(base, size, banks, page, unit, erase_value)


def _irqs(chip: ChipData) -> dict[str, int]:
    """Peripheral name -> its IRQ number (the GLOBAL line when a block has several)."""
    out: dict[str, int] = {}
    for b in chip.blocks:
        lines = sorted(b.interrupts, key=lambda si: si[0] != "GLOBAL")
        for _signal, irq_name in lines:
            if irq_name in chip.interrupts:
                out[b.name] = chip.interrupts[irq_name]
                break
    return out


def _extra_blocks(family: dict[str, Any]) -> tuple[BlockInfo, ...]:
    extras = []
    for name, (base, size) in family.get("extra_blocks", {}).items():
        extras.append(
            BlockInfo(
                name=name,
                base=int(base),
                size=int(size),
                kind=None,
                version=None,
                block=None,
                rcc_enable=None,
                rcc_reset=None,
                pins=(),
                interrupts=(),
            )
        )
    return tuple(extras)


def _build_part(chip: ChipData) -> Part:
    cat = _catalogue()
    device: dict[str, Any] = cat.get("devices", {}).get(str(chip.device_id), {})
    if not device:
        device = cat.get("devices", {}).get(f"0x{chip.device_id:03x}", {})
    family: dict[str, Any] = cat.get("families", {}).get(chip.family, {})
    ctrl_name = str(device.get("controller", "basic"))
    ctrl: dict[str, Any] = cat.get("controllers", {}).get(ctrl_name, {})
    if ctrl_name != "basic" and not ctrl:
        raise ConfigError(
            f"catalogue: device 0x{chip.device_id:03X} names unknown controller {ctrl_name!r}"
        )
    if chip.core not in CORES:
        raise ConfigError(f"{chip.name}: no core model for {chip.core!r}")
    core = CORES[chip.core]
    ram = tuple(
        MemoryRegion(m.name, m.base, m.size)
        for m in sorted(chip.memory, key=lambda m: m.base)
        if m.kind == "ram" and not m.name.startswith(EXTERNAL_WINDOWS) and m.size < 0x1000000
    )
    for name, (base, size) in family.get("extra_ram", {}).items():
        if not any(r.base < int(base) + int(size) and int(base) < r.end for r in ram):
            ram = (*ram, MemoryRegion(str(name), int(base), int(size)))
    ram = tuple(sorted(ram, key=lambda r: r.base))
    blocks = tuple(sorted(chip.blocks + _extra_blocks(family), key=lambda b: b.base))
    peripherals = {b.name: b.base for b in blocks}
    dbgmcu = peripherals.get("DBGMCU", 0xE0042000)
    uid = peripherals.get("UID", 0)
    flash = _flash_geometry(chip, device)
    otp_data = next((m for m in chip.memory if m.name == "OTP"), None)
    try:
        bl = device.get("bootloader")
        bootloader = (
            BootloaderInfo(
                version=int(bl["version"]),
                commands=tuple(int(c) for c in bl["commands"]),
                id_byte=int(bl["id_byte"]),
                id_addr=int(bl["id_addr"]),
                usarts=tuple(str(u) for u in bl["usarts"]),
                entry=int(bl["entry"]),
            )
            if bl
            else None
        )
        engi = _region(device["engi"], "ENGI") if "engi" in device else None
        otp = (
            _region(device["otp"], "OTP")
            if "otp" in device
            else (MemoryRegion("OTP", otp_data.base, otp_data.size) if otp_data else None)
        )
        if otp is not None and engi is not None and otp.base < engi.end and engi.base < otp.end:
            otp = None  # the device entry's engineering area already covers the OTP words
        # No region at 0 and a core that fetches its vectors there: the boot memory is aliased.
        boot_alias = core in ("cortex-m0", "cortex-m0+", "cortex-m3", "cortex-m4") and not any(
            r.base == 0 for r in ram
        )
        return Part(
            name=chip.name,
            family=chip.family.removeprefix("STM32").lower(),
            pid=chip.device_id,
            core=core,
            fpu=core not in ("cortex-m0", "cortex-m0+", "cortex-m3"),
            flash=flash,
            flash_controller=ctrl_name,
            flash_regs=peripherals.get("FLASH", 0x40022000),
            idcode_addr=dbgmcu,
            uid_addr=int(device.get("uid_addr", uid)),
            flash_size_addr=int(device["flash_size_addr"]) if "flash_size_addr" in device else None,
            boot_alias=bool(device.get("boot_alias", boot_alias)),
            ram=ram,
            system_memory=tuple(
                _region(r, f"SYSMEM{i}") for i, r in enumerate(device.get("system_memory", []))
            ),
            otp=otp,
            engi=engi,
            peripherals=peripherals,
            irqs=_irqs(chip),
            bootloader=bootloader,
            flash_keys=tuple(int(k) for k in ctrl.get("flash_keys", (0x45670123, 0xCDEF89AB))),  # type: ignore[arg-type]
            option_keys=tuple(int(k) for k in ctrl.get("option_keys", (0x08192A3B, 0x4C5D6E7F))),  # type: ignore[arg-type]
            option_registers=_option_registers(ctrl, device.get("option_factory", {})),
            timing_us={k: int(v) for k, v in ctrl.get("timing_us", {}).items()},
            extra={k: v for k, v in device.items() if k in ("pcrop_granule",)},
            line=chip.line,
            chip=chip,
            blocks=blocks,
            die_blocks=tuple(
                b
                for b in chipdata.die_blocks(chip.name)
                if not any(x.base < b.end and b.base < x.end for x in blocks)
            ),
            gpio_reset=str(family.get("gpio_reset", "input")),
            described=bool(device),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"catalogue: device 0x{chip.device_id:03X} is malformed ({exc!r})"
        ) from exc


@functools.cache
def _part(canonical: str) -> Part:
    return _build_part(chipdata.chip(canonical))


def get_part(name: str) -> Part:
    """Any STM32 by name: case-insensitive, package suffix optional where unambiguous."""
    return _part(chipdata.resolve(str(name)))


def part_names() -> list[str]:
    return chipdata.chip_names()


@functools.cache
def _described() -> dict[str, Part]:
    cat = _catalogue()
    ids = set()
    for key in cat.get("devices", {}):
        ids.add(int(str(key), 0))
    return {n: _part(n) for n in chipdata.chip_names() if chipdata.chip(n).device_id in ids}


def all_parts() -> dict[str, Part]:
    """The parts whose device has hand-written facts (controller models, bootloader)."""
    return dict(_described())
