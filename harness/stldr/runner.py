"""Calling an external loader's functions on any Target, the way STM32CubeProgrammer does.

The convention (shared/reference/stldr.md): load every PT_LOAD segment (zeros up to memsz),
put `BKPT #0` 4 bytes below the image, then per call set R0..R3 = arguments, LR = trap | 1,
PC = function | 1, xPSR = 0x01000000, MSP = top of the image's RAM region, R9 = PrgData start
for RWPI (Keil) builds, resume, and wait for the core to halt on the trap within a budget.
Data moves through a RAM buffer between the image and the stack.

Only the Target interface is used, so the same runner drives a simulated board (budgets in
virtual time through `wait_for_halt`) and a real one (wall-clock time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stm32_hil.errors import HarnessError, LoaderError, TargetTimeout
from stm32_hil.parts import MemoryRegion
from stm32_hil.stldr.checks import check_fits
from stm32_hil.stldr.elf import PF_X, Stldr
from stm32_hil.stldr.storage_info import StorageInfo
from stm32_hil.target.base import HaltReason, Target

BKPT_TRAP = b"\x00\xbe\x00\xbe"  # BKPT #0, twice: the word below the image
XPSR_THUMB = 0x01000000
DEFAULT_STACK = 0x4000  # reserved below the top of the RAM region for the loader's stack
MIN_BUFFER = 0x400
# SCS registers a debugger reads after a fault (ARMv7-M B3.2).
DEMCR, CFSR, HFSR, BFAR = 0xE000EDFC, 0xE000ED28, 0xE000ED2C, 0xE000ED38
DEMCR_VC_HARDERR = 1 << 10
# RAM download speed of a fast debug probe (ST-LINK/V3 at 24 MHz SWD, about 1 MB/s). On the
# simulator a reload costs this much virtual time, as it costs wall time on silicon: a loader
# whose Init starts a 40 ms status-register write and returns sees it finished by the next call.
DEBUG_PORT_BYTES_PER_S = 1_000_000
# Datasheet maximum erase times are 5 to 13 times the typical ones (W25Q128JV tBE2 0.15 s
# typical, 2 s maximum): budgets built from typical times get this margin.
ERASE_MARGIN = 15.0
WATCH_HITS = 16  # executed blocks remembered in the link range of a shifted image

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


# Loader entry points that erase or program the external flash: refused on a real board
# without the operator's opt-in (see stm32_hil.target.safety).
CHANGES_FLASH = frozenset({"Write", "SectorErase", "MassErase"})


@dataclass(frozen=True)
class Budgets:
    """Seconds per call (pyOCD's flash-algorithm budgets); virtual seconds on the simulator."""

    init: float = 5.0
    program: float = 10.0
    erase_sector: float = 10.0
    mass_erase: float = 240.0
    read: float = 10.0
    other: float = 10.0

    def for_function(self, name: str) -> float:
        return {
            "Init": self.init,
            "Write": self.program,
            "SectorErase": self.erase_sector,
            "MassErase": self.mass_erase,
            "Read": self.read,
        }.get(name, self.other)

    def for_erase(
        self, sectors: int, datasheet_s: float | None, chip_erase_s: float | None
    ) -> float:
        """Budget of one SectorErase(start, end) call spanning `sectors` sectors.

        The loader erases them one by one, so one sector's budget is not enough for many: the
        datasheet time of that many sector erases (or of a chip erase, whichever is longer),
        with the margin between typical and maximum times the datasheets give.
        """
        if sectors <= 1:
            return self.erase_sector
        if datasheet_s is None and chip_erase_s is None:
            return self.erase_sector * sectors
        typical = max(sectors * (datasheet_s or 0.0), chip_erase_s or 0.0)
        return max(self.erase_sector, ERASE_MARGIN * typical)


@dataclass(frozen=True)
class CallResult:
    name: str
    r0: int
    r1: int
    seconds: float  # elapsed target time (virtual on the simulator) if known, else wall-clock
    args: tuple[int, ...] = ()


class LoaderCallError(LoaderError):
    """A loader function failed, faulted or ran out of time; carries the core state."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        function: str = "",
        registers: dict[str, int] | None = None,
        fault: dict[str, int] | None = None,
        trace: list[int] | None = None,
    ) -> None:
        details = []
        if registers:
            details.append(" ".join(f"{k.upper()}=0x{v:08X}" for k, v in registers.items()))
        if fault:
            details.append(" ".join(f"{k}=0x{v:08X}" for k, v in fault.items()))
        if trace:
            details.append("last executed: " + " ".join(f"0x{a:08X}" for a in trace[-8:]))
        full = message + ("\n  " + "\n  ".join(details) if details else "")
        super().__init__(full, hint=hint)
        self.function = function
        self.registers = registers or {}
        self.fault = fault or {}
        self.trace = trace or []
        self.gaps: list[str] = []  # unmodelled blocks the call used (simulator only)
        self.verdict = "finding"  # "crash", "simulator gap" or "finding"


class LoaderTimeout(LoaderCallError):
    """The function did not return within its budget ("Init function fail with timeout")."""


class LoaderFault(LoaderCallError):
    """The core faulted or locked up inside the loader."""


class HarnessLimit(LoaderTimeout):
    """The call was stopped at the harness's wall-clock bound: no verdict, not a finding."""


@dataclass
class WallBudget:
    """A wall-clock budget shared by every call made for one check (simulator only).

    Virtual-time budgets bound what the loader may take; this bounds what the host spends
    simulating it, so a loader spinning where the simulator cannot skip ends in bounded time.
    """

    seconds: float
    until: float = 0.0

    def start(self) -> None:
        self.until = _now() + self.seconds

    def end(self) -> float:
        return self.until if self.until else _now() + self.seconds


class HostReadError(LoaderError):
    """The host's own read of the memory-mapped window failed (a loader without Read).

    Not a loader crash: the debug port could not read the window, typically because the
    loader left the controller out of memory-mapped mode.
    """


@dataclass
class LoaderRunner:
    """One loader on one target. `reinit=False` skips the reload + Init before operations.

    `shift` loads and calls the image that many bytes away from its link address, as a
    programmer placing it at another RAM base does; `wall_limit` bounds each call in wall-clock
    seconds on a simulated target (a runaway loop costs real time even when virtual time is
    short); `datasheet` holds the board's NOR chip times (`ChipSpec.timing`) for erase budgets.
    """

    target: Target
    stldr: Stldr
    reinit: bool = True
    budgets: Budgets = field(default_factory=Budgets)
    stack_size: int = DEFAULT_STACK
    max_buffer: int | None = None
    shift: int = 0
    wall_limit: float | WallBudget | None = None
    buffer_at: int | None = None  # a RAM buffer elsewhere than after the image (another region)
    datasheet: dict[str, float] | None = None
    region: MemoryRegion = field(init=False)
    stack_top: int = field(init=False)
    buffer: int = field(init=False)
    buffer_size: int = field(init=False)
    calls: list[CallResult] = field(init=False, default_factory=list)
    _loaded: bool = field(init=False, default=False)
    _gap_mark: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.shift:
            self.region = self._shifted_region()
        else:
            self.region = check_fits(self.stldr, self.target.part)
        top = self.region.end & ~7
        start = (self.image_end + 0xFF) & ~0xFF
        size = (top - self.stack_size - start) & ~0xFF
        if self.max_buffer is not None:
            size = min(size, self.max_buffer & ~0xFF)
        if size < MIN_BUFFER:
            raise LoaderError(
                f"{self.stldr.path}: only {max(size, 0)} bytes of {self.region.name} are free "
                f"after the image (ends 0x{self.image_end:08X}) and a "
                f"{self.stack_size}-byte stack",
                hint="the loader is too big for this part's RAM region; shrink its .bss",
            )
        self.stack_top = top
        self.buffer = start
        self.buffer_size = size
        if self.buffer_at is not None:
            self._place_buffer(self.buffer_at)

    def _place_buffer(self, address: int) -> None:
        """Put the RAM buffer at `address`, in a region the image and its stack leave free."""
        region = next((r for r in self.target.part.ram if r.base <= address < r.end), None)
        size = (self.max_buffer or 0) & ~0xFF
        if region is None or region.name == self.region.name or address + size > region.end:
            raise LoaderError(
                f"{self.stldr.path}: no RAM buffer of 0x{size:X} bytes at 0x{address:08X}",
                hint="a buffer elsewhere must lie in one RAM region other than the image's",
            )
        self.buffer = address
        self.buffer_size = size or (region.end - address) & ~0xFF

    def _shifted_region(self) -> MemoryRegion:
        lo, hi = self.trap_address, self.image_end
        for region in self.target.part.ram:
            if region.contains(lo, hi - lo):
                return region
        raise LoaderError(
            f"{self.stldr.path}: image moved by {self.shift:+#x} to [0x{lo:08X}, 0x{hi:08X}) "
            "leaves RAM",
            hint="choose a shift that keeps the image in one RAM region",
        )

    # -- where the image is (its link address, unless shifted) ---------------------------------
    @property
    def image_start(self) -> int:
        return self.stldr.image_start + self.shift

    @property
    def image_end(self) -> int:
        return self.stldr.image_end + self.shift

    @property
    def trap_address(self) -> int:
        return self.stldr.trap_address + self.shift

    def in_image(self, address: int) -> bool:
        return any(
            seg.vaddr + self.shift <= address < seg.end + self.shift for seg in self.stldr.loaded
        )

    # -- loading and calling ---------------------------------------------------------------
    def load(self) -> None:
        """Halt, write the trap and every loaded segment (zero-filled to memsz)."""
        tgt = self.target
        tgt.halt()
        span = self._link_range() if self.shift else None
        if span is not None:
            # The link addresses hold a stale copy of the image, as after an earlier session:
            # code that jumps there runs it, and the watch on that range sees where it ran.
            for seg in self.stldr.loaded:
                with contextlib.suppress(HarnessError):
                    tgt.write_memory(seg.vaddr, seg.image())
            if not self._can_watch():
                self._trap_stale_code(span)
        tgt.write_memory(self.trap_address, BKPT_TRAP)
        moved = 0
        for seg in self.stldr.loaded:
            image = seg.image()
            tgt.write_memory(seg.vaddr + self.shift, image)
            moved += len(image)
        self._debug_port_time(moved)
        with contextlib.suppress(HarnessError):
            tgt.write32(DEMCR, tgt.read32(DEMCR) | DEMCR_VC_HARDERR)
        self._loaded = True

    def _debug_port_time(self, nbytes: int) -> None:
        """Let the transfer time of `nbytes` over the debug port pass on a simulated target.

        Hardware needs no help: the transfer takes that long anyway.
        """
        sim = self.target.sim
        if sim is None or nbytes <= 0:
            return
        clock = sim.clock
        clock.advance(max(1, nbytes * clock.hz // DEBUG_PORT_BYTES_PER_S))

    def has(self, name: str) -> bool:
        return name in self.stldr.functions

    def call(self, name: str, *args: int, budget: float | None = None) -> CallResult:
        """Run one exported function to its return; LoaderCallError when it cannot finish."""
        if not self._loaded:
            self.load()
        address = self.stldr.function(name)
        if address is not None:
            address += self.shift
        if address is None:
            raise LoaderError(
                f"{self.stldr.path}: the loader exports no {name} function",
                hint="this operation cannot be done with this loader",
            )
        tgt = self.target
        if name in CHANGES_FLASH:
            tgt.require_destructive(f"external flash {name} through loader {self.stldr.path}")
        tgt.halt()
        regs = {f"r{i}": 0 for i in range(13)}
        for i, value in enumerate(args[:4]):
            regs[f"r{i}"] = value & 0xFFFFFFFF
        if self.stldr.rwpi and self.stldr.r9 is not None:
            regs["r9"] = self.stldr.r9 + self.shift
        regs.update(
            msp=self.stack_top,
            sp=self.stack_top,
            lr=self.trap_address | 1,
            xpsr=XPSR_THUMB,
            pc=address | 1,
        )
        for reg, value in regs.items():
            tgt.write_core_register(reg, value)
        for reg in ("primask", "control"):
            with contextlib.suppress(HarnessError):
                tgt.write_core_register(reg, 0)
        limit = self.budgets.for_function(name) if budget is None else budget
        sim = tgt.sim
        start = sim.clock.now if sim is not None else None
        self._gap_mark = sim.gaps.mark() if sim is not None and hasattr(sim, "gaps") else 0
        wall = _now()
        watch = self._watch()
        tgt.resume()
        try:
            reason = self._wait(limit, name)
        except TargetTimeout:
            tgt.halt()
            raise self._error(
                LoaderTimeout,
                f"{name} did not return within {limit:g} s"
                + (" of virtual time" if sim is not None else ""),
                name,
                hint=f"{name} function fail with timeout: the loader waits for something that "
                "never happens (see the last executed addresses)",
            ) from None
        finally:
            hits = self._unwatch(watch)
        if hits:
            tgt.halt()
            raise self._error(
                LoaderFault,
                f"{name} ran code at its link address: " + self._wrong_base(hits[0]),
                name,
                hint="the code follows absolute code addresses (function pointers, a vector "
                "table) of the base it was linked for; it works only where it is linked",
                judged=True,
            )
        if sim is not None and start is not None:
            seconds = (sim.clock.now - start) / sim.clock.hz
        else:
            seconds = _now() - wall
        pc = tgt.read_core_register("pc") & ~1
        if reason is not HaltReason.BREAKPOINT or pc != self.trap_address:
            what = {
                HaltReason.LOCKUP: "locked up",
                HaltReason.VECTOR_CATCH: "took a HardFault",
            }.get(reason, f"halted ({reason.value}) away from the return trap")
            raise self._error(
                LoaderFault,
                f"{name} {what} at PC=0x{pc:08X}",
                name,
                hint="the loader crashed: check its RAM layout, stack and the registers it "
                "touches on this part",
            )
        result = CallResult(
            name,
            tgt.read_core_register("r0"),
            tgt.read_core_register("r1"),
            seconds,
            tuple(a & 0xFFFFFFFF for a in args),
        )
        self.calls.append(result)
        return result

    def _wait(self, limit: float, name: str) -> HaltReason:
        """`wait_for_halt`, and on a simulator also bounded in wall-clock time."""
        tgt = self.target
        sim = tgt.sim
        core = getattr(sim, "core", None)
        if self.wall_limit is None or sim is None or core is None:
            return tgt.wait_for_halt(limit)
        clock = sim.clock
        deadline = clock.now + int(limit * clock.hz)
        budget = self.wall_limit
        wall_end = budget.end() if isinstance(budget, WallBudget) else _now() + budget
        seconds = budget.seconds if isinstance(budget, WallBudget) else budget
        step = max(1, clock.hz // 1000)  # the slice SimTarget.wait_for_halt runs
        while not core.halted:
            if clock.now >= deadline:
                raise TargetTimeout(f"{tgt.name}: {name} still running after {limit:g} s")
            if _now() > wall_end:
                tgt.halt()
                done = (clock.now - (deadline - int(limit * clock.hz))) / clock.hz
                error = self._error(
                    HarnessLimit,
                    f"{name} ran {done:.3f} s of virtual time without returning when the "
                    f"harness's wall-clock limit ({seconds:g} s) ran out: no verdict",
                    name,
                    hint="the loader spins where the simulator cannot skip ahead, or the check "
                    "moves more data than fits the limit; raise --wall-limit",
                    judged=True,
                )
                error.verdict = "no verdict"
                raise error
            sim.run(min(step, deadline - clock.now), exact=False)  # as wait_for_halt
        return HaltReason(core.halt_reason)

    def _error(
        self,
        cls: type[LoaderCallError],
        message: str,
        name: str,
        *,
        hint: str,
        judged: bool = False,
    ) -> LoaderCallError:
        """The error for a failed call, with the core state; `judged`: the message is final."""
        tgt = self.target
        registers: dict[str, int] = {}
        fault: dict[str, int] = {}
        trace: list[int] = []
        with contextlib.suppress(HarnessError):
            registers = {
                r: tgt.read_core_register(r) for r in ("r0", "r1", "r2", "r3", "sp", "lr", "pc")
            }
        for label, addr in (("CFSR", CFSR), ("HFSR", HFSR), ("BFAR", BFAR)):
            with contextlib.suppress(HarnessError):
                fault[label] = tgt.read32(addr)
        sim = tgt.sim
        core = getattr(sim, "core", None)
        if core is not None and hasattr(core, "trace"):
            trace = list(core.trace())
            last = getattr(core, "last_fault", None)
            if last is not None and cls is LoaderFault:
                message += f": {last.describe()}"
        verdict, gaps = "finding", list[str]()
        if not judged:
            verdict, gaps, message, hint = self._judge(cls, message, hint, fault)
        pc = registers.get("pc")
        outside = None if judged else self._outside(([] if pc is None else [pc & ~1]) + trace)
        if outside is not None:
            verdict = "finding"
            message += "; " + self._wrong_base(outside)
            hint = (
                "a programmer must load the image at its link address and call the functions "
                "there; code that runs elsewhere follows absolute addresses of another base"
            )
        error = cls(
            f"{self.stldr.path}: {message}",
            hint=hint,
            function=name,
            registers=registers,
            fault=fault,
            trace=trace,
        )
        error.gaps, error.verdict = gaps, verdict
        return error

    def _link_range(self) -> tuple[int, int] | None:
        """The shifted image's link-address span, when it does not overlap where it is loaded."""
        lo, hi = self.stldr.image_start, self.stldr.image_end
        if not self.shift or (lo < self.image_end and self.image_start < hi):
            return None
        return lo, hi

    def _trap_stale_code(self, span: tuple[int, int]) -> None:
        """Overwrite the stale copy's code with BKPT, keeping its data.

        A debug probe cannot watch execution in RAM; with the code trapped, a jump to a link
        address (through a function pointer the stale data still holds) halts at once with PC
        there, seen as a halt away from the return trap. Without section headers every
        executable segment counts as code.
        """
        code = list(self.stldr.code) or [
            (seg.vaddr, seg.end) for seg in self.stldr.loaded if seg.flags & PF_X
        ]
        for lo, hi in code:
            lo, hi = (max(lo, span[0]) + 1) & ~1, min(hi, span[1]) & ~1
            if hi > lo:
                with contextlib.suppress(HarnessError):
                    self.target.write_memory(lo, (BKPT_TRAP * ((hi - lo) // 4 + 1))[: hi - lo])

    def _can_watch(self) -> bool:
        """Whether executed blocks can be watched (a simulator running in this process)."""
        return getattr(getattr(self.target.sim, "core", None), "uc", None) is not None

    def _watch(self) -> tuple[Any, list[int]] | None:
        """On a simulator, record blocks a shifted image executes at its link addresses."""
        span = self._link_range()
        uc = getattr(getattr(self.target.sim, "core", None), "uc", None)
        if span is None or uc is None:
            return None
        from unicorn import UC_HOOK_BLOCK

        hits: list[int] = []

        def seen(_uc: Any, address: int, _size: int, _data: object) -> None:
            if len(hits) < WATCH_HITS:
                hits.append(address)

        handle = uc.hook_add(UC_HOOK_BLOCK, seen, begin=span[0], end=span[1] - 1)
        uc.ctl_remove_cache(span[0], span[1])
        return handle, hits

    def _unwatch(self, watch: tuple[Any, list[int]] | None) -> list[int]:
        if watch is None:
            return []
        handle, hits = watch
        uc = self.target.sim.core.uc  # type: ignore[union-attr]
        uc.hook_del(handle)
        return hits

    def _outside(self, addresses: list[int]) -> int | None:
        """The last address executed outside the loaded image (and its trap) in RAM, if any.

        Addresses in ROM or flash are left alone: a loader may call boot-ROM routines.
        """
        trap = self.trap_address
        for address in reversed(addresses):
            if trap <= address < trap + 4 or self.in_image(address):
                continue
            if any(r.base <= address < r.end for r in self.target.part.ram):
                return address
        return None

    def _wrong_base(self, address: int) -> str:
        linked = self.stldr.image_start
        loaded = self.image_start
        if self.shift:
            return (
                f"the core executed at 0x{address:08X}, outside the loaded image "
                f"[0x{loaded:08X}, 0x{self.image_end:08X}): called at the wrong base "
                f"(linked at 0x{linked:08X}, loaded and called at 0x{loaded:08X})"
            )
        return (
            f"the core executed at 0x{address:08X}, outside the loaded image "
            f"[0x{loaded:08X}, 0x{self.image_end:08X}): the code jumps to an address it was not "
            "loaded at, as when called at the wrong base (its code expects another base than "
            f"the 0x{linked:08X} it is linked and loaded at) or through a bad function pointer"
        )

    def _judge(
        self, cls: type[LoaderCallError], message: str, hint: str, fault: dict[str, int]
    ) -> tuple[str, list[str], str, str]:
        """Tell a crash, a simulator gap and a finding apart (simulator only).

        A fault at an address where the chip has nothing is the loader's own crash, whatever
        else it touched. A hang while code used blocks the simulator does not model is a gap:
        the register it polled most names what it waited for.
        """
        sim = self.target.sim
        log = getattr(sim, "gaps", None)
        if sim is None or log is None:
            return "finding", [], message, hint
        touches = log.since(self._gap_mark)
        gaps = list(dict.fromkeys(t.block for t in touches))
        if cls is LoaderFault:
            # The simulator knows the faulting address even for imprecise (write) faults,
            # where BFAR is not valid on silicon.
            last = getattr(getattr(sim, "core", None), "last_fault", None)
            bfar = last.address if last is not None and last.kind == "bus" else None
            if bfar is None and fault.get("CFSR", 0) & (1 << 15):
                bfar = fault.get("BFAR")
            if bfar is not None and sim.bus.find(bfar) is None:
                return (
                    "crash",
                    gaps,
                    message + f"; the loader crashed: 0x{bfar:08X} is in no memory and no "
                    f"register block of {self.target.part.name}",
                    "silicon faults there too: the loader is built for another part or "
                    "follows a bad pointer",
                )
            if gaps:
                return (
                    "simulator gap",
                    gaps,
                    message + "; simulator gap: before the fault the loader used blocks that "
                    "are not modelled (" + ", ".join(gaps) + ")",
                    "the fault may come from a value a modelled block would have given; "
                    "a result on silicon may differ",
                )
            return "crash", gaps, message + "; the loader crashed", hint
        refused = [note for dev in sim.bus.devices for note in getattr(dev, "unsupported", ())]
        if cls is LoaderTimeout and refused:
            return (
                "simulator gap",
                gaps,
                message
                + "; simulator gap: the loader used what the model does not simulate ("
                + "; ".join(refused)
                + ")",
                "a result on silicon may differ",
            )
        polled = getattr(getattr(sim, "core", None), "polled_address", None)
        polled_touch = log.register_at(polled) if polled is not None else None
        if cls is LoaderTimeout and touches:
            waited = polled_touch or max(touches, key=lambda t: t.reads)
            return (
                "simulator gap",
                gaps,
                message + f"; simulator gap: the loader waits on {waited.name}, which is not "
                "modelled",
                "a result on silicon may differ: the block is a register file that reads back "
                "what was written (" + ", ".join(gaps) + " unmodelled)",
            )
        return "finding", gaps, message, hint

    def _check(self, result: CallResult, what: str) -> None:
        if result.r0 != 1:
            raise LoaderCallError(
                f"{self.stldr.path}: {what} returned {result.r0} (1 means success)",
                hint="the loader reported a failure; the device or its wiring may differ "
                "from what the loader expects",
                function=result.name,
            )

    # -- operations (reload + Init first, as STM32CubeProgrammer does) ---------------------------
    def init(self) -> CallResult:
        self.load()
        result = self.call("Init")
        self._check(result, "Init")
        return result

    def begin(self) -> None:
        """Start of an operation: reload the image and Init, unless reinit is off."""
        if self.reinit or not self._loaded:
            self.init()

    def sector_erase(self, start: int, end: int) -> CallResult:
        self.begin()
        result = self.call("SectorErase", start, end, budget=self.erase_budget(start, end))
        self._check(result, f"SectorErase(0x{start:08X}, 0x{end:08X})")
        return result

    def erase_budget(self, start: int, end: int) -> float:
        """Seconds a SectorErase(start, end) may take: per sector erased, from the datasheet."""
        sectors, size = sectors_between(self.stldr.storage_info, start, end)
        times = self.datasheet or {}
        per = erase_time(times, size) if size else None
        return self.budgets.for_erase(sectors, per, times.get("chip_erase"))

    def mass_erase(self) -> CallResult:
        self.begin()
        chip = (self.datasheet or {}).get("chip_erase")
        budget = max(self.budgets.mass_erase, ERASE_MARGIN * chip) if chip else None
        result = self.call("MassErase", 0, budget=budget)
        self._check(result, "MassErase")
        return result

    def write(self, address: int, data: bytes, progress: Progress | None = None) -> None:
        self.begin()
        done = 0
        while done < len(data):
            n = min(self.buffer_size, len(data) - done)
            self.target.write_memory(self.buffer, data[done : done + n])
            result = self.call("Write", address + done, n, self.buffer)
            self._check(result, f"Write(0x{address + done:08X}, {n})")
            done += n
            if progress:
                progress(done, len(data))

    def read(self, address: int, length: int, progress: Progress | None = None) -> bytes:
        """Through `Read` when exported, else the memory-mapped window Init left enabled."""
        self.begin()
        out = bytearray()
        use_read = self.has("Read")
        while len(out) < length:
            n = min(self.buffer_size, length - len(out))
            at = address + len(out)
            if use_read:
                result = self.call("Read", at, n, self.buffer)
                self._check(result, f"Read(0x{at:08X}, {n})")
                out += self.target.read_memory(self.buffer, n)
            else:
                out += self.window_read(at, n)
            if progress:
                progress(len(out), length)
        return bytes(out)

    def window_read(self, address: int, length: int) -> bytes:
        try:
            return self.target.read_memory(address, length)
        except HarnessError as exc:
            last = self.calls[-1].name if self.calls else "Init"
            raise HostReadError(
                f"{self.stldr.path}: the loader has no Read, and the host's own read of the "
                f"memory-mapped window at 0x{address:08X} (+0x{length:X}) failed after "
                f"{last}: {exc.message}",
                hint="not a loader crash: the window is not mapped; a loader without Read must "
                "leave the controller in memory-mapped mode after every operation",
            ) from None

    def checksum(self, address: int, size: int, init: int = 0) -> int:
        self.begin()
        return self.call("CheckSum", address, size, init).r0

    def verify(self, address: int, data: bytes, misalign: int = 0) -> tuple[int, int]:
        """(R0 = 0 or first failing address, R1 = checksum) for `data` compared at `address`."""
        self.begin()
        if len(data) > self.buffer_size or len(data) % 4:
            raise LoaderError(
                f"verify block of {len(data)} bytes does not fit the buffer in whole words",
                hint="verify in buffer-sized word multiples",
            )
        self.target.write_memory(self.buffer, data)
        result = self.call("Verify", address, self.buffer, len(data) // 4, misalign)
        return result.r0, result.r1


def sectors_between(info: StorageInfo, start: int, end: int) -> tuple[int, int]:
    """(number of sectors, largest sector size) SectorErase(start, end) covers.

    Arithmetic per sector group, never one step per sector: a corrupt list may claim billions.
    """
    if end < start:
        start, end = end, start
    base, count, largest = info.start, 0, 0
    for group in info.sectors:
        if group.count <= 0 or group.size <= 0:
            continue
        span = group.count * group.size
        lo, hi = max(start, base), min(end, base + span - 1)
        if lo <= hi:
            count += (hi - base) // group.size - (lo - base) // group.size + 1
            largest = max(largest, group.size)
        base += span
    return count, largest


def erase_time(timing: dict[str, float], size: int) -> float | None:
    """Datasheet typical time to erase one sector of `size` bytes with the best-fitting command."""
    for limit, key in ((4 * 1024, "erase_4k"), (32 * 1024, "erase_32k"), (64 * 1024, "erase_64k")):
        if size <= limit and key in timing:
            return timing[key] * max(1, size // limit)
    if "erase_64k" in timing:
        return timing["erase_64k"] * max(1, size // (64 * 1024))
    return None


def _now() -> float:
    import time

    return time.monotonic()


__all__ = [
    "Budgets",
    "CallResult",
    "HarnessLimit",
    "HostReadError",
    "LoaderCallError",
    "LoaderFault",
    "LoaderRunner",
    "LoaderTimeout",
    "WallBudget",
]
