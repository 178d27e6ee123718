"""The Cortex-M core of a simulated board: Unicorn executes Thumb code, Python does the rest.

Unicorn runs the instructions; memories are aliased into it (no copies), peripherals are MMIO
callbacks into the board's bus, and everything Unicorn lacks on M-profile (NVIC, SysTick,
exception entry/return, debug halt, FPB breakpoints) is modelled here and in `scs.py`.

Virtual time: one instruction is one cycle. The core executes in `count=` slices that end at
the next clock event (SysTick wrap, scheduled fault), so interrupts are taken on the exact
instruction boundary. A slice bounded by nothing but MAX_SLICE (or by the end of a run the
caller does not need exactly, `run(exact=False)`) ends on the last translated block boundary
at or before it and is charged what it ran (no block is cut: see `_execute`).
A slice that stops early (breakpoint, WFI, fault, bootrom entry) is charged in full:
deterministic, and for WFI exactly "sleep until the next event".
Interrupts raised by a peripheral or by software (ISPR, STIR, ICSR) during a slice are taken
at the end of that slice, i.e. with up to MAX_SLICE instructions of latency.
"""

from __future__ import annotations

import ctypes
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_HOOK_MEM_READ,
    UC_HOOK_TLB_FILL,
    UC_MEM_WRITE_PROT,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import arm_const as A
from unicorn.unicorn_py3.unicorn import uclib

from stm32_hil.errors import BusFault, HarnessError, TargetError
from stm32_hil.sim.bus import Access, Alias, CpuMap, Device, FastPath, Memory
from stm32_hil.sim.cpu import exceptions, native
from stm32_hil.sim.cpu.fpb import Dwt, Fpb
from stm32_hil.sim.cpu.scs import (
    BUSFAULT,
    CFSR_BFARVALID,
    CFSR_IBUSERR,
    CFSR_IMPRECISERR,
    CFSR_INVSTATE,
    CFSR_NOCP,
    CFSR_PRECISERR,
    CFSR_UNALIGNED,
    CFSR_UNDEFINSTR,
    DEMCR_VC_CORERESET,
    DEMCR_VC_HARDERR,
    DFSR_BKPT,
    DFSR_HALTED,
    DFSR_VCATCH,
    HARDFAULT,
    HFSR_FORCED,
    HFSR_VECTTBL,
    NMI,
    SVCALL,
    USAGEFAULT,
    SystemControlSpace,
)
from stm32_hil.sim.rom.boot import BootSource
from stm32_hil.target.base import HaltReason, ResetKind

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

XN_FETCH = "instruction fetch from a non-executable region"


def _execute_never(address: int) -> bool:
    """The default memory map's execute-never regions (Peripheral, Device, System)."""
    return 0x4000_0000 <= address < 0x6000_0000 or address >= 0xA000_0000


MAX_SLICE = 16_384  # instructions per emu_start at most (interrupt latency bound)
# A load from the same peripheral address returning the same value this many times in a row,
# with no peripheral write in between (steady ones aside: watchdog refreshes, see
# `Device.steady_write`), is a polling loop: the slice ends early and its whole
# budget is charged to the clock, so the polled state (BSY, WIP, TXE...) advances in virtual
# time without emulating every iteration through a Python callback. Deterministic: it depends
# only on the access sequence.
POLL_REPEATS = 32
PAGE = 0x400
TRACE_DEPTH = 64
# Unicorn has no Cortex-M0+ model; the M0 executes the same ARMv6-M instruction set.
CPU_MODELS = {
    "cortex-m0+": A.UC_CPU_ARM_CORTEX_M0,
    "cortex-m0": A.UC_CPU_ARM_CORTEX_M0,
    "cortex-m3": A.UC_CPU_ARM_CORTEX_M3,
    "cortex-m4": A.UC_CPU_ARM_CORTEX_M4,
    "cortex-m7": A.UC_CPU_ARM_CORTEX_M7,
    "cortex-m33": A.UC_CPU_ARM_CORTEX_M33,
    # Shortcut: Unicorn has no Cortex-M55 (STM32N6); its Armv8-M mainline M33 model stands in
    # (no Helium/MVE instructions).
    "cortex-m55": A.UC_CPU_ARM_CORTEX_M33,
}
# QEMU exception numbers delivered to UC_HOOK_INTR.
EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT = 1, 2, 3
EXCP_BKPT, EXCP_EXCEPTION_EXIT, EXCP_NOCP, EXCP_INVSTATE, EXCP_UNALIGNED = 7, 8, 17, 18, 22

_REGS = {
    **{f"r{i}": getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)},
    "sp": A.UC_ARM_REG_SP,
    "lr": A.UC_ARM_REG_LR,
    "pc": A.UC_ARM_REG_PC,
    "xpsr": A.UC_ARM_REG_XPSR,
    "msp": A.UC_ARM_REG_MSP,
    "psp": A.UC_ARM_REG_PSP,
    "control": A.UC_ARM_REG_CONTROL,
    "primask": A.UC_ARM_REG_PRIMASK,
    "basepri": A.UC_ARM_REG_BASEPRI,
    "faultmask": A.UC_ARM_REG_FAULTMASK,
    "fpscr": A.UC_ARM_REG_FPSCR,
    **{f"s{i}": getattr(A, f"UC_ARM_REG_S{i}") for i in range(32)},
}
_V7M_ONLY = {"basepri", "faultmask"}


@dataclass(frozen=True)
class FaultReport:
    """What went wrong, in words a test report can show."""

    kind: str  # "bus", "usage", "lockup"
    pc: int
    address: int | None
    reason: str
    exception: int  # exception taken (3 HardFault, 5 BusFault, ...), 0 if none

    def describe(self) -> str:
        where = f" at 0x{self.address:08X}" if self.address is not None else ""
        return f"{self.kind} fault{where} (PC=0x{self.pc:08X}): {self.reason}"


@dataclass
class _Fault:
    kind: str  # "bus" | "usage"
    pc: int
    address: int | None
    reason: str
    cfsr: int
    precise: bool = True


