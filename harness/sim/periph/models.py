"""The one table of behaviour models, chosen by register-block kind and version.

As embassy-stm32 picks a driver per register-block version from stm32-data, the board picks a
model here for each block of its chip: the first row whose kind matches and whose version
pattern (fnmatch) matches the block's version. A block no row matches is a generic register
file (stm32_hil.sim.periph.generic) and shows up in verdicts as a simulator gap when code uses
it. Models are imported only when a board first touches such a block.

Blocks the board wires itself are not in this table: the FLASH controller (its model comes
from the part's device entry), QUADSPI with the external memories of the inventory, and the
core's own SCS/SysTick/FPB/DWT.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stm32_hil.sim.bus import Device
    from stm32_hil.sim.periph.context import BlockContext


@dataclass(frozen=True)
class ModelRow:
    kind: str
    versions: str  # fnmatch pattern over the data's version ("*", "v[34]", "g0*")
    factory: str  # "module:callable" in stm32_hil.sim.periph, taking a BlockContext
    what: str  # one line for `hil parts show`


MODELS: tuple[ModelRow, ...] = (
    ModelRow(
        "rcc",
        "*",
        "rcc:Rcc",
        "ready flags follow enables, SWS follows SW, reset lines",
    ),
    ModelRow("pwr", "*", "pwr:Pwr", "ready flags read 1"),
    ModelRow("gpio", "v2", "gpio:Gpio", "reset state, modes and alternate functions"),
    ModelRow("syscfg", "g0", "syscfg:G0Syscfg", "boot memory remap, clock gate"),
    ModelRow("syscfg", "*", "syscfg:Syscfg", "compensation-cell ready flags"),
    ModelRow(
        "usart",
        "v[345]",
        "usart:Usart.for_block",
        "ISR/RDR/TDR, host line, interrupts",
    ),
    ModelRow(
        "timer",
        "*",
        "timer:Timer",
        "counts on virtual time, update flag and interrupt",
    ),
    ModelRow("iwdg", "*", "watchdog:Iwdg", "key sequence; bites only when started"),
    ModelRow("wwdg", "*", "watchdog:Wwdg", "bites only when enabled"),
    ModelRow("exti", "*", "exti:Exti", "pending bits clear on write 1"),
    ModelRow("spi", "v[123]*", "spi:ClassicSpi", "CR1/CR2/SR/DR, 8/16-bit frames, FIFO, NSS"),
    ModelRow("spi", "v[456]*", "spi:FifoSpi", "TSIZE/EOT/TXP/RXP, FIFO packets, CSTART, NSS"),
    ModelRow(
        "octospim",
        "v1",
        "octospim:octospim",
        "port mapping: which OCTOSPI drives which port (reset: 1 -> P1, 2 -> P2)",
    ),
    ModelRow("dbgmcu", "*", "models:dbgmcu", "IDCODE (DEV_ID, revision)"),
    ModelRow("uid", "*", "models:uid", "the board's 96-bit unique ID"),
)


def row_for(kind: str | None, version: str | None) -> ModelRow | None:
    if kind is None:
        return None
    for row in MODELS:
        if row.kind == kind and fnmatch.fnmatchcase(version or "", row.versions):
            return row
    return None


def factory_for(row: ModelRow) -> Callable[[BlockContext], Device]:
    module, _, attr = row.factory.partition(":")
    obj: object = importlib.import_module(f"stm32_hil.sim.periph.{module}")
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[return-value]


def dbgmcu(ctx: BlockContext) -> Device:
    from stm32_hil.sim.periph.sysinfo import IdcodeBlock

    return IdcodeBlock(ctx.board.part, ctx.base, ctx.size)


def uid(ctx: BlockContext) -> Device:
    from stm32_hil.sim.periph.sysinfo import UniqueId

    return UniqueId(ctx.name, ctx.base, ctx.size, ctx.board.uid)
