"""STM32 QUADSPI controller at register level (RM0433 chapter 23), driving NorFlash chips.

The command engine (FIFO, indirect transfers, lazy automatic polling, the memory-mapped
window) is shared with OCTOSPI in `spi_memory`; this module holds what is QUADSPI's own: the
register layout, CCR's phase encoding, dual-flash mode (two chips, bytes interleaved, the
address halved) and the start rule (RM0433 23.3.10). The 256 MiB window is at 0x90000000.
"""

from __future__ import annotations

from typing import Any, Protocol

from stm32_hil.errors import BusFault, ConfigError
from stm32_hil.sim.bus import Access
from stm32_hil.sim.memories.nor.chip import NorFlash, Transaction
from stm32_hil.sim.memories.nor.commands import Kind
from stm32_hil.sim.periph.spi_memory import (
    FMODE_MMAP,
    FMODE_WRITE,
    SR_BUSY,
    SR_SMF,
    SR_TCF,
    MappedWindow,
    SpiMemoryController,
)

WINDOW_BASE = 0x90000000
REGS_SIZE = 0x1000

CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR, LPTR = range(0, 0x34, 4)
CR_EN, CR_ABORT, CR_DFM, CR_FSEL, CR_APMS, CR_PMM = 1 << 0, 1 << 1, 1 << 6, 1 << 7, 1 << 22, 1 << 23
LINES = (0, 1, 2, 4)  # IMODE/ADMODE/ABMODE/DMODE encodings


class QuadspiHost(Protocol):
    """What attach_quadspi needs from a board: part data, a bus and a clock."""

    part: Any
    bus: Any
    clock: Any


class Quadspi(SpiMemoryController):
    SR, FCR, DLR, AR, DR, PSMKR, PSMAR = SR, FCR, DLR, AR, DR, PSMKR, PSMAR

    def __init__(self, name: str, base: int, chips: list[NorFlash]) -> None:
        super().__init__(name, base, REGS_SIZE)
        if not 1 <= len(chips) <= 2:
            raise ConfigError("QUADSPI drives one chip per bank: give one or two chips")
        self.chips = chips
        self.window = QuadspiWindow(self)
        self.reset()

    # -- reset ------------------------------------------------------------------------------
    def reset(self) -> None:
        """RCC AHB3RSTR.QSPIRST and system reset: registers to reset values, chip select high."""
        self.regs = dict.fromkeys(range(0, 0x34, 4), 0)
        self._reset_engine()
        self.window.refresh()

    # -- register fields ----------------------------------------------------------------------
    @property
    def cr(self) -> int:
        return self.regs[CR]

    @property
    def ccr(self) -> int:
        return self.regs[CCR]

    def _field(self, reg: int, shift: int, width: int) -> int:
        return (self.regs[reg] >> shift) & ((1 << width) - 1)

    @property
    def fmode(self) -> int:
        return self._field(CCR, 26, 2)

    @property
    def fthres(self) -> int:
        return self._field(CR, 8, 5) + 1

    @property
    def mapped_size(self) -> int:
        return 1 << (self._field(DCR, 16, 5) + 1)

    @property
    def dual(self) -> bool:
        return bool(self.cr & CR_DFM) and len(self.chips) == 2

    def _targets(self) -> list[NorFlash]:
        if self.dual:
            return self.chips
        bank = 1 if self.cr & CR_FSEL else 0
        if bank >= len(self.chips):
            return []
        return [self.chips[bank]]

    def linear_chip(self) -> NorFlash | None:
        if not self.cr & CR_EN or self.fmode != FMODE_MMAP or self.dual:
            return None
        targets = self._targets()
        if len(targets) != 1:
            return None
        chip = targets[0]
        return chip if serves_linearly(self.ccr, chip) else None

    # -- transactions -----------------------------------------------------------------------
    def _open(self, address: int) -> None:
        self._close()
        ccr = self.ccr
        imode, admode = LINES[(ccr >> 8) & 3], LINES[(ccr >> 10) & 3]
        abmode, dcyc = LINES[(ccr >> 14) & 3], (ccr >> 18) & 0x1F
        adsize, absize = ((ccr >> 12) & 3) + 1, ((ccr >> 16) & 3) + 1
        self.txs = []
        addr = address >> 1 if self.dual else address  # dual: the address LSB picks the chip
        for chip in self._targets():
            t = chip.begin()
            if imode:
                t.instruction(ccr & 0xFF, imode)
            if admode:
                t.address_phase(addr & ((1 << (8 * adsize)) - 1), adsize, admode)
            if abmode:
                t.alternate(absize, abmode)
            if dcyc:
                t.dummy(dcyc)
            self.txs.append(t)
        self.dlines = LINES[(ccr >> 24) & 3]
        self.wire_pos = 0  # byte index on the wire: its parity picks the chip in dual mode
        self.active = True

    def _wire_read(self, n: int) -> bytes:
        if not self.txs or not self.dual:
            return super()._wire_read(n)
        out = bytearray()
        for _ in range(n):  # even bytes from flash 1, odd bytes from flash 2
            out += self.txs[self.wire_pos & 1].receive(1, self.dlines)
            self.wire_pos += 1
        return bytes(out)

    def _wire_write(self, data: bytes) -> None:
        if not self.dual:
            super()._wire_write(data)
            return
        for byte in data:
            self.txs[self.wire_pos & 1].send(bytes([byte]), self.dlines)
            self.wire_pos += 1

    # -- command start (RM0433 23.3.10: triggering the start of a command) ------------------
    def _start(self) -> None:
        self.sr &= ~(SR_TCF | SR_SMF)
        self.fifo.clear()
        self._launch(has_data=bool((self.ccr >> 24) & 3))

    def _dr_blocked(self) -> bool:
        return not self.active and bool(self.sr & SR_TCF or not self.cr & CR_EN)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == CR:
            if value & CR_ABORT:
                self._abort()
                value &= ~CR_ABORT
            self.regs[CR] = value & 0xFFDF1FDF
            self.window.refresh()
            return
        if offset == FCR:
            self._clear_flags(value)
            return
        if offset in (SR, DR):
            return
        busy = bool(self.sr & SR_BUSY)
        if busy and offset in (DCR, DLR, CCR, AR, ABR, PSMKR, PSMAR, PIR):
            return  # RM0433: these registers can be written only when BUSY = 0
        self.regs[offset] = value
        if offset == CCR:
            self.window.refresh()
            if not self.cr & CR_EN or self.fmode == FMODE_MMAP:
                return
            needs_addr = (value >> 10) & 3
            needs_data = (value >> 24) & 3
            if not needs_addr and (self.fmode != FMODE_WRITE or not needs_data):
                self._start()
        elif offset == AR and self.cr & CR_EN and self.fmode != FMODE_MMAP:
            if (self.ccr >> 10) & 3 and (self.fmode != FMODE_WRITE or not (self.ccr >> 24) & 3):
                self._start()


