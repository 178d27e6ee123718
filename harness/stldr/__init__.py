"""External loaders (.stldr): parsing and plausibility checks."""

from harness.stldr.checks import check_fits
from harness.stldr.elf import FUNCTION_NAMES, Segment, Stldr, load
from harness.stldr.storage_info import DeviceType, Sector, StorageInfo

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
