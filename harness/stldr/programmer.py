"""Programmer-side checks: what a programmer does to a loader that the loader's author rarely tries.

Each reproduces a field failure seen with STM32CubeProgrammer on H7 boards (H750B-DK, NUCLEO):
- Read (and Verify, CheckSum) called before any Init, after the programmer connected to a board
  fresh from reset: a loader that answers "success" with a buffer it never filled shows zeros
  as the memory's content.
- the image called at another RAM base than it is linked for: code that follows absolute code
  addresses then runs outside the loaded image.
- whole-device reads through the RAM buffer size the programmer picks, not only the largest that
  fits: a loader that serves only its first buffer's worth is found at the first bad address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.errors import HarnessError
from stm32_hil.stldr.errors import Finding, NotApplicable
from stm32_hil.stldr.runner import DEFAULT_STACK, MIN_BUFFER, LoaderCallError, LoaderRunner
from stm32_hil.target.base import ResetKind

if TYPE_CHECKING:
    from stm32_hil.stldr.validate import Validator

# RAM buffer STM32CubeProgrammer used in the field report (H750B-DK): reads come in chunks of it.
PROGRAMMER_BUFFERS: tuple[tuple[int, str], ...] = ((0x7E000, "STM32CubeProgrammer's RAM buffer"),)
BEFORE_INIT_SPAN = 0x100
FILLER = 0xE7  # what the RAM buffer holds before a Read: a loader that leaves it is seen


def buffer_runners(v: Validator) -> list[tuple[LoaderRunner | None, str]]:
    """Runners for each buffer size a whole-device read goes through, largest first.

    A size that does not fit after the image on this part is listed with runner None.
    """
    largest = v.r.buffer_size
    out: list[tuple[LoaderRunner | None, str]] = [(v.r, f"buffer 0x{largest:X} (largest)")]
    seen = {largest}
    wanted = [*PROGRAMMER_BUFFERS, *((b, "--buffer") for b in v.buffers)]
    for size, why in wanted:
        size &= ~0xFF
        if size in seen or size < MIN_BUFFER:
            continue
        seen.add(size)
        if size <= largest:
            out.append((v._new_runner(max_buffer=size), f"buffer 0x{size:X} ({why})"))
            continue
        # A programmer may put its buffer in another RAM region than the loader's image.
        image = v.r.region.name
        free = [r for r in v.target.part.ram if r.base and r.name != image and r.size >= size]
        other = free[0] if free else None
        if other is None:
            out.append((None, f"buffer 0x{size:X} ({why}) fits in no RAM region: not read"))
            continue
        runner = v._new_runner(max_buffer=size, buffer_at=other.base)
        out.append((runner, f"buffer 0x{size:X} ({why}) in {other.name} at 0x{other.base:08X}"))
    return out


def _fresh_board(v: Validator) -> LoaderRunner:
    """A runner whose image is loaded on a board just reset: no Init has run since."""
    v.target.reset(ResetKind.SYSTEM, halt=True)
    runner = v._new_runner(reinit=False)
    runner.load()
    return runner


def read_before_init(v: Validator) -> str:
    st = v.stldr
    has = {name: name in st.functions for name in ("Read", "Verify", "CheckSum")}
    if not any(has.values()):
        raise NotApplicable(
            "no Read, Verify or CheckSum: a programmer reads the window Init maps, nothing of "
            "the loader runs before Init"
        )
    v._need_sectors()
    address, _ = v._sector(0)
    data = bytes(b or 0x5A for b in _pattern(BEFORE_INIT_SPAN))  # no zero bytes
    v._prepare(address, data)
    findings: list[str] = []
    notes: list[str] = []
    try:
        if has["Read"]:
            _read(v, address, data, findings, notes)
        if has["Verify"]:
            _verify(v, address, data, findings, notes)
        if has["CheckSum"]:
            _checksum(v, address, data, notes)
    finally:
        v._fresh()
        v.target.reset(ResetKind.SYSTEM, halt=True)
    if findings:
        raise Finding("; ".join(findings + notes))
    return "called on a board fresh from reset, before any Init: " + "; ".join(notes)


def _read(v: Validator, address: int, data: bytes, findings: list[str], notes: list[str]) -> None:
    r = _fresh_board(v)
    n = len(data)
    v.target.write_memory(r.buffer, bytes([FILLER]) * n)
    try:
        res = r.call("Read", address, n, r.buffer)
    except LoaderCallError as exc:
        notes.append(f"Read fails visibly ({_first_line(exc.message)})")
        return
    got = v.target.read_memory(r.buffer, n)
    if res.r0 == 1 and got != data:
        what = (
            "zeros in the buffer"
            if got == bytes(n)
            else "the buffer untouched"
            if got == bytes([FILLER]) * n
            else got[:8].hex(" ") + " ... in the buffer"
        )
        findings.append(
            f"Read(0x{address:08X}, 0x{n:X}) before any Init returned 1 (success) with {what}, "
            f"while the device holds {data[:8].hex(' ')} ...: a programmer "
            "that reads before Init (seen with STM32CubeProgrammer on H7 boards) shows that as "
            "the memory's content; return 0 or initialise on demand"
        )
    elif res.r0 == 1:
        notes.append("Read returns the device's content (initialises on demand)")
    else:
        notes.append(f"Read returns {res.r0} (failure), so the programmer reports an error")


def _verify(v: Validator, address: int, data: bytes, findings: list[str], notes: list[str]) -> None:
    r = _fresh_board(v)
    bad = bytearray(data)
    bad[0x21] ^= 0xFF
    v.target.write_memory(r.buffer, bytes(bad))
    try:
        res = r.call("Verify", address, r.buffer, len(bad) // 4, 0)
    except LoaderCallError as exc:
        notes.append(f"Verify fails visibly ({_first_line(exc.message)})")
        return
    if res.r0 == 0:
        findings.append(
            f"Verify(0x{address:08X}, 0x{len(bad):X} bytes) before any Init returned 0 (match) "
            f"for content that differs at 0x{address + 0x21:08X}: a programmer verifying before "
            "Init accepts a wrong image"
        )
    else:
        notes.append(f"Verify returns 0x{res.r0:08X} for differing content")


def _checksum(v: Validator, address: int, data: bytes, notes: list[str]) -> None:
    r = _fresh_board(v)
    try:
        res = r.call("CheckSum", address, len(data), 0)
    except LoaderCallError as exc:
        notes.append(f"CheckSum fails visibly ({_first_line(exc.message)})")
        return
    want = sum(data) & 0xFFFFFFFF
    how = "the byte sum" if res.r0 == want else f"not the byte sum 0x{want:08X}"
    notes.append(f"CheckSum returns 0x{res.r0:08X}, {how} (informational)")


def wrong_base(v: Validator) -> str:
    """Load and call the image away from its link address; code must stay inside the image."""
    st, main = v.stldr, v.r
    span = st.image_end - st.trap_address
    step = (span + 0xFFF) & ~0xFFF
    region = main.region
    room_above = region.end - DEFAULT_STACK - MIN_BUFFER - st.image_end
    if room_above >= step:
        shift = step
    elif st.trap_address - step >= region.base:
        shift = -step
    else:
        raise NotApplicable(f"{region.name} has no room to load the image a second time")
    try:
        runner = v._new_runner(shift=shift, reinit=True)
        runner.init()
        if "Read" in st.functions:
            runner.read(v.info.start, 0x100)
    except LoaderCallError as exc:
        if "outside the loaded image" in exc.message:
            raise Finding(
                exc.message.split("\n")[0]
                + " (a programmer that loads the image elsewhere than its link address, as "
                "seen with STM32CubeProgrammer on H7 boards, runs stale or foreign code there)"
            ) from None
        return (
            f"loaded 0x{abs(shift):X} bytes {'above' if shift > 0 else 'below'} its link "
            f"address, {exc.function or 'a call'} fails ({_first_line(exc.message)}) but the "
            "core stayed inside the image (informational: its data is position-dependent)"
        )
    except HarnessError as exc:
        raise NotApplicable(f"the image cannot be moved: {exc.message}") from None
    finally:
        v._fresh()
    return (
        f"loaded and called 0x{abs(shift):X} bytes {'above' if shift > 0 else 'below'} its "
        f"link address 0x{st.image_start:08X} (at 0x{runner.image_start:08X}): Init"
        + (" and Read" if "Read" in st.functions else "")
        + " ran inside the loaded image"
    )


def _first_line(text: str, limit: int = 160) -> str:
    """The message's first line without the loader's path, cut to `limit` characters."""
    line = text.split("\n", 1)[0]
    head, sep, rest = line.partition(": ")
    if sep and (head.endswith((".stldr", ".flm", ".FLM")) or "/" in head):
        line = rest
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _pattern(length: int) -> bytes:
    from stm32_hil.stldr.validate import SEED, pattern

    return pattern(length, SEED + 11)


__all__ = ["PROGRAMMER_BUFFERS", "buffer_runners", "read_before_init", "wrong_base"]
