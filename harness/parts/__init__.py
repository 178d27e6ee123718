"""The parts catalogue: STM32 part facts loaded from `catalogue.toml`."""

from harness.parts.catalogue import (
    BootloaderInfo,
    FlashGeometry,
    MemoryRegion,
    OptionField,
    OptionRegister,
    Part,
    all_parts,
    get_part,
)

__all__ = [
    "BootloaderInfo",
    "FlashGeometry",
    "MemoryRegion",
    "OptionField",
    "OptionRegister",
    "Part",
    "all_parts",
    "get_part",
]
