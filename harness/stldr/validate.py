"""Validation of an external loader on a board: each check one verdict, each finding in words.

Checks follow what probe-rs `target-gen test` and pyOCD's flash tests cover, plus the field
failures of .stldr files (a read valid only for the first RAM buffer, an erase wider than its
sector, a Read that needs Init first). Expected content is independent of the loader under
test: on the simulator it is the flash model's own cells (`target.sim.external`), on hardware
the memory-mapped window read over the debug port.

Whole-device passes: the read-back covers the whole device up to `full_read_limit` bytes and
samples chunk boundaries beyond it; the write covers one RAM buffer plus the boundary into the
next unless `full=True`. The verdict says which was done.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stm32_hil.errors import HarnessError, LoaderError
from stm32_hil.report.hexdiff import first_difference
from stm32_hil.stldr.checks import check_fits
from stm32_hil.stldr.elf import Stldr
from stm32_hil.stldr.runner import LoaderCallError, LoaderRunner
from stm32_hil.target.base import Target

CHECKS = (
    "metadata",
    "ram_fit",
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
    "timing",
)
FULL_READ_LIMIT = 64 * 1024 * 1024
# QUADSPI registers read over the debug port to tell why a Read went wrong (RM0433 23.5,
# RM0410 14.5, RM0386 12.5: the same layout on H7, F7 and F4).
QSPI_SR, QSPI_DLR, QSPI_CCR = 0x08, 0x10, 0x14
QSPI_SR_BUSY = 1 << 5
SEED = 0x5717D2

Progress = Callable[[str, int, int], None]  # (phase, done, total)


# Checks that judge the loader file alone, with no device behind it.
NO_DEVICE = ("metadata", "ram_fit")


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


class Finding(Exception):
    """A check failed: the message says what, in plain words, with the address."""


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
        return self.target.read_memory(address, length)

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
    results: list[CheckResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        info = self.stldr.storage_info
        self.info = info
        self.device = Device(self.target, info.start, info.size)
        self.runner: LoaderRunner | None = None
        self.name = self.stldr.path
        self._gaps = getattr(self.target.sim, "gaps", None)  # simulator only
        self._mark = 0

    # -- driver ----------------------------------------------------------------------------------
    def run(self, only: tuple[str, ...] | None = None) -> list[CheckResult]:
        blocked = ""
        for check in CHECKS:
            if only is not None and check not in only and check not in ("ram_fit",):
                continue
            if blocked and check not in ("metadata", "timing"):
                self._add(check, None, f"not run: {blocked}")
                continue
            self._mark = self._gaps.mark() if self._gaps is not None else 0
            try:
                detail = getattr(self, f"check_{check}")()
                self._add(check, True, detail)
            except Finding as exc:
                self._add(check, False, str(exc))
                if check in ("ram_fit", "init"):
                    blocked = f"{check} failed"
            except LoaderCallError as exc:
                detail = exc.message + (f" ({exc.hint})" if exc.hint else "")
                self._add(check, False, detail, exc.verdict)
                if check in ("ram_fit", "init"):
                    blocked = f"{check} failed"
                self._fresh()
            except HarnessError as exc:  # LoaderError, or the target refused an access
                self._add(check, False, exc.message + (f" ({exc.hint})" if exc.hint else ""))
                if check in ("ram_fit", "init"):
                    blocked = f"{check} failed"
        return self.results

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
        base = self.info.start
        for s in self.info.sectors:
            if index < s.count:
                return base + index * s.size, s.size
            index -= s.count
            base += s.count * s.size
        raise Finding(f"the device has no sector {index}")

    def _sector_count(self) -> int:
        return sum(s.count for s in self.info.sectors)

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
        self.runner = LoaderRunner(self.target, self.stldr, reinit=self.reinit)
        r = self.runner
        return (
            f"image [0x{self.stldr.trap_address:08X}, 0x{self.stldr.image_end:08X}) in "
            f"{region.name}; buffer 0x{r.buffer:08X} + 0x{r.buffer_size:X}; "
            f"stack top 0x{r.stack_top:08X}"
        )

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
            return "not observable on hardware (needs the flash model's WIP state)"
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
        first, _ = self.info.sector_at(address)
        last, _ = self.info.sector_at(address + len(data) - 1)
        r.sector_erase(first, last)
        r.write(address, data)

    def check_sector_erase(self) -> str:
        if "SectorErase" not in self.stldr.functions:
            raise Finding("no SectorErase function: sectors cannot be erased one by one")
        count = self._sector_count()
        index = 1 if count >= 3 else 0
        victims = [self._sector(i) for i in range(max(0, index - 1), min(count, index + 2))]
        lo = victims[0][0]
        hi = victims[-1][0] + victims[-1][1]
        data = pattern(hi - lo, SEED + 1).replace(b"\xff", b"\x5a")
        self._prepare(lo, data)
        target_addr, target_size = self._sector(index)
        res = self.r.sector_erase(target_addr, target_addr)
        got = self.device.read(self.r, lo, hi - lo)
        erase = bytes([self.info.erase_value])
        rel = target_addr - lo
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

    def check_mass_erase(self) -> str:
        if "MassErase" not in self.stldr.functions:
            # ST's loader template lists MassErase as optional: without it STM32CubeProgrammer
            # erases a full chip sector by sector through SectorErase.
            return "no MassErase function (optional: a full erase goes sector by sector)"
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

    def _coverage(self, spans: list[tuple[int, int]]) -> str:
        if len(spans) == 1 and spans[0][1] == self.info.size:
            return (
                f"the whole device ({self.info.size:,} bytes in "
                f"{self._chunks(self.info.size)} chunks of 0x{self.r.buffer_size:X})"
            )
        covered = sum(size for _, size in spans)
        return (
            f"SAMPLED {len(spans)} spans of 2 chunks around chunk boundaries ({covered:,} of "
            f"{self.info.size:,} bytes; the device exceeds the full-pass limit of "
            f"{self.full_read_limit:,})"
        )

    def _spans(self) -> list[tuple[int, int]]:
        """Device spans a whole-device pass covers: all of it, or chunk-boundary samples."""
        info, r = self.info, self.r
        if info.size <= self.full_read_limit or self.full:
            return [(info.start, info.size)]
        step = r.buffer_size
        mid = info.start + (info.size // 2 // step) * step
        return [(info.start, 2 * step), (mid - step, 2 * step), (info.end - 2 * step, 2 * step)]

    def _chunks(self, size: int) -> int:
        return -(-size // self.r.buffer_size)

    def check_unaligned_write(self) -> str:
        info, r = self.info, self.r
        page = max(info.page_size, 16)
        addr = info.start + page - 3
        length = 2 * page + 7
        data = bytes((i * 7 + 1) & 0xFF for i in range(length))
        first, _ = info.sector_at(info.start)
        last, _ = info.sector_at(addr + length)
        r.sector_erase(first, last)
        r.write(addr, data)
        around = self.device.read(r, addr - 16, length + 32)
        want = b"\xff" * 16 + data + b"\xff" * 16
        if info.erase_value != 0xFF:
            want = bytes([info.erase_value]) * 16 + data + bytes([info.erase_value]) * 16
        i = _first_difference(around, want)
        if i >= 0:
            where = addr - 16 + i
            part = (
                "before the written range"
                if i < 16
                else "after the written range"
                if i >= 16 + length
                else "inside the written range"
            )
            raise Finding(
                f"Write(0x{addr:08X}, {length} bytes) spanning page boundaries: byte at "
                f"0x{where:08X} ({part}) is 0x{around[i]:02X}, expected 0x{want[i]:02X}"
            )
        back = r.read(addr, length)
        _compare(back, data, addr, "read-back of the unaligned write through the loader")
        return f"{length} bytes at 0x{addr:08X} across 2 page boundaries written and read back"

    def check_whole_device_read(self) -> str:
        r = self.r
        page = max(self.info.page_size, 16)
        stuck = self._read_left_busy(self.info.start, page)
        if stuck is not None:
            raise Finding(stuck)
        spans = self._spans()
        laid = True
        for addr, size in spans:
            laid = self.device.fill(addr, pattern(size, SEED + addr)) and laid
        for addr, size in spans:
            got = r.read(addr, size, self._note("whole-device read"))
            want = pattern(size, SEED + addr) if laid else self.device.read(r, addr, size)
            _compare(got, want, addr, "whole-device read through the loader")
        src = "the flash model's cells" if laid else "the memory-mapped window"
        return f"read matches {src} over {self._coverage(spans)}"

    def check_whole_device_write(self) -> str:
        info, r = self.info, self.r
        if self.full:
            spans = [(info.start, info.size)]
        else:
            spans = [(info.start, min(info.size, r.buffer_size + 0x1000))]
        for addr, size in spans:
            first, _ = info.sector_at(addr)
            last, _ = info.sector_at(addr + size - 1)
            if self.full and "MassErase" in self.stldr.functions:
                r.mass_erase()
            else:
                r.sector_erase(first, last)
            data = pattern(size, SEED + 7 + addr).replace(b"\xff\xff", b"\xfe\xff")
            r.write(addr, data, self._note("whole-device write"))
            got = self.device.read(r, addr, size)
            _compare(got, data, addr, "content after a multi-chunk Write")
        if self.full:
            return f"wrote and compared all {info.size:,} bytes"
        return (
            f"SAMPLED: wrote 0x{spans[0][1]:X} bytes from 0x{spans[0][0]:08X} (one buffer of "
            f"0x{r.buffer_size:X} and the boundary into the next) and compared; use full=True "
            "for the whole device"
        )

    def check_verify(self) -> str:
        if "Verify" not in self.stldr.functions:
            return "no Verify function (optional): the programmer compares by reading back"
        info, r = self.info, self.r
        addr = info.start + 0x100
        data = pattern(0x400, SEED + 3)
        self._prepare_written(addr, data)
        r0, r1 = r.verify(addr, data)
        want_sum = sum(data) & 0xFFFFFFFF
        if r0 != 0:
            raise Finding(
                f"Verify(0x{addr:08X}, 0x400 bytes) of equal content reported a "
                f"mismatch at 0x{r0:08X}"
            )
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

    def _prepare_written(self, addr: int, data: bytes) -> None:
        r = self.r
        first, _ = self.info.sector_at(addr)
        last, _ = self.info.sector_at(addr + len(data) - 1)
        r.sector_erase(first, last)
        r.write(addr, data)

    def check_checksum(self) -> str:
        if "CheckSum" not in self.stldr.functions:
            return "no CheckSum function (optional)"
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
        r = LoaderRunner(self.target, self.stldr, reinit=reinit)
        label = "with re-Init" if reinit else "without re-Init"
        r.init()
        r.read(sector, 0x100)  # a Read first
        r.sector_erase(sector, sector)  # erase after a Read
        blank = r.read(sector, 0x300)
        erase = bytes([info.erase_value]) * 0x300
        i = _first_difference(blank, erase)
        if i >= 0:
            raise Finding(
                f"{label}: Read after SectorErase shows 0x{blank[i]:02X} at "
                f"0x{sector + i:08X}, expected erased 0x{info.erase_value:02X}"
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
                raise Finding(f"{label}: Verify after Read reports a mismatch at 0x{r0:08X}")
        return f"{label}: consistent"

    def check_timing(self) -> str:
        per: dict[str, float] = {}
        for res in self.results:
            for name, sec in res.seconds.items():
                per[name] = max(per.get(name, 0.0), sec)
        if self.runner is not None:
            for call in self.runner.calls:
                per[call.name] = max(per.get(call.name, 0.0), call.seconds)
        if not per:
            return "no call was timed"
        unit = "virtual " if self.target.sim is not None else ""
        return (
            "longest call, "
            + unit
            + "s: "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(per.items()))
        )


def validate(
    target: Target,
    stldr: Stldr,
    *,
    reinit: bool = True,
    full: bool = False,
    only: tuple[str, ...] | None = None,
    progress: Progress | None = None,
) -> list[CheckResult]:
    """Run the checks (all, or `only`) of `stldr` on `target`; never raises for a finding."""
    return Validator(target, stldr, reinit=reinit, full=full, progress=progress).run(only)


__all__ = ["CHECKS", "CheckResult", "Validator", "validate"]
