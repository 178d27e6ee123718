"""The CRC the Get Checksum command and the STM32 CRC peripheral compute.

Polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR, fed 32-bit words
read little-endian from memory -- not the zlib CRC-32, which is why it has its own module.
"""

from __future__ import annotations

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


def stm32_crc32(data: bytes, crc: int = INIT) -> int:
    """CRC over `data` (length a multiple of 4) as the CRC unit sees its 32-bit words."""
    if len(data) % 4:
        raise ValueError("the STM32 CRC runs over whole 32-bit words")
    table = _table()
    for i in range(0, len(data), 4):
        word = data[i : i + 4][::-1]  # little-endian word, fed MSB first
        for b in word:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) ^ b) & 0xFF]
    return crc
