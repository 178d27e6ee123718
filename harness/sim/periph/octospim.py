"""OCTOSPIM, the OCTOSPI I/O manager (RM0455 ch. 25, RM0456 ch. 28): which controller drives
which port.

Parts with two OCTOSPI instances (H7A3/B3, H72x/73x, L4+, U5) put the pins of the memories on
ports P1/P2 and let this block choose, per port signal, the instance that drives it: CLK,
NCS, DQS, IO[3:0] and IO[7:4] each have an enable and a source. At reset (P1CR = 0x03010111,
P2CR = 0x07050333) OCTOSPI1 drives port 1 and OCTOSPI2 port 2; a loader that swaps them, or
disables a port, leaves the memory on that port unreachable from the other instance, as on
silicon. CR.MUXEN (multiplexed mode: both instances share one port in turn) lets either
instance reach it. REQ2ACK_TIME is stored without effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stm32_hil.sim.bus import Access, RegisterBlock

if TYPE_CHECKING:
    from stm32_hil.sim.periph.context import BlockContext

CR = 0x0
MUXEN = 1 << 0
RESET = {CR: 0x00000000, 0x4: 0x03010111, 0x8: 0x07050333}
WRITABLE = {CR: 0x00FF0001, 0x4: 0x07370333, 0x8: 0x07370333}
CLKEN, CLKSRC, DQSEN, DQSSRC, NCSEN, NCSSRC = 1 << 0, 1 << 1, 1 << 4, 1 << 5, 1 << 8, 1 << 9
IOLEN, IOHEN = 1 << 16, 1 << 24


class Octospim(RegisterBlock):
    """The port-configuration registers; `route()` answers whether an instance reaches a port."""

    def __init__(self, name: str, base: int, size: int, ports: int = 2) -> None:
        super().__init__(name, base, size)
        self.ports = ports
        self.reset()

    def reset(self) -> None:
        self.regs = {off: RESET.get(off, 0x07050333) for off in range(0, 4 * (self.ports + 1), 4)}

    def power_on(self) -> None:
        self.reset()

    def system_reset(self) -> None:
        self.reset()

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset in self.regs:
            self.regs[offset] = value & WRITABLE.get(offset, 0x07370333)

    def route(self, instance: int, port: int, lines: int) -> str | None:
        """None if OCTOSPI`instance` drives every signal a `lines`-wide command needs on
        `port`; otherwise what the port configuration does instead (for the chip's log)."""
        if self.regs[CR] & MUXEN:
            return None
        pcr = self.regs.get(4 * port)
        if pcr is None:
            return f"OCTOSPIM has no port {port}"
        src = instance - 1
        wrong = []
        for name, enable, select in (("CLK", CLKEN, CLKSRC), ("NCS", NCSEN, NCSSRC)):
            if not pcr & enable:
                wrong.append(f"P{port} {name} disabled")
            elif bool(pcr & select) != bool(src):
                wrong.append(f"P{port} {name} from OCTOSPI{2 - src}")
        io_low = (pcr >> 17) & 3
        if not pcr & IOLEN:
            wrong.append(f"P{port} IO[3:0] disabled")
        elif io_low != 2 * src:
            half = "IO[7:4]" if io_low & 1 else "IO[3:0]"
            wrong.append(f"P{port} IO[3:0] from OCTOSPI{io_low // 2 + 1} {half}")
        if lines == 8:
            io_high = (pcr >> 25) & 3
            if not pcr & IOHEN:
                wrong.append(f"P{port} IO[7:4] disabled")
            elif io_high != 2 * src + 1:
                wrong.append(f"P{port} IO[7:4] from OCTOSPI{io_high // 2 + 1}")
        return "; ".join(wrong) or None


def octospim(ctx: BlockContext) -> Octospim:
    """Model-table factory: the ports are the PnCR registers the block's layout lists."""
    ports = 2
    if ctx.layout is not None:
        ports = sum(
            1 for r in ctx.layout.registers if r.name.startswith("P") and r.name.endswith("CR")
        )
    return Octospim(ctx.name, ctx.base, ctx.size, max(ports, 1))


def router(board: Any, instance_name: str, port: int | None = None) -> Callable[[int], str | None]:
    """For an OCTOSPI on a part with an I/O manager: why a command of `lines` lines does not
    reach the chip on `port` (None: it does). The chip of `OCTOSPIn` sits on port n, the port
    that instance drives out of reset; an untouched manager has its reset mapping."""
    instance = int(instance_name[-1]) if instance_name[-1].isdigit() else 1
    port = instance if port is None else port
    default = Octospim("OCTOSPIM", 0, 0x400)

    def check(lines: int) -> str | None:
        built = board.bus.built("OCTOSPIM")
        manager = built if isinstance(built, Octospim) else default
        return manager.route(instance, port, lines)

    return check