class CortexM:
    """One Cortex-M core bound to a SimBoard (attributes/methods used by SimTarget and SCS)."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        part = board.part
        self.kind = part.core
        if self.kind not in CPU_MODELS:
            raise TargetError(f"no core model for {self.kind!r} ({part.name})")
        self.v6m = self.kind in ("cortex-m0+", "cortex-m0")
        self.fpu = part.fpu
        self.halted = True
        self.halt_reason = HaltReason.DEBUG_REQUEST
        self.lockup = False
        self.last_fault: FaultReport | None = None
        self.faults: list[FaultReport] = []
        self._trace: deque[int] = deque(maxlen=TRACE_DEPTH)
        self._trace_hook: Any = None
        self._in_emu = False
        self._stop: tuple[str, Any] | None = None  # why the current slice was stopped
        # Polling-loop detector (last polled address and value, repeats): shared with the
        # native dispatcher when there is one, so both paths count the same accesses.
        self._native = native.library()
        self._poll: Any = native.PollState()
        # The last slice ended in a polling loop: the code waits for a device or the clock, so
        # a host that lets time pass in small steps (a debugger polling DHCSR) may let it pass
        # up to the clock's next event at once; see SimProbe.tick.
        self.parked = False
        self._regions: dict[int, Any] = {}  # native region records by base, kept alive
        self._sink: tuple[Device, int] | None = None  # device and register of queued writes
        self._fault: _Fault | None = None  # fault to take at the end of the slice
        self._invalid_addr: int | None = None
        self._reset_pending: tuple[ResetKind, str] | None = None
        self._held_in_reset = False  # reset while NRST is low: vector catch applies at release
        self._repairs: list[tuple[Device, int, bytes]] = []
        self._bp_hooks: dict[int, Any] = {}
        self._bp_skip: int | None = None
        self._bp_dirty = True
        self._soft_bps: set[int] = set()
        self._guard_hooks: list[Any] = []
        self._alias: tuple[int, Device | None] = (0, None)
        self._alias_hook: Any = None
        # ROM-like memories mapped without write permission: base -> (end, device)
        self._rom_ranges: dict[int, tuple[int, Device]] = {}
        self._ram_spans: list[tuple[int, int]] = []  # mapped read/write/execute at start-up
        self._buffers: list[Any] = []
        self._sysmem = [(r.base, r.end) for r in part.system_memory]

        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        if self._native is not None:
            shared = native.Shared()
            shared.py_read = native.READ_FN(self._native_read)
            shared.py_write = native.WRITE_FN(self._native_write)
            shared.poll_repeats = POLL_REPEATS
            shared.enabled = 1
            self._poll = shared
            # views into the shared struct, made once (each attribute read builds a new one)
            self._read_addr = shared.read_addr
            self._read_value = shared.read_value
            self._latch_addr = shared.latch_addr
            self._latch_clears, self._latch_mask = shared.latch_clears, shared.latch_mask
            self._latch_trigger, self._latch_raise = shared.latch_trigger, shared.latch_raise
            self._q_addr, self._q_size = shared.q_addr, shared.q_size
            self._q_value = shared.q_value
            self._steady_addr = shared.steady_addr
        self._published: tuple[tuple[int, int], ...] = ()  # the read table in the struct
        self._latched: tuple[object, ...] = ()  # the latch table in the struct
        self._steadied: tuple[tuple[int, ...], Device | None] = ((), None)  # the steady table
        self._published_dev: Device | None = None
        self._queue_dev: Device | None = None  # the device queued register writes go to
        self._source: tuple[Device, int] | None = None  # device and register reads come from
        self._counter: Any = None
        # the Python path's soft-slice state (`_execute`, `_soft_block`)
        self._soft_budget = 0
        self._soft_ran = 0
        self._soft_ended = False
        self._soft_counts: dict[tuple[int, int], int] = {}
        # Where simulation time goes (bench/bench_loader.py): wall seconds spent in Python on
        # accesses the native dispatcher handed over, and slices that ended inside a block
        # (each such end costs Unicorn several translations, see `_run_cut_block`).
        self.python_seconds = 0.0
        self.cut_blocks = 0
        self.uc.ctl_set_cpu_model(CPU_MODELS[self.kind])  # before the first mem_map
        self.scs = SystemControlSpace(board, self)
        self.fpb = Fpb(self.kind, self._breakpoints_changed)
        self.dwt = Dwt(board.clock)
        self.dwt.attach(self)
        self._attach_system_devices()
        self._map_bus()
        self.uc.hook_add(UC_HOOK_INTR, self._on_intr)
        self._hook_invalid()
        self._count_blocks()
        self._translate_natively()
        board.on_reset(self._on_board_reset)
        board.bus.write_observers.append(self._code_written)
        array = board.flash.array  # erases and programming change code under the core too
        array.on_change.append(lambda offset, n: self._code_written(array.base + offset, n))
        self.reset()

    def _count_blocks(self) -> None:
        """Count instructions per translated block in C (native.InsnCounter) when the
        native library is there; otherwise Unicorn's `count=` does it per instruction, and a
        Python block hook ends soft slices (`_execute`)."""
        lib = self._native
        if lib is None:
            self.uc.hook_add(UC_HOOK_BLOCK, self._soft_block)
            return
        counter = native.InsnCounter()
        counter.mem_read = ctypes.cast(uclib.uc_mem_read, ctypes.c_void_p)
        counter.stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p)
        self._native_hook(UC_HOOK_BLOCK, lib.hil_count_block, counter, 1, 0)
        self._counter = counter

    def _hook_invalid(self) -> None:
        """Catch unmapped and refused accesses everywhere but in plain RAM.

        Unicorn never lets a page's stores onto its fast path while a memory hook of any
        kind (invalid accesses included) covers the page, so the hook is added per gap
        between RAM spans (which are fully mapped: no access there is invalid).
        """
        start = 0
        for lo, hi in sorted(self._ram_spans):
            if lo > start:
                self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_invalid, None, start, lo - 1)
            start = max(start, hi)
        if start <= 0xFFFFFFFF:
            self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_invalid, None, start, 0xFFFFFFFF)

    def _translate_natively(self) -> None:
        """Fill Unicorn's TLB from `hil_tlb_fill` (virtual TLB mode) when the native library
        is there.

        Unicorn 2.1.4 keeps a page's TLB entry "not dirty" for good once the entry allows
        execution, and on M-profile the CPU's memory map makes every page below 0xA0000000
        executable: every store to SRAM then takes the slow path with a self-modifying-code
        check (about 100 ns a store, against 3 ns for a load). The fill gives execute rights
        only to pages code has been fetched from (remembered for good, so such a page keeps
        Unicorn's checks exactly as before), and read/write to the others, whose stores then
        run on the fast path. The memory's own rights still apply (read-only flash, system
        memory; peripherals and memories in the default map's execute-never regions are mapped
        without execute rights, so a fetch there still faults). The CPU model's MPU is never
        enabled (the SCS is modelled in Python), so its MMU had nothing else to say.
        """
        lib = self._native
        if lib is None:
            return
        self.uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)  # type: ignore[attr-defined]  # (2.1 API)
        self._executed_pages = (ctypes.c_uint8 * native.EXECUTED_PAGES_BYTES)()
        self._native_hook(UC_HOOK_TLB_FILL, lib.hil_tlb_fill, self._executed_pages, 1, 0)

    def _native_hook(self, kind: int, fn: Any, user: Any, begin: int, end: int) -> Any:
        """Add a hook whose callback is a C function of the native library (no Python)."""
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(
            self.uc._uch,
            ctypes.byref(handle),
            kind,
            ctypes.cast(fn, ctypes.c_void_p),
            ctypes.addressof(user),
            begin,
            end,
        )
        if status != 0:
            raise UcError(status)
        return handle

    def _code_written(self, address: int, length: int) -> None:
        """A debugger or the bootrom wrote memory: forget code translated from there."""
        if self._in_emu:
            return  # the core's own stores: Unicorn tracks self-modifying code itself
        self.uc.ctl_remove_cache(address, address + length)
        size, shown = self._alias  # the same bytes seen through the boot alias at 0
        if shown is not None and shown.base <= address < shown.base + size:
            offset = address - shown.base
            self.uc.ctl_remove_cache(offset, offset + length)

    # -- construction ---------------------------------------------------------------------
    def _attach_system_devices(self) -> None:
        board = self.board
        devices: list[Device] = [self.scs, self.fpb, self.dwt]
        for dev in devices:
            if board.bus.find(dev.base) is None and board.bus.find(dev.end - 1) is None:
                board.bus.attach(dev)

    def _buffer_ptr(self, data: bytearray) -> int:
        buf = (ctypes.c_char * len(data)).from_buffer(data)
        self._buffers.append(buf)
        return ctypes.addressof(buf)

    def _map_bus(self) -> None:
        uc = self.uc
        mmio_spans: list[list[int]] = []
        for dev in self.board.bus.devices:
            if isinstance(dev, Alias):
                continue  # mapped by _sync_alias, follows the boot selection
            if hasattr(dev, "on_remap"):
                self._watch_window(dev)  # memory-mapped window: follows the controller's mode
                continue
            data = getattr(dev, "data", None)
            if (
                dev.cpu_map is CpuMap.MMIO
                or not isinstance(data, bytearray)
                or dev.size % PAGE
                or dev.base % PAGE
            ):
                mmio_spans.append([dev.base & ~(PAGE - 1), (dev.end + PAGE - 1) & ~(PAGE - 1)])
                continue
            self._map_memory(dev, dev.base, dev.size, data)
        for base, end, _name in self.board.bus.declared():  # blocks built on first access
            mmio_spans.append([base & ~(PAGE - 1), (end + PAGE - 1) & ~(PAGE - 1)])
        for lo, hi in _merge_spans(mmio_spans):
            self._mmio_map(lo, hi - lo)
        if self.kind in ("cortex-m3", "cortex-m4"):
            for alias, region in ((0x22000000, 0x20000000), (0x42000000, 0x40000000)):
                uc.mmio_map(
                    alias, 0x02000000, self._bitband_read, region, self._bitband_write, region
                )

    def _mmio_map(self, base: int, size: int) -> None:
        """Peripheral space: through the native dispatcher if there is one, else Python."""
        lib = self._native
        if lib is None:
            self.uc.mmio_map(base, size, self._mmio_read, base, self._mmio_write, base)
            return
        region = self._regions.get(base)
        if region is None:
            region = native.Region(ctypes.pointer(self._poll), base)
            self._regions[base] = region
        user = ctypes.addressof(region)
        status = uclib.uc_mmio_map(
            self.uc._uch,
            base,
            size,
            ctypes.cast(lib.hil_mmio_read, ctypes.c_void_p),
            user,
            ctypes.cast(lib.hil_mmio_write, ctypes.c_void_p),
            user,
        )
        if status != 0:
            raise UcError(status)

    # -- memory-mapped windows of external-memory controllers (QUADSPI) -------------------
    def _watch_window(self, window: Any) -> None:
        """Map a window whose nature changes with its controller's mode, and follow it.

        While the controller serves plain linear reads the window exposes a `data` buffer
        (cpu_map ROM) that is aliased read/execute-only; otherwise every access goes through
        the window's `read`/`write` callbacks. A change requested while the core runs (a CCR
        or CR write from the CPU) stops the slice and is applied before the next one.
        """
        if not hasattr(self, "_windows"):
            self._windows: dict[int, tuple[Any, list[tuple[int, int]]]] = {}
            self._windows_dirty: set[int] = set()
            self._window_ptrs: dict[int, tuple[Any, int]] = {}
        self._windows[id(window)] = (window, [])
        self._map_window(window)
        window.on_remap.append(lambda w=window: self._window_changed(w))

    def _window_changed(self, window: Any) -> None:
        if self._in_emu:
            self._windows_dirty.add(id(window))
            self.uc.emu_stop()
            return
        self._map_window(window)

    def _sync_windows(self) -> None:
        for key in list(getattr(self, "_windows_dirty", ())):
            self._windows_dirty.discard(key)
            self._map_window(self._windows[key][0])

    def _map_window(self, window: Any) -> None:
        """Map the window as [head: the chip's cells or MMIO][tail: MMIO].

        Unmapping costs time in proportion to the span (about 0.5 ms per MiB: a 256 MiB
        window took 120 ms per mode change), so the split point stays where the chip's cells
        end and a mode change remaps the head only; the tail is MMIO in every mode.
        """
        uc = self.uc
        _, spans = self._windows[id(window)]
        base, total = window.base, window.size
        current = spans[0][1] if spans else None
        cut, ptr = current or total, 0
        if window.cpu_map is CpuMap.ROM:
            data = window.data
            size = min(len(data), total) & ~(PAGE - 1)
            if size:
                cached = self._window_ptrs.get(id(data))
                if cached is None or cached[0] is not data:
                    cached = (data, self._buffer_ptr(data))
                    self._window_ptrs[id(data)] = cached
                cut, ptr = size, cached[1]
        if cut != current:
            for lo, length in spans:
                uc.mem_unmap(lo, length)
            spans[:] = [(base, cut)]
            if cut < total:
                self._mmio_map(base + cut, total - cut)
                spans.append((base + cut, total - cut))
        else:
            uc.mem_unmap(base, cut)
        if ptr:
            uc.mem_map_ptr(base, cut, UC_PROT_READ | UC_PROT_EXEC, ptr)
        else:
            self._mmio_map(base, cut)
        uc.ctl_remove_cache(base, base + cut)

    def _map_memory(
        self, dev: Device, base: int, size: int, data: bytearray, shown: Device | None = None
    ) -> Any:
        """Alias `data` at `base`; ROM-like devices get their CPU writes forwarded to `dev`.

        `shown` is the memory whose nature decides the permissions (the target of an alias).
        Returns the write hook handle, if one was installed.
        """
        uc = self.uc
        ptr = self._buffer_ptr(data)
        kind = shown or dev
        if kind.cpu_map is CpuMap.RAM:
            if _execute_never(base):  # as the default map says (SDRAM at 0xC0000000)
                uc.mem_map_ptr(base, size, UC_PROT_READ | UC_PROT_WRITE, ptr)
                return None
            if shown is None:
                self._ram_spans.append((base, base + size))  # see _hook_invalid
            uc.mem_map_ptr(base, size, UC_PROT_ALL, ptr)
            return None
        if any(lo <= kind.base < hi for lo, hi in self._sysmem):
            # Read-only, not executable: a branch into system memory stops the core so the
            # Python bootrom takes over.
            uc.mem_map_ptr(base, size, UC_PROT_READ, ptr)
            return None
        if isinstance(kind, Memory) and not kind.writable:
            uc.mem_map_ptr(base, size, UC_PROT_READ | UC_PROT_EXEC, ptr)
            return None
        # Read/execute only: a CPU store faults into `_on_invalid`, which hands it to `dev`.
        # A regular write hook would do the same, but any memory hook makes Unicorn take its
        # slow path for every load and store of every memory (about 100 ns each).
        uc.mem_map_ptr(base, size, UC_PROT_READ | UC_PROT_EXEC, ptr)
        self._rom_ranges[base] = (base + size, dev)
        return base

    def _sync_alias(self) -> None:
        """Map the boot alias at 0x00000000 onto the buffer of the memory it currently shows."""
        try:
            alias = self.board.bus.device("BOOT_ALIAS")
        except KeyError:
            return
        assert isinstance(alias, Alias)
        target = alias.target
        size, current = self._alias
        if current is target:
            return
        if size:
            self.uc.mem_unmap(0, size)
            if self._alias_hook is not None:
                self._rom_ranges.pop(self._alias_hook, None)
                self._alias_hook = None
            self._unhook_guards()
        data = getattr(target, "data", None)
        if not isinstance(data, bytearray):
            self._alias = (0, None)
            return
        size = min(alias.size, target.size) & ~(PAGE - 1)
        self._alias_hook = self._map_memory(alias, 0, size, data, shown=target)
        self._alias = (size, target)
        self.uc.ctl_remove_cache(0, size)

    # -- memory callbacks -----------------------------------------------------------------
    def _repair(self) -> None:
        """Put back the controller's true flash bytes after Unicorn stored a raw CPU write.

        Shortcut: Unicorn writes the stored value into the aliased flash buffer after our write
        hook forwarded it to the flash controller; until the next MMIO access or the end of the
        slice, a CPU read of that very location sees the raw value instead of the cells.
        """
        if not self._repairs:
            return
        while self._repairs:
            dev, offset, data = self._repairs.pop()
            dev_data = dev.data  # type: ignore[attr-defined]
            dev_data[offset : offset + len(data)] = data
        self._poll.enabled = 1

    def _on_rom_write(
        self, uc: Uc, access: int, address: int, size: int, value: int, user: tuple[Device, int]
    ) -> None:
        self._settle()
        self._repair()
        dev, base = user
        offset = address - base
        try:
            dev.write(offset, size, value & ((1 << (8 * size)) - 1), Access.CPU)
        except HarnessError as exc:
            self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=False))
        target = dev.target if isinstance(dev, Alias) else dev
        data = target.data  # type: ignore[attr-defined]
        self._repairs.append((target, offset, bytes(data[offset : offset + size])))
        self._poll.enabled = 0  # the native dispatcher leaves MMIO to Python until repaired

    def _mmio_read(self, uc: Uc, offset: int, size: int, base: int) -> int:
        return self._read_at(base + offset, size)

    def _mmio_write(self, uc: Uc, offset: int, size: int, value: int, base: int) -> None:
        self._write_at(base + offset, size, value)

    def _native_read(self, handle: int, address: int, size: int, user: int) -> int:
        start = time.perf_counter()
        try:
            return self._read_at(address, size)
        except BaseException as exc:  # re-raised by emu_start
            self._callback_failed(exc)
            return 0
        finally:
            self.python_seconds += time.perf_counter() - start

    def _native_write(self, handle: int, address: int, size: int, value: int, user: int) -> None:
        start = time.perf_counter()
        try:
            self._write_at(address, size, value)
        except BaseException as exc:  # re-raised by emu_start
            self._callback_failed(exc)
        finally:
            self.python_seconds += time.perf_counter() - start

    def _callback_failed(self, exc: BaseException) -> None:
        """What Unicorn's own callback wrapper does: keep the first error, stop, re-raise."""
        if self.uc._hook_exception is None:
            self.uc._hook_exception = exc
        self.uc.emu_stop()

    def _read_at(self, address: int, size: int) -> int:
        self._settle()
        self._repair()
        try:
            dev = self._bus_dev(address, size, False)
            value = dev.read(address - dev.base, size, Access.CPU)
        except HarnessError as exc:
            # Precise: stopping inside a read callback leaves PC on the load, not executed.
            self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=True))
            self.uc.emu_stop()
            return 0
        poll = self._poll
        if not dev.waits_on_time(address - dev.base):
            poll.poll_valid = 0  # nothing to wait for: its own count ends such a loop
        elif poll.poll_valid and poll.poll_addr == address and poll.poll_value == value:
            poll.poll_count += 1
            if poll.poll_count == POLL_REPEATS and self._stop is None:
                # Stopping re-executes this load on resume: harmless, its value did not change.
                self._stop = ("poll", None)
                self.uc.emu_stop()
        elif not dev.time_source:
            # A loop that polls a register and reads a clock for its timeout (DWT CYCCNT, a
            # timer's CNT) is still a polling loop: the clock's reads do not break it.
            poll.poll_valid, poll.poll_addr, poll.poll_value = 1, address, value
            poll.poll_count = 0
        if self._native is not None:
            self._publish(dev)
        return value

    def _write_at(self, address: int, size: int, value: int) -> None:
        self._settle()
        self._repair()
        value &= (1 << (8 * size)) - 1
        try:
            dev = self._bus_dev(address, size, True)
            if not dev.steady_write(address - dev.base, size, value):
                self._poll.poll_valid = 0  # the loop's state may change: not a polling loop
            dev.write(address - dev.base, size, value, Access.CPU)
        except HarnessError as exc:
            self._poll.poll_valid = 0
            # Buffered writes fault imprecisely on Cortex-M: taken after the slice.
            self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=False))
            return
        if self._native is not None:
            self._publish(dev)

    # -- native fast path: what a device published, and the writes queued for it ------------
    def _publish(self, dev: Device) -> None:
        """Let the native dispatcher serve what `dev` declares repeatable (FastPath)."""
        self._install(dev, dev.fast_path())

    def _resume(self) -> None:
        """At a slice start, publish again what the device published last declares now: the
        previous slice's end withdrew it (`_settle`), and the first access of a loop that
        spans slices would otherwise call Python only to get it back."""
        dev = self._published_dev
        if dev is not None:
            self._install(dev, dev.resumed_fast_path())

    def _install(self, dev: Device, fast: FastPath | None) -> None:
        if fast is None:
            return
        poll = self._poll
        reads = fast.reads[: native.READS]
        if reads != self._published or dev is not self._published_dev:
            # `_settle` only zeroes the count: the same table is left in place (most often
            # the same status value is published again after the next access)
            addrs, values, base = self._read_addr, self._read_value, dev.base
            for i, (offset, value) in enumerate(reads):
                addrs[i] = base + offset
                values[i] = value & 0xFFFFFFFF
            if dev is not self._published_dev:
                self._latched = ()  # the latch table holds the device's addresses
            self._published = reads
            self._published_dev = dev
        poll.nreads = len(reads)
        poll.timeless = 1 if fast.timeless else 0
        latches, clears = fast.latches, fast.clears
        if latches or clears:
            table = (latches, clears)
            if table != self._latched:
                self._fill_latches(dev, latches, clears)
                self._latched = table
            poll.nlatches = min(len(latches) + len(clears), native.LATCHES)
            self._queue_dev = dev
        steady = fast.steady
        if steady:
            if (steady, dev) != self._steadied:
                for i, offset in enumerate(steady[: native.STEADY]):
                    self._steady_addr[i] = dev.base + offset
                self._steadied = (steady, dev)
            poll.nsteady = min(len(steady), native.STEADY)
        data = fast.source_data[: native.SOURCE_BYTES]
        if fast.source is not None and data:
            ctypes.memmove(ctypes.addressof(poll) + native.SOURCE_OFFSET, data, len(data))
            poll.src_addr = dev.base + fast.source
            poll.src_sizes = fast.source_sizes
            poll.src_len, poll.src_pos = len(data), 0
            self._source = (dev, fast.source)
        if fast.sink is not None and fast.sink_bytes > 0:
            poll.sink_addr = dev.base + fast.sink
            poll.sink_sizes = fast.sink_sizes
            poll.sink_cap = min(fast.sink_bytes, native.SINK_BYTES)
            self._sink = (dev, fast.sink)

    def _fill_latches(
        self,
        dev: Device,
        latches: tuple[int, ...],
        clears: tuple[tuple[int, int, int, int, int], ...],
    ) -> None:
        """The latch table: plain latches first, then write-one-to-clear registers."""
        base = dev.base
        addrs, targets, masks = self._latch_addr, self._latch_clears, self._latch_mask
        for i, offset in enumerate(latches[: native.LATCHES]):
            addrs[i], targets[i] = base + offset, 0
        for i, (offset, flags, mask, trigger, raised) in enumerate(clears, len(latches)):
            if i >= native.LATCHES:
                break
            addrs[i], targets[i], masks[i] = base + offset, base + flags, mask
            self._latch_trigger[i], self._latch_raise[i] = trigger, raised

    def _settle(self) -> None:
        """Before Python runs during a slice: queued writes reach their device, and nothing
        published stays valid (the model may change on any call into it)."""
        if self._native is None:
            return
        poll = self._poll
        if poll.sink_len:
            self._drain()
        if poll.qlen:
            self._replay()
        if poll.src_len:
            self._draw()
        poll.nreads = 0
        poll.nlatches = 0
        poll.nsteady = 0
        poll.sink_cap = 0

    def _drain(self) -> None:
        poll = self._poll
        count, poll.sink_len, poll.sink_cap = poll.sink_len, 0, 0
        data = ctypes.string_at(ctypes.addressof(poll) + native.SINK_OFFSET, count)
        assert self._sink is not None
        dev, offset = self._sink
        try:
            dev.absorb(offset, data)
        except HarnessError as exc:
            self._request_fault(_bus_fault(self.pc_now(), dev.base + offset, exc, precise=False))

    def _draw(self) -> None:
        """Tell the source device how many of its published bytes the CPU read."""
        poll = self._poll
        count, poll.src_pos, poll.src_len = poll.src_pos, 0, 0
        if count and self._source is not None:
            dev, offset = self._source
            dev.drawn(offset, count)

    def _replay(self) -> None:
        """Make the queued latch writes, oldest first, as the CPU made them."""
        poll = self._poll
        count, poll.qlen = poll.qlen, 0
        # the core changed published reads behind `_published` (its mirror): write them anew
        self._published = ()
        dev = self._queue_dev
        assert dev is not None
        addrs, sizes, values = self._q_addr, self._q_size, self._q_value
        for i in range(count):
            address = addrs[i]
            try:
                dev.write(address - dev.base, sizes[i], values[i], Access.CPU)
            except HarnessError as exc:
                self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=False))

    @property
    def fast_accesses(self) -> tuple[int, int]:
        """(reads, writes) the native dispatcher served without Python, since power-up."""
        if self._native is None:
            return (0, 0)
        return (int(self._poll.fast_reads), int(self._poll.fast_writes))

    @property
    def python_accesses(self) -> tuple[int, int]:
        """(reads, writes) of peripherals the native dispatcher handed to Python."""
        if self._native is None:
            return (0, 0)
        return (int(self._poll.slow_reads), int(self._poll.slow_writes))

    def _bus_dev(self, address: int, size: int, write: bool) -> Device:
        dev = self.board.bus.find(address)
        if dev is None or address + size > dev.end:
            raise BusFault(address, "no peripheral is mapped there", write=write)
        return dev

    def _bitband_read(self, uc: Uc, offset: int, size: int, region: int) -> int:
        self._settle()
        address = region + (offset >> 5)
        bit = (offset >> 2) & 7
        try:
            return (self.board.bus.read(address, 1, Access.CPU) >> bit) & 1
        except HarnessError as exc:
            self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=True))
            uc.emu_stop()
            return 0

    def _bitband_write(self, uc: Uc, offset: int, size: int, value: int, region: int) -> None:
        self._settle()
        address = region + (offset >> 5)
        bit = (offset >> 2) & 7
        try:
            if self.board.bus.find(address) is None:
                raise BusFault(address, "no memory or peripheral is mapped there", write=True)
            self._repair()
            if region == 0x20000000:
                byte = bytes(uc.mem_read(address, 1))[0]
                byte = (byte | (1 << bit)) if value & 1 else (byte & ~(1 << bit))
                uc.mem_write(address, bytes([byte]))
            else:
                byte = self.board.bus.read(address, 1, Access.CPU)
                byte = (byte | (1 << bit)) if value & 1 else (byte & ~(1 << bit))
                self.board.bus.write(address, 1, byte, Access.CPU)
        except HarnessError as exc:
            self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=False))

    def _on_flash_read(
        self, uc: Uc, access: int, address: int, size: int, value: int, user: tuple[Device, int]
    ) -> None:
        """Installed only while flash reads can fail (bad ECC, read protection)."""
        self._settle()
        dev, base = user
        try:
            dev.read(address - base, size, Access.CPU)
        except HarnessError as exc:
            self._request_fault(_bus_fault(self.pc_now(), address, exc, precise=True))
            uc.emu_stop()

    def _on_invalid(
        self, uc: Uc, access: int, address: int, size: int, value: int, user: object
    ) -> bool:
        if access == UC_MEM_WRITE_PROT:
            for base, (end, dev) in self._rom_ranges.items():
                if base <= address < end:
                    # Unicorn then stores into the buffer too; `_repair` undoes that.
                    self._on_rom_write(uc, access, address, size, value, (dev, base))
                    return True
        self._invalid_addr = address
        return False

    # -- interrupt hook ---------------------------------------------------------------------
    def _on_intr(self, uc: Uc, intno: int, user: object) -> None:
        self._settle()
        pc = uc.reg_read(A.UC_ARM_REG_PC)
        if intno == EXCP_EXCEPTION_EXIT:
            try:
                exceptions.leave(self, pc | 1)
            except exceptions.StackingError as exc:
                self._enter_lockup(pc, str(exc))
                uc.emu_stop()
            return
        if intno == EXCP_SWI:
            self._exception_or_fault(SVCALL, pc)
            return
        if intno == EXCP_BKPT:
            self._stop = ("halt", HaltReason.BREAKPOINT)
            uc.emu_stop()
            return
        if intno == EXCP_PREFETCH_ABORT and self._in_sysmem(pc):
            self._stop = ("bootrom", None)
            uc.emu_stop()
            return
        cfsr, reason = {
            EXCP_UDEF: (CFSR_UNDEFINSTR, "undefined instruction"),
            EXCP_NOCP: (CFSR_NOCP, "coprocessor (FPU) access while disabled or absent"),
            EXCP_INVSTATE: (CFSR_INVSTATE, "invalid state (Thumb bit clear)"),
            EXCP_UNALIGNED: (CFSR_UNALIGNED, "unaligned access"),
            EXCP_PREFETCH_ABORT: (CFSR_IBUSERR, XN_FETCH),
        }.get(intno, (CFSR_UNDEFINSTR, f"CPU exception {intno}"))
        kind = "bus" if cfsr == CFSR_IBUSERR else "usage"
        self._request_fault(_Fault(kind, pc, pc if kind == "bus" else None, reason, cfsr))
        uc.emu_stop()

    def _on_breakpoint(self, uc: Uc, address: int, size: int, user: object) -> None:
        if self._bp_skip == address:
            self._bp_skip = None
            return
        self._stop = ("halt", HaltReason.BREAKPOINT)
        uc.emu_stop()

    def _on_block(self, uc: Uc, address: int, size: int, user: object) -> None:
        self._trace.append(address)

    # -- public API used by SimTarget, the SCS and the bootrom ---------------------------------
    @property
    def polled_address(self) -> int | None:
        """The MMIO address the code was last seen polling (None: no polling loop)."""
        poll = self._poll
        return int(poll.poll_addr) if poll.poll_valid else None

    def pc_now(self) -> int:
        return int(self.uc.reg_read(A.UC_ARM_REG_PC))

    def current_exception(self) -> int:
        return int(self.uc.reg_read(A.UC_ARM_REG_XPSR)) & 0x1FF

    def halt(self, reason: HaltReason = HaltReason.DEBUG_REQUEST) -> None:
        if self._in_emu:
            self._stop = ("halt", reason)
            self.uc.emu_stop()
            return
        if self.lockup:
            # A debug halt takes the core out of lockup into debug state (ARMv7-M B1.5.15).
            self.lockup = False
            self.halted = False
        if not self.halted:
            self.halted = True
            self.halt_reason = reason
            self.scs.dfsr |= DFSR_HALTED

    def resume(self) -> None:
        if self.lockup:
            return  # only a reset leaves lockup
        if self.halted:
            self._bp_skip = self.pc_now()
        self.halted = False
        self.halt_reason = HaltReason.NONE

    def step(self) -> None:
        """Execute one instruction from a halted state (interrupts masked, as C_MASKINTS)."""
        if not self.halted or self.lockup:
            return
        self._bp_skip = self.pc_now()
        self.halt_reason = HaltReason.STEP
        self.board.clock.advance(self._execute(1))
        self._after_slice()
        self.halted = True
        self.scs.dfsr |= DFSR_HALTED

    def run(self, cycles: int, *, exact: bool = True) -> None:
        """Let `cycles` of virtual time pass, executing one instruction per cycle if running.

        `exact=False`: the caller runs again until something it waits for (a halt) happens,
        so the run may end on the last block boundary before `cycles` (see `_execute`).
        """
        clock = self.board.clock
        end = clock.now + max(0, cycles)
        if self._held_in_reset:
            self._leave_reset()
        while clock.now < end:
            if self.halted:
                clock.advance(end - clock.now)
                return
            self._sync()
            self._take_pending()
            if self.halted:
                continue
            bound, by_end = end - clock.now, not exact
            nxt = clock.next_event()
            if nxt is not None and nxt - clock.now <= bound:
                bound, by_end = max(1, nxt - clock.now), False  # an event is due: exact
            # Bounded by nothing but MAX_SLICE (or an end the caller does not need exactly),
            # the slice may end on the last block boundary before its budget, charged what it
            # ran (`_execute`).
            soft = bound > MAX_SLICE or by_end
            budget = min(bound, MAX_SLICE)
            ran = self._execute(budget, soft=soft)
            clock.advance(ran)
            self._after_slice()
            if by_end and budget == bound and ran < budget:
                return  # short of `end` by less than a block: the caller runs again

    def read_reg(self, name: str) -> int:
        name = name.lower()
        if name == "cfbp":
            return (
                (self.read_reg("control") << 24)
                | (self.read_reg("faultmask") << 16)
                | (self.read_reg("basepri") << 8)
                | self.read_reg("primask")
            )
        reg = self._reg_id(name)
        if reg is None:
            return 0
        value = int(self.uc.reg_read(reg)) & 0xFFFFFFFF
        if name == "control":
            value &= 7 if self.fpu else 3
        return value

    def write_reg(self, name: str, value: int) -> None:
        name = name.lower()
        value &= 0xFFFFFFFF
        if name == "cfbp":
            self.write_reg("primask", value & 0xFF)
            self.write_reg("basepri", (value >> 8) & 0xFF)
            self.write_reg("faultmask", (value >> 16) & 0xFF)
            self.write_reg("control", (value >> 24) & 0xFF)
            return
        reg = self._reg_id(name)
        if reg is None:
            return
        if name == "pc":
            value |= 1  # keep xPSR.T: Unicorn clears it for an even PC
            self._bp_skip = None
        self.uc.reg_write(reg, value)

    def _reg_id(self, name: str) -> int | None:
        if name not in _REGS:
            raise TargetError(
                f"unknown core register {name!r}",
                hint="r0-r12, sp, lr, pc, xpsr, msp, psp, control, primask, "
                "basepri, faultmask, s0-s31, fpscr",
            )
        fp_reg = name == "fpscr" or (name[0] == "s" and name[1:].isdigit())
        if (self.v6m and name in _V7M_ONLY) or (fp_reg and not self.fpu):
            return None
        return _REGS[name]

    def set_breakpoint(self, address: int) -> None:
        """FPB comparator if one can match `address`; otherwise a software breakpoint.

        ARMv6-M/ARMv7-M FPB v1 cannot match SRAM: a debugger patches BKPT there instead. The
        simulator models that software breakpoint as the same code hook, memory unchanged.
        """
        address &= ~1
        if address in self.fpb.addresses() or address in self._soft_bps:
            return
        if not self.fpb.reaches(address):
            self._soft_bps.add(address)
            self._bp_dirty = True
            return
        for i in range(self.fpb.num_code):
            if not self.fpb.comp[i] & 1:
                self.fpb.comp[i] = self.fpb.encode(address)
                self.fpb.enabled = True
                self._bp_dirty = True
                return
        raise TargetError(
            f"no free hardware breakpoint for 0x{address:08X}: all {self.fpb.num_code} FPB "
            "comparators are in use",
            hint="remove a breakpoint first",
        )

    def remove_breakpoint(self, address: int) -> None:
        address &= ~1
        if address in self._soft_bps:
            self._soft_bps.discard(address)
            self._bp_dirty = True
        for i in range(self.fpb.num_code):
            if self.fpb.decode(self.fpb.comp[i]) == address:
                self.fpb.comp[i] = 0
                self._bp_dirty = True

    def trace(self) -> list[int]:
        """Recent block addresses (with `enable_trace`) or slice-end PCs, oldest first."""
        return list(self._trace)

    def enable_trace(self, on: bool = True) -> None:
        """Record every executed block start (costs a Python call per block)."""
        if on and self._trace_hook is None:
            self._trace_hook = self.uc.hook_add(UC_HOOK_BLOCK, self._on_block)
            self.uc.ctl_remove_cache(0, 0xFFFFFFFF)
        elif not on and self._trace_hook is not None:
            self.uc.hook_del(self._trace_hook)
            self._trace_hook = None

    def power_on(self) -> None:
        self.scs.power_on()
        self.halted = True
        self.halt_reason = HaltReason.DEBUG_REQUEST
        self.reset()

    def reset(self) -> None:
        """Core reset: registers from the vector table of the selected boot memory."""
        if self._in_emu:
            self._reset_pending = (ResetKind.SYSTEM, "core reset")
            self.uc.emu_stop()
            return
        uc = self.uc
        self.lockup = False
        self._fault = None
        self._stop = None
        self._repairs.clear()
        self._sync()
        decision = self.board.boot_decision
        uc.reg_write(A.UC_ARM_REG_XPSR, 0x01000000)
        uc.reg_write(A.UC_ARM_REG_CONTROL, 0)
        uc.reg_write(A.UC_ARM_REG_PRIMASK, 0)
        if not self.v6m:
            uc.reg_write(A.UC_ARM_REG_BASEPRI, 0)
            uc.reg_write(A.UC_ARM_REG_FAULTMASK, 0)
        for i in range(13):
            uc.reg_write(getattr(A, f"UC_ARM_REG_R{i}"), 0)
        uc.reg_write(A.UC_ARM_REG_LR, 0xFFFFFFFF)
        self.scs.reset_seen = True
        if decision.source is BootSource.SYSTEM:
            table = decision.address
        else:
            self.board.in_bootrom = False
            table = decision.address
        self.scs.vtor = table & 0xFFFFFF80 if decision.source is not BootSource.SYSTEM else 0
        try:
            words = bytes(uc.mem_read(table, 8))
        except UcError:
            words = self.board.bus.read_block(table, 8, Access.CPU)
        msp = int.from_bytes(words[:4], "little")
        pc = int.from_bytes(words[4:], "little")
        uc.reg_write(A.UC_ARM_REG_MSP, msp & ~3)
        uc.reg_write(A.UC_ARM_REG_PSP, 0)
        uc.reg_write(A.UC_ARM_REG_PC, pc | 1)
        self._bp_skip = None
        if decision.source is BootSource.SYSTEM:
            self.halted = True
            self.halt_reason = HaltReason.BOOTROM
            self.board.enter_system_memory("reset")
            return
        self._held_in_reset = not self.board.pins["NRST"]
        if self.scs.demcr & DEMCR_VC_CORERESET:
            self._vector_catch()
        elif self.halted and self.halt_reason in (HaltReason.BOOTROM, HaltReason.LOCKUP):
            # Not halted by the debugger: the reset restarts the firmware.
            self.halted = False
            self.halt_reason = HaltReason.NONE

    def _vector_catch(self) -> None:
        self.halted = True
        self.halt_reason = HaltReason.VECTOR_CATCH
        self.scs.dfsr |= DFSR_VCATCH

    def _leave_reset(self) -> None:
        """NRST released: the core starts, halting first if DEMCR.VC_CORERESET asks for it.

        A debugger sets the catch while it holds NRST low (pyOCD's STM32H7 connect sequence
        does), so the catch is evaluated when the core leaves reset, as on silicon.
        """
        self._held_in_reset = False
        if self.scs.demcr & DEMCR_VC_CORERESET and not self.halted:
            self._vector_catch()

    def _on_board_reset(self, kind: ResetKind, cause: str) -> None:
        if self._in_emu:
            self._reset_pending = (kind, cause)
            self.uc.emu_stop()
            return
        if kind is ResetKind.POWER:
            self.scs.demcr = 0
        self.reset()

    # -- execution ------------------------------------------------------------------------
    def _execute(self, count: int, *, soft: bool = False) -> int:
        """Run a slice of `count` instructions; the cycles to charge for it.

        A `soft` slice (no event is due in it, and it ends a run nobody needs exactly, or only
        MAX_SLICE bounded it) ends on the last block boundary at or before `count` and is
        charged what it ran.
        Ending it exactly would cut a block, and each cut makes Unicorn translate that block
        and those overlapping it again (`_run_cut_block`): a quarter of a real loader's page
        write. Both paths end it on the same instruction: the native counter stops before the
        block that would overrun, the Python path's block hook (`_soft_block`) likewise, with
        the same Thumb-2 decode. Any other slice runs exactly `count` instructions; one stopped
        early (polling loop, halt, fault) is charged `count`, as before.
        """
        self._sync()
        self._stop = None
        self._invalid_addr = None
        counter = self._counter
        if counter is None:
            self._soft_budget, self._soft_ran, self._soft_ended = count if soft else 0, 0, False
            self._soft_counts.clear()
            try:
                self._emulate(count)
            finally:
                self._soft_budget = 0
            if self._soft_ended and self._slice_may_go_on():
                return self._soft_ran
            return count
        counter.executed = 0
        counter.budget = count
        counter.cut = 0
        counter.generation = (counter.generation + 1) & 0xFFFFFFFF
        self._emulate(0)
        if counter.cut and self._slice_may_go_on():
            if soft and counter.executed:
                return int(counter.executed)
            self.cut_blocks += 1
            self._run_cut_block(counter, count - counter.executed)
        return count

    def _soft_block(self, uc: Uc, address: int, size: int, user: object) -> None:
        """The Python path's twin of the native `hil_count_block` for soft slices."""
        budget = self._soft_budget
        if not budget:
            return
        key = (address, size)
        n = self._soft_counts.get(key)
        if n is None:
            try:
                n = thumb_instructions(bytes(uc.mem_read(address, size))) if size else 0
            except UcError:
                n = 0
            self._soft_counts[key] = n
        if n == 0 or self._soft_ran + n > budget:
            if self._soft_ran:
                self._soft_ended = True
                uc.emu_stop()
            else:
                self._soft_budget = 0  # `count=` ends the slice exactly, as a native cut
            return
        self._soft_ran += n

    def _emulate(self, count: int) -> None:
        pc = self.pc_now()
        if self._native is not None:
            self._resume()
        self._in_emu = True
        try:
            self.uc.emu_start(pc | 1, 0xFFFFFFFF, count=count)
        except UcError as exc:
            self._on_uc_error(exc)
        finally:
            self._in_emu = False
            self._settle()
        self._repair()

    def _slice_may_go_on(self) -> bool:
        """Nothing but the instruction budget stopped the slice (no fault, reset, halt...)."""
        return (
            self._stop is None
            and self._fault is None
            and self._reset_pending is None
            and self.uc._hook_exception is None
        )

    def _run_cut_block(self, counter: Any, left: int) -> None:
        """Run exactly `left` instructions of the block the budget cut, under a code hook
        bounded to that block (retranslated with the hook, then without it again: deleting
        a hook drops the code Unicorn translated with it).

        A hook kept over the block would spare those translations but cost a call per
        instruction of every later run of it, and a slice is cut mostly in a hot loop:
        measured, writes got slower."""
        if left <= 0:
            return
        begin, end = int(counter.cut_pc), int(counter.cut_pc) + int(counter.cut_size)
        lib = self._native
        assert lib is not None  # a counter exists only with the native library
        handle = self._native_hook(UC_HOOK_CODE, lib.hil_count_insn, counter, begin, end - 1)
        self.uc.ctl_remove_cache(begin, end)
        counter.tail, counter.tail_left = 1, left
        try:
            self._emulate(0)
        finally:
            counter.tail = 0
            uclib.uc_hook_del(self.uc._uch, handle)

    def _on_uc_error(self, exc: UcError) -> None:
        pc = self.pc_now()
        if self._in_sysmem(pc):
            self._stop = ("bootrom", None)
            return
        address = self._invalid_addr
        fetch = address is not None and address == pc
        if address is None:
            self._request_fault(_Fault("bus", pc, None, f"emulator error: {exc}", CFSR_IBUSERR))
            return
        dev = self.board.bus.find(address)
        what = (
            "no memory or peripheral is mapped there"
            if dev is None
            else f"{dev.name} refuses this access"
        )
        if fetch and _execute_never(address):
            what = XN_FETCH  # as the CPU's MMU reports it without the native TLB fill
        cfsr = CFSR_IBUSERR if fetch else CFSR_PRECISERR | CFSR_BFARVALID
        self._request_fault(_Fault("bus", pc, address, what, cfsr))

    def _request_fault(self, fault: _Fault) -> None:
        if self._fault is None or (fault.precise and not self._fault.precise):
            self._fault = fault

    def _after_slice(self) -> None:
        self._repair()
        self._trace.append(self.pc_now())
        if self._reset_pending is not None:
            kind, _cause = self._reset_pending
            self._reset_pending = None
            if kind is ResetKind.POWER:
                self.scs.demcr = 0
            self.reset()
            return
        stop, self._stop = self._stop, None
        if self._fault is not None:
            fault, self._fault = self._fault, None
            if not fault.precise:
                fault.pc = self.pc_now()  # imprecise: stacked PC is where the core got to
            self._take_fault(fault)
            return
        self.parked = False
        if stop is None:
            return  # slice done; a WFI/WFE stop already slept until the next event
        what, arg = stop
        if what == "poll":
            self._poll.poll_valid = 0
            self.parked = True  # until the next slice runs: see `parked`
            return  # a polling loop: the slice's time is charged, execution simply continues
        if what == "bootrom":
            self.halted = True
            self.halt_reason = HaltReason.BOOTROM
            self.board.enter_system_memory("jump")
        elif what == "halt":
            self.halted = True
            self.halt_reason = arg
            self.scs.dfsr |= DFSR_BKPT if arg is HaltReason.BREAKPOINT else DFSR_HALTED

    def _in_sysmem(self, pc: int) -> bool:
        return any(lo <= pc < hi for lo, hi in self._sysmem)

    # -- exceptions ------------------------------------------------------------------------
    def _execution_priority(self) -> int:
        prio = 256
        for exc in self.scs.active:
            prio = min(prio, self.scs.group_priority(exc))
        uc = self.uc
        if uc.reg_read(A.UC_ARM_REG_PRIMASK) & 1:
            prio = min(prio, 0)
        if not self.v6m:
            if uc.reg_read(A.UC_ARM_REG_FAULTMASK) & 1:
                prio = min(prio, -1)
            basepri = uc.reg_read(A.UC_ARM_REG_BASEPRI) & self.scs.prio_mask
            if basepri:
                prio = min(prio, basepri)
        return prio

    def _take_pending(self) -> None:
        exc = self.scs.next_pending()
        if exc is None:
            return
        if self.scs.group_priority(exc) >= self._execution_priority():
            return
        self._exception_or_fault(exc, self.pc_now())

    def _exception_or_fault(self, exc: int, return_pc: int) -> None:
        try:
            ok = exceptions.enter(self, exc, return_pc)
        except exceptions.StackingError as err:
            self._enter_lockup(return_pc, str(err))
            if self._in_emu:
                self.uc.emu_stop()
            return
        if ok:
            self._bp_skip = None
            return
        self.scs.pending.discard(exc)
        if not self.v6m:
            self.scs.hfsr |= HFSR_VECTTBL
        if exc in (HARDFAULT, NMI):
            self._enter_lockup(return_pc, f"no handler for exception {exc} in the vector table")
            if self._in_emu:
                self.uc.emu_stop()
            return
        self._exception_or_fault(HARDFAULT, return_pc)

    def _take_fault(self, fault: _Fault) -> None:
        scs = self.scs
        current = self.current_exception()
        if not self.v6m:
            scs.cfsr |= fault.cfsr
            if fault.cfsr & CFSR_BFARVALID and fault.address is not None:
                scs.bfar = fault.address
        if not fault.precise and not self.v6m:
            scs.cfsr |= CFSR_IMPRECISERR
        target = BUSFAULT if fault.kind == "bus" else USAGEFAULT
        if (
            not scs.fault_enabled(target)
            or scs.group_priority(target) >= self._execution_priority()
        ):
            target = HARDFAULT
            if not self.v6m:
                scs.hfsr |= HFSR_FORCED
        report = FaultReport(fault.kind, fault.pc, fault.address, fault.reason, target)
        self.last_fault = report
        self.faults.append(report)
        if current in (HARDFAULT, NMI) or self._execution_priority() < 0:
            self._enter_lockup(fault.pc, f"{fault.reason} inside the fault handler")
            return
        if target == HARDFAULT and scs.demcr & DEMCR_VC_HARDERR:
            self.uc.reg_write(A.UC_ARM_REG_PC, fault.pc | 1)
            self.halted = True
            self.halt_reason = HaltReason.VECTOR_CATCH
            scs.dfsr |= DFSR_VCATCH
            return
        scs.pending.add(target)
        self._exception_or_fault(target, fault.pc)

    def _enter_lockup(self, pc: int, reason: str) -> None:
        self.lockup = True
        self.halted = True
        self.halt_reason = HaltReason.LOCKUP
        report = FaultReport("lockup", pc, None, reason, 0)
        self.last_fault = report
        self.faults.append(report)

    # -- state kept in step with the board ------------------------------------------------------
    def _breakpoints_changed(self) -> None:
        self._bp_dirty = True

    def _sync(self) -> None:
        self._sync_alias()
        self._sync_windows()
        self._sync_flash_guard()
        if self._bp_dirty:
            self._sync_breakpoints()

    def _sync_breakpoints(self) -> None:
        self._bp_dirty = False
        wanted = self.fpb.addresses() | self._soft_bps
        for address in list(self._bp_hooks):
            if address not in wanted:
                self.uc.hook_del(self._bp_hooks.pop(address))
                self.uc.ctl_remove_cache(address, address + 2)
        for address in wanted - set(self._bp_hooks):
            self._bp_hooks[address] = self.uc.hook_add(
                UC_HOOK_CODE, self._on_breakpoint, begin=address, end=address
            )
            self.uc.ctl_remove_cache(address, address + 2)

    def _flash_needs_guard(self) -> bool:
        flash = self.board.flash
        if flash.array.ecc_bad or getattr(flash, "cpu_read_checks", False):
            return True
        try:
            return bool(flash.rdp_level() != 0)
        except HarnessError:
            return True

    def _sync_flash_guard(self) -> None:
        """Hook data reads of flash only while they can fail (ECC double error, protection).

        Shortcut: instruction fetches from a bad-ECC unit are not checked.
        """
        need = self._flash_needs_guard()
        if need == bool(self._guard_hooks):
            return
        if not need:
            self._unhook_guards()
            return
        array = self.board.flash.array
        ranges: list[tuple[Device, int, int]] = [(array, array.base, array.size)]
        size, target = self._alias
        if size and target is array:
            ranges.append((array, 0, size))
        for dev, base, length in ranges:
            self._guard_hooks.append(
                self.uc.hook_add(
                    UC_HOOK_MEM_READ,
                    self._on_flash_read,
                    (dev, base),
                    begin=base,
                    end=base + length - 1,
                )
            )
            self.uc.ctl_remove_cache(base, base + length)

    def _unhook_guards(self) -> None:
        for hook in self._guard_hooks:
            self.uc.hook_del(hook)
        self._guard_hooks.clear()
        array = self.board.flash.array
        self.uc.ctl_remove_cache(array.base, array.end)


def thumb_instructions(code: bytes) -> int:
    """Instructions in a block of Thumb-2 code (the native `block_insns` decode): a halfword
    whose top five bits are 0b11101, 0b11110 or 0b11111 starts a 32-bit instruction."""
    n = i = 0
    while i + 1 < len(code):
        i += 4 if code[i + 1] >> 3 in (0x1D, 0x1E, 0x1F) else 2
        n += 1
    return n


def _merge_spans(spans: list[list[int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _bus_fault(pc: int, address: int, exc: HarnessError, *, precise: bool) -> _Fault:
    reason = exc.message
    cfsr = CFSR_PRECISERR | CFSR_BFARVALID if precise else CFSR_IMPRECISERR
    return _Fault("bus", pc, address, reason, cfsr, precise)


__all__ = ["MAX_SLICE", "CortexM", "FaultReport"]
