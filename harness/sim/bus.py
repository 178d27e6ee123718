"""The simulated system bus: devices mapped at addresses, accessed by CPU, debug port or bootrom.

Each access carries its origin (`Access`), because the same address answers differently to the
core, to a debugger and to the system bootloader under readout protection. The Unicorn core maps
plain memories directly (their `data` buffer is aliased, not copied) and reaches the rest
through the same `read`/`write` calls the debug port uses.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable
from typing import NamedTuple

from stm32_hil.errors import BusFault


class Access(enum.Enum):
    CPU = "cpu"
    DEBUG = "debug"
    BOOTROM = "bootrom"


class CpuMap(enum.Enum):
    """How the core maps a device: aliased buffer, buffer with hooked writes, or callbacks."""

    RAM = "ram"  # read/write/execute straight from `data`
    ROM = "rom"  # read/execute from `data`; writes go through `write()` (flash programming)
    MMIO = "mmio"  # every access through `read()`/`write()`


SOURCE_BYTES = 4096  # the most `FastPath.source_data` the core holds (and a model publishes)


class FastPath(NamedTuple):
    """What the core may do on a device's behalf until it next calls into the device.

    (A named tuple: one is built after every access a model serves, so it must be cheap.)

    `reads`: (register offset, value) of word registers whose reads, of any width, return that
    value's lanes and have no effect, until the next call into the device. `sink`: the offset
    of a data register whose CPU writes the core may queue instead of making, up to
    `sink_bytes` bytes in accesses of the sizes in `sink_sizes` (bit mask of 1, 2, 4), and then
    hand over in order through `absorb()`; queued writes must leave every published read
    unchanged. Nothing else in the device may depend on when the queued bytes arrive: virtual
    time does not move while they are queued. `latches`: word registers whose CPU writes, of
    any width, the core may queue and make later, in order, through `write()`: in the device's
    current state such a write stores its value in that register and does nothing else (no
    other published read changes; the core updates the register's own published read, lanes
    merged, as RegisterBlock.write does), and `steady_write` is False for it. `source`: the
    offset of a data register whose CPU reads, in accesses of the sizes in `source_sizes`,
    return the next bytes of `source_data` in order and change no published read; the core
    serves them and reports how many it served through `drawn()`. `clears`: (register,
    flags register, mask, trigger, raised) of write-one-to-clear registers queued like
    latches: in the device's current state such a write clears, in the flags register's
    published read, the written bits under `mask`, then sets `raised` there if it cleared a
    bit of `trigger` (a flag that holds another down), and does nothing else. `steady`: word
    registers a CPU write of which, of any width, does nothing at all when it leaves the
    register's published read (which must be in `reads`) as it is, in the device's current
    state and after any queued latch write: the core drops such a write.
    """

    reads: tuple[tuple[int, int], ...] = ()
    sink: int | None = None
    sink_bytes: int = 0
    sink_sizes: int = 0
    latches: tuple[int, ...] = ()
    clears: tuple[tuple[int, int, int, int, int], ...] = ()
    timeless: bool = False  # no published read can change with time alone (waits_on_time)
    source: int | None = None
    source_data: bytes = b""
    source_sizes: int = 0
    steady: tuple[int, ...] = ()


class Device:
    """Something that answers on the bus at [base, base + size)."""

    cpu_map: CpuMap = CpuMap.MMIO
    modelled = True  # False only for generic register files standing in for a block
    # Reads have no side effect and return a function of virtual time only (cycle counters,
    # timer counters): the core's polling-loop detection looks through them.
    time_source = False

    def __init__(self, name: str, base: int, size: int) -> None:
        self.name = name
        self.base = base
        self.size = size

    @property
    def end(self) -> int:
        return self.base + self.size

    def read(self, offset: int, size: int, access: Access) -> int:
        raise BusFault(self.base + offset, f"{self.name} is not readable")

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        raise BusFault(self.base + offset, f"{self.name} is not writable", write=True)

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        out = bytearray()
        pos = offset
        while pos < offset + length:
            step = 4 if (pos % 4 == 0 and offset + length - pos >= 4) else 1
            out += self.read(pos, step, access).to_bytes(step, "little")
            pos += step
        return bytes(out)

    def write_block(self, offset: int, data: bytes, access: Access) -> None:
        pos = 0
        while pos < len(data):
            step = 4 if ((offset + pos) % 4 == 0 and len(data) - pos >= 4) else 1
            self.write(offset + pos, step, int.from_bytes(data[pos : pos + step], "little"), access)
            pos += step

    def steady_write(self, offset: int, size: int, value: int) -> bool:
        """Whether repeating this write changes nothing a polling loop could be waiting for.

        A loop that refreshes a watchdog while it waits for BSY (pyOCD's H7 flash algorithm,
        HAL code with a watchdog running) is still a polling loop; asked before the write."""
        return False

    def waits_on_time(self, offset: int) -> bool:
        """Whether a CPU read at `offset` could return something else later with nothing but
        time passing (a flag set by a transfer in flight, a chip that stops being busy).

        A loop polling a register that cannot change by itself waits for nothing time can
        bring: the core runs it instruction by instruction (its own count ends it, as on
        silicon) instead of skipping ahead in time, which would charge each of its iterations a
        whole slice. Asked after the read; the default assumes time matters.
        """
        return True

    def fast_path(self) -> FastPath | None:
        """Accesses the core may serve without calling the device (None: none).

        Asked right after each CPU access the device served; a model declares only what holds
        exactly, so the core's fast dispatch changes no result and no cycle count.
        """
        return None

    def resumed_fast_path(self) -> FastPath | None:
        """The same, asked when the next slice starts: virtual time has moved on since the
        device's last access (None: nothing until that access; the default)."""
        return None

    def absorb(self, offset: int, data: bytes) -> None:
        """The queued CPU writes to the sink register at `offset`, oldest first."""
        raise NotImplementedError

    def drawn(self, offset: int, count: int) -> None:
        """The core served `count` bytes of the published source at `offset` to the CPU."""
        raise NotImplementedError

    def power_on(self) -> None:
        """Power-on reset: volatile state to its reset value."""

    def system_reset(self) -> None:
        """System reset (NRST pin, SYSRESETREQ): registers to reset values."""
        self.power_on()


