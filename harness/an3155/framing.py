"""AN3155 wire constants and frame builders shared by the host client and the simulated ROM.

Everything on the wire is a byte string: a command is its code and the code's complement, an
address is 4 big-endian bytes and their XOR, a data block is (count - 1), the data and the XOR
of both. Keeping the builders in one place means the client and the bootrom model cannot drift
apart on checksum rules.
"""

from __future__ import annotations

import enum
from functools import reduce

ACK = 0x79
NACK = 0x1F
BUSY = 0x76  # I2C only; tolerated on UART as stm32flash does
SYNC = 0x7F
MAX_FRAME = 256


class Command(enum.IntEnum):
    GET = 0x00
    GET_VERSION = 0x01
    GET_ID = 0x02
    READ_MEMORY = 0x11
    GO = 0x21
    WRITE_MEMORY = 0x31
    ERASE = 0x43
    EXTENDED_ERASE = 0x44
    SPECIAL = 0x50
    EXTENDED_SPECIAL = 0x51
    WRITE_PROTECT = 0x63
    WRITE_UNPROTECT = 0x73
    READOUT_PROTECT = 0x82
    READOUT_UNPROTECT = 0x92
    GET_CHECKSUM = 0xA1

    @classmethod
    def describe(cls, code: int) -> str:
        try:
            return f"{cls(code).name.replace('_', ' ').title()} (0x{code:02X})"
        except ValueError:
            return f"command 0x{code:02X}"


# Extended Erase special codes (16-bit "count - 1" values).
ERASE_MASS = 0xFFFF
ERASE_BANK1 = 0xFFFE
ERASE_BANK2 = 0xFFFD


def xor(data: bytes | bytearray) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def command_frame(code: int) -> bytes:
    return bytes((code, code ^ 0xFF))


def address_frame(address: int) -> bytes:
    raw = (address & 0xFFFFFFFF).to_bytes(4, "big")
    return raw + bytes((xor(raw),))


def length_frame(length: int) -> bytes:
    """Read Memory's length: (L - 1) and its complement."""
    n = (length - 1) & 0xFF
    return bytes((n, n ^ 0xFF))


def data_frame(data: bytes) -> bytes:
    """Write Memory / Write Protect payload: (N - 1), data, XOR of all of it."""
    head = bytes(((len(data) - 1) & 0xFF,))
    return head + data + bytes((xor(head + data),))


def extended_erase_frame(pages: list[int] | None = None, special: int | None = None) -> bytes:
    if special is not None:
        raw = special.to_bytes(2, "big")
        return raw + bytes((xor(raw),))
    assert pages
    raw = (len(pages) - 1).to_bytes(2, "big") + b"".join(p.to_bytes(2, "big") for p in pages)
    return raw + bytes((xor(raw),))


def erase_frame(pages: list[int] | None = None) -> bytes:
    """Legacy Erase (0x43): global erase is FF 00, else N-1, pages, XOR."""
    if pages is None:
        return b"\xff\x00"
    raw = bytes((len(pages) - 1,)) + bytes(pages)
    return raw + bytes((xor(raw),))
