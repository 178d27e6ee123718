"""STM32H7 QUADSPI controller at register level (RM0433 chapter 23), driving NorFlash chips.

Indirect transfers run against the chip as the FIFO is filled or drained: a 32-byte FIFO,
FTF against the FTHRES threshold, TCF when DLR+1 bytes went over the wire, BUSY until the
FIFO is empty. Automatic polling is evaluated lazily: the status the chip would return now is
read (one real status transaction) whenever software looks at SR/DR; the chip's status only
changes with time, so the first look after the operation ends sees the match, as the first
poll after it would.

Memory-mapped mode: the 256 MiB window at 0x90000000 is a separate bus device. When a
single chip is mapped with a read command the chip serves linearly (its phases match the
chip's table exactly), the window exposes the chip's bytearray as `data` with
`cpu_map = ROM`, so a core can alias it and reads cost nothing; otherwise (dual-flash
interleave, chip busy, wrong dummy cycles...) every access runs a read transaction through
the chip model. Listeners in `window.on_remap` are told when that choice changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from harness.errors import BusFault, ConfigError
from harness.sim.bus import Access, CpuMap, Device, RegisterBlock
from harness.sim.memories.nor.chip import NorFlash, Transaction
from harness.sim.memories.nor.commands import Kind

WINDOW_BASE = 0x90000000
WINDOW_SIZE = 0x10000000
REGS_SIZE = 0x1000
FIFO_SIZE = 32

CR, DCR, SR, FCR, DLR, CCR, AR, ABR, DR, PSMKR, PSMAR, PIR, LPTR = range(0, 0x34, 4)
CR_EN, CR_ABORT, CR_DFM, CR_FSEL, CR_APMS, CR_PMM = 1 << 0, 1 << 1, 1 << 6, 1 << 7, 1 << 22, 1 << 23
SR_TEF, SR_TCF, SR_FTF, SR_SMF, SR_TOF, SR_BUSY = 1, 2, 4, 8, 16, 32
FMODE_WRITE, FMODE_READ, FMODE_POLL, FMODE_MMAP = range(4)
LINES = (0, 1, 2, 4)  # IMODE/ADMODE/ABMODE/DMODE encodings


class QuadspiHost(Protocol):
    """What attach_quadspi needs from a board: part data, a bus and a clock."""

    part: Any
    bus: Any
    clock: Any


class Quadspi(RegisterBlock):
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
        self._close()
        self.regs = dict.fromkeys(range(0, 0x34, 4), 0)
        self.fifo = bytearray()
        self.sr = 0
        self.remaining = 0  # bytes still to move over the wire in this command
        self.active = False
        self.last_status = 0
        self.window.refresh()

    def power_on(self) -> None:
        self.reset()

    def system_reset(self) -> None:
        self.reset()

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
    def dual(self) -> bool:
        return bool(self.cr & CR_DFM) and len(self.chips) == 2

    def _targets(self) -> list[NorFlash]:
        if self.dual:
            return self.chips
        bank = 1 if self.cr & CR_FSEL else 0
        if bank >= len(self.chips):
            return []
        return [self.chips[bank]]

    # -- transactions -----------------------------------------------------------------------
    def _open(self, address: int | None) -> None:
        """Chip select low and send instruction, address, alternate bytes and dummy cycles."""
        self._close()
        ccr = self.ccr
        imode, admode = LINES[(ccr >> 8) & 3], LINES[(ccr >> 10) & 3]
        abmode, dcyc = LINES[(ccr >> 14) & 3], (ccr >> 18) & 0x1F
        adsize, absize = ((ccr >> 12) & 3) + 1, ((ccr >> 16) & 3) + 1
        self.txs: list[Transaction] = []
        addr = self.regs[AR] if address is None else address
        if self.dual:
            addr >>= 1  # each chip holds half: the address LSB selects the chip
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

    def _close(self) -> None:
        for t in getattr(self, "txs", []):
            t.end()
        self.txs = []
        self.active = False

    def _wire_read(self, n: int) -> bytes:
        if not self.txs:
            return b"\xff" * n
        if not self.dual:
            return self.txs[0].receive(n, self.dlines)
        out = bytearray()
        for _ in range(n):  # even bytes from flash 1, odd bytes from flash 2
            out += self.txs[self.wire_pos & 1].receive(1, self.dlines)
            self.wire_pos += 1
        return bytes(out)

    def _wire_write(self, data: bytes) -> None:
        if not self.dual:
            for t in self.txs:
                t.send(data, self.dlines)
            return
        for byte in data:
            self.txs[self.wire_pos & 1].send(bytes([byte]), self.dlines)
            self.wire_pos += 1

    # -- command start (RM0433 23.3.10: triggering the start of a command) ------------------
    def _start(self) -> None:
        ccr = self.ccr
        dmode = (ccr >> 24) & 3
        if self.regs[DLR] != 0xFFFFFFFF:
            length = self.regs[DLR] + 1
        else:
            # RM0433 QUADSPI_DLR: all ones in indirect mode is an undefined length, the
            # transfer runs to the end of the memory as DCR.FSIZE defines it.
            length = max(self.mapped_size - self.regs[AR] % self.mapped_size, 1)
        self.sr &= ~(SR_TCF | SR_SMF)
        self.sr |= SR_BUSY
        self.fifo.clear()
        if self.fmode == FMODE_POLL:
            self.poll_due = True
            self._update()
            return
        self._open(None)
        if dmode == 0:
            self._complete()
            return
        self.remaining = length
        if self.fmode == FMODE_READ:
            self._fill()

    def _complete(self) -> None:
        self._close()
        self.sr |= SR_TCF
        if not self.fifo:
            self.sr &= ~SR_BUSY

    def _fill(self) -> None:
        """Indirect read: bytes arrive from the chip as long as the FIFO has room."""
        room = min(FIFO_SIZE - len(self.fifo), self.remaining)
        if room > 0 and self.active:
            self.fifo += self._wire_read(room)
            self.remaining -= room
            if self.remaining == 0:
                self._complete()

    def _poll(self) -> None:
        """One automatic-polling cycle: a status read, compared with PSMAR under PSMKR."""
        self._open(None)
        nbytes = min(4, self.regs[DLR] + 1)
        value = int.from_bytes(self._wire_read(nbytes), "little")
        self._close()
        self.last_status = value
        mask, match = self.regs[PSMKR], self.regs[PSMAR]
        equal = ~(value ^ match) & mask
        # PMM = 0: every unmasked bit must match (AND); PMM = 1: any one is enough (OR).
        hit = bool(equal) if self.cr & CR_PMM else equal == mask
        if hit:
            self.sr |= SR_SMF
            if self.cr & CR_APMS:
                self.sr &= ~SR_BUSY
                self.poll_due = False

    def _update(self) -> None:
        if self.fmode == FMODE_POLL and self.sr & SR_BUSY and getattr(self, "poll_due", False):
            self._poll()

    # -- flags ------------------------------------------------------------------------------
    def _status(self) -> int:
        self._update()
        sr = self.sr & ~(SR_FTF | (0x3F << 8))
        level = len(self.fifo)
        if self.fmode == FMODE_WRITE and self.cr & CR_EN and not self.sr & SR_TCF:
            if FIFO_SIZE - level >= self.fthres:  # room for the threshold: write DR
                sr |= SR_FTF
        elif self.fmode == FMODE_READ and (level >= self.fthres or (level and not self.active)):
            sr |= SR_FTF
        return sr | (min(level, 32) << 8)

    # -- register access ----------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        if offset == SR:
            return self._status()
        if offset == DR:
            return self._read_dr(4, advance=False)
        return self.regs.get(offset, 0)

    def read(self, offset: int, size: int, access: Access) -> int:
        if offset & ~3 == DR and self.fmode in (FMODE_READ, FMODE_POLL):
            return self._read_dr(size, advance=True)
        return super().read(offset, size, access)

    def _read_dr(self, size: int, *, advance: bool) -> int:
        if self.fmode == FMODE_POLL:
            self._update()
            return self.last_status
        if self.fmode != FMODE_READ:
            return 0
        self._fill()
        take = bytes(self.fifo[:size])
        if advance:
            del self.fifo[:size]
            self._fill()
            if not self.fifo and not self.active:
                self.sr &= ~SR_BUSY
        return int.from_bytes(take.ljust(size, b"\0"), "little")

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        if offset & ~3 == DR:
            self._write_dr(value.to_bytes(size, "little"))
            return
        super().write(offset, size, value, access)

    def _write_dr(self, data: bytes) -> None:
        if self.fmode != FMODE_WRITE:
            return
        if not self.active:
            if self.sr & SR_TCF or not self.cr & CR_EN:
                return
            self._start()
        take = data[: self.remaining]
        self._wire_write(take)
        self.remaining -= len(take)
        if self.remaining == 0:
            self._complete()

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == CR:
            if value & CR_ABORT:
                self._close()
                self.fifo.clear()
                self.remaining = 0
                self.sr &= ~SR_BUSY
                value &= ~CR_ABORT
            self.regs[CR] = value & 0xFFDF1FDF
            self.window.refresh()
            return
        if offset == FCR:
            self.sr &= ~(value & (SR_TEF | SR_TCF | SR_SMF | SR_TOF))
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

    # -- memory-mapped reads -------------------------------------------------------------------
    @property
    def mapped_size(self) -> int:
        return 1 << (self._field(DCR, 16, 5) + 1)

    def mmap_read(self, offset: int, length: int) -> bytes:
        if self.fmode != FMODE_MMAP or not self.cr & CR_EN:
            raise BusFault(WINDOW_BASE + offset, "QUADSPI is not in memory-mapped mode")
        if offset + length > self.mapped_size:
            raise BusFault(WINDOW_BASE + offset, "beyond DCR.FSIZE of the QUADSPI window")
        direct = self.window.direct_chip()
        if direct is not None:
            return bytes(direct.data[offset : offset + length])
        self._open(offset)
        out = self._wire_read(length)
        self._close()
        return out


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


class QuadspiWindow(Device):
    """The 0x90000000 window; ROM-like (aliasable `data`) while a linear read is mapped."""

    def __init__(self, ctrl: Quadspi) -> None:
        super().__init__("QUADSPI_WINDOW", WINDOW_BASE, WINDOW_SIZE)
        self.ctrl = ctrl
        self.on_remap: list[Callable[[], None]] = []
        self._direct: NorFlash | None = None

    @property
    def cpu_map(self) -> CpuMap:  # type: ignore[override]
        return CpuMap.ROM if self.direct_chip() is not None else CpuMap.MMIO

    @property
    def data(self) -> bytearray:
        chip = self.direct_chip()
        if chip is None:
            raise BusFault(WINDOW_BASE, "QUADSPI window is not directly mapped now")
        return chip.data

    def direct_chip(self) -> NorFlash | None:
        chip = self._direct
        if chip is None or chip.busy or chip.selected:
            return None
        return chip

    def refresh(self) -> None:
        before = self._direct
        self._direct = self._linear_chip()
        if before is not self._direct:
            for listener in list(self.on_remap):
                listener()

    def _linear_chip(self) -> NorFlash | None:
        ctrl = self.ctrl
        if not ctrl.cr & CR_EN or ctrl.fmode != FMODE_MMAP or ctrl.dual:
            return None
        targets = ctrl._targets()
        if len(targets) != 1:
            return None
        chip = targets[0]
        return chip if serves_linearly(ctrl.ccr, chip) else None

    def read(self, offset: int, size: int, access: Access) -> int:
        return int.from_bytes(self.ctrl.mmap_read(offset, size), "little")

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        return self.ctrl.mmap_read(offset, length)

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