class Memory(Device):
    """Plain byte-addressable memory backed by a bytearray the core can alias."""

    cpu_map = CpuMap.RAM

    def __init__(
        self,
        name: str,
        base: int,
        size: int,
        *,
        fill: int = 0x00,
        volatile: bool = True,
        writable: bool = True,
    ) -> None:
        super().__init__(name, base, size)
        self.fill = fill
        self.volatile = volatile
        self.writable = writable
        self.data = bytearray([fill]) * size
        if not writable:
            self.cpu_map = CpuMap.ROM

    def read(self, offset: int, size: int, access: Access) -> int:
        return int.from_bytes(self.data[offset : offset + size], "little")

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        if not self.writable:
            raise BusFault(self.base + offset, f"{self.name} is read-only", write=True)
        self.data[offset : offset + size] = value.to_bytes(size, "little")

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        return bytes(self.data[offset : offset + length])

    def write_block(self, offset: int, data: bytes, access: Access) -> None:
        if not self.writable:
            raise BusFault(self.base + offset, f"{self.name} is read-only", write=True)
        self.data[offset : offset + len(data)] = data

    def power_on(self) -> None:
        if self.volatile:
            self.data[:] = bytes([self.fill]) * self.size

    def system_reset(self) -> None:
        """SRAM keeps its content across a system reset; only power loss clears it."""


class Alias(Device):
    """A window that forwards to another device (the boot alias at 0x00000000 on G0)."""

    def __init__(self, name: str, base: int, size: int, target: Callable[[], Device]) -> None:
        super().__init__(name, base, size)
        self._target = target

    @property
    def target(self) -> Device:
        return self._target()

    @property
    def cpu_map(self) -> CpuMap:  # type: ignore[override]
        return self.target.cpu_map

    def _bounded(self, offset: int, length: int, write: bool) -> Device:
        target = self.target
        if offset + length > target.size:
            raise BusFault(
                self.base + offset, f"beyond {target.name} seen through {self.name}", write=write
            )
        return target

    def read(self, offset: int, size: int, access: Access) -> int:
        return self._bounded(offset, size, False).read(offset, size, access)

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        self._bounded(offset, size, True).write(offset, size, value, access)

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        return self._bounded(offset, length, False).read_block(offset, length, access)

    def write_block(self, offset: int, data: bytes, access: Access) -> None:
        self._bounded(offset, len(data), True).write_block(offset, data, access)

    def power_on(self) -> None:
        """The alias holds no state of its own."""