def serves_linearly(ccr: int, chip: NorFlash) -> bool:
    """Would `chip` answer the memory-mapped CCR with a plain linear read of its cells?

    Runs the CCR's phases through the chip's own protocol state machine as a probe (the probe
    leaves no trace in the chip's log): only then may the window expose the cells directly.
    """
    before = len(chip.log)
    t = Transaction(chip)
    imode = LINES[(ccr >> 8) & 3]
    if imode:
        t.instruction(ccr & 0xFF, imode)
    if (ccr >> 10) & 3:
        t.address_phase(0, ((ccr >> 12) & 3) + 1, LINES[(ccr >> 10) & 3])
    if (ccr >> 14) & 3:
        t.alternate(((ccr >> 16) & 3) + 1, LINES[(ccr >> 14) & 3])
    t.dummy((ccr >> 18) & 0x1F)
    del chip.log[before:]
    return (
        not t.deaf
        and t.cmd is not None
        and t.cmd.kind is Kind.READ
        and t.address is not None
        and t.pre_data_cycles == t.expected_cycles
        and LINES[(ccr >> 24) & 3] == t.data_lines
    )


class QuadspiWindow(MappedWindow):
    """The 0x90000000 window (read-only on silicon)."""

    def __init__(self, ctrl: Quadspi) -> None:
        super().__init__(ctrl, "QUADSPI_WINDOW", WINDOW_BASE)

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        raise BusFault(self.base + offset, "the QUADSPI window is read-only", write=True)


def attach_quadspi(board: QuadspiHost, chips: list[NorFlash | str]) -> Quadspi:
    """Build the controller and its window onto `board`; chip names use the board's clock."""
    clock = board.clock
    models = [
        c if isinstance(c, NorFlash) else NorFlash(c, lambda: clock.now / clock.hz) for c in chips
    ]
    ctrl = Quadspi("QUADSPI", board.part.peripheral("QUADSPI"), models)
    board.bus.attach(ctrl)
    board.bus.attach(ctrl.window)
    return ctrl
