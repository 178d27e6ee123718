"""Whole-image operations: split into frames, retry what the line spoils, report progress.

Frames never cross a 256-byte boundary of the target address space, so every Write Memory
frame lands inside one G0 page / H7 sector and fills whole program units.

A frame that ends in a NACK, a timeout or a reply the protocol forbids is tried again after a
resynchronisation, as stm32flash does; every retry is counted in the result. A frame that keeps
failing is split (down to `MIN_WRITE_FRAME`, a multiple of every program unit, so halves still
fill whole flash words): on a noisy line a short frame gets through where a long one rarely
does, and the frame size grows back after a run of clean exchanges. Before a failed write is
repeated the frame is read back, because the ROM may have programmed it and only its final
ACK was lost -- programming flash twice is refused (G0) or breaks its ECC (H7).

Read Memory replies carry no checksum. `confirm=True` reads each frame until three reads
agree, which is what turns line noise on the data into a retry instead of a silent difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from stm32_hil.an3155.client import Bootloader
from stm32_hil.an3155.errors import (
    NackError,
    NoResponseError,
    UnexpectedReplyError,
    UnstableReadError,
    VerifyError,
)
from stm32_hil.an3155.framing import MAX_FRAME

Progress = Callable[[int, int], None]  # (bytes done, bytes total)

RETRIES = 20  # consecutive failures of one frame before its error is raised
MIN_WRITE_FRAME = 32  # H7 flash word; a multiple of the G0 double word
MIN_READ_FRAME = 8
CONFIRM_VOTES = 3  # agreeing reads of a frame that `confirm` asks for
VERIFY_PASSES = 3  # rewrites of frames a verified write finds different at the end
GROW_AFTER = 4  # clean frames in a row before the frame size doubles again
RETRYABLE = (NackError, NoResponseError, UnexpectedReplyError)


class ImageData(bytes):
    """Bytes read from the part, with what reading them took."""

    frames: int
    retries: int

    def __new__(cls, data: bytes, frames: int = 0, retries: int = 0) -> ImageData:
        obj = super().__new__(cls, data)
        obj.frames = frames
        obj.retries = retries
        return obj


@dataclass(frozen=True)
class WriteResult:
    """What writing an image took: frames sent, retries after line errors, blank frames skipped."""

    address: int
    length: int
    frames: int
    retries: int
    skipped: int = 0


def frames(address: int, length: int, size: int = MAX_FRAME) -> Iterator[tuple[int, int]]:
    """(address, length) pieces of at most `size` bytes, aligned to `size` boundaries."""
    pos, end = address, address + length
    while pos < end:
        step = min(size - (pos % size), end - pos)
        yield pos, step
        pos += step


class _Pacer:
    """The current frame size: halved by a failure, doubled after `GROW_AFTER` clean frames."""

    def __init__(self, minimum: int) -> None:
        self.size = MAX_FRAME
        self.minimum = minimum
        self.clean = 0

    def failed(self) -> None:
        self.size = max(self.minimum, self.size // 2)
        self.clean = 0

    def succeeded(self) -> None:
        self.clean += 1
        if self.clean >= GROW_AFTER and self.size < MAX_FRAME:
            self.size *= 2
            self.clean = 0


def _settled(votes: dict[bytes, int], candidate: bytes, need: int) -> bool:
    """Whether `candidate` has won: read `need` times, and two reads ahead of any other.

    A corrupted byte is one bit of one byte, so two corrupted reads agree about once in
    8 x frame length pairs: with thousands of short frames on a 1 % line that happens in a
    fair share of 64 KiB reads. Three agreeing reads (or a lead of two once reads disagree)
    make it negligible.
    """
    mine = votes[candidate]
    others = max((c for v, c in votes.items() if v != candidate), default=0)
    return mine >= need and mine - others >= min(need, 2)


def _prefixes(votes: dict[bytes, int], n: int) -> dict[bytes, int]:
    """The votes for a frame shortened to `n` bytes (each read's prefix is a read of it)."""
    out: dict[bytes, int] = {}
    for data, count in votes.items():
        out[data[:n]] = out.get(data[:n], 0) + count
    return out


def read_image(
    bl: Bootloader,
    address: int,
    length: int,
    progress: Progress | None = None,
    *,
    confirm: bool = False,
) -> ImageData:
    """Read `length` bytes at `address`; `.retries` says how many exchanges were repeated.

    `confirm` reads every frame until `CONFIRM_VOTES` reads agree (see `_settled`).
    """
    return _read(bl, address, length, progress, CONFIRM_VOTES if confirm else 1)


def _read(
    bl: Bootloader, address: int, length: int, progress: Progress | None, need: int
) -> ImageData:
    out = bytearray()
    pacer = _Pacer(MIN_READ_FRAME)
    count = retries = failures = 0
    seen: dict[bytes, int] = {}  # reads of the frame at `pos` so far, by content
    pos, end = address, address + length
    while pos < end:
        n = min(pacer.size - (pos % pacer.size), end - pos)
        if seen and len(next(iter(seen))) != n:
            seen = _prefixes(seen, n)  # the frame shrank: earlier reads vote with a prefix
        try:
            got = bl.read_memory(pos, n)
        except RETRYABLE:
            failures += 1
            retries += 1
            if failures > RETRIES:
                raise
            bl.out_of_step()
            pacer.failed()
            continue
        if need > 1:
            seen[got] = seen.get(got, 0) + 1
            if not _settled(seen, got, need):
                if len(seen) > 1:  # reads disagree: the line changed a data byte somewhere
                    failures += 1
                    retries += 1
                    if failures > RETRIES:
                        raise UnstableReadError(pos, n, sum(seen.values()))
                    pacer.failed()
                continue
            seen = {}
        if failures:
            failures = 0
        else:
            pacer.succeeded()
        count += 1
        out += got
        pos += n
        if progress:
            progress(len(out), length)
    return ImageData(bytes(out), count, retries)


def _read_back(bl: Bootloader, address: int, chunk: bytes) -> tuple[bytes, int]:
    """What the part holds where `chunk` went: (data, retries).

    One read that equals `chunk` settles it (noise does not turn wrong data into the right
    data); a read that differs is repeated until two agree, so a flipped byte in the reply is
    not mistaken for a failed write.
    """
    got = read_image(bl, address, len(chunk))
    if got == chunk:
        return bytes(got), got.retries
    back = _read(bl, address, len(chunk), None, 2)  # deciding to rewrite needs less
    return bytes(back), got.retries + back.retries


def write_image(
    bl: Bootloader,
    address: int,
    data: bytes,
    progress: Progress | None = None,
    *,
    skip_blank: bool = False,
    verify: bool = False,
    unit: int = MIN_WRITE_FRAME,
) -> WriteResult:
    """Write `data` at `address`. `skip_blank` leaves all-0xFF frames out (they are erased).

    `verify` reads every frame back before the next one: the XOR of a Write Memory frame
    misses two flips of the same bit, and only a read-back sees that. RAM is then written
    again; flash refuses a second programming, which ends in a typed error rather than a
    silent difference. An address can suffer the same double flip and put a frame somewhere
    else, over data already checked, so a verified write ends with a confirmed read of the
    whole image, and frames that differ are written again (`VERIFY_PASSES` times at most).
    `unit` is the smallest frame a failing frame is split into: a multiple of the flash
    program unit (the default suits G0 and H7 flash; 4 for RAM).
    """
    result = _write_frames(bl, address, data, progress, skip_blank, verify, unit)
    if not verify:
        return result
    count, retries = result.frames, result.retries
    for _ in range(VERIFY_PASSES):
        back = _read(bl, address, len(data), None, 2)  # a false alarm only rewrites a frame
        retries += back.retries
        bad = _differing_spans(address, data, back, max(4, unit))
        if not bad:
            return WriteResult(address, len(data), count, retries, result.skipped)
        for start, stop in bad:
            again = _write_frames(
                bl, start, data[start - address : stop - address], None, False, True, unit
            )
            count += again.frames
            retries += again.retries + 1
    back = read_image(bl, address, len(data), confirm=True)
    if back != data:
        _raise_difference(address, data, back)
    return WriteResult(address, len(data), count, retries + back.retries, result.skipped)


def _differing_spans(
    address: int, expected: bytes, actual: bytes, unit: int
) -> list[tuple[int, int]]:
    """[start, stop) address ranges, whole units, where `actual` differs from `expected`."""
    spans: list[tuple[int, int]] = []
    end = address + len(expected)
    for i, (a, b) in enumerate(zip(actual, expected)):
        if a == b:
            continue
        start = max(address, (address + i) // unit * unit)
        stop = min(end, start + unit)
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], stop))
        else:
            spans.append((start, stop))
    return spans


