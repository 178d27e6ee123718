"""Validation of an external loader on a board: each check one verdict, each finding in words.

Checks follow what probe-rs `target-gen test` and pyOCD's flash tests cover, plus the field
failures of .stldr files (a read valid only for the first RAM buffer, an erase wider than its
sector, a Read that needs Init first). Expected content is independent of the loader under
test: on the simulator it is the flash model's own cells (`target.sim.external`), on hardware
(any board reached through a probe, served simulated ones included) the memory-mapped window
read over the debug port -- or, when Init leaves no window, the loader's own Read or Verify, as
a programmer reads back. Checks that need the simulator's internals (the flash's WIP state, the
virtual clock) are not applicable through a probe and say why.

Whole-device passes: the read-back covers the whole device up to `full_read_limit` bytes and
samples chunk boundaries beyond it; the write covers one RAM buffer plus the boundary into the
next unless `full=True`. The verdict says which was done.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from stm32_hil.errors import HarnessError, LoaderError, SafetyError
from stm32_hil.report.hexdiff import first_difference
from stm32_hil.stldr import programmer
from stm32_hil.stldr.checks import MAX_PAGE, MIN_PAGE, check_fits
from stm32_hil.stldr.controller import ControllerState, read_state
from stm32_hil.stldr.elf import Stldr
from stm32_hil.stldr.errors import Finding, NotApplicable
from stm32_hil.stldr.flm import Flm
from stm32_hil.stldr.runner import (
    CallResult,
    HarnessLimit,
    HostReadError,
    LoaderCallError,
    LoaderRunner,
    WallBudget,
)
from stm32_hil.stldr.timing import board_datasheet, judge
from stm32_hil.target.base import Target

CHECKS = (
    "metadata",
    "ram_fit",
    "device_fit",
    "init",
    "init_idle",
    "sector_erase",
    "mass_erase",
    "unaligned_write",
    "whole_device_read",
    "whole_device_write",
    "verify",
    "checksum",
    "order",
    "read_before_init",
    "wrong_base",
    "timing",
)
# Checks that always run (`only` cannot drop them): every other check needs their result.
ALWAYS = ("ram_fit", "device_fit")
# A whole-device pass on a board whose chip capacity is unknown (hardware without a chip in
# its inventory entry) is refused above this size: the declared size is all there is to go by.
MAX_UNKNOWN_DEVICE = 512 * 1024 * 1024
# Default wall-clock bound of the loader calls of one check on a simulated board, in seconds.
CHECK_WALL_LIMIT = 900.0
CALL_WALL_LIMIT = CHECK_WALL_LIMIT  # the name the CLI knew it by
FULL_READ_LIMIT = 64 * 1024 * 1024
# QUADSPI registers read over the debug port to tell why a Read went wrong (RM0433 23.5,
# RM0410 14.5, RM0386 12.5: the same layout on H7, F7 and F4).
QSPI_SR, QSPI_DLR, QSPI_CCR = 0x08, 0x10, 0x14
QSPI_SR_BUSY = 1 << 5
SEED = 0x5717D2

Progress = Callable[[str, int, int], None]  # (phase, done, total)


# Checks that judge the loader file alone, with no device behind it.
NO_DEVICE = ("metadata", "ram_fit", "device_fit")


@dataclass
class CheckResult:
    loader: str
    check: str
    passed: bool | None  # None: not run (an earlier failure made it meaningless)
    detail: str
    seconds: dict[str, float] = field(default_factory=dict)
    # Blocks the simulator does not model that the loader's code used during this check: a
    # result that depends on them may differ on silicon ("simulator gap").
    generic_blocks: tuple[str, ...] = ()
    verdict: str = ""  # for a failure: "crash", "simulator gap" or "finding"

    def record(self) -> dict[str, Any]:
        return {
            "loader": self.loader,
            "check": self.check,
            "passed": self.passed,
            "detail": self.detail,
            "verdict": self.verdict,
            "generic_blocks": list(self.generic_blocks),
        }


class Device:
    """The expected content of the device, read without the loader under test."""

    def __init__(self, target: Target, start: int, size: int) -> None:
        self.target = target
        self.start = start
        self.size = size
        sim = target.sim
        self.model = getattr(sim, "external", None) if sim is not None else None
        if self.model is not None and getattr(self.model, "controller", None) is None:
            self.model = None

    def read(self, runner: LoaderRunner, address: int, length: int) -> bytes:
        if self.model is not None:
            return self.model.read(address - self.start, length)
        runner.begin()  # Init leaves the window mapped: read it over the debug port
        try:
            return self.target.read_memory(address, length)
        except HarnessError:
            if not runner.has("Read"):
                return runner.window_read(address, length)  # says why, typed
        # A loader with Read need not leave the window mapped after Init (its Read maps it or
        # reads indirectly): then its Read is what a programmer reads back through, too.
        return runner.read(address, length)

    def fill(self, address: int, data: bytes) -> bool:
        """Lay content down without the loader (simulator only); False when not possible."""
        if self.model is None:
            return False
        self.model.write(address - self.start, data)
        return True


def _first_difference(got: bytes, want: bytes) -> int:
    """Offset of the first differing byte, -1 when equal (see stm32_hil.report.first_difference)."""
    where = first_difference(want, got)
    return -1 if where is None else where


def _compare(got: bytes, want: bytes, base: int, what: str) -> None:
    i = _first_difference(got, want)
    if i < 0:
        return
    bad = sum(1 for _ in _runs(got, want))
    g = got[i : i + 8].hex(" ")
    w = want[i : i + 8].hex(" ")
    raise Finding(
        f"{what}: first difference at 0x{base + i:08X} (offset 0x{i:X}): read {g}, expected {w}"
        f"; {bad} differing 4 KiB block(s)"
    )


def _runs(got: bytes, want: bytes, block: int = 4096) -> Iterator[int]:
    for off in range(0, min(len(got), len(want)), block):
        if got[off : off + block] != want[off : off + block]:
            yield off


def _size_text(size: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= div and size % div == 0:
            return f"{size // div} {unit}"
    return f"{size:,} bytes"


def pattern(length: int, seed: int = SEED) -> bytes:
    return random.Random(seed).randbytes(length)


@dataclass
class Validator:
    target: Target
    stldr: Stldr
    reinit: bool = True
    full: bool = False
    full_read_limit: int = FULL_READ_LIMIT
    progress: Progress | None = None
    buffers: tuple[int, ...] = ()  # extra RAM buffer sizes for the whole-device read
    # Wall-clock seconds of simulation one check may use (simulator only): a shared WallBudget
    # after construction, passed to every runner the check makes.
    wall_limit: float | WallBudget | None = CHECK_WALL_LIMIT
    results: list[CheckResult] = field(default_factory=list)
    # In the order they run; a validator for another kind of loader adds its own.
    checks: ClassVar[tuple[str, ...]] = CHECKS

    def __post_init__(self) -> None:
        info = self.stldr.storage_info
        self.info = info
        self.device = Device(self.target, info.start, info.size)
        self.runner: LoaderRunner | None = None
        self.name = self.stldr.path
        self._gaps = getattr(self.target.sim, "gaps", None)  # simulator only
        self._mark = 0
        self.sheet = board_datasheet(self.target)
        self.capacity = self._capacity()
        self.groups = self._groups()
        self._order_runners: list[LoaderRunner] = []  # their calls are timed too
        if isinstance(self.wall_limit, int | float):
            self.wall_limit = WallBudget(float(self.wall_limit))

    # -- driver ----------------------------------------------------------------------------------
    def run(self, only: tuple[str, ...] | None = None) -> list[CheckResult]:
        blocked = ""
        for check in self.checks:
            if only is not None and check not in only and check not in ALWAYS:
                continue
            if blocked and check != "metadata":
                self._add(check, None, f"not run: {blocked}")
                continue
            self._mark = self._gaps.mark() if self._gaps is not None else 0
            if isinstance(self.wall_limit, WallBudget):
                self.wall_limit.start()
            try:
                detail = getattr(self, f"check_{check}")()
                self._add(check, True, detail)
            except NotApplicable as exc:
                self._add(check, None, f"not applicable: {exc}", "not applicable")
            except Finding as exc:
                self._add(check, False, str(exc))
                if check in ("ram_fit", "device_fit", "init"):
                    blocked = f"{check} failed"
            except HarnessLimit as exc:
                self._add(check, None, exc.message + f" ({exc.hint})", "no verdict")
                if check == "init":
                    blocked = "init has no verdict"
                self._fresh()
            except LoaderCallError as exc:
                detail = exc.message + (f" ({exc.hint})" if exc.hint else "")
                self._add(check, False, detail, exc.verdict)
                if check in ("ram_fit", "device_fit", "init"):
                    blocked = f"{check} failed"
                self._fresh()
            except SafetyError as exc:  # the operator's opt-in is missing, not the loader's fault
                self._add(
                    check, None, exc.message + (f" ({exc.hint})" if exc.hint else ""), "no verdict"
                )
                if check == "init":
                    blocked = "init has no verdict"
                self._fresh()
            except HarnessError as exc:  # LoaderError, or the target refused an access
                self._add(check, False, exc.message + (f" ({exc.hint})" if exc.hint else ""))
                if check in ("ram_fit", "device_fit", "init"):
                    blocked = f"{check} failed"
                self._fresh()
            except (MemoryError, RecursionError) as exc:
                # Bounded by construction; should one still happen, this check has no verdict
                # and the others keep theirs.
                self._add(
                    check,
                    None,
                    f"internal error: {type(exc).__name__} (the harness could not judge this "
                    "check)",
                    "internal error",
                )
                self._fresh()
        return self.results

    def _new_runner(self, **kwargs: Any) -> LoaderRunner:
        """A runner with this validation's wall-clock bound and the board chip's times."""
        kwargs.setdefault("reinit", self.reinit)
        return LoaderRunner(
            self.target,
            self.stldr,
            wall_limit=self.wall_limit,
            datasheet=self.sheet.times if self.sheet is not None else None,
            **kwargs,
        )

    def _capacity(self) -> tuple[int, str] | None:
        """(bytes, what) of the memory this board has on the loader's bus, when known."""
        model = self.device.model
        if model is not None:
            name = self.sheet.name if self.sheet is not None else "external flash"
            chips = self.sheet.chips if self.sheet is not None else 1
            return int(model.size), (f"{chips} x {name}" if chips > 1 else name)
        if self.sheet is not None:
            from stm32_hil.sim.memories.nor.chips import chip_spec

            size = chip_spec(self.sheet.name).size * self.sheet.chips
            label = self.sheet.name if self.sheet.chips == 1 else f"2 x {self.sheet.name}"
            return size, label
        return None

    def _groups(self) -> list[tuple[int, int, int]]:
        """Usable sector groups (base, count, size) clipped to the device and its capacity.

        Groups with a zero count or size are skipped, and a count running past the device is
        cut, so a corrupt list never drives a loop or a buffer beyond the real memory.
        """
        end = self.info.start + self._device_size()
        base, out = self.info.start, []
        for group in self.info.sectors:
            if group.count <= 0 or group.size <= 0:
                continue
            if base >= end:
                break
            count = min(group.count, (end - base) // group.size)
            if count <= 0:
                break
            out.append((base, count, group.size))
            base += count * group.size
        return out

    def _device_size(self) -> int:
        """Bytes of the device the checks may touch: DeviceSize, bounded by the real memory."""
        size = min(self.info.size, (1 << 32) - self.info.start)
        if self.capacity is not None:
            size = min(size, self.capacity[0])
        return max(0, min(size, MAX_UNKNOWN_DEVICE))

    @property
    def covered_end(self) -> int:
        """One past the last byte the (usable) sector list covers."""
        if not self.groups:
            return self.info.start
        base, count, size = self.groups[-1]
        return base + count * size

    def _add(self, check: str, passed: bool | None, detail: str, verdict: str = "") -> None:
        seconds: dict[str, float] = {}
        if self.runner is not None:
            for call in self.runner.calls:
                seconds[call.name] = max(seconds.get(call.name, 0.0), call.seconds)
        gaps: tuple[str, ...] = ()
        if self._gaps is not None and passed is not None:
            gaps = tuple(self._gaps.blocks(self._mark))
        if passed is False and verdict in ("", "finding"):
            verdict = "finding"
            if self._gaps is not None and self.device.model is None and check not in NO_DEVICE:
                # A simulated board whose inventory wires no memory to the loader's bus: the
                # loader talks to nothing, whatever it does.
                verdict = "simulator gap"
                detail += (
                    "; simulator gap: no external memory is wired to this simulated board "
                    "(inventory external_flash), so the loader talks to nothing"
                )
            elif gaps:  # a wrong result after leaning on unmodelled blocks
                verdict = "simulator gap"
                detail += (
                    "; simulator gap: the loader used blocks that are not modelled ("
                    + ", ".join(gaps)
                    + "), a result on silicon may differ"
                )
        detail += _wiring_note(self.target.sim, check, passed)
        self.results.append(CheckResult(self.name, check, passed, detail, seconds, gaps, verdict))

    def _fresh(self) -> None:
        """After a timeout or fault the loaded image is suspect: load it again next time."""
        if self.runner is not None:
            self.runner._loaded = False

    def _note(self, phase: str) -> Callable[[int, int], None] | None:
        cb = self.progress
        if cb is None:
            return None
        return lambda done, total: cb(phase, done, total)

    @property
    def r(self) -> LoaderRunner:
        if self.runner is None:
            raise Finding("the loader could not be placed in RAM")
        return self.runner

    # -- geometry helpers -------------------------------------------------------------------------
    def _sector(self, index: int) -> tuple[int, int]:
        """(address, size) of the sector `index` of the device, counting from the start."""
        for base, count, size in self.groups:
            if index < count:
                return base + index * size, size
            index -= count
        raise Finding(f"the device has no sector {index} in its sector list")

    def _sector_count(self) -> int:
        return sum(count for _, count, _ in self.groups)

    def _sector_at(self, address: int) -> tuple[int, int]:
        """(start, size) of the sector holding `address`, or a finding naming the gap."""
        for base, count, size in self.groups:
            if base <= address < base + count * size:
                return base + (address - base) // size * size, size
        raise Finding(
            f"0x{address:08X} is outside the sector list of {self.info.name or 'the device'} "
            f"(it covers [0x{self.info.start:08X}, 0x{self.covered_end:08X})): the programmer "
            "cannot erase there"
        )

    def _need_sectors(self) -> None:
        if not self.groups:
            raise Finding(
                "the sector list has no usable sector inside the device (every group has a "
                "zero count or size, or starts beyond DeviceSize): nothing can be erased"
            )

    # -- checks -----------------------------------------------------------------------------------
    def check_metadata(self) -> str:
        info = self.info
        problems = list(self.stldr.warnings)
        if info.size == 0:
            problems.append("DeviceSize is 0")
        if problems:
            raise Finding("; ".join(problems))
        return (
            f"{info.name}: {info.type_name}, 0x{info.start:08X} + 0x{info.size:X}, "
            f"page {info.page_size}, {len(info.sectors)} sector group(s)"
        )

    def check_ram_fit(self) -> str:
        try:
            region = check_fits(self.stldr, self.target.part)
        except LoaderError as exc:
            raise Finding(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
        self.runner = self._new_runner()
        r = self.runner
        return (
            f"image [0x{self.stldr.trap_address:08X}, 0x{self.stldr.image_end:08X}) in "
            f"{region.name}; buffer 0x{r.buffer:08X} + 0x{r.buffer_size:X}; "
            f"stack top 0x{r.stack_top:08X}"
        )

    def check_device_fit(self) -> str:
        """The device the loader declares must exist on this board, before any buffer is made."""
        info = self.info
        if info.size == 0:
            raise Finding("DeviceSize is 0: there is no device to program or read")
        if info.end > 1 << 32:
            raise Finding(
                f"the device [0x{info.start:08X}, +0x{info.size:X}) runs past the end of the "
                "32-bit address space"
            )
        if self.capacity is not None:
            have, chip = self.capacity
            if info.size > have:
                raise Finding(
                    f"the loader declares {_size_text(info.size)} (0x{info.size:X}); this "
                    f"board's {chip} has {_size_text(have)} (0x{have:X}): the loader is built "
                    "for a bigger memory, addresses past the chip wrap or fail"
                )
        elif info.size > MAX_UNKNOWN_DEVICE:
            raise Finding(
                f"the loader declares {_size_text(info.size)}, more than the "
                f"{_size_text(MAX_UNKNOWN_DEVICE)} validated without knowing the board's chip",
            )
        self._need_sectors()
        where = (
            f"this board's {self.capacity[1]} ({_size_text(self.capacity[0])})"
            if self.capacity is not None
            else "a board whose memory size is not in its inventory entry"
        )
        short = ""
        if self.covered_end < info.end:
            short = (
                f"; the sector list covers only up to 0x{self.covered_end:08X}: erases and "
                "full writes stop there"
            )
        return f"{_size_text(info.size)} at 0x{info.start:08X} on {where}{short}"

    def check_init(self) -> str:
        r = self.r
        times = []
        for _ in range(3):
            res = r.init()
            times.append(res.seconds)
        again = r.call("Init")
        if again.r0 != 1:
            raise Finding(f"Init called twice without reload returned {again.r0}")
        return f"Init returned 1 four times (reloaded 3x, once again in place), {times[0]:.4f} s"

    def check_init_idle(self) -> str:
        """Init must not return while the flash is still busy with something it started.

        The programmer calls the operation right after Init; a flash still in a program, erase
        or non-volatile register write ignores its WREN and command, so the operation is lost
        while the loader's own "WEL set" poll passes (WEL reads 1 during the write cycle).
        """
        model = self.device.model
        if model is None:
            raise NotApplicable(
                "a debug probe cannot observe it: it needs the flash model's WIP state, which "
                "only the simulating process sees (a probe reads no chip status without sending "
                "commands)"
            )
        r = self.r
        r.init()
        clock = self.target.sim.clock  # type: ignore[union-attr]
        now = clock.now / clock.hz
        busy = [c for c in model.controller.chips if c.busy]
        if busy:
            left = max(c.busy_until for c in busy) - now
            raise Finding(
                f"Init returned while the {busy[0].spec.name} is still busy (WIP=1) for another "
                f"{left * 1000:.1f} ms: it started a write (typically of the non-volatile status/"
                "configuration register) and did not wait for WIP=0; an erase or write called "
                "right after Init is ignored by the flash and memory-mapped reads see 0xFF"
            )
        return "the flash is idle (WIP=0) when Init returns"

    def _read_left_busy(self, address: int, length: int) -> str | None:
        """Why the QUADSPI is still BUSY after a Read returned, or None when it is idle."""
        if "Read" not in self.stldr.functions:
            return None
        try:
            base = self.target.part.peripheral("QUADSPI")
        except Exception:  # no QUADSPI on this part: nothing to look at
            return None
        self.r.read(address, length)
        try:
            sr = self.target.read32(base + QSPI_SR)
            dlr = self.target.read32(base + QSPI_DLR)
            ccr = self.target.read32(base + QSPI_CCR)
        except HarnessError:
            return None
        if not sr & QSPI_SR_BUSY:
            return None
        why = ""
        if dlr == 0xFFFFFFFF and (ccr >> 26) & 3 == 1:
            why = (
                " with DLR=0xFFFFFFFF in indirect read mode: the loader started a read of "
                "0 bytes (DLR = size - 1), which the QUADSPI takes as an undefined length, "
                "so the transfer never completes (TCF never sets)"
            )
        return (
            f"after Read(0x{address:08X}, 0x{length:X}) the QUADSPI is left BUSY "
            f"(SR=0x{sr:08X}, DLR=0x{dlr:08X}, CCR=0x{ccr:08X}){why}; while BUSY=1 the "
            "QUADSPI ignores writes to CCR, AR and DLR, so every later command of the call "
            "is dropped and the loader waits out its polling timeouts"
        )

    def _prepare(self, address: int, data: bytes) -> None:
        """Put known content at `address`: by back-door on the simulator, else erase + Write."""
        if self.device.fill(address, data):
            return
        r = self.r
        first, _ = self._sector_at(address)
        last, _ = self._sector_at(address + len(data) - 1)
        r.sector_erase(first, last)
        r.write(address, data)

    def _prepare_sector_edges(self, lo: int, data: bytes, sectors: list[tuple[int, int]]) -> bytes:
        """Program the first and last page of each sector from `data`; the rest stays erased.

        Through a probe the content goes down through the loader itself, which is slow a page
        per call (a Keil .FLM programs one page per call): the pages at each sector's edges are
        where an erase too narrow or too wide shows first. Returns what the range now holds.
        """
        r, page = self.r, self._page()
        first, _ = self._sector_at(sectors[0][0])
        last, _ = self._sector_at(sectors[-1][0])
        r.sector_erase(first, last)
        want = bytearray([self.info.erase_value]) * len(data)
        for addr, size in sectors:
            for off in sorted({addr - lo, addr - lo + max(0, size - page)}):
                n = min(page, size)
                want[off : off + n] = data[off : off + n]
                r.write(lo + off, bytes(data[off : off + n]))
        return bytes(want)

    def _trust_window(self, lo: int, want: bytes, what: str) -> None:
        """Through a probe, the device's content is seen only as the loader presents it: when
        that view does not show what its Write was just given, `what` cannot be judged."""
        try:
            got = self.device.read(self.r, lo, len(want))
        except HostReadError:
            return  # compared through Verify instead
        i = _first_difference(got, want)
        if i >= 0:
            raise NotApplicable(
                f"{what} cannot be judged through a probe: the memory-mapped window (the only "
                f"reference without a flash model) does not show what Write was just given, "
                f"first at 0x{lo + i:08X} (reads {got[i : i + 8].hex(' ')}, written "
                f"{want[i : i + 8].hex(' ')}); the Write or the loader's memory-mapped read "
                "configuration is wrong (unaligned_write and whole_device_read judge them)"
            )

    def check_sector_erase(self) -> str:
        if "SectorErase" not in self.stldr.functions:
            raise Finding("no SectorErase function: sectors cannot be erased one by one")
        count = self._sector_count()
        index = 1 if count >= 3 else 0
        victims = [self._sector(i) for i in range(max(0, index - 1), min(count, index + 2))]
        lo = victims[0][0]
        hi = victims[-1][0] + victims[-1][1]
        data = pattern(hi - lo, SEED + 1).replace(b"\xff", b"\x5a")
        if self.device.model is None:
            data = self._prepare_sector_edges(lo, data, victims)
            self._trust_window(lo, data, "the erase")
        else:
            self._prepare(lo, data)
        target_addr, target_size = self._sector(index)
        res = self.r.sector_erase(target_addr, target_addr)
        erase = bytes([self.info.erase_value])
        rel = target_addr - lo
        try:
            got = self.device.read(self.r, lo, hi - lo)
        except HostReadError:
            # No window and no Read (a flash algorithm that maps nothing, behind a probe): the
            # content is compared through the loader's own Verify, as Keil MDK does.
            want = data[:rel] + erase * target_size + data[rel + target_size :]
            return self._erase_verified(res, lo, want, target_addr, target_size)
        erased = got[rel : rel + target_size]
        if erased != erase * target_size:
            i = _first_difference(erased, erase * target_size)
            raise Finding(
                f"SectorErase(0x{target_addr:08X}) left 0x{erased[i]:02X} at "
                f"0x{target_addr + i:08X}: the sector is not erased"
            )
        for addr, size in victims:
            if addr == target_addr:
                continue
            off = addr - lo
            if got[off : off + size] != data[off : off + size]:
                i = _first_difference(got[off : off + size], data[off : off + size])
                raise Finding(
                    f"SectorErase(0x{target_addr:08X}) also changed the neighbouring sector at "
                    f"0x{addr:08X}: first changed byte at 0x{addr + i:08X} "
                    f"(0x{data[off + i]:02X} -> 0x{got[off + i]:02X})"
                )
        return (
            f"erased sector 0x{target_addr:08X} (+0x{target_size:X}) in {res.seconds:.3f} s; "
            f"neighbours intact"
        )

    def _erase_verified(self, res: CallResult, lo: int, want: bytes, target: int, size: int) -> str:
        """Judge a sector erase by comparing `want` through the runner (its Verify)."""
        compare = getattr(self.r, "compare", None)
        if compare is None:
            raise Finding("the device cannot be read back: no Read, no window and no Verify")
        bad, how = compare(lo, want)
        if bad is not None and target <= bad < target + size:
            raise Finding(
                f"SectorErase(0x{target:08X}) left 0x{bad:08X} unerased (compared through "
                f"{how}): the sector is not erased"
            )
        if bad is not None:
            sector, _ = self._sector_at(bad)
            raise Finding(
                f"SectorErase(0x{target:08X}) also changed the neighbouring sector at "
                f"0x{sector:08X}: first changed byte at 0x{bad:08X} (compared through {how})"
            )
        return (
            f"erased sector 0x{target:08X} (+0x{size:X}) in {res.seconds:.3f} s; neighbours "
            f"intact (compared through {how})"
        )

    def check_mass_erase(self) -> str:
        if "MassErase" not in self.stldr.functions:
            # ST's loader template lists MassErase as optional: without it STM32CubeProgrammer
            # erases a full chip sector by sector through SectorErase.
            raise NotApplicable(
                "no MassErase function (optional: a full erase goes sector by sector)"
            )
        start = self.info.start
        self._prepare(start, pattern(0x1000, SEED + 2).replace(b"\xff", b"\x00"))
        res = self.r.mass_erase()
        blank, how = self._blank_check()
        if blank is not None:
            raise Finding(
                f"after MassErase the device is not blank: 0x{blank[1]:02X} at "
                f"0x{blank[0]:08X} ({how})"
            )
        if self.device.model is not None:
            # Reads through a loader can show 0xFF while the erase never happened (a chip
            # still busy from an earlier command answers nothing): ask the cells themselves.
            cells = self.device.read(self.r, start, 0x1000)
            i = _first_difference(cells, bytes([self.info.erase_value]) * len(cells))
            if i >= 0:
                raise Finding(
                    f"MassErase returned success but the flash still holds 0x{cells[i]:02X} at "
                    f"0x{start + i:08X}: the erase command never reached the chip, although "
                    "reads through the loader showed the erased value"
                )
        return f"MassErase took {res.seconds:.3f} s; blank check over {how}"

    def _blank_check(self) -> tuple[tuple[int, int] | None, str]:
        """First non-erased (address, value) read through the loader, and what was covered."""
        erase = self.info.erase_value
        spans = self._spans()
        for addr, size in spans:
            data = self.r.read(addr, size, self._note("blank check"))
            i = _first_difference(data, bytes([erase]) * size)
            if i >= 0:
                return (addr + i, data[i]), self._coverage(spans)
        return None, self._coverage(spans)

    def _coverage(self, spans: list[tuple[int, int]], runner: LoaderRunner | None = None) -> str:
        step = (runner or self.r).buffer_size
        total = self._device_size()
        if len(spans) == 1 and spans[0][1] == total:
            return f"the whole device ({total:,} bytes in {-(-total // step)} chunks of 0x{step:X})"
        covered = sum(size for _, size in spans)
        return (
            f"SAMPLED {len(spans)} spans of 2 chunks around chunk boundaries ({covered:,} of "
            f"{total:,} bytes; the device exceeds the full-pass limit of "
            f"{self.full_read_limit:,})"
        )

    def _spans(self, runner: LoaderRunner | None = None) -> list[tuple[int, int]]:
        """Device spans a whole-device pass covers: all of it, or chunk-boundary samples."""
        start, size = self.info.start, self._device_size()
        step = (runner or self.r).buffer_size
        if size <= self.full_read_limit or self.full or size <= 6 * step:
            return [(start, size)]
        mid = start + (size // 2 // step) * step
        return [(start, 2 * step), (mid - step, 2 * step), (start + size - 2 * step, 2 * step)]

    def _page(self) -> int:
        """The program page to test boundaries at: the loader's, unless it is implausible."""
        page = self.info.page_size
        if MIN_PAGE <= page <= MAX_PAGE and not page & (page - 1):
            return page
        if self.sheet is not None:
            return self.sheet.page_size * self.sheet.chips
        return 256

    def check_unaligned_write(self) -> str:
        info, r = self.info, self.r
        page = self._page()
        addr = info.start + page - 3
        length = 2 * page + 7
        end = min(info.start + self._device_size(), self.covered_end)
        if addr + length > end:
            raise Finding(
                f"the device (and its sector list) ends at 0x{end:08X}: too small for a write of "
                f"{length} bytes across two {page}-byte pages"
            )
        data = bytes((i * 7 + 1) & 0xFF for i in range(length))
        first, _ = self._sector_at(info.start)
        lo, hi = max(info.start, addr - 16), min(end, addr + length + 16)
        last, _ = self._sector_at(hi - 1)
        r.sector_erase(first, last)
        r.write(addr, data)
        if self.device.model is None:
            # Through a probe the window is the reference for the bytes around the write, so a
            # read path that garbles everything is named as such first, as with a flash model.
            back = r.read(addr, length)
            _compare(back, data, addr, "read-back of the unaligned write through the loader")
        around = self.device.read(r, lo, hi - lo)
        erased = bytes([info.erase_value])
        before, after = addr - lo, hi - addr - length
        want = erased * before + data + erased * after
        i = _first_difference(around, want)
        if i >= 0:
            where = lo + i
            part = (
                "before the written range"
                if i < before
                else "after the written range"
                if i >= before + length
                else "inside the written range"
            )
            raise Finding(
                f"Write(0x{addr:08X}, {length} bytes) spanning page boundaries: byte at "
                f"0x{where:08X} ({part}) is 0x{around[i]:02X}, expected 0x{want[i]:02X}"
            )
        back = r.read(addr, length)
        _compare(back, data, addr, "read-back of the unaligned write through the loader")
        note = "" if page == info.page_size else f" (PageSize {info.page_size} is implausible)"
        return (
            f"{length} bytes at 0x{addr:08X} across 2 page boundaries of {page} bytes{note} "
            "written and read back"
        )

    def check_whole_device_read(self) -> str:
        page = self._page()
        stuck = self._read_left_busy(self.info.start, page)
        if stuck is not None:
            raise Finding(stuck)
        notes, bad = [], []
        runners = programmer.buffer_runners(self)
        marked = ""
        if self.device.model is None:
            marked = self._mark_chunk_starts([r for r, _ in runners if r is not None])
        for runner, label in runners:
            try:
                notes.append(label if runner is None else self._read_through(runner, label))
            except Finding as exc:
                bad.append(str(exc))
        if bad:
            raise Finding("; ".join(bad + notes) + marked)
        return "; ".join(notes) + marked

    def _mark_chunk_starts(self, runners: list[LoaderRunner]) -> str:
        """Program a distinct page at the start of every chunk the whole-device reads ask for.

        Without a flash model the expected content is the window's, and a device left mostly
        erased reads alike in every chunk: a loader that leaves the buffer untouched after its
        first chunks would match. A page of its own at each chunk start tells the chunks apart.
        Each sector holding a mark is erased once, then its marks are written through the loader.
        """
        page, end = self._page(), min(self.info.start + self._device_size(), self.covered_end)
        starts = sorted(
            {
                addr + k * r.buffer_size
                for r in runners
                for addr, size in self._spans(r)
                for k in range(-(-size // r.buffer_size))
            }
        )
        sectors: dict[int, list[int]] = {}
        for start in starts:
            if start + page > end:
                continue
            try:
                base, _ = self._sector_at(start)
            except Finding:
                continue
            sectors.setdefault(base, []).append(start)
        r = self.r
        for base, marks in sectors.items():
            r.sector_erase(base, base)
            for start in marks:
                r.write(start, pattern(page, SEED + 13 + start))
        count = sum(len(m) for m in sectors.values())
        return (
            f"; {count} chunk starts were first programmed with distinct pages through the "
            "loader (no flash model behind a probe: the window is the reference)"
        )

    def _read_through(self, r: LoaderRunner, label: str) -> str:
        """Whole-device read through `r`'s buffer; the first invalid address if truncated."""
        spans = self._spans(r)
        laid = True
        for addr, size in spans:
            laid = self.device.fill(addr, pattern(size, SEED + addr)) and laid
        for addr, size in spans:
            got = r.read(addr, size, self._note(f"whole-device read ({label})"))
            want = pattern(size, SEED + addr) if laid else self.device.read(r, addr, size)
            try:
                _compare(got, want, addr, f"whole-device read through the loader ({label})")
            except Finding as exc:
                i = _first_difference(got, want)
                chunk = i // r.buffer_size
                raise Finding(
                    f"{exc}; first invalid address 0x{addr + i:08X}, in chunk {chunk} of "
                    f"0x{r.buffer_size:X} bytes (Read(0x{addr + chunk * r.buffer_size:08X}, "
                    f"0x{min(r.buffer_size, size - chunk * r.buffer_size):X}))"
                ) from None
        src = "the flash model's cells" if laid else "the memory-mapped window"
        return f"{label}: read matches {src} over {self._coverage(spans, r)}"

    def check_whole_device_write(self) -> str:
        info, r = self.info, self.r
        mass = self.full and "MassErase" in self.stldr.functions
        # Without MassErase only what the sector list covers can be erased and rewritten.
        end = info.start + self._device_size()
        if not mass:
            end = min(end, self.covered_end)
        if end <= info.start:
            raise Finding("the sector list covers no part of the device: nothing to write")
        if self.full:
            spans = [(info.start, end - info.start)]
        else:
            spans = [(info.start, min(end - info.start, r.buffer_size + 0x1000))]
        for addr, size in spans:
            if mass:
                r.mass_erase()
            else:
                first, _ = self._sector_at(addr)
                last, _ = self._sector_at(addr + size - 1)
                r.sector_erase(first, last)
            data = pattern(size, SEED + 7 + addr).replace(b"\xff\xff", b"\xfe\xff")
            r.write(addr, data, self._note("whole-device write"))
            got = self.device.read(r, addr, size)
            try:
                _compare(got, data, addr, "content after a multi-chunk Write")
            except Finding as exc:
                if self.device.model is not None:
                    raise
                raise Finding(
                    f"{exc} (through a probe the memory-mapped window is the reference: the "
                    "Write or the loader's memory-mapped read configuration is wrong)"
                ) from None
        if self.full:
            short = (
                ""
                if spans[0][1] == info.size
                else f" (of DeviceSize {info.size:,}: the rest is outside the sector list or "
                "the board's memory)"
            )
            return f"wrote and compared all {spans[0][1]:,} bytes{short}"
        return (
            f"SAMPLED: wrote 0x{spans[0][1]:X} bytes from 0x{spans[0][0]:08X} (one buffer of "
            f"0x{r.buffer_size:X} and the boundary into the next) and compared; use full=True "
            "for the whole device"
        )

    def check_verify(self) -> str:
        if "Verify" not in self.stldr.functions:
            raise NotApplicable(
                "no Verify function (optional): the programmer compares by reading back"
            )
        info, r = self.info, self.r
        addr = info.start + 0x100
        data = pattern(0x400, SEED + 3)
        self._prepare_written(addr, data)
        r0, r1 = r.verify(addr, data)
        want_sum = sum(data) & 0xFFFFFFFF
        if r0 != 0:
            raise Finding(self._verify_mismatch(r, addr, data, r0, "of equal content"))
        # STM32CubeProgrammer tests R0 only; R1 (the checksum) is reported, not judged.
        sum_note = (
            "R1=byte sum"
            if r1 == want_sum
            else f"R1=0x{r1:08X} is not the byte sum 0x{want_sum:08X} (not used by the programmer)"
        )
        bad = bytearray(data)
        bad[0x123] ^= 0x10
        r0, _ = r.verify(addr, bytes(bad))
        if r0 == 0:
            raise Finding(f"Verify missed a difference at 0x{addr + 0x123:08X}")
        near = "" if abs(r0 - (addr + 0x123)) <= 8 else f" (reported 0x{r0:08X}, approximate)"
        return f"equal block: R0=0, {sum_note}; altered byte at 0x{addr + 0x123:08X} found{near}"

    def _verify_mismatch(self, r: LoaderRunner, addr: int, data: bytes, r0: int, what: str) -> str:
        """Why a Verify of matching content did not return 0, in words."""
        text = (
            f"Verify(0x{addr:08X}, 0x{len(data):X} bytes) {what} reported a mismatch at 0x{r0:08X}"
        )
        if addr <= r0 < addr + len(data):
            return text
        if r0 == 1:
            bad = bytearray(data)
            bad[0x10] ^= 0x01
            other, _ = r.verify(addr, bytes(bad))
            how = (
                f"and for different content it returns 0x{other:08X}"
                if other != 1
                else "and it returns 1 for different content too"
            )
            return (
                f"Verify(0x{addr:08X}, 0x{len(data):X} bytes) {what} returned 1: the loader "
                "uses the non-standard convention 1 = success (seen in the field), "
                f"{how}; STM32CubeProgrammer expects R0 = 0 for a match and the first "
                "differing address otherwise, so it reads this as a mismatch at 0x00000001"
            )
        return (
            f"{text}, an address outside the verified range [0x{addr:08X}, "
            f"0x{addr + len(data):08X}): R0 must be 0 for a match or the first differing address"
        )

    def _prepare_written(self, addr: int, data: bytes) -> None:
        r = self.r
        first, _ = self._sector_at(addr)
        last, _ = self._sector_at(addr + len(data) - 1)
        r.sector_erase(first, last)
        r.write(addr, data)

    def check_checksum(self) -> str:
        if "CheckSum" not in self.stldr.functions:
            raise NotApplicable("no CheckSum function (optional)")
        info, r = self.info, self.r
        addr = info.start + 0x2000
        data = pattern(0x334, SEED + 4)
        self._prepare_written(addr, data)
        # Word-aligned start and size: what the programmer and the loader's own Verify pass.
        for start, size, init in ((addr, len(data), 0), (addr + 0x100, 0x100, 0x1234)):
            chunk = data[start - addr : start - addr + size]
            want = (sum(chunk) + init) & 0xFFFFFFFF
            got = r.checksum(start, size, init)
            if got != want:
                raise Finding(
                    f"CheckSum(0x{start:08X}, 0x{size:X}, 0x{init:X}) = 0x{got:08X}, "
                    f"the byte sum is 0x{want:08X}"
                )
        # Unaligned starts are reported only: ST's reference CheckSum rounds the start down to
        # a word and the size up, so its sum there is not a plain byte sum, and the programmer
        # never judges a CheckSum value (Verify's R0 decides).
        start, size = addr + 3, 0x101
        got = r.checksum(start, size, 0)
        want = sum(data[3 : 3 + size]) & 0xFFFFFFFF
        odd = (
            "also at an unaligned start"
            if got == want
            else f"at an unaligned start (0x{start:08X}, 0x{size:X}) it returns 0x{got:08X}, "
            f"not the byte sum 0x{want:08X}: informational, as ST's reference loaders do"
        )
        return f"byte sums match at word-aligned start and size, with an initial value; {odd}"

    def check_order(self) -> str:
        """Operations in orders a programmer uses, with and without the reload + Init."""
        sector, _ = self._sector(min(2, self._sector_count() - 1))
        data = pattern(0x300, SEED + 5)
        notes = []
        for reinit in (True, False):
            # The programmer reloads and calls Init before every operation, but within one
            # operation it calls an exported Read chunk after chunk without Init: a Read must
            # work without re-Init. A loader without Read is read through the window its Init
            # maps, so its order dependence without re-Init is informational (unless asked
            # with --no-reinit).
            judged = reinit or not self.reinit or "Read" in self.stldr.functions
            try:
                notes.append(self._order_pass(reinit, sector, data))
            except (Finding, HarnessError) as exc:
                if judged:
                    raise
                text = str(exc) if isinstance(exc, Finding) else exc.message
                notes.append(
                    f"without re-Init (informational, the programmer always re-Inits): "
                    f"{text.splitlines()[0]}"
                )
                self._fresh()
        return "Read->Erase->Read->Write->Read->Verify: " + "; ".join(notes)

    def _order_pass(self, reinit: bool, sector: int, data: bytes) -> str:
        info = self.info
        r = self._new_runner(reinit=reinit)
        self._order_runners.append(r)
        label = "with re-Init" if reinit else "without re-Init"
        r.init()
        r.read(sector, 0x100)  # a Read first
        before = read_state(self.target)
        r.sector_erase(sector, sector)  # erase after a Read
        after = read_state(self.target)
        blank = r.read(sector, 0x300)
        erase = bytes([info.erase_value]) * 0x300
        i = _first_difference(blank, erase)
        if i >= 0:
            raise Finding(
                f"{label}: Read after SectorErase shows 0x{blank[i]:02X} at "
                f"0x{sector + i:08X}, expected erased 0x{info.erase_value:02X}"
                + self._erase_state(sector, before, after)
            )
        r.write(sector, data)
        back = r.read(sector, 0x300)  # Read after Write
        i = _first_difference(back, data)
        if i >= 0:
            raise Finding(
                f"{label}: Read after Write returns 0x{back[i]:02X} at "
                f"0x{sector + i:08X}, expected 0x{data[i]:02X} "
                "(the loader depends on the order of calls)"
            )
        if "Verify" in self.stldr.functions:
            r.read(sector, 0x10)
            r0, _ = r.verify(sector, data[:0x300])  # Verify after a Read
            if r0 != 0:
                raise Finding(
                    f"{label}: "
                    + self._verify_mismatch(r, sector, data[:0x300], r0, "after a Read")
                )
        return f"{label}: consistent"

    def _erase_state(
        self, sector: int, before: ControllerState | None, after: ControllerState | None
    ) -> str:
        """The controller state around an erase that did not happen, and what it means."""
        if before is None and after is None:
            return ""
        text = ""
        if before is not None:
            text += f"; after the Read the controller was {before.describe()}"
        if after is not None:
            text += f"; after SectorErase returned, {after.describe()}"
        cells, seen = None, "the flash cells were"
        if self.device.model is not None:
            cells = self.device.model.read(sector - self.info.start, 0x300)
        elif after is not None and after.mapped and not after.busy:
            # A probe cannot see the cells, but a window still mapped (and idle) shows them to
            # the debugger's own read, independently of the loader's Read.
            with contextlib.suppress(HarnessError):
                cells = self.target.read_memory(sector, 0x300)
                seen = "the memory-mapped window, read by the debugger, shows the flash cells"
        untouched = cells is not None and cells != bytes([self.info.erase_value]) * len(cells)
        if untouched:
            text += f"; {seen} never erased (the command did not reach the chip)"
        if before is not None and before.mapped and untouched:
            text += (
                ": a controller left in memory-mapped mode (FMODE=3) by the Read ignores "
                "indirect commands until it is aborted (CR.ABORT, then wait for BUSY=0); the "
                "loader's SectorErase must leave memory-mapped mode first"
            )
        elif after is not None and after.busy:
            text += ": the controller is still BUSY, so later commands are dropped"
        return text

    def check_read_before_init(self) -> str:
        return programmer.read_before_init(self)

    def check_wrong_base(self) -> str:
        return programmer.wrong_base(self)

    def _need_board_clock(self) -> None:
        """Call times mean something only in the board's own time (see `Target`)."""
        if self.target.sim is None and not self.target.wall_time_is_board_time:
            raise NotApplicable(
                "a debug probe cannot time calls on a simulated board: its clock is virtual and "
                "runs ahead of the wall clock while the probe polls, so wall-clock call times say "
                "nothing about the chip; judged in-process (without a served board) and on "
                "silicon, where the wall clock is the board's"
            )

    @property
    def _time_unit(self) -> str:
        return "virtual " if self.target.sim is not None else "wall-clock (through the probe) "

    def check_timing(self) -> str:
        """Call times against the chip's datasheet and the programmer's budgets.

        Program and erase calls made by the earlier checks are judged, plus one sector erase
        and one write of three pages made here, so the check judges something even alone.
        """
        self._need_board_clock()
        r = self.r
        if self.groups and "SectorErase" in self.stldr.functions:
            address, _ = self._sector(0)
            r.sector_erase(address, address)
            page = self._page()
            r.write(address + page // 2, pattern(2 * page, SEED + 9))
        calls = [*r.calls, *(c for o in self._order_runners for c in o.calls)]
        judged = judge(calls, self.info, self.sheet, r.budgets)
        bad = [j for j in judged if j.problem]
        if bad:
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise Finding(bad[0].problem + more)
        work = [j for j in judged if j.expected_s is not None]
        if not work:
            if self.sheet is None:
                raise Finding(
                    "no call could be judged: the board's inventory entry names no known "
                    "external flash chip, so there is no datasheet time to compare with"
                )
            raise Finding(
                "no program or erase call was timed: the loader has no SectorErase or Write "
                "that returned success"
            )
        unit = self._time_unit
        longest: dict[str, float] = {}
        for j in judged:
            longest[j.call.name] = max(longest.get(j.call.name, 0.0), j.call.seconds)
        sheet = self.sheet.name if self.sheet is not None else "chip"
        clock = ""
        if self.target.sim is not None:
            clock = (
                f"; CPU time counted at the simulator's {self.target.sim.clock.hz / 1e6:g} MHz "
                "virtual clock"
            )
        return (
            f"{len(work)} program/erase calls within the {sheet} datasheet times and every call "
            f"within the programmer's budgets; longest call, {unit}s: "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(longest.items()))
            + clock
        )


def _wiring_note(sim: Any, check: str, passed: bool | None) -> str:
    """The board's pin wiring (stm32_hil.sim.memories.wiring): mismatches on a failure, the
    pins the loader used on Init."""
    report = sim.wiring_report() if hasattr(sim, "wiring_report") else None
    if report is None:
        return ""
    failure = report.failure_text()
    if passed is False and failure:
        return "; " + failure
    if check == "init" and report.used:
        return "; " + report.pins_text()
    return ""


def validate(
    target: Target,
    stldr: Stldr,
    *,
    reinit: bool = True,
    full: bool = False,
    only: tuple[str, ...] | None = None,
    progress: Progress | None = None,
    buffers: tuple[int, ...] = (),
    wall_limit: float | None = CHECK_WALL_LIMIT,
) -> list[CheckResult]:
    """Run the checks (all, or `only`) of `stldr` on `target`; never raises for a finding."""
    cls = Validator
    if isinstance(stldr, Flm):  # a Keil .FLM: its own calling convention and checks
        from stm32_hil.stldr.flm_validate import FlmValidator

        cls = FlmValidator
    return cls(
        target,
        stldr,
        reinit=reinit,
        full=full,
        progress=progress,
        buffers=buffers,
        wall_limit=wall_limit,
    ).run(only)


__all__ = ["CHECKS", "CheckResult", "Validator", "validate"]
