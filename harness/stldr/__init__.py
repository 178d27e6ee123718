"""External loaders (.stldr): parsing and plausibility checks."""

from stm32_hil.stldr.checks import check_fits
from stm32_hil.stldr.elf import FUNCTION_NAMES, Segment, Stldr, load
from stm32_hil.stldr.storage_info import DeviceType, Sector, StorageInfo

__all__ = [
    "FUNCTION_NAMES",
    "DeviceType",
    "Sector",
    "Segment",
    "Stldr",
    "StorageInfo",
    "check_fits",
    "load",
]
