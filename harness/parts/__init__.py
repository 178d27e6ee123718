"""STM32 parts: every chip of stm32-data, with the hand-written facts of `catalogue.toml`."""

from stm32_hil.parts.catalogue import (
    BootloaderInfo,
    FlashGeometry,
    MemoryRegion,
    OptionField,
    OptionRegister,
    Part,
    all_parts,
    get_part,
    part_names,
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
    "part_names",
]
