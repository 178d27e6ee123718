"""Blocks without a behaviour model: register files that say they were used.

Real firmware touches far more of a chip than any simulator models (timers, CRC, DMA muxes,
interconnect tuning). Faulting there would blame code that works on silicon; pretending to
model it would hide that the result may differ. So every block the chip's data lists but no
model serves is a generic register file: reads return what was written (reset value 0 unless
the block's model table says otherwise), and each access is recorded in the board's
`GapLog` with the register's name from the data's layout and the first PC that made it. A
verdict built on a run that leaned on such a block can then say "simulator gap" and name it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stm32_hil.parts.chipdata import RegisterLayout
from stm32_hil.sim.bus import Access, RegisterBlock


@dataclass
class RegisterTouch:
    """One register of a generic block as code used it."""

    block: str
    register: str
    address: int
    reads: int = 0
    writes: int = 0
    first_pc: int | None = None  # None: touched only by a debugger or the host
    first_cycle: int = 0
    last_cycle: int = 0
    last_value: int = 0

    @property
    def name(self) -> str:
        return f"{self.block}.{self.register}"


class GapLog:
    """Every access a board's code made to blocks that are only generic register files."""

    def __init__(self, now: Callable[[], int]) -> None:
        self._now = now
        self.touches: dict[int, RegisterTouch] = {}  # by register address

    def record(
        self,
        block: str,
        register: Callable[[], str],
        address: int,
        *,
        write: bool,
        value: int,
        pc: Callable[[], int | None] | None,
    ) -> None:
        """Count one access; `pc` (None: not the core) and `register` are asked only once.

        Code polls generic registers in tight loops, so the per-access cost stays a dict
        look-up: the register's name and the PC are needed only for the first touch.
        """
        now = self._now()
        touch = self.touches.get(address)
        if touch is None:
            touch = self.touches[address] = RegisterTouch(
                block, register(), address, first_pc=pc() if pc else None, first_cycle=now
            )
        elif touch.first_pc is None and pc is not None:
            touch.first_pc = pc()
        if write:
            touch.writes += 1
        else:
            touch.reads += 1
        touch.last_value = value
        touch.last_cycle = now

    def mark(self) -> int:
        """A point in time; `since(mark)` lists what code touched after it."""
        return self._now()

    def since(self, mark: int = 0, *, by_code: bool = True) -> list[RegisterTouch]:
        out = [t for t in self.touches.values() if t.last_cycle >= mark]
        if by_code:
            out = [t for t in out if t.first_pc is not None]
        return sorted(out, key=lambda t: t.address)

    def blocks(self, mark: int = 0) -> list[str]:
        """Names of the generic blocks code touched since `mark`, in address order."""
        seen: list[str] = []
        for t in self.since(mark):
            if t.block not in seen:
                seen.append(t.block)
        return seen

    def register_at(self, address: int) -> RegisterTouch | None:
        """The touched register covering `address` (blocks may sit at half-word bases)."""
        touch = self.touches.get(address)
        if touch is not None:
            return touch
        return next((t for t in self.touches.values() if 0 <= address - t.address < 4), None)

    def clear(self) -> None:
        self.touches.clear()


class GenericBlock(RegisterBlock):
    """A register file standing in for a block with no behaviour model (see module doc)."""

    modelled = False

    def __init__(
        self,
        name: str,
        base: int,
        size: int,
        *,
        layout: RegisterLayout | None,
        log: GapLog,
        pc: Callable[[], int | None],
        reset: dict[int, int] | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(name, base, size)
        self.layout = layout
        self.kind = kind
        self._log = log
        self._pc = pc
        self._reset = dict(reset or {})
        self.regs: dict[int, int] = dict(self._reset)

    def register_name(self, offset: int) -> str:
        reg = self.layout.at(offset) if self.layout is not None else None
        return reg.name if reg is not None else f"+0x{offset:03X}"

    def power_on(self) -> None:
        self.regs = dict(self._reset)

    def read_reg(self, offset: int, access: Access) -> int:
        value = self.regs.get(offset, 0)
        self._record(offset, access, False, value)
        return value

    def steady_write(self, offset: int, size: int, value: int) -> bool:
        # A register file has no behaviour: no model can be waiting on what code writes here
        # (key sequences such as a sibling line's watchdog refresh alternate values), and a
        # loop polling this file's own registers is judged by the values it reads back.
        return True

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self.regs[offset] = value
        self._record(offset, access, True, value)

    def _record(self, offset: int, access: Access, write: bool, value: int) -> None:
        self._log.record(
            self.name,
            lambda: self.register_name(offset),
            self.base + offset,
            write=write,
            value=value,
            pc=self._pc if access is Access.CPU else None,
        )
