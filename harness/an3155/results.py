"""Typed answers of the informational commands."""

from __future__ import annotations

from dataclasses import dataclass

from stm32_hil.an3155.framing import Command


@dataclass(frozen=True)
class GetResult:
    """Answer to Get (0x00): protocol version and the implemented command codes."""

    version: int
    commands: tuple[int, ...]

    @property
    def version_str(self) -> str:
        return f"{self.version >> 4}.{self.version & 0xF}"

    @property
    def extended_erase(self) -> bool:
        return Command.EXTENDED_ERASE in self.commands

    def supports(self, code: int) -> bool:
        return code in self.commands


@dataclass(frozen=True)
class VersionResult:
    """Answer to Get Version (0x01): version and the two option bytes (0 on recent parts)."""

    version: int
    option1: int
    option2: int


@dataclass(frozen=True)
class IdResult:
    """Answer to Get ID (0x02)."""

    pid: int
    raw: bytes

    @property
    def pid_hex(self) -> str:
        return f"0x{self.pid:03X}"


@dataclass(frozen=True)
class ChecksumResult:
    """Answer to Get Checksum (0xA1): CRC-32 (STM32 CRC unit flavour) of a memory range."""

    address: int
    length: int
    crc: int


@dataclass(frozen=True)
class DeviceInfo:
    """What the startup sequence (Get Version, Get, Get ID -- as stm32flash does) learns."""

    get: GetResult
    version: VersionResult
    id: IdResult
