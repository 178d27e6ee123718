"""The StorageInfo record a loader exports: what the device is and how it is laid out.

Decoded with an explicit little-endian struct, never the host's `unsigned long`, because the
record is the target's 32-bit layout whatever machine reads it.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

STORAGE_INFO_FORMAT = "<100sH2x3IB3x20I"
STORAGE_INFO_SIZE = struct.calcsize(STORAGE_INFO_FORMAT)  # 200


class DeviceType(enum.IntEnum):
    MCU_FLASH = 1
    NAND_FLASH = 2
    NOR_FLASH = 3
    SRAM = 4
    PSRAM = 5
    PC_CARD = 6
    SPI_FLASH = 7
    I2C_FLASH = 8
    SDRAM = 9
    I2C_EEPROM = 10


@dataclass(frozen=True)
class Sector:
    count: int
    size: int


@dataclass(frozen=True)
class StorageInfo:
    name: str
    device_type: int
    start: int
    size: int
    page_size: int
    erase_value: int
    sectors: tuple[Sector, ...]

    @property
    def type_name(self) -> str:
        try:
            return DeviceType(self.device_type).name
        except ValueError:
            return f"unknown ({self.device_type})"

    @property
    def sectors_total(self) -> int:
        return sum(s.count * s.size for s in self.sectors)

    @property
    def end(self) -> int:
        return self.start + self.size

    def sector_at(self, address: int) -> tuple[int, int]:
        """(start, size) of the sector holding `address`: what SectorErase will wipe."""
        base = self.start
        for s in self.sectors:
            span = s.count * s.size
            if base <= address < base + span:
                index = (address - base) // s.size
                return base + index * s.size, s.size
            base += span
        raise ValueError(f"0x{address:08X} is outside the sector list of {self.name}")

    @classmethod
    def decode(cls, blob: bytes) -> StorageInfo:
        """Decode 200 bytes; a shorter blob is padded with zeros (the caller warns about it)."""
        raw = bytes(blob[:STORAGE_INFO_SIZE]).ljust(STORAGE_INFO_SIZE, b"\0")
        name, dtype, start, size, page, erase, *pairs = struct.unpack(STORAGE_INFO_FORMAT, raw)
        sectors: list[Sector] = []
        for i in range(0, len(pairs), 2):
            count, ssize = pairs[i], pairs[i + 1]
            if count == 0 and ssize == 0:
                break
            sectors.append(Sector(count, ssize))
        text = name.split(b"\0", 1)[0].decode("latin-1")
        return cls(text, dtype, start, size, page, erase, tuple(sectors))
