"""AN3155 (STM32 system bootloader over USART) host client."""

from stm32_hil.an3155.client import Bootloader, Timeouts
from stm32_hil.an3155.crc import stm32_crc32
from stm32_hil.an3155.errors import (
    NackError,
    NoResponseError,
    SyncError,
    UnexpectedReplyError,
    UnstableReadError,
    UnsupportedCommandError,
    VerifyError,
)
from stm32_hil.an3155.framing import ACK, NACK, Command
from stm32_hil.an3155.image import (
    ImageData,
    WriteResult,
    pages_for,
    read_image,
    verify_image,
    write_image,
)
from stm32_hil.an3155.results import ChecksumResult, DeviceInfo, GetResult, IdResult, VersionResult

__all__ = [
    "ACK",
    "NACK",
    "Bootloader",
    "ChecksumResult",
    "Command",
    "DeviceInfo",
    "GetResult",
    "IdResult",
    "ImageData",
    "NackError",
    "NoResponseError",
    "SyncError",
    "Timeouts",
    "UnexpectedReplyError",
    "UnstableReadError",
    "UnsupportedCommandError",
    "VerifyError",
    "VersionResult",
    "WriteResult",
    "pages_for",
    "read_image",
    "stm32_crc32",
    "verify_image",
    "write_image",
]
