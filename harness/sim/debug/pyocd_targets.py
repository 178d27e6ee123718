"""pyOCD target types for simulated parts, generated from the part data.

pyOCD decides from its target's memory map whether an address is flash (a breakpoint there
must be a hardware one: FPB) or RAM (a BKPT instruction may be patched in), and GDB receives
the same map and refuses to touch memory outside it -- including the System Control Space,
where it reads FPCCR to unwind through an exception. The generic `cortex_m` target has no
flash at all, so GDB's software breakpoints in flash silently never hit.

pyOCD 0.46 has no entry point for target plugins, but it keeps its target types in one
dictionary (`pyocd.target.TARGET`) that CMSIS packs extend at run time; the simulated probe adds
`sim_<part>` there for the part of the board it opens and names it as the board's target type,
so `pyocd gdbserver -u sim:BOARD` picks it with no `-t`. The map is the part's: one flash
region per run of equal sectors (`stm32_hil.parts.sectors`), every RAM region, and the
peripheral, external-memory and system (PPB) windows as device memory. When pyOCD ships a
target for the part (stm32h743xx, stm32h750xx, ...) the generated type derives from it and
keeps its flash algorithm, so `pyocd load`/`erase` program through pyOCD's own algorithm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyocd.core.memory_map import (
    DeviceRegion,
    FlashRegion,
    MemoryMap,
    MemoryRegion,
    RamRegion,
    RomRegion,
)
from pyocd.coresight.coresight_target import CoreSightTarget
from pyocd.target import TARGET, normalise_target_type_name
from pyocd.target.builtin import BUILTIN_TARGETS

from stm32_hil.parts.sectors import sector_map

if TYPE_CHECKING:
    from stm32_hil.parts.catalogue import Part

PREFIX = "sim_"
# Architectural windows of the Cortex-M address map that hold devices, not memory: what is
# there (FMC, QUADSPI/OCTOSPI windows) depends on the board and the controllers' set-up.
DEVICE_WINDOWS = (
    ("Peripheral", 0x40000000, 0x20000000),
    ("External memory", 0x60000000, 0x40000000),
    ("External device", 0xA0000000, 0x40000000),
    ("PPB", 0xE0000000, 0x00100000),
    ("Vendor system", 0xE0100000, 0x1FF00000),
)


def target_type(part: Part) -> str:
    """pyOCD target type name of a simulated part, e.g. `sim_stm32g071rb`."""
    return normalise_target_type_name(PREFIX + part.name)


def builtin_target(part: Part) -> type[CoreSightTarget] | None:
    """pyOCD's own target class for the part, if it ships one (`stm32h743xx` for STM32H743ZI)."""
    name = part.name.lower()
    for key, cls in BUILTIN_TARGETS.items():
        stem = key.rstrip("x")
        if key.startswith("stm32") and name.startswith(stem) and len(stem) >= 9:
            return cls  # type: ignore[no-any-return]
    return None


def flash_regions(part: Part, algo_map: MemoryMap | None = None) -> list[FlashRegion]:
    """Main flash as runs of equal sectors; each keeps the algorithm pyOCD has for it."""
    runs: list[tuple[int, int, int, int]] = []  # (start, length, sector size, bank)
    for s in sector_map(part).sectors:
        if runs and runs[-1][2] == s.size and runs[-1][3] == s.bank:
            start, length, size, bank = runs[-1]
            if start + length == s.base:
                runs[-1] = (start, length + s.size, size, bank)
                continue
        runs.append((s.base, s.size, s.size, s.bank))
    regions = []
    for i, (start, length, size, bank) in enumerate(runs):
        template = algo_map.get_region_for_address(start) if algo_map is not None else None
        extra: dict[str, Any] = {"page_size": size}
        if isinstance(template, FlashRegion) and template.algo is not None:
            extra = {
                "algo": template.algo,
                "flash_class": template.flash_class,
                "page_size": template.page_size,
            }
        regions.append(
            FlashRegion(
                name=f"flash_bank{bank + 1}_{i}" if len(runs) > 1 else "flash",
                start=start,
                length=length,
                blocksize=size,
                is_boot_memory=i == 0,
                erased_byte_value=part.flash.erase_value,
                **extra,
            )
        )
    return regions


def memory_map(part: Part, algo_map: MemoryMap | None = None) -> MemoryMap:
    regions: list[MemoryRegion] = list(flash_regions(part, algo_map))
    for ram in part.ram:
        regions.append(RamRegion(name=ram.name, start=ram.base, length=ram.size, access="rwx"))
    for i, rom in enumerate(part.system_memory):
        regions.append(RomRegion(name=f"system_memory{i}", start=rom.base, length=rom.size))
    for name, start, length in DEVICE_WINDOWS:
        regions.append(DeviceRegion(name=name, start=start, length=length, access="rw"))
    out = MemoryMap()
    for region in regions:
        if not any(r.intersects_range(region.start, region.end) for r in out):
            out.add_region(region)
    return out


def target_class(part: Part) -> type[CoreSightTarget]:
    """A pyOCD target type for `part` (derived from pyOCD's own when it has one)."""
    base = builtin_target(part) or CoreSightTarget
    algo_map = getattr(base, "MEMORY_MAP", None)
    part_map = memory_map(part, algo_map if isinstance(algo_map, MemoryMap) else None)

    attrs: dict[str, Any] = {"VENDOR": "STMicroelectronics", "MEMORY_MAP": part_map}
    if base is CoreSightTarget:

        def __init__(self: CoreSightTarget, session: Any) -> None:
            CoreSightTarget.__init__(self, session, part_map)

        attrs["__init__"] = __init__
    # pyOCD's own targets pass `self.MEMORY_MAP` to their base: the part's map replaces theirs
    return type(f"Sim{part.name}", (base,), attrs)


def register(part: Part) -> str:
    """Make the part's target type known to pyOCD (idempotent); returns its name."""
    name = target_type(part)
    if name not in TARGET:
        TARGET[name] = target_class(part)
    return name