class RegisterBlock(Device):
    """A peripheral of 32-bit registers. Subclasses implement `read_reg`/`write_reg`.

    Byte and half-word accesses are served from the 32-bit register: reads select the lane,
    writes merge into the current value (what AHB/APB bridges of these parts do for most
    registers).
    """

    cpu_map = CpuMap.MMIO

    def read_reg(self, offset: int, access: Access) -> int:
        return 0

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        return None

    def read(self, offset: int, size: int, access: Access) -> int:
        aligned = offset & ~3
        value = self.read_reg(aligned, access) & 0xFFFFFFFF
        shift = (offset - aligned) * 8
        return (value >> shift) & ((1 << (size * 8)) - 1)

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        aligned = offset & ~3
        if size == 4 and aligned == offset:
            self.write_reg(aligned, value & 0xFFFFFFFF, access)
            return
        shift = (offset - aligned) * 8
        mask = ((1 << (size * 8)) - 1) << shift
        current = self.read_reg(aligned, access)
        self.write_reg(aligned, (current & ~mask) | ((value << shift) & mask), access)


class Bus:
    """Address decoder over non-overlapping devices.

    A chip maps a hundred or more register blocks, most of which a given run never touches, so
    blocks can be declared lazily (`declare`): the span is decoded like any device, and the
    device is built on first access (by address or by name). A fresh board therefore costs a
    handful of objects, not one per block.
    """

    def __init__(self, on_debug_access: Callable[[], None] | None = None) -> None:
        self._devices: list[Device] = []
        self._last: Device | None = None  # the device `find` answered last
        self._bases: list[int] = []
        self._lazy: list[tuple[int, int, str, Callable[[], Device]]] = []  # by base
        self._lazy_bases: list[int] = []
        self._lazy_names: dict[str, int] = {}
        self._on_debug_access = on_debug_access
        # Called with (address, length) after every write that did not come from the core:
        # the core drops translated code there, so code written by a debugger or the bootrom
        # runs as written, not as it was when last executed.
        self.write_observers: list[Callable[[int, int], None]] = []

    @property
    def devices(self) -> list[Device]:
        return list(self._devices)

    def declare(self, name: str, base: int, size: int, factory: Callable[[], Device]) -> None:
        """Put a block on the bus whose device is built on first access.

        A declared span that overlaps an attached device (a memory, a model attached up front)
        is dropped: what is attached wins.
        """
        end = base + size
        i = bisect.bisect_right(self._bases, base)
        prev = self._devices[i - 1] if i > 0 else None
        nxt = self._devices[i] if i < len(self._devices) else None
        if (prev and prev.end > base) or (nxt and end > nxt.base) or name in self._lazy_names:
            return
        j = bisect.bisect_right(self._lazy_bases, base)
        if (j > 0 and self._lazy[j - 1][1] > base) or (
            j < len(self._lazy) and end > self._lazy[j][0]
        ):
            return
        self._lazy.insert(j, (base, end, name, factory))
        self._lazy_bases.insert(j, base)
        self._lazy_names[name] = base

    def declared(self) -> list[tuple[int, int, str]]:
        """(base, end, name) of every declared block not built yet."""
        return [(b, e, n) for b, e, n, _f in self._lazy]

    def spans(self) -> list[tuple[int, int]]:
        """(base, end) of everything decoded: attached devices and declared blocks."""
        out = [(d.base, d.end) for d in self._devices] + [(b, e) for b, e, _n, _f in self._lazy]
        return sorted(out)

    def _build(self, j: int) -> Device:
        base, end, name, factory = self._lazy.pop(j)
        self._lazy_bases.pop(j)
        self._lazy_names.pop(name, None)
        device = factory()
        if device.base != base or device.end > end:
            device.base, device.size = base, end - base
        return self.attach(device)

    def _find_lazy(self, address: int) -> Device | None:
        j = bisect.bisect_right(self._lazy_bases, address) - 1
        if j >= 0 and address < self._lazy[j][1]:
            return self._build(j)
        return None

    def attach(self, device: Device) -> Device:
        if self._lazy:  # an attached device replaces any declared block it covers
            for j in reversed(range(len(self._lazy))):
                base, end, name, _f = self._lazy[j]
                if base < device.end and device.base < end:
                    self._lazy.pop(j)
                    self._lazy_bases.pop(j)
                    self._lazy_names.pop(name, None)
        i = bisect.bisect_right(self._bases, device.base)
        prev = self._devices[i - 1] if i > 0 else None
        nxt = self._devices[i] if i < len(self._devices) else None
        if (prev and prev.end > device.base) or (nxt and device.end > nxt.base):
            other = prev if prev and prev.end > device.base else nxt
            assert other is not None
            raise ValueError(
                f"{device.name} [0x{device.base:08X}+0x{device.size:X}] overlaps {other.name}"
            )
        self._devices.insert(i, device)
        self._last = None
        self._bases.insert(i, device.base)
        return device

    def find(self, address: int) -> Device | None:
        last = self._last
        if last is not None and last.base <= address < last.end:
            return last  # a driver's accesses come in runs on one block
        i = bisect.bisect_right(self._bases, address) - 1
        if i >= 0:
            dev = self._devices[i]
            if address < dev.end:
                self._last = dev
                return dev
        return self._find_lazy(address) if self._lazy else None

    def device(self, name: str) -> Device:
        for dev in self._devices:
            if dev.name == name:
                return dev
        base = self._lazy_names.get(name)
        if base is not None:
            return self._build(self._lazy_bases.index(base))
        raise KeyError(name)

    def built(self, name: str) -> Device | None:
        """The device called `name` if it exists already (declared blocks are not built)."""
        for dev in self._devices:
            if dev.name == name:
                return dev
        return None

    def has(self, name: str) -> bool:
        return name in self._lazy_names or any(d.name == name for d in self._devices)

    def _locate(self, address: int, length: int, write: bool) -> Device:
        dev = self.find(address)
        if dev is None:
            raise BusFault(address, "no memory or peripheral is mapped there", write=write)
        return dev

    def _tick(self, access: Access) -> None:
        if access is Access.DEBUG and self._on_debug_access is not None:
            self._on_debug_access()

    def read(self, address: int, size: int, access: Access = Access.DEBUG) -> int:
        self._tick(access)
        dev = self._locate(address, size, False)
        if address + size > dev.end:
            raise BusFault(address, f"access crosses the end of {dev.name}")
        return dev.read(address - dev.base, size, access)

    def write(self, address: int, size: int, value: int, access: Access = Access.DEBUG) -> None:
        self._tick(access)
        dev = self._locate(address, size, True)
        if address + size > dev.end:
            raise BusFault(address, f"access crosses the end of {dev.name}", write=True)
        dev.write(address - dev.base, size, value, access)
        if access is not Access.CPU:
            for observer in self.write_observers:
                observer(address, size)

    def read_block(self, address: int, length: int, access: Access = Access.DEBUG) -> bytes:
        out = bytearray()
        pos = address
        end = address + length
        while pos < end:
            self._tick(access)
            dev = self._locate(pos, 1, False)
            chunk = min(end, dev.end) - pos
            out += dev.read_block(pos - dev.base, chunk, access)
            pos += chunk
        return bytes(out)

    def write_block(self, address: int, data: bytes, access: Access = Access.DEBUG) -> None:
        pos = 0
        while pos < len(data):
            self._tick(access)
            dev = self._locate(address + pos, 1, True)
            chunk = min(len(data) - pos, dev.end - (address + pos))
            dev.write_block(address + pos - dev.base, bytes(data[pos : pos + chunk]), access)
            pos += chunk
        if access is not Access.CPU and data:
            for observer in self.write_observers:
                observer(address, len(data))