def _write_frames(
    bl: Bootloader,
    address: int,
    data: bytes,
    progress: Progress | None,
    skip_blank: bool,
    verify: bool,
    unit: int,
) -> WriteResult:
    """The frame loop of `write_image` (without its final verification pass)."""
    pacer = _Pacer(max(4, unit))
    count = retries = skipped = failures = 0
    pos, end = address, address + len(data)
    while pos < end:
        n = min(pacer.size - (pos % pacer.size), end - pos)
        chunk = data[pos - address : pos - address + n]
        if skip_blank and chunk.count(0xFF) == len(chunk):
            skipped += 1
        else:
            back: bytes | None = None
            try:
                bl.write_memory(pos, chunk)
                ok = True
            except RETRYABLE:
                if failures >= RETRIES:
                    raise
                bl.out_of_step()
                ok = False
            if verify or not ok:
                # After a failure the ROM may have programmed the frame and lost only the ACK.
                try:
                    back, again = _read_back(bl, pos, chunk)
                    retries += again
                    ok = back == chunk
                except (*RETRYABLE, UnstableReadError):
                    if failures >= RETRIES:
                        raise
                    ok = False
            if not ok:
                failures += 1
                retries += 1
                if failures > RETRIES and back is not None:
                    _raise_difference(pos, chunk, back)
                pacer.failed()
                continue
            if failures:
                failures = 0
            else:
                pacer.succeeded()
            count += 1
        pos += n
        if progress:
            progress(pos - address, len(data))
    return WriteResult(address, len(data), count, retries, skipped)


def _raise_difference(address: int, expected: bytes, actual: bytes) -> None:
    diffs = [i for i, (a, b) in enumerate(zip(actual, expected)) if a != b]
    first = diffs[0] if diffs else 0
    raise VerifyError(address + first, expected[first], actual[first], len(diffs))


def verify_image(
    bl: Bootloader,
    address: int,
    data: bytes,
    progress: Progress | None = None,
    *,
    confirm: bool = False,
) -> ImageData:
    """Read back and compare; raises `VerifyError` naming the first differing address."""
    back = read_image(bl, address, len(data), progress, confirm=confirm)
    if back != data:
        _raise_difference(address, data, back)
    return back


def pages_for(address: int, length: int, flash_base: int, page_size: int) -> list[int]:
    """Page (G0) / sector (H7) numbers covering [address, address + length)."""
    first = (address - flash_base) // page_size
    last = (address + length - 1 - flash_base) // page_size
    return list(range(first, last + 1))
