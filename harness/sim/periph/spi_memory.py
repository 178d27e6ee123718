"""What QUADSPI and OCTOSPI share: the FIFO, indirect transfers, automatic polling, the window.

The two controllers differ in where their registers sit, how a command's phases are encoded
and what starts a command; once a command runs, they behave alike (RM0433 ch. 23, RM0455
ch. 24): indirect transfers run against the chip as the 32-byte FIFO fills or drains (FTF
against FTHRES, FLEVEL, TCF when DLR+1 bytes went over the wire, BUSY until the FIFO is
empty), and automatic polling is evaluated lazily: the status the chip would return now is
read (one real status transaction) whenever software looks at SR/DR; the chip's status only
changes with time, so the first look after the operation ends sees the match, as the first
poll after it would.

Memory-mapped mode: the window is a separate bus device. While the controller maps a plain
linear read of one chip (`linear_chip()`), the window exposes that chip's bytearray as
`data` with `cpu_map = ROM`, so a core can alias it and reads cost nothing; otherwise every
access runs a read transaction through the chip model. Listeners in `window.on_remap` are told
when that choice changes.
"""

from __future__ import annotations

from collections.abc import Callable

from stm32_hil.errors import BusFault
from stm32_hil.sim.bus import SOURCE_BYTES, Access, CpuMap, Device, FastPath, RegisterBlock
from stm32_hil.sim.memories.nor.chip import NorFlash, Transaction

FIFO_SIZE = 32
WINDOW_SIZE = 0x10000000
SR_TEF, SR_TCF, SR_FTF, SR_SMF, SR_TOF, SR_BUSY = 1, 2, 4, 8, 16, 32
FCR_FLAGS = SR_TEF | SR_TCF | SR_SMF | SR_TOF  # the flags a write of one to FCR clears
FMODE_WRITE, FMODE_READ, FMODE_POLL, FMODE_MMAP = range(4)


