"""EXTI for every version of the data: pending registers clear on write 1, SWIER pends.

Versions name their pending registers differently (F4/L4 `PR1`/`PR2`, G0/U5 `RPR1`/`FPR1`, H7
`CPUPR1`, dual-core H7 `C2PR1`); the data names them as arrays (`PR[0]`, `RPR[1]`,
`CPU[1].PR[0]`). A register is a pending register when its reference-manual name matches
PENDING exactly, so PRIVCFGR, PRESC and the like stay plain read-back registers. A SWIER write
sets the same bits in the pending registers of the same index (the rising-edge one where
rising and falling are separate, as the reference manuals describe the software trigger).

Lines 0-15 drive the NVIC lines the data gives them (signals EXTI0..EXTI15) at the level
pending & IMR, so an interrupt raised through SWIER is taken by the core.

Named shortcuts:
- NO_PIN_ROUTING: GPIO edges do not reach EXTI; only SWIER sets pending bits.
- SWIER_IGNORES_IMR: a SWIER write pends the line even where F4/L4 require IMR set first.
- SWIER_READS_ZERO: SWIER reads 0 (G0/U5 behaviour); F4/L4 hold the bit until PR is cleared.
- RESET_ZERO: every register resets to 0 (some parts reset IMR of direct lines to 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.plain import PlainRegisters

if TYPE_CHECKING:
    from stm32_hil.sim.periph.context import BlockContext

PENDING = re.compile(r"^(C\d?)?(R|F|CPU)?PR\d?$")
_NESTED = re.compile(r"^CPU\[(\d+)\]\.(.+)$")
_INDEXED = re.compile(r"^([A-Z0-9_]+?)\[(\d+)\]$")
_LINE_SIGNAL = re.compile(r"^EXTI(\d+)$")
# RM0090-style layout (F4/L4 v1) for a block without layout data: SWIER 0x10, PR 0x14.
FALLBACK_IMR, FALLBACK_SWIER, FALLBACK_PR = 0x00, 0x10, 0x14


def manual_name(name: str) -> tuple[str, str, int]:
    """(reference-manual name, CPU prefix, array index) of a data register name.

    "PR[0]" -> ("PR1", "", 0); "CPU[0].PR[1]" -> ("CPUPR2", "CPU", 1);
    "CPU[1].PR[0]" -> ("C2PR1", "C2", 0); "PR1" -> ("PR1", "", 0).
    """
    prefix = ""
    nested = _NESTED.match(name)
    if nested is not None:
        cpu = int(nested[1])
        prefix = "CPU" if cpu == 0 else f"C{cpu + 1}"
        name = nested[2]
    indexed = _INDEXED.match(name)
    index = 0
    if indexed is not None:
        name, index = indexed[1], int(indexed[2])
        name = f"{name}{index + 1}"
    else:
        digits = re.search(r"(\d)$", name)
        index = int(digits[1]) - 1 if digits is not None and int(digits[1]) > 0 else 0
    return prefix + name, prefix, index


def is_pending(name: str) -> bool:
    """Whether a register (data or manual name) is an rc_w1 pending register."""
    return PENDING.match(manual_name(name)[0]) is not None


class Exti(PlainRegisters):
    def __init__(self, ctx: BlockContext) -> None:
        self.pending: set[int] = set()
        self.swier: dict[int, tuple[int, ...]] = {}  # SWIER offset -> pending offsets it sets
        primary_pending: list[int] = []  # index-0 pending registers of the primary core
        primary_imr: int | None = None
        if ctx.layout is None:
            self.pending = {FALLBACK_PR}
            self.swier = {FALLBACK_SWIER: (FALLBACK_PR,)}
            primary_pending, primary_imr = [FALLBACK_PR], FALLBACK_IMR
        else:
            by_index: dict[int, list[int]] = {}  # array index -> rising/plain pending offsets
            swiers: dict[int, int] = {}
            imrs: dict[tuple[str, int], int] = {}
            for reg in ctx.layout.registers:
                name, prefix, index = manual_name(reg.name)
                base = name[len(prefix) :].rstrip("0123456789")
                if PENDING.match(name):
                    self.pending.add(reg.offset)
                    if not base.startswith("F"):
                        by_index.setdefault(index, []).append(reg.offset)
                    if index == 0 and prefix in ("", "CPU"):
                        primary_pending.append(reg.offset)
                elif base == "SWIER":
                    swiers[reg.offset] = index
                elif base == "IMR":
                    imrs[(prefix, index)] = reg.offset
            self.swier = {off: tuple(by_index.get(i, ())) for off, i in swiers.items()}
            primary_imr = imrs.get(("", 0), imrs.get(("CPU", 0)))
        self.primary_pending = tuple(primary_pending)
        self.primary_imr = primary_imr
        # NVIC lines of EXTI lines 0-15: irq number -> (line mask, drive).
        lines: dict[int, tuple[int, Callable[[bool], None]]] = {}
        for signal, _irq in ctx.info.interrupts:
            m = _LINE_SIGNAL.match(signal)
            number = ctx.irq_number(signal) if m is not None else None
            drive = ctx.irq_line(signal) if number is not None else None
            if m is None or number is None or drive is None:
                continue
            mask, _ = lines.get(number, (0, drive))
            lines[number] = (mask | 1 << int(m[1]), drive)
        self.nvic = tuple(lines.values())
        super().__init__(ctx.name, ctx.base, None, ctx.size)

    def power_on(self) -> None:
        super().power_on()
        self._drive()

    def _drive(self) -> None:
        if not self.nvic or self.primary_imr is None:
            return
        pending = 0
        for off in self.primary_pending:
            pending |= self.regs.get(off, 0)
        active = pending & self.regs.get(self.primary_imr, 0)
        for mask, drive in self.nvic:
            drive(bool(active & mask))

    def read_reg(self, offset: int, access: Access) -> int:
        if offset in self.swier:
            return 0  # SWIER_READS_ZERO
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset in self.pending:
            self.regs[offset] = self.regs.get(offset, 0) & ~value  # rc_w1
        elif offset in self.swier:
            for target in self.swier[offset]:
                self.regs[target] = self.regs.get(target, 0) | value
        else:
            self.regs[offset] = value
        self._drive()
