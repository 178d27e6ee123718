"""USART at register level (the STM32 "v2" USART of G0/H7/F7/L4) plus its host-side line.

The core sees CR1/ISR/RDR/TDR; the host (a pyserial port, the bootrom, a test) sees a byte
pipe. When the Python bootrom owns the USART (the part booted into system memory) host bytes go
to the bootrom's `feed` instead of the receive FIFO.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access, RegisterBlock

if TYPE_CHECKING:
    from stm32_hil.sim.periph.context import BlockContext

CR1, CR2, CR3, BRR, GTPR, RTOR, RQR, ISR, ICR, RDR, TDR = (
    0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28,
)  # fmt: skip
CR1_UE, CR1_RE, CR1_TE = 1 << 0, 1 << 2, 1 << 3
CR1_RXNEIE, CR1_TCIE, CR1_TXEIE = 1 << 5, 1 << 6, 1 << 7
ISR_ORE, ISR_RXNE, ISR_TC, ISR_TXE = 1 << 3, 1 << 5, 1 << 6, 1 << 7
RX_FIFO_DEPTH = 64  # host-side buffering; the peripheral itself exposes one byte at a time


class Usart(RegisterBlock):
    def __init__(self, name: str, base: int, size: int = 0x400) -> None:
        super().__init__(name, base, size)
        self.rx: deque[int] = deque()  # host -> device, waiting in RDR
        self.tx: deque[int] = deque()  # device -> host, not yet read by the host
        self.host_sink: Callable[[bytes], None] | None = None  # bootrom takes the line
        self.on_irq: Callable[[bool], None] | None = None  # NVIC line level
        self.rx_dropped = 0
        self.power_on()

    @classmethod
    def for_block(cls, ctx: BlockContext) -> Usart:
        usart = cls(ctx.name, ctx.base, ctx.size)
        usart.on_irq = ctx.irq_line()
        return usart

    def power_on(self) -> None:
        self.cr1 = self.cr2 = self.cr3 = self.brr = 0
        self.ore = False
        self.rx.clear()

    # -- host side ---------------------------------------------------------------------
    def host_write(self, data: bytes) -> None:
        """Bytes arriving on RX from the host."""
        if self.host_sink is not None:
            self.host_sink(bytes(data))
            return
        for b in data:
            if len(self.rx) >= RX_FIFO_DEPTH:
                self.ore = True
                self.rx_dropped += 1
            else:
                self.rx.append(b)
        self._update_irq()

    def host_read(self, limit: int = 1 << 30) -> bytes:
        out = bytearray()
        while self.tx and len(out) < limit:
            out.append(self.tx.popleft())
        return bytes(out)

    def device_send(self, data: bytes) -> None:
        """Bytes the device transmits (firmware through TDR, or the bootrom)."""
        self.tx.extend(data)

    @property
    def host_pending(self) -> int:
        return len(self.tx)

    # -- registers ---------------------------------------------------------------------
    def _isr(self) -> int:
        v = ISR_TC | ISR_TXE
        if self.rx:
            v |= ISR_RXNE
        if self.ore:
            v |= ISR_ORE
        return v

    def _update_irq(self) -> None:
        if self.on_irq is not None:
            level = bool(self.cr1 & CR1_UE) and (
                (bool(self.cr1 & CR1_RXNEIE) and bool(self.rx))
                or bool(self.cr1 & (CR1_TXEIE | CR1_TCIE))
            )
            self.on_irq(level)

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == CR1:
            return self.cr1
        if offset == CR2:
            return self.cr2
        if offset == CR3:
            return self.cr3
        if offset == BRR:
            return self.brr
        if offset == ISR:
            return self._isr()
        if offset == RDR:
            if access is Access.DEBUG:  # a debugger peeking does not pop the byte
                return self.rx[0] if self.rx else 0
            value = self.rx.popleft() if self.rx else 0
            self._update_irq()
            return value
        return 0

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == CR1:
            self.cr1 = value
            self._update_irq()
        elif offset == CR2:
            self.cr2 = value
        elif offset == CR3:
            self.cr3 = value
        elif offset == BRR:
            self.brr = value & 0xFFFF
        elif offset == ICR:
            if value & ISR_ORE:
                self.ore = False
        elif offset == RQR:
            if value & (1 << 3):  # RXFRQ: flush receive data
                self.rx.clear()
                self._update_irq()
        elif offset == TDR and (self.cr1 & (CR1_UE | CR1_TE)) == (CR1_UE | CR1_TE):
            self.tx.append(value & 0xFF)
