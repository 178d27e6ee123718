"""The non-volatile flash array shared by every flash controller model.

It holds what survives a power cycle: cell contents, which program units have been written
since their last erase, and which units hold a bad ECC (written partially, twice, or
interrupted). Reads by the core or debugger of a bad unit raise `EccError`, as a double-bit
ECC error does on silicon. Only the controller writes cells; the bus-facing `write` forwards to
the controller's programming logic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from stm32_hil.errors import BusFault, EccError
from stm32_hil.parts import FlashGeometry
from stm32_hil.sim.bus import Access, CpuMap, Device, RegisterBlock

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard


class ProgramPort(Protocol):
    """What the array needs from its controller: the programming and read-permission logic."""

    def bus_write(self, address: int, size: int, value: int, access: Access) -> None: ...

    def check_read(self, address: int, length: int, access: Access) -> None: ...


class FlashArray(Device):
    """Main flash cells at `geometry.base`. ECC granularity = the programming unit."""

    cpu_map = CpuMap.ROM

    def __init__(self, name: str, geometry: FlashGeometry) -> None:
        super().__init__(name, geometry.base, geometry.size)
        self.geometry = geometry
        self.unit = geometry.program_unit
        self.data = bytearray([geometry.erase_value]) * geometry.size
        self.written: set[int] = set()  # unit indices programmed since their last erase
        self.ecc_bad: set[int] = set()  # unit indices whose ECC no longer matches
        self.port: ProgramPort | None = None
        self.on_change: list[Callable[[int, int], None]] = []  # (offset, length) observers

    # -- cell-level operations used by controllers --------------------------------------
    def unit_index(self, offset: int) -> int:
        return offset // self.unit

    def program_unit(self, offset: int, payload: bytes, *, interrupted: bool = False) -> None:
        """Program one unit: cells only go 1 -> 0. A second write or an interruption spoils ECC.

        `interrupted` models power loss or reset mid-operation: only some of the 1->0 bit
        transitions happen and the ECC bits are not written consistently.
        """
        assert offset % self.unit == 0 and len(payload) == self.unit
        idx = offset // self.unit
        old = self.data[offset : offset + self.unit]
        if interrupted:
            # Half of the requested transitions happened (deterministic: even byte lanes).
            new = bytes((o & p) if i % 2 == 0 else o for i, (o, p) in enumerate(zip(old, payload)))
            self.ecc_bad.add(idx)
        else:
            new = bytes(o & p for o, p in zip(old, payload))
            if idx in self.written:
                self.ecc_bad.add(idx)
        self.data[offset : offset + self.unit] = new
        self.written.add(idx)
        self._changed(offset, self.unit)

    def erase_range(self, offset: int, length: int, *, interrupted: bool = False) -> None:
        """Erase [offset, offset+length). Interrupted: the first half erased, the rest spoiled."""
        first_unit = offset // self.unit
        last_unit = (offset + length) // self.unit
        if interrupted:
            half = (length // 2) // self.unit * self.unit
            self.data[offset : offset + half] = bytes([self.geometry.erase_value]) * half
            for idx in range(first_unit, last_unit):
                self.written.discard(idx)
                if idx >= first_unit + half // self.unit:
                    self.ecc_bad.add(idx)
                else:
                    self.ecc_bad.discard(idx)
        else:
            self.data[offset : offset + length] = bytes([self.geometry.erase_value]) * length
            for idx in range(first_unit, last_unit):
                self.written.discard(idx)
                self.ecc_bad.discard(idx)
        self._changed(offset, length)

    def is_blank(self, offset: int, length: int) -> bool:
        ev = self.geometry.erase_value
        return self.data[offset : offset + length].count(ev) == length

    def bad_units_in(self, offset: int, length: int) -> list[int]:
        lo, hi = offset // self.unit, (offset + length - 1) // self.unit
        return sorted(i for i in self.ecc_bad if lo <= i <= hi)

    def _changed(self, offset: int, length: int) -> None:
        for cb in self.on_change:
            cb(offset, length)

    # -- bus side ----------------------------------------------------------------------
    def _check(self, offset: int, length: int, access: Access) -> None:
        if self.port is not None:
            self.port.check_read(self.base + offset, length, access)
        if self.ecc_bad:
            bad = self.bad_units_in(offset, length)
            if bad:
                raise EccError(self.base + bad[0] * self.unit)

    def read(self, offset: int, size: int, access: Access) -> int:
        self._check(offset, size, access)
        return int.from_bytes(self.data[offset : offset + size], "little")

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        self._check(offset, length, access)
        return bytes(self.data[offset : offset + length])

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        if self.port is None:
            raise BusFault(self.base + offset, "flash has no controller", write=True)
        self.port.bus_write(self.base + offset, size, value, access)

    def power_on(self) -> None:
        """Non-volatile: nothing is lost."""

    def system_reset(self) -> None:
        """Non-volatile: nothing is lost."""


class FlashRegisters(RegisterBlock):
    """A part's FLASH register block with the main-flash array it drives, both on the bus.

    Controller models derive from it; those that program the cells set `array.port = self`.
    """

    def __init__(self, board: SimBoard) -> None:
        part = board.part
        super().__init__("FLASH", part.flash_regs, 0x400)
        self.board = board
        self.part = part
        self.geometry = part.flash
        self.array = FlashArray("FLASH_MAIN", part.flash)
        board.bus.attach(self.array)
        board.bus.attach(self)