class SpiMemoryController(RegisterBlock):
    """The command engine; subclasses give register offsets, phases and the start rule."""

    # Register offsets of the subclass's layout.
    SR: int
    FCR: int
    DLR: int
    AR: int
    DR: int
    PSMKR: int
    PSMAR: int
    CR_EN: int = 1 << 0
    CR_PMM: int = 1 << 23
    CR_APMS: int = 1 << 22
    CR_TCEN: int = 1 << 3  # timeout counter enable (memory-mapped mode)
    SIZE_FIELD = "DCR.FSIZE"  # the field that sets the window size, for messages
    TCF_ON_ABORT = False  # the reference manual sets TCF when a transfer is aborted
    # Registers a read of which returns the stored value and does nothing else: served by the
    # core without a call in indirect modes (automatic polling: a read may run a poll cycle).
    PLAIN_READS: tuple[int, ...] = ()
    # Registers a write of which, while BUSY = 0 in an indirect mode, only stores the value
    # (no command start, no window change): the core may queue those writes (FastPath).
    LATCHES: tuple[int, ...] = ()
    _plain_values: tuple[int | None, ...] = ()
    _plain_pairs: tuple[tuple[int, int], ...] = ()
    FTF_STOPS_AT_TCF = True  # indirect write: no FIFO-threshold flag once the command is done

    chips: list[NorFlash]
    window: MappedWindow
    regs: dict[int, int]

    def _reset_engine(self) -> None:
        self._close()
        self.fifo = bytearray()
        self.sr = 0
        self.remaining = 0  # bytes still to move over the wire in this command
        self.active = False
        self.poll_due = False
        self.last_status = 0
        self.quiet_poll = False  # the last automatic-polling read left nothing in a chip log
        self.status_read = False  # the access just served was a status read
        self.dlines = 0

    def power_on(self) -> None:
        self.reset()

    def system_reset(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    # -- what subclasses define ------------------------------------------------------------
    @property
    def cr(self) -> int:
        raise NotImplementedError

    @property
    def fmode(self) -> int:
        raise NotImplementedError

    @property
    def fthres(self) -> int:
        raise NotImplementedError

    @property
    def mapped_size(self) -> int:
        raise NotImplementedError

    def _open(self, address: int) -> None:
        """Chip select low; send instruction, address, alternate bytes and dummy cycles."""
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def _dr_blocked(self) -> bool:
        """A DR write in indirect-write mode is ignored (not enabled, or nothing to start)."""
        raise NotImplementedError

    def linear_chip(self) -> NorFlash | None:
        """The chip whose cells the window may expose as they are (None: go through reads)."""
        raise NotImplementedError

    def _check_mapped(self, offset: int) -> None:
        """Refuse a memory-mapped read the model cannot serve (default: none)."""

    # -- transactions -----------------------------------------------------------------------
    def _close(self) -> None:
        for t in getattr(self, "txs", []):
            t.end()
        self.txs: list[Transaction] = []
        self.active = False
        # Bytes of an indirect read taken off the wire before the FIFO needs them, so the core
        # can serve DR reads without a call (fast_path); never more than `remaining`.
        self._ahead = bytearray()

    def _from_wire(self, n: int) -> bytes:
        """The next `n` bytes of the indirect read: those already taken ahead first."""
        ahead = self._ahead
        if not ahead:
            return self._wire_read(n)
        take = bytes(ahead[:n])
        del ahead[:n]
        return take + self._wire_read(n - len(take)) if len(take) < n else take

    def _wire_read(self, n: int) -> bytes:
        if not self.txs:
            return b"\xff" * n
        return self.txs[0].receive(n, self.dlines)

    def _wire_write(self, data: bytes) -> None:
        for t in self.txs:
            t.send(data, self.dlines)

    def _launch(self, has_data: bool) -> None:
        """Run the configured command: poll, or open it and move its data through the FIFO."""
        if self.regs[self.DLR] != 0xFFFFFFFF:
            length = self.regs[self.DLR] + 1
        else:
            # DLR all ones in indirect mode is an undefined length: the transfer runs to the
            # end of the memory as the window size field defines it.
            length = max(self.mapped_size - self.regs[self.AR] % self.mapped_size, 1)
        self.sr |= SR_BUSY
        if self.fmode == FMODE_POLL:
            self.poll_due = True
            self._update()
            return
        self._open(self.regs[self.AR])
        if not has_data:
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
            self.fifo += self._from_wire(room)
            self.remaining -= room
            if self.remaining == 0:
                self._complete()

    def _poll(self) -> None:
        """One automatic-polling cycle: a status read, compared with PSMAR under PSMKR."""
        logged = sum(len(chip.log) for chip in self.chips)
        self._open(self.regs[self.AR])
        nbytes = min(4, self.regs[self.DLR] + 1)
        value = int.from_bytes(self._wire_read(nbytes), "little")
        self._close()
        self.quiet_poll = logged == sum(len(chip.log) for chip in self.chips)
        self.last_status = value
        mask, match = self.regs[self.PSMKR], self.regs[self.PSMAR]
        equal = ~(value ^ match) & mask
        # PMM = 0: every unmasked bit must match (AND); PMM = 1: any one is enough (OR).
        hit = bool(equal) if self.cr & self.CR_PMM else equal == mask
        if hit:
            self.sr |= SR_SMF
            if self.cr & self.CR_APMS:
                self.sr &= ~SR_BUSY
                self.poll_due = False

    def _update(self) -> None:
        if self.fmode == FMODE_POLL and self.sr & SR_BUSY and self.poll_due:
            self._poll()

    def _abort(self) -> None:
        self._close()
        self.fifo.clear()
        self.remaining = 0
        self.poll_due = False
        self.sr &= ~SR_BUSY
        if self.TCF_ON_ABORT:
            self.sr |= SR_TCF

    def _clear_flags(self, fcr: int) -> None:
        self.sr &= ~(fcr & FCR_FLAGS)

    # -- flags ------------------------------------------------------------------------------
    def _status(self) -> int:
        self._update()
        self.status_read = True
        return self._flags()

    def _flags(self, fmode: int | None = None) -> int:
        if fmode is None:
            fmode = self.fmode
        sr = self.sr & ~(SR_FTF | (0x3F << 8))
        level = len(self.fifo)
        if fmode == FMODE_WRITE and self.cr & self.CR_EN:
            done = self.FTF_STOPS_AT_TCF and self.sr & SR_TCF
            if not done and FIFO_SIZE - level >= self.fthres:  # room for the threshold
                sr |= SR_FTF
        elif fmode == FMODE_READ and (level >= self.fthres or (level and not self.active)):
            sr |= SR_FTF
        return sr | (level << 8)

    # -- what the core may do without calling the model (bus.FastPath) -----------------------
    def fast_path(self) -> FastPath | None:
        """SR and the plain registers, and DR while a transfer streams, so a HAL loop's
        accesses need no Python call.

        In indirect modes, and memory-mapped without the timeout counter, SR is a function of
        the controller's state alone, which only a register or DR access changes: it may be
        read as it is now (and no read of it waits on time). An indirect write cannot change
        SR before its last byte (no FIFO level, no flag moves), so DR writes may be queued up
        to one byte short of DLR+1. An indirect read with a full FIFO refills every byte
        popped from the wire, so SR stays as it is while bytes remain behind the FIFO: DR may
        be served that many bytes but one (the last refill sets TCF), taken off the wire now
        into `_ahead`; `drawn()` moves the FIFO on by what was served. Automatic polling:
        right after a status read, another one in the same instant gives the same answer (the
        chip changes with time only), so SR may be read as the last poll left it, as long as
        that poll changed nothing else (no chip logged an ignored command); once polling has
        stopped (or not begun), SR is the controller's state alone, as in indirect modes. FCR
        only clears flags (and clearing TCF may bring FTF back, see `_clears`): the core may
        queue its writes and apply them to the SR it serves.
        """
        fmode = self.fmode
        if fmode == FMODE_POLL:
            if not self.poll_due:
                return FastPath(
                    reads=((self.SR, self._flags(fmode)),),
                    latches=() if self.sr & SR_BUSY else self.LATCHES,
                    clears=self._clears(fmode),
                )
            if self.status_read and self.quiet_poll:
                return FastPath(reads=((self.SR, self._flags(fmode)),))
            return None
        if fmode == FMODE_MMAP and self.cr & self.CR_TCEN:
            return None  # SR reads run the timeout counter
        reads = ((self.SR, self._flags(fmode)), *self._plain())
        clears = self._clears(fmode)
        if fmode == FMODE_WRITE and self.active and self.remaining > 1:
            return FastPath(
                reads=reads,
                sink=self.DR,
                sink_bytes=self.remaining - 1,
                sink_sizes=1 | 2 | 4,
                timeless=True,
                clears=clears,
            )
        count = min(SOURCE_BYTES, self.remaining - 1)
        if fmode == FMODE_READ and self.active and len(self.fifo) == FIFO_SIZE and count > 0:
            missing = count - len(self._ahead)
            if missing > 0:
                self._ahead += self._wire_read(missing)
            return FastPath(
                reads=reads,
                source=self.DR,
                source_data=bytes((self.fifo + self._ahead)[:count]),
                source_sizes=1 | 2 | 4,
                timeless=True,
                clears=clears,
            )
        if fmode == FMODE_MMAP:
            return FastPath(reads=reads, timeless=True, clears=clears)
        if self.sr & SR_BUSY:
            return FastPath(reads=reads, timeless=True, clears=clears)
        return FastPath(
            reads=reads,
            latches=self.LATCHES + self._stores(),
            timeless=True,
            clears=clears,
            steady=self._steady(),
        )

    def resumed_fast_path(self) -> FastPath | None:
        """`fast_path`, except while automatic polling waits for its match: SR then follows
        the chip, which time changes, and only a look runs the next poll."""
        if self.fmode == FMODE_POLL and self.poll_due:
            return None
        return self.fast_path()

    def _stores(self) -> tuple[int, ...]:
        """Registers besides LATCHES a write of which only stores its value now (an indirect
        mode, BUSY = 0): for instance an address register once the address starts nothing."""
        return ()

    def _steady(self) -> tuple[int, ...]:
        """Registers whose write of the value they hold does nothing now (an indirect mode,
        BUSY = 0; see FastPath.steady). A write also clears `status_read`, which matters only
        once automatic polling runs, and only a command start (a call) leads there."""
        return ()

    def _clears(self, fmode: int) -> tuple[tuple[int, int, int, int, int], ...]:
        """FCR as a write-one-to-clear register of SR. In an indirect write whose FIFO-
        threshold flag stopped at TCF, clearing TCF brings FTF back if the FIFO has room."""
        raised = 0
        if (
            fmode == FMODE_WRITE
            and self.FTF_STOPS_AT_TCF
            and self.cr & self.CR_EN
            and FIFO_SIZE - len(self.fifo) >= self.fthres
        ):
            raised = SR_FTF  # what `_flags` gives once TCF is clear
        return ((self.FCR, self.SR, FCR_FLAGS, SR_TCF, raised),)

    def waits_on_time(self, offset: int) -> bool:
        """Indirect modes, and memory-mapped mode without the timeout counter: every register
        is a function of the controller's state, which only accesses change (a loop waiting
        there for TCF, or for BUSY to drop while the window is mapped, ends by its own count,
        as on silicon). Automatic polling and the timeout counter do move with time."""
        fmode = self.fmode
        if fmode in (FMODE_READ, FMODE_WRITE):
            return False
        return fmode == FMODE_POLL or bool(self.cr & self.CR_TCEN)

    def _plain(self) -> tuple[tuple[int, int], ...]:
        """(offset, value) of the registers in PLAIN_READS, rebuilt only when one changed."""
        values = tuple(map(self.regs.get, self.PLAIN_READS))
        if values != self._plain_values:
            self._plain_values = values
            self._plain_pairs = tuple(zip(self.PLAIN_READS, (v or 0 for v in values), strict=True))
        return self._plain_pairs

    def absorb(self, offset: int, data: bytes) -> None:
        self._write_dr(data)

    def drawn(self, offset: int, count: int) -> None:
        """What `count` one-by-one DR reads would have left (see fast_path): the FIFO moved on
        by `count` bytes and refilled from the bytes taken ahead; no flag changed."""
        self.status_read = False
        stream = self.fifo + self._ahead
        self.fifo = stream[count : count + FIFO_SIZE]
        self._ahead = stream[count + FIFO_SIZE :]
        self.remaining -= count

    # -- register access ----------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        if offset == self.SR:
            return self._status()
        if offset == self.DR:
            return self._read_dr(4, advance=False)
        return self.regs.get(offset, 0)

    def read(self, offset: int, size: int, access: Access) -> int:
        self.status_read = False
        if offset & ~3 == self.DR and self.fmode in (FMODE_READ, FMODE_POLL):
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
        self.status_read = False
        if offset & ~3 == self.DR:
            self._write_dr(value.to_bytes(size, "little"))
            return
        super().write(offset, size, value, access)

    def _write_dr(self, data: bytes) -> None:
        if self.fmode != FMODE_WRITE or self._dr_blocked():
            return
        if not self.active:
            self._start()  # indirect write: the first data starts the command
            if not self.active:
                return  # refused, or a command with no data phase
        take = data[: self.remaining]
        self._wire_write(take)
        self.remaining -= len(take)
        if self.remaining == 0:
            self._complete()

    # -- memory-mapped reads -------------------------------------------------------------------
    def mmap_read(self, offset: int, length: int) -> bytes:
        base = self.window.base
        if self.fmode != FMODE_MMAP or not self.cr & self.CR_EN:
            raise BusFault(base + offset, f"{self.name} is not in memory-mapped mode")
        if offset + length > self.mapped_size:
            raise BusFault(base + offset, f"beyond {self.SIZE_FIELD} of the {self.name} window")
        self._check_mapped(offset)
        direct = self.window.direct_chip()
        if direct is not None:
            return bytes(direct.data[offset : offset + length])
        self._open(offset)
        out = self._wire_read(length)
        self._close()
        return out


class MappedWindow(Device):
    """A memory-mapped window; ROM-like (aliasable `data`) while a linear read is mapped."""

    def __init__(self, ctrl: SpiMemoryController, name: str, base: int) -> None:
        super().__init__(name, base, WINDOW_SIZE)
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
            raise BusFault(self.base, f"{self.name} is not directly mapped now")
        return chip.data

    def direct_chip(self) -> NorFlash | None:
        chip = self._direct
        if chip is None or chip.busy or chip.selected:
            return None
        return chip

    def refresh(self) -> None:
        before = self._direct
        self._direct = self.ctrl.linear_chip()
        if before is not self._direct:
            for listener in list(self.on_remap):
                listener()

    def read(self, offset: int, size: int, access: Access) -> int:
        return int.from_bytes(self.ctrl.mmap_read(offset, size), "little")

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        return self.ctrl.mmap_read(offset, length)
