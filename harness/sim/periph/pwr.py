"""PWR for every PWR version: voltage-scaling and regulator ready flags read 1.

Firmware raises the core voltage and waits for VOSRDY/ACTVOSRDY/ODRDY (names vary by family);
the simulator has no voltage, so every "...RDY" field of the version's layout reads 1 and
busy flags (L4 VOSF) read the 0 they settle to. Reset values the layout cannot give come from
the reference manuals per version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.sim.periph.plain import FlagRegisters, flag_bits

if TYPE_CHECKING:
    from stm32_hil.sim.periph.context import BlockContext

# RM0444 4.4 (G0 CR1 reset), RM0433 6.8 (H7 CR3 LDOEN|SDEN... and D3CR VOS).
RESET_BY_VERSION = {
    "g0": {0x00: 0x00000208},
    "h7rm0433": {0x0C: 0x00000006, 0x18: 0x00004000},
}


class Pwr(FlagRegisters):
    def __init__(self, ctx: BlockContext) -> None:
        ready = flag_bits(ctx.layout, lambda name: name.endswith("RDY"))
        reset = RESET_BY_VERSION.get(ctx.version, {})
        super().__init__(ctx.name, ctx.base, ready, reset, ctx.size)
