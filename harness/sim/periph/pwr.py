"""PWR for every PWR version: voltage-scaling and regulator ready flags read 1.

Firmware raises the core voltage and waits for VOSRDY/ACTVOSRDY/ODRDY (names vary by family);
the simulator has no voltage, so every "...RDY" field of the version's layout reads 1 and
busy flags (L4 VOSF) read the 0 they settle to. Reset values the layout cannot give come from
the reference manuals per version.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from harness.sim.bus import Access
from harness.sim.periph.plain import PlainRegisters

if TYPE_CHECKING:
    from harness.sim.periph.context import BlockContext

# RM0444 4.4 (G0 CR1 reset), RM0433 6.8 (H7 CR3 LDOEN|SDEN... and D3CR VOS).
RESET_BY_VERSION = {
    "g0": {0x00: 0x00000208},
    "h7rm0433": {0x0C: 0x00000006, 0x18: 0x00004000},
}


class Pwr(PlainRegisters):
    def __init__(self, ctx: BlockContext) -> None:
        self.always_one: dict[int, int] = defaultdict(int)
        if ctx.layout is not None:
            for reg in ctx.layout.registers:
                for f in reg.fields:
                    if f.name.partition("[")[0].endswith("RDY"):
                        self.always_one[reg.offset] |= 1 << f.bit_offset
        super().__init__(ctx.name, ctx.base, RESET_BY_VERSION.get(ctx.version, {}), ctx.size)

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0) | self.always_one.get(offset, 0)
