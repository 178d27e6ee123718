"""STM32 QUADSPI controller at register level (RM0433 chapter 23), driving NorFlash chips.

The same block (quadspi_v1 in the data) serves F4, F7, G4, L4, H7 and WB parts. The command
engine (FIFO, indirect transfers, lazy automatic polling, the memory-mapped window) is shared
with OCTOSPI in `spi_memory`; this module holds what is QUADSPI's own: the register layout,
CCR's phase encoding, dual-flash mode (two chips, bytes interleaved, the address halved), the
start rule (RM0433 23.3.10) and:
- DDR mode (CCR.DDRM): address, alternate bytes and data at double rate, the instruction at
  single rate; the chip answers only commands its datasheet has in DTR (Micron, Macronix
  0Dh/BDh/EDh); any other leaves it deaf;
- SIOO (CCR.SIOO): the instruction goes out only with the first command after a CCR write,
  in every functional mode; later commands reach a chip only in continuous-read mode;
- the timeout counter (CR.TCEN, LPTR): in memory-mapped mode, TOF is set once the window has
  been idle for LPTR clocks (core clocks here; the controller releases NCS then);
- the reset line from RCC (QSPIRST): `reset()`, through the RCC model and the data's bit.
The 256 MiB window's base comes from the part's family data (`xspi_windows`).
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
from stm32_hil.sim.periph.xspi_windows import window_base

WINDOW_BASE = 0x90000000
REGS_SIZE = 0x1000

CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR, LPTR = range(0, 0x34, 4)
CR_EN, CR_ABORT, CR_DFM, CR_FSEL, CR_APMS, CR_PMM = 1 << 0, 1 << 1, 1 << 6, 1 << 7, 1 << 22, 1 << 23
CR_TCEN = 1 << 3
CCR_SIOO, CCR_DDRM = 1 << 28, 1 << 31
SR_TOF = 1 << 4
LINES = (0, 1, 2, 4)  # IMODE/ADMODE/ABMODE/DMODE encodings


class QuadspiHost(Protocol):
    """What attach_quadspi needs from a board: part data, a bus and a clock."""

    part: Any
    bus: Any
    clock: Any


class Quadspi(SpiMemoryController):
    SR, FCR, DLR, AR, DR, PSMKR, PSMAR = SR, FCR, DLR, AR, DR, PSMKR, PSMAR
    PLAIN_READS = (CR, DCR, FCR, CCR, AR, ABR, DLR, PSMKR, PSMAR, PIR, LPTR)  # FCR reads 0
    LATCHES = (DLR, PSMKR, PSMAR, PIR, LPTR)

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
        self.ddtr = False  # data phase at double rate (CCR.DDRM)
        self.instruction_sent = False  # SIOO: the instruction went out since the CCR write
        self.idle_since: int | None = None  # core clock of the last memory-mapped access
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
        if not covers(((self.ccr >> 12) & 3) + 1, min(self.mapped_size, chip.spec.size), chip):
            return None
        return chip if serves_linearly(self.ccr, chip, self.regs[ABR]) else None

    # -- transactions -----------------------------------------------------------------------
    def _open(self, address: int) -> None:
        self._close()
        ccr = self.ccr
        self.txs = []
        addr = address >> 1 if self.dual else address  # dual: the address LSB picks the chip
        skip = bool(ccr & CCR_SIOO) and self.instruction_sent
        for chip in self._targets():
            t = chip.begin()
            apply_phases(t, ccr, addr, self.regs[ABR], instruction=not skip)
            self.txs.append(t)
        self.instruction_sent = True
        self.dlines = LINES[(ccr >> 24) & 3]
        self.ddtr = bool(ccr & CCR_DDRM)
        self.wire_pos = 0  # byte index on the wire: its parity picks the chip in dual mode
        self.active = True

    def _wire_read(self, n: int) -> bytes:
        if not self.txs:
            return b"\xff" * n
        if not self.dual:
            return self.txs[0].receive(n, self.dlines, self.ddtr)
        out = bytearray()
        for _ in range(n):  # even bytes from flash 1, odd bytes from flash 2
            out += self.txs[self.wire_pos & 1].receive(1, self.dlines, self.ddtr)
            self.wire_pos += 1
        return bytes(out)

    def _wire_write(self, data: bytes) -> None:
        if not self.dual:
            for t in self.txs:
                t.send(data, self.dlines, self.ddtr)
            return
        for byte in data:
            self.txs[self.wire_pos & 1].send(bytes([byte]), self.dlines, self.ddtr)
            self.wire_pos += 1

    # -- timeout counter (memory-mapped mode) -------------------------------------------------
    def _now(self) -> int | None:
        clock = getattr(self, "clock", None)
        return int(clock.now) if clock is not None else None

    def _timeout_check(self) -> None:
        """TOF once the window has been idle LPTR clocks with TCEN set (RM0433 23.3.13)."""
        now = self._now()
        if now is None or self.fmode != FMODE_MMAP or not self.cr & CR_TCEN:
            return
        if self.idle_since is None:
            self.idle_since = now
        elif now - self.idle_since >= (self.regs[LPTR] & 0xFFFF):
            self.sr |= SR_TOF
            self.idle_since = 1 << 62  # NCS released: counts again from the next access

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == SR:
            self._timeout_check()
        return super().read_reg(offset, access)

    def mmap_read(self, offset: int, length: int) -> bytes:
        self.idle_since = self._now()
        return super().mmap_read(offset, length)

    # -- command start (RM0433 23.3.10: triggering the start of a command) ------------------
    def _start(self) -> None:
        self.sr &= ~(SR_TCF | SR_SMF)
        self.fifo.clear()
        self._launch(has_data=bool((self.ccr >> 24) & 3))

    def _stores(self) -> tuple[int, ...]:
        """AR, when writing it starts nothing (`_triggers`)."""
        return () if self._triggers(AR) else (AR,)

    def _steady(self) -> tuple[int, ...]:
        """CR, and CCR when writing it again starts nothing. In an indirect mode the window
        maps nothing whatever CR and CCR say, so its refresh finds what it had; without SIOO
        `instruction_sent` changes nothing, and `idle_since` counts in memory-mapped mode only
        (entering it takes a CCR write of another value, which sets it)."""
        if self.ccr & CCR_SIOO or self._triggers(CCR):
            return (CR,)
        return (CR, CCR)

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
        if offset == ABR:
            self.window.refresh()
        if offset == CCR:
            self.instruction_sent = False
            self.idle_since = self._now()
            self.window.refresh()
        if offset in (CCR, AR) and self._triggers(offset):
            self._start()

    def _triggers(self, offset: int) -> bool:
        """RM0433 23.3.10: does writing `offset` (CCR or AR) start the configured command?"""
        if not self.cr & CR_EN or self.fmode == FMODE_MMAP:
            return False
        ccr = self.ccr
        if self.fmode == FMODE_WRITE and (ccr >> 24) & 3:
            return False  # starts on the first DR write
        has_address = bool((ccr >> 10) & 3)
        return has_address if offset == AR else not has_address


def apply_phases(
    t: Transaction, ccr: int, address: int, alternate: int = 0, *, instruction: bool = True
) -> None:
    """CCR's instruction, address, alternate-byte and dummy phases onto an open transaction."""
    imode = LINES[(ccr >> 8) & 3]
    ddr = bool(ccr & CCR_DDRM)  # the instruction stays single rate in DDR mode
    if imode and instruction:
        t.instruction(ccr & 0xFF, imode)
    admode, adsize = LINES[(ccr >> 10) & 3], ((ccr >> 12) & 3) + 1
    if admode:
        t.address_phase(address & ((1 << (8 * adsize)) - 1), adsize, admode, ddr)
    abmode = LINES[(ccr >> 14) & 3]
    if abmode:
        t.alternate(((ccr >> 16) & 3) + 1, abmode, ddr, alternate)
    dcyc = (ccr >> 18) & 0x1F
    if dcyc:
        t.dummy(dcyc)


