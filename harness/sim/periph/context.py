"""What a behaviour model is given when the board builds it: the block's data and its board."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stm32_hil.parts.chipdata import BlockInfo, RegisterLayout

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard


@dataclass(frozen=True)
class BlockContext:
    board: SimBoard
    info: BlockInfo
    layout: RegisterLayout | None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def base(self) -> int:
        return self.info.base

    @property
    def size(self) -> int:
        return self.info.size

    @property
    def version(self) -> str:
        return self.info.version or ""

    def field(self, register: str, name: str) -> tuple[int, int, int] | None:
        """(register offset, bit offset, bit width) of a field named in the block's layout."""
        if self.layout is None:
            return None
        reg = self.layout.named(register)
        if reg is None:
            return None
        for f in reg.fields:
            if f.name == name:
                return reg.offset, f.bit_offset, f.bit_size
        return None

    def irq_number(self, *signals: str) -> int | None:
        """The NVIC line of the first of `signals` the block has (GLOBAL, then any, if none)."""
        chip = self.board.part.chip
        table = chip.interrupts if chip is not None else {}
        lines = dict(self.info.interrupts)
        for signal in (*signals, "GLOBAL"):
            if signal in lines and lines[signal] in table:
                return table[lines[signal]]
        if not signals:
            for _signal, irq in self.info.interrupts:
                if irq in table:
                    return table[irq]
        return self.board.part.irqs.get(self.info.name) if not self.info.interrupts else None

    def irq_line(self, *signals: str) -> Callable[[bool], None] | None:
        """Drive the block's NVIC line (None when the part gives it no interrupt)."""
        number = self.irq_number(*signals)
        if number is None:
            return None
        board = self.board

        def drive(level: bool, number: int = number) -> None:
            if board.core is not None:
                board.core.scs.set_line(number, level)

        return drive
