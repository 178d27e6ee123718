"""Calling a Keil .FLM flash algorithm on any Target, the way pyOCD and Keil MDK do.

The convention (CMSIS-Pack flash algorithms, pyOCD `Flash`): the blob is loaded behind a
`BKPT #0; B .-2` header at the top of the default RAM, page buffers below it, the stack below
them. Every call sets R9 to the static base, LR to the header (| 1), SP to the stack top. An
operation is bracketed by `Init(adr, clk, fnc)` and `UnInit(fnc)` with fnc 1 = erase,
2 = program, 3 = verify; every function returns 0 for success except `Verify`, which returns
adr + sz when the memory matches (else the failing address), and `BlankCheck`, which returns
0 when blank. `ProgramPage` takes whole pages at page-aligned addresses: a partial page is
padded with the erased value, as pyOCD and Keil pad it. An algorithm has no Read: content is
read through the memory-mapped window the operation leaves enabled, over the debug port.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from stm32_hil.errors import LoaderError
from stm32_hil.report.hexdiff import first_difference
from stm32_hil.stldr.checks import check_fits
from stm32_hil.stldr.errors import LayoutError
from stm32_hil.stldr.flm import (
    HEADER,
    MIN_STACK,
    MIN_TWO_BUF_STACK,
    PAGE_BUFFER_ALIGN,
    Flm,
)
from stm32_hil.stldr.runner import (
    ERASE_MARGIN,
    CallResult,
    HostReadError,
    LoaderCallError,
    LoaderRunner,
    Progress,
)

MAX_PAGE_BUFFER = 1024 * 1024  # a ProgramPage buffer larger than this is a damaged szPage
HOST_READ_CHUNK = 1024 * 1024  # debug-port reads of the window, per progress step
VERIFY_BLOCK = 0x10000  # bytes per Verify call when comparing through the algorithm


class Operation(enum.IntEnum):
    """The `fnc` argument of Init and UnInit (FlashOS.h)."""

    ERASE = 1
    PROGRAM = 2
    VERIFY = 3


@dataclass
class FlmRunner(LoaderRunner):
    """One placed FLM on one target. `reinit=False` keeps one Init across operations of the
    same kind and switches with UnInit + Init, as pyOCD does; the default reloads the image and
    brackets every operation with Init and UnInit."""

    clock: int = 0  # Init's clk argument: pyOCD passes 0
    buffers: tuple[int, ...] = field(init=False, default=())
    operation: Operation | None = field(init=False, default=None)
    last_verify: int = field(init=False, default=0)  # Verify's raw R0 of the last block
    window_error: str = field(init=False, default="")  # why the window could not be read
    verify_buffer: int = field(init=False, default=0)
    verify_size: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        flm = self.flm
        if not flm.placed:
            raise LoaderError(
                f"{flm.path}: the flash algorithm is not placed in RAM",
                hint="place it first (stm32_hil.stldr.flm.place)",
            )
        self.region = self._shifted_region() if self.shift else check_fits(flm, self.target.part)
        page = flm.device.page_size
        if not 0 < page <= MAX_PAGE_BUFFER:
            raise LoaderError(
                f"{flm.path}: szPage {page} cannot be a ProgramPage buffer",
                hint="FlashDevice.szPage must be the device's program page size",
            )
        base = self.region.base
        buf1 = (self.trap_address - page) // PAGE_BUFFER_ALIGN * PAGE_BUFFER_ALIGN
        buf2 = (buf1 - page) // PAGE_BUFFER_ALIGN * PAGE_BUFFER_ALIGN
        if buf1 - base < MIN_STACK:
            raise LayoutError(
                f"{flm.path}: no room for a {page}-byte page buffer and a {MIN_STACK}-byte "
                f"stack below the algorithm at 0x{self.trap_address:08X} in {self.region.name}",
                hint="the algorithm is too big for this part's default RAM",
            )
        if buf2 - base < MIN_TWO_BUF_STACK:
            self.stack_top, self.buffers = buf1, (buf1,)
        else:
            self.stack_top, self.buffers = buf2, (buf1, buf2)
        self.buffer, self.buffer_size = buf1, page
        # Verify takes any size: blocks go through the RAM left below the stack, as a
        # programmer's verify buffer, else through the page buffer.
        room = (self.stack_top - self.stack_size - base) & ~0xFF
        if room >= page:
            self.verify_buffer, self.verify_size = base, min(room, VERIFY_BLOCK)
        else:
            self.verify_buffer, self.verify_size = buf1, page

    @property
    def flm(self) -> Flm:
        assert isinstance(self.stldr, Flm)
        return self.stldr

    @property
    def page(self) -> int:
        return self.buffer_size

    # -- loading and calling -----------------------------------------------------------------
    def load(self) -> None:
        super().load()
        self.target.write_memory(self.trap_address, HEADER)
        self.operation = None

    def _check(self, result: CallResult, what: str) -> None:
        if result.r0 != 0:
            raise LoaderCallError(
                f"{self.stldr.path}: {what} returned {result.r0} (0 means success for a flash "
                "algorithm)",
                hint="the algorithm reported a failure; the device or its wiring may differ "
                "from what the algorithm expects",
                function=result.name,
            )

    def _outside(self, addresses: list[int]) -> int | None:
        """Besides RAM outside the image: the link addresses [0, blob size) of the PIC code,
        where an absolute address taken at build time lands."""
        found = super()._outside(addresses)
        if found is not None:
            return found
        span = self.image_end - self.image_start
        for address in reversed(addresses):
            if 0 <= address < span and not self.in_image(address):
                return address
        return None

    def _wrong_base(self, address: int) -> str:
        return (
            f"the core executed at 0x{address:08X}, outside the loaded algorithm "
            f"[0x{self.image_start:08X}, 0x{self.image_end:08X}): a flash algorithm must be "
            "position-independent (the programmer chooses its RAM address), this one follows "
            "an absolute address"
        )

    # -- operations ------------------------------------------------------------------------------
    def init(self, operation: Operation = Operation.ERASE) -> CallResult:
        """Reload the image and Init for `operation`: the start of any programmer session."""
        self.load()
        return self._init(operation)

    def _init(self, operation: Operation) -> CallResult:
        start = self.flm.device.start
        result = self.call("Init", start, self.clock, int(operation), budget=self.budgets.init)
        self._check(result, f"Init(0x{start:08X}, {self.clock}, {int(operation)})")
        self.operation = operation
        return result

    def uninit(self) -> CallResult | None:
        if self.operation is None:
            return None
        fnc = int(self.operation)
        self.operation = None
        result = self.call("UnInit", fnc, budget=self.budgets.init)
        self._check(result, f"UnInit({fnc})")
        return result

    def _begin(self, operation: Operation) -> None:
        if self.reinit or not self._loaded:
            self.init(operation)
            return
        if self.operation == operation:
            return
        self.uninit()
        self._init(operation)

    def _end(self) -> None:
        if self.reinit:
            self.uninit()

    def begin(self) -> None:
        """Init for verify: the state in which a programmer reads the window."""
        self._begin(Operation.VERIFY)

    def _sectors(self, start: int, end: int) -> list[tuple[int, int]]:
        """(address, size) of every sector of the list that [start, end] touches."""
        if end < start:
            start, end = end, start
        out: list[tuple[int, int]] = []
        base = self.flm.storage_info.start
        for group in self.flm.storage_info.sectors:
            span = group.count * group.size
            lo, hi = max(start, base), min(end, base + span - 1)
            if lo <= hi:
                first = (lo - base) // group.size
                last = (hi - base) // group.size
                out += [(base + i * group.size, group.size) for i in range(first, last + 1)]
            base += span
        return out

    def sector_erase(self, start: int, end: int) -> CallResult:
        """EraseSector for each sector of [start, end]: one call per sector, as pyOCD erases."""
        self._begin(Operation.ERASE)
        total, last = 0.0, None
        for address, _ in self._sectors(start, end):
            last = self.call("EraseSector", address, budget=self.erase_budget(address, address))
            self._check(last, f"EraseSector(0x{address:08X})")
            total += last.seconds
        self._end()
        r0 = last.r0 if last is not None else 0
        return CallResult("EraseSector", r0, 0, total, (start, end))

    def mass_erase(self) -> CallResult:
        self._begin(Operation.ERASE)
        chip = (self.datasheet or {}).get("chip_erase")
        budget = max(self.budgets.mass_erase, ERASE_MARGIN * chip) if chip else None
        result = self.call("EraseChip", budget=budget or self.budgets.mass_erase)
        self._check(result, "EraseChip")
        self._end()
        return result

    def write(self, address: int, data: bytes, progress: Progress | None = None) -> None:
        """ProgramPage page by page; a partial page is padded with the erased value."""
        self._begin(Operation.PROGRAM)
        page, empty = self.page, self.flm.device.empty & 0xFF
        end = address + len(data)
        at = address - address % page
        while at < end:
            lo, hi = max(at, address), min(at + page, end)
            block = bytearray([empty]) * page
            block[lo - at : hi - at] = data[lo - address : hi - address]
            self.target.write_memory(self.buffer, bytes(block))
            result = self.call("ProgramPage", at, page, self.buffer, budget=self.budgets.program)
            self._check(result, f"ProgramPage(0x{at:08X}, 0x{page:X})")
            at += page
            if progress:
                progress(hi - address, len(data))
        self._end()

    def read(self, address: int, length: int, progress: Progress | None = None) -> bytes:
        """Init(3) and UnInit(3), then the window over the debug port (the algorithm has no
        Read): what pyOCD reads to verify after an operation."""
        self._begin(Operation.VERIFY)
        self._end()
        out = bytearray()
        while len(out) < length:
            n = min(HOST_READ_CHUNK, length - len(out))
            out += self.window_read(address + len(out), n)
            if progress:
                progress(len(out), length)
        return bytes(out)

    def verify(self, address: int, data: bytes, misalign: int = 0) -> tuple[int, int]:
        """(0, 0) when Verify reports a match for every block, else (failing address, 0).

        The .stldr meaning of R0, so the checks read one convention; `last_verify` keeps the
        algorithm's own answer (adr + sz on a match).
        """
        self._begin(Operation.VERIFY)
        try:
            bad = self._verify_blocks(address, data, None)
        finally:
            if self.operation is not None:
                self._end()
        return (0, 0) if bad is None else (bad, 0)

    def _verify_blocks(self, address: int, data: bytes, progress: Progress | None) -> int | None:
        if "Verify" not in self.flm.algo_functions:
            raise LoaderError(
                f"{self.stldr.path}: the algorithm exports no Verify",
                hint="a programmer compares by reading the window back",
            )
        done = 0
        while done < len(data):
            n = min(self.verify_size, len(data) - done)
            at = address + done
            self.target.write_memory(self.verify_buffer, data[done : done + n])
            result = self.call("Verify", at, n, self.verify_buffer, budget=self.budgets.other)
            self.last_verify = result.r0
            if result.r0 != (at + n) & 0xFFFFFFFF:
                return result.r0
            done += n
            if progress:
                progress(done, len(data))
        return None

    def compare(
        self, address: int, want: bytes, progress: Progress | None = None
    ) -> tuple[int | None, str]:
        """(first differing address or None, how it was read) for the device against `want`.

        Through the memory-mapped window when the algorithm leaves it mapped, else through
        Verify, the way Keil MDK verifies with an algorithm that maps nothing.
        """
        try:
            got = self.read(address, len(want), progress)
        except HostReadError as exc:
            if "Verify" not in self.flm.algo_functions:
                raise
            self.window_error = exc.message
            self._begin(Operation.VERIFY)
            try:
                bad = self._verify_blocks(address, want, progress)
            finally:
                if self.operation is not None:
                    self._end()
            return bad, "Verify (the algorithm leaves no memory-mapped window)"
        i = first_difference(want, got)
        return (None if i is None else address + i), "the memory-mapped window"

    def blank_check(self, address: int, size: int) -> int:
        """BlankCheck(adr, sz, valEmpty): 0 when blank, else not blank."""
        self._begin(Operation.ERASE)
        result = self.call(
            "BlankCheck", address, size, self.flm.device.empty, budget=self.budgets.other
        )
        self._end()
        return result.r0

    def checksum(self, address: int, size: int, init: int = 0) -> int:
        raise LoaderError(
            f"{self.stldr.path}: a flash algorithm has no CheckSum (not applicable to .FLM)",
            hint="pyOCD and Keil compare content by reading it back or through Verify",
        )


__all__ = ["FlmRunner", "Operation"]