def covers(adsize: int, span: int, chip: NorFlash) -> bool:
    """Does an `adsize`-byte address reach every byte of `span` as itself? A 3-byte address on
    a chip over 16 MiB wraps there (and lands in the EAR's bank), so the window cannot alias
    the cells: each access goes through the chip with its truncated address."""
    if adsize < 4 and chip.high_address():
        return False
    return (1 << (8 * adsize)) >= span


def serves_linearly(ccr: int, chip: NorFlash, alternate: int = 0) -> bool:
    """Would `chip` answer the memory-mapped CCR with a plain linear read of its cells?

    Runs the CCR's phases through the chip's own protocol state machine as a probe (the probe
    leaves no trace in the chip's log): only then may the window expose the cells directly.
    With SIOO, only a chip the mode byte keeps in continuous-read mode reads linearly.
    """
    before = len(chip.log)
    t = Transaction(chip)
    apply_phases(t, ccr, 0, alternate)
    del chip.log[before:]
    return (
        not t.deaf
        and t.cmd is not None
        and t.cmd.kind is Kind.READ
        and t.address is not None
        and t.pre_data_cycles == t.expected_cycles
        and LINES[(ccr >> 24) & 3] == t.data_lines
        and (not ccr & CCR_SIOO or t.xip_next)
    )


class QuadspiWindow(MappedWindow):
    """The memory-mapped window (read-only on silicon); 0x90000000 on every family."""

    def __init__(self, ctrl: Quadspi) -> None:
        super().__init__(ctrl, "QUADSPI_WINDOW", getattr(ctrl, "window_base", WINDOW_BASE))

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        raise BusFault(self.base + offset, "the QUADSPI window is read-only", write=True)


def attach_quadspi(board: QuadspiHost, chips: list[NorFlash | str]) -> Quadspi:
    """Build the controller and its window onto `board`; chip names use the board's clock."""
    clock = board.clock
    models = [
        c if isinstance(c, NorFlash) else NorFlash(c, lambda: clock.now / clock.hz) for c in chips
    ]
    block = next(b for b in board.part.blocks if b.kind == "quadspi")
    ctrl = Quadspi(block.name, block.base, models)
    ctrl.window.base = window_base(board.part, block.name)
    board.bus.attach(ctrl)
    board.bus.attach(ctrl.window)
    return ctrl
