"""The CRC the Get Checksum command and the STM32 CRC peripheral compute.

Polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR, fed 32-bit words
read little-endian from memory -- not the zlib CRC-32, which is why it has its own module.
"""

from __future__ import annotations

import array
import sys
import zlib
from functools import cache

POLY = 0x04C11DB7
INIT = 0xFFFFFFFF


@cache
def _table() -> tuple[int, ...]:
    out = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ POLY) if c & 0x80000000 else (c << 1)
        out.append(c & 0xFFFFFFFF)
    return tuple(out)


_WORD = next(code for code in "IL" if array.array(code).itemsize == 4)
_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _reverse32(value: int) -> int:
    return int(f"{value:032b}"[::-1], 2)


def stm32_crc32(data: bytes, crc: int = INIT) -> int:
    """CRC over `data` (length a multiple of 4) as the CRC unit sees its 32-bit words.

    Computed with zlib's reflected CRC-32 on bit-mirrored input: mirroring each 32-bit word
    (byte order and bit order at once) turns this MSB-first CRC into zlib's LSB-first one, so a
    whole flash (2 MiB for a Get Checksum on an H7) takes milliseconds instead of seconds -- a
    host waiting for the ROM's answer would otherwise give up first.
    """
    if len(data) % 4:
        raise ValueError("the STM32 CRC runs over whole 32-bit words")
    if not data:
        return crc
    words = array.array(_WORD, bytes(data))
    if sys.byteorder == "little":
        words.byteswap()  # each word MSB first, as the unit consumes it
    mirrored = words.tobytes().translate(_BIT_REVERSED)
    reflected = zlib.crc32(mirrored, _reverse32(crc) ^ 0xFFFFFFFF) ^ 0xFFFFFFFF
    return _reverse32(reflected)


def stm32_crc32_reference(data: bytes, crc: int = INIT) -> int:
    """The same CRC byte by byte from the table: the definition the fast path is held to."""
    if len(data) % 4:
        raise ValueError("the STM32 CRC runs over whole 32-bit words")
    table = _table()
    for i in range(0, len(data), 4):
        word = data[i : i + 4][::-1]  # little-endian word, fed MSB first
        for b in word:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) ^ b) & 0xFF]
    return crc
