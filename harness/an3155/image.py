"""Whole-image operations: split into 256-byte frames, report progress, verify.

Frames never cross a 256-byte boundary of the target address space, so every Write Memory
frame lands inside one G0 page / H7 sector and fills whole program units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from stm32_hil.an3155.client import Bootloader
from stm32_hil.an3155.errors import VerifyError
from stm32_hil.an3155.framing import MAX_FRAME

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def frames(address: int, length: int, size: int = MAX_FRAME) -> Iterator[tuple[int, int]]:
    """(address, length) pieces of at most `size` bytes, aligned to `size` boundaries."""
    pos, end = address, address + length
    while pos < end:
        step = min(size - (pos % size), end - pos)
        yield pos, step
        pos += step


def read_image(
    bl: Bootloader, address: int, length: int, progress: Progress | None = None
) -> bytes:
    out = bytearray()
    for addr, n in frames(address, length):
        out += bl.read_memory(addr, n)
        if progress:
            progress(len(out), length)
    return bytes(out)


def write_image(
    bl: Bootloader,
    address: int,
    data: bytes,
    progress: Progress | None = None,
    *,
    skip_blank: bool = False,
) -> None:
    """Write `data` at `address`. `skip_blank` leaves all-0xFF frames out (they are erased)."""
    done = 0
    for addr, n in frames(address, len(data)):
        chunk = data[addr - address : addr - address + n]
        if not (skip_blank and chunk.count(0xFF) == len(chunk)):
            bl.write_memory(addr, chunk)
        done += n
        if progress:
            progress(done, len(data))


def verify_image(
    bl: Bootloader, address: int, data: bytes, progress: Progress | None = None
) -> None:
    """Read back and compare; raises `VerifyError` naming the first differing address."""
    back = read_image(bl, address, len(data), progress)
    if back != data:
        diffs = [i for i, (a, b) in enumerate(zip(back, data)) if a != b]
        first = diffs[0]
        raise VerifyError(address + first, data[first], back[first], len(diffs))


def pages_for(address: int, length: int, flash_base: int, page_size: int) -> list[int]:
    """Page (G0) / sector (H7) numbers covering [address, address + length)."""
    first = (address - flash_base) // page_size
    last = (address + length - 1 - flash_base) // page_size
    return list(range(first, last + 1))
