"""Plausibility of a parsed loader: hard layout errors, soft metadata warnings, RAM fit.

Warnings do not stop a run: real loaders in the field carry odd metadata that programmers
tolerate. They are shown so a loader author sees them before users do.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from stm32_hil.parts import MemoryRegion, Part
from stm32_hil.stldr.errors import LayoutError
from stm32_hil.stldr.storage_info import STORAGE_INFO_SIZE, DeviceType

if TYPE_CHECKING:
    from stm32_hil.stldr.elf import Stldr

# Address windows where STM32 parts map external or internal memories (RM0433, RM0410,
# RM0386, RM0090 memory maps): internal flash, FMC NOR/PSRAM banks, QUADSPI/OCTOSPI windows,
# FMC SDRAM banks. Loaders for memories that are never mapped (plain SPI, I2C) use 0.
PLAUSIBLE_WINDOWS: tuple[tuple[int, int, str], ...] = (
    (0x08000000, 0x10000000, "internal flash"),
    (0x60000000, 0x70000000, "FMC NOR/PSRAM"),
    (0x70000000, 0x80000000, "OCTOSPI2"),
    (0x80000000, 0x90000000, "FMC NAND"),
    (0x90000000, 0xA0000000, "QUADSPI/OCTOSPI1"),
    (0xC0000000, 0xE0000000, "FMC SDRAM"),
)
UNMAPPED_TYPES = {DeviceType.SPI_FLASH, DeviceType.I2C_FLASH, DeviceType.I2C_EEPROM}
MIN_PAGE, MAX_PAGE = 16, 64 * 1024
# Program page sizes real devices of each type have. Serial and parallel NOR chips program
# 256- or 512-byte pages (1 KiB for two chips in dual-flash mode, 64 B on the smallest parts);
# a PageSize of 16 B or 8 KiB is a typo or a sector size, and makes the programmer split
# writes where the chip does not.
PAGE_RANGES: dict[int, tuple[int, int, str]] = {
    DeviceType.NOR_FLASH: (64, 4096, "NOR flash chips program 256- or 512-byte pages"),
    DeviceType.SPI_FLASH: (64, 4096, "serial NOR chips program 256- or 512-byte pages"),
    DeviceType.NAND_FLASH: (512, 16384, "NAND pages are 512 B to 16 KiB"),
    DeviceType.I2C_EEPROM: (8, 512, "EEPROM pages are 8 to 512 bytes"),
    DeviceType.I2C_FLASH: (8, 4096, "I2C memories write pages of 8 B to 4 KiB"),
}


def layout_errors(stldr: Stldr) -> None:
    """Raise `LayoutError` when the image cannot be loaded and called at all."""
    loaded = stldr.loaded
    if not loaded:
        raise LayoutError(
            f"{stldr.path}: no segment to load besides StorageInfo",
            hint="the loader code is missing from the ELF; check the linker script",
        )
    trap = stldr.trap_address
    if trap < 0:
        raise LayoutError(
            f"{stldr.path}: image starts at 0x{stldr.image_start:08X}, leaving no room for the "
            "BKPT return trap 4 bytes below it",
            hint="link the loader at RAM base + 4 (e.g. 0x20000004 or 0x24000004)",
        )
    for seg in loaded:
        if seg.overlaps(trap, trap + 4):
            raise LayoutError(
                f"{stldr.path}: segment {seg.index} [0x{seg.vaddr:08X}, 0x{seg.end:08X}) "
                f"overlaps the BKPT return trap at 0x{trap:08X}",
                hint="keep the 4 bytes below the lowest loaded address free",
            )


def _window(address: int) -> str | None:
    for lo, hi, name in PLAUSIBLE_WINDOWS:
        if lo <= address < hi:
            return name
    return None


def metadata_warnings(stldr: Stldr, *, blob_len: int = STORAGE_INFO_SIZE) -> list[str]:
    info = stldr.storage_info
    out: list[str] = []
    if stldr.storage_info_size != STORAGE_INFO_SIZE or blob_len < STORAGE_INFO_SIZE:
        size = stldr.storage_info_size if blob_len >= STORAGE_INFO_SIZE else blob_len
        out.append(
            f"StorageInfo is {size} bytes, not {STORAGE_INFO_SIZE}: recent STM32CubeProgrammer "
            "versions reject the loader"
        )
    if not info.name:
        out.append("StorageInfo.DeviceName is empty")
    if info.device_type not in DeviceType._value2member_map_:
        out.append(f"StorageInfo.DeviceType {info.device_type} is not a known device type")
    for n, group in enumerate(info.sectors, 1):
        if not group.count or not group.size:
            out.append(
                f"sector group {n} ({group.count} x 0x{group.size:X}) has a zero count or size: "
                "a programmer walking the list erases nothing there or loops on it"
            )
    if not info.sectors:
        out.append("StorageInfo has an empty sector list: nothing can be erased")
    elif info.sectors_total != info.size:
        out.append(
            f"sector list sums to 0x{info.sectors_total:X} bytes but DeviceSize is 0x{info.size:X}"
        )
    page = info.page_size
    low, high, why = PAGE_RANGES.get(
        info.device_type, (MIN_PAGE, MAX_PAGE, "pages are 16 B to 64 KiB")
    )
    if page & (page - 1) or not MIN_PAGE <= page <= MAX_PAGE:
        out.append(f"PageSize {page} is not a power of two between {MIN_PAGE} B and 64 KiB")
    elif not low <= page <= high:
        out.append(
            f"PageSize 0x{page:X} ({page} B) is implausible for a {info.type_name} device: "
            f"{why} (expected {low} to {high} B)"
        )
    if info.erase_value not in (0x00, 0xFF):
        out.append(f"EraseValue 0x{info.erase_value:02X} is neither 0xFF nor 0x00")
    window = _window(info.start)
    if window is None and not (info.start == 0 and info.device_type in UNMAPPED_TYPES):
        out.append(
            f"DeviceStartAddress 0x{info.start:08X} lies outside every memory window "
            "an STM32 maps external memory at"
        )
    elif window is not None and _window(max(info.start, info.end - 1)) != window:
        out.append(
            f"device [0x{info.start:08X}, 0x{info.end:08X}) runs past the end of the "
            f"{window} window"
        )
    for name in ("Write",):
        if name not in stldr.functions:
            out.append(f"no {name} function: the device cannot be programmed")
    if "SectorErase" not in stldr.functions and "MassErase" not in stldr.functions:
        out.append("neither SectorErase nor MassErase: the device cannot be erased")
    loaded = sorted(stldr.loaded, key=lambda s: s.vaddr)
    out += _outside_image(stldr)
    for a, b in itertools.pairwise(loaded):
        if b.vaddr < a.end:
            out.append(f"segments {a.index} and {b.index} overlap at 0x{b.vaddr:08X}")
    return out


def _outside_image(stldr: Stldr) -> list[str]:
    """Exported functions whose address is in no loaded segment: calling them runs whatever
    RAM holds there (a stale symbol, a wrong link address, a stripped section)."""
    out = []
    for name, address in stldr.functions.items():
        at = address & ~1
        if not any(seg.vaddr <= at < seg.end for seg in stldr.loaded):
            where = "Init" if name == "Init" else f"function {name}"
            out.append(
                f"{where} at 0x{at:08X} lies outside the loaded image "
                f"[0x{stldr.image_start:08X}, 0x{stldr.image_end:08X}): the call would run "
                "whatever memory holds there"
            )
    return out


def check_fits(stldr: Stldr, part: Part) -> MemoryRegion:
    """The RAM region of `part` holding the trap and every loaded segment, or `LayoutError`."""
    lo, hi = stldr.trap_address, stldr.image_end
    for region in part.ram:
        if region.contains(lo, hi - lo):
            return region
    regions = ", ".join(f"{r.name} [0x{r.base:08X}, 0x{r.end:08X})" for r in part.ram)
    raise LayoutError(
        f"{stldr.path}: image [0x{lo:08X}, 0x{hi:08X}) (trap included) does not lie in one RAM "
        f"region of {part.name}",
        hint=f"this loader is built for another part; {part.name} has {regions}",
    )
