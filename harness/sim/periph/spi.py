"""SPI blocks at register level, master side, talking to the board's SPI NOR chip.

Two register-block families in the data:
- `ClassicSpi`: spi_v1/v2 (F1/F2/F4/L0/L1: CR1, CR2, SR, DR; 8- or 16-bit frames by DFF; one
  receive buffer with RXNE and OVR) and spi_v3 (F0/F3/F7/G0/G4/L4...: DS picks 4..16-bit frames,
  a 32-bit receive FIFO with FRXTH choosing 8- or 16-bit RXNE threshold, FRLVL/FTLVL, data
  packing: a 16-bit DR access with 8-bit frames moves two frames). RM0090 28, RM0444 35.
- `FifoSpi`: spi_v4/v5/v6 (H7, H5, U5, ...: CFG1/CFG2, TSIZE counting frames, EOT/TXTF/TXC,
  TXP/RXP/DXP by packet (FTHLV), RXPLVL/RXWNE, CSTART, COMM full-duplex/simplex/half-duplex,
  IFCR). RM0433 50.
Registers and bit positions come from the block's layout in the data; the choice of class is
by version in models.py.

Both drive the NVIC line from their enable bits (TXE/RXNE/ERR, or IER against SR) as a level,
so interrupt-driven drivers (HAL_SPI_TransmitReceive_IT) run as polling ones do.

Frames go to the chip through `stm32_hil.sim.memories.spi_nor.SpiNorPort.exchange`, which
applies the board's pin routing. Hardware NSS: with SSOE (and SSM off) the NSS output is active
while the master is enabled (classic: SPE=1; FIFO SPI: from CSTART until SPE=0; with SSOM=1 and
MIDI > 1 it pulses inactive between frames).

Shortcuts: a frame moves at the moment software gives it (no bit time: TXE/TXP read set and
BSY/TXC clear as soon as the frame is handed over); a master in receive-only mode clocks one
frame each time software looks for one; CRC, TI frame format, slave mode, I2S and DMA requests
are not modelled (the registers hold what was written).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stm32_hil.sim.bus import Access, RegisterBlock

if TYPE_CHECKING:
    from stm32_hil.sim.periph.context import BlockContext


class _Bits:
    """Bit masks of a layout's fields, looked up once: `bits.SPE` -> mask (0 when absent)."""

    def __init__(self, ctx: BlockContext, fields: dict[str, tuple[str, str]]) -> None:
        self.offsets: dict[str, int] = {}
        for attr, (reg, name) in fields.items():
            found = ctx.field(reg, name)
            if found is None:
                setattr(self, attr, 0)
                setattr(self, attr + "_shift", 0)
                continue
            offset, bit, width = found
            self.offsets[reg] = offset
            setattr(self, attr, ((1 << width) - 1) << bit)
            setattr(self, attr + "_shift", bit)

    def __getattr__(self, name: str) -> int:  # for mypy: attributes set above
        raise AttributeError(name)


def _reverse(value: int, bits: int) -> int:
    return int(f"{value:0{bits}b}"[::-1], 2)


class _SpiBase(RegisterBlock):
    modelled = True

    def __init__(self, ctx: BlockContext) -> None:
        super().__init__(ctx.name, ctx.base, ctx.size)
        self.ctx = ctx
        self.regs: dict[int, int] = {}
        self._irq = ctx.irq_line()
        self._irq_level = False
        external = getattr(ctx.board, "external", None)
        self.port: Any = getattr(external, "spi", None)
        if self.port is not None:
            self.port.spi_built(ctx.name, self)

    def power_on(self) -> None:
        self.reset()

    def system_reset(self) -> None:
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError

    def nss_active(self) -> bool:
        raise NotImplementedError

    def _nss_changed(self) -> None:
        if self.port is not None:
            self.port.update_select()

    def _mode(self) -> int:
        """SPI mode 0..3 (CPOL, CPHA)."""
        raise NotImplementedError

    def _exchange(self, out: int, bits: int, lsb_first: bool, *, mosi: bool = True) -> int:
        if self.port is None:
            return (1 << bits) - 1  # nothing on the bus: MISO floats high
        if lsb_first:
            out = _reverse(out, bits)
        got = self.port.exchange(self.name, out, bits, mosi=mosi, mode=self._mode())
        return _reverse(got, bits) if lsb_first else got

    def _set_irq(self, level: bool) -> None:
        if self._irq is not None and level != self._irq_level:
            self._irq_level = level
            self._irq(level)


class ClassicSpi(_SpiBase):
    """spi_v1/v2/v3 (see module doc)."""

    FIFO_BYTES = 4

    def __init__(self, ctx: BlockContext) -> None:
        self.b = _Bits(
            ctx,
            {
                "CPHA": ("CR1", "CPHA"), "CPOL": ("CR1", "CPOL"),
                "MSTR": ("CR1", "MSTR"), "SPE": ("CR1", "SPE"), "LSBFIRST": ("CR1", "LSBFIRST"),
                "SSI": ("CR1", "SSI"), "SSM": ("CR1", "SSM"), "RXONLY": ("CR1", "RXONLY"),
                "DFF": ("CR1", "DFF"), "BIDIOE": ("CR1", "BIDIOE"),
                "BIDIMODE": ("CR1", "BIDIMODE"), "SSOE": ("CR2", "SSOE"),
                "ERRIE": ("CR2", "ERRIE"), "RXNEIE": ("CR2", "RXNEIE"),
                "TXEIE": ("CR2", "TXEIE"), "DS": ("CR2", "DS"), "FRXTH": ("CR2", "FRXTH"),
                "RXNE": ("SR", "RXNE"), "TXE": ("SR", "TXE"), "MODF": ("SR", "MODF"),
                "OVR": ("SR", "OVR"), "BSY": ("SR", "BSY"), "FRLVL": ("SR", "FRLVL"),
                "FTLVL": ("SR", "FTLVL"),
            },
        )  # fmt: skip
        self.CR1, self.CR2, self.SR, self.DR = 0x00, 0x04, 0x08, 0x0C
        # spi_v3 (F0/F3/F7/G0/G4/L4/L5...) has the receive FIFO and data packing; v1/v2 (F1, F2,
        # F4, L0, L1) have none, although the data's spi_v2_i2s layout also lists DS/FRXTH.
        self.fifo = ctx.version.startswith("v3") and bool(self.b.FRXTH)
        super().__init__(ctx)
        self.reset()

    def reset(self) -> None:
        was = getattr(self, "regs", {}).get(self.CR1, 0) & self.b.SPE
        self.regs = {0x10: 7}  # CRCPOLY resets to 7
        if self.fifo:
            self.regs[self.CR2] = 7 << self.b.DS_shift  # DS = 0111: 8-bit frames
        self.rx: list[int] = []  # received frames (v1/v2: at most one)
        self.sr_flags = 0  # OVR, MODF
        self._ovr_dr_read = False
        self._configure()
        self._set_irq(False)
        if was:
            self._nss_changed()

    # -- configuration (decoded once per CR1/CR2 write: frames move at every DR access) -------
    @property
    def cr1(self) -> int:
        return self.regs.get(self.CR1, 0)

    @property
    def cr2(self) -> int:
        return self.regs.get(self.CR2, 0)

    def _configure(self) -> None:
        b, cr1, cr2 = self.b, self.cr1, self.cr2
        if self.fifo:
            self.bits = max((cr2 & b.DS) >> b.DS_shift, 3) + 1
        else:
            self.bits = 16 if cr1 & b.DFF else 8
        self.per = 1 if self.bits <= 8 else 2  # bytes a frame takes in the FIFO
        self.master_on = bool(cr1 & b.SPE and cr1 & b.MSTR)
        bidi = bool(cr1 & b.BIDIMODE)
        self.receive_only = not cr1 & b.BIDIOE if bidi else bool(cr1 & b.RXONLY)
        self.transmit_only = bidi and bool(cr1 & b.BIDIOE)  # the receiver is off
        self.lsb_first = bool(cr1 & b.LSBFIRST)
        self.capacity = self.FIFO_BYTES // self.per if self.fifo else 1
        self.rx_pairs = self.fifo and not cr2 & b.FRXTH and self.bits <= 8  # RXNE at 16 bits
        self.irq_enables = cr2 & (b.TXEIE | b.RXNEIE | b.ERRIE)

    def frame_bits(self) -> int:
        return self.bits

    def _mode(self) -> int:
        cr1 = self.cr1
        return (2 if cr1 & self.b.CPOL else 0) | (1 if cr1 & self.b.CPHA else 0)

    def nss_active(self) -> bool:
        return self.master_on and not self.cr1 & self.b.SSM and bool(self.cr2 & self.b.SSOE)

    # -- frames ------------------------------------------------------------------------------------
    def _clock(self, out: int) -> None:
        """One frame out of TX and into RX (or lost, with OVR, when RX is full)."""
        bits = self.bits
        got = self._exchange(
            out & ((1 << bits) - 1), bits, self.lsb_first, mosi=not self.receive_only
        )
        if self.transmit_only:
            return
        if len(self.rx) >= self.capacity:
            self.sr_flags |= self.b.OVR
            return
        self.rx.append(got)

    def _rxne(self) -> bool:
        if not self.rx:
            return False
        return len(self.rx) >= 2 if self.rx_pairs else True

    def _pull(self) -> None:
        """Receive-only master: the clock runs, so a frame is there when software looks."""
        if self.receive_only and self.master_on and not self._rxne():
            if len(self.rx) < self.capacity:
                self._clock(0xFFFF)

    def _status(self) -> int:
        if self.receive_only:
            self._pull()
        sr = self.sr_flags | self.b.TXE
        if self.rx and (not self.rx_pairs or len(self.rx) >= 2):
            sr |= self.b.RXNE
        if self.fifo:
            sr |= min(len(self.rx) * self.per, 3) << self.b.FRLVL_shift
        return sr

    def _update_irq(self) -> None:
        if not self.irq_enables and not self._irq_level:
            return
        b, sr = self.b, self._status()
        ie = self.irq_enables
        level = bool(
            (ie & b.TXEIE and sr & b.TXE)
            or (ie & b.RXNEIE and sr & b.RXNE)
            or (ie & b.ERRIE and sr & (b.OVR | b.MODF))
        )
        self._set_irq(level)

    # -- register access ---------------------------------------------------------------------------
    def read(self, offset: int, size: int, access: Access) -> int:
        if offset & ~3 == self.DR and access is not Access.DEBUG:
            return self._read_dr(size)
        return super().read(offset, size, access)

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == self.SR:
            sr = self._status()
            if self._ovr_dr_read and access is not Access.DEBUG:
                self.sr_flags &= ~self.b.OVR  # OVR: cleared by a DR read then an SR read
                self._ovr_dr_read = False
            return sr
        if offset == self.DR:
            return self.rx[0] if self.rx else 0
        return self.regs.get(offset, 0)

    def _read_dr(self, size: int) -> int:
        self._pull()
        frames = 2 if self.fifo and size >= 2 and self.bits <= 8 else 1
        value = 0
        for i in range(frames):
            if not self.rx:
                break
            value |= self.rx.pop(0) << (8 * i)
            if i + 1 < frames:
                self._pull()
        if self.sr_flags & self.b.OVR:
            self._ovr_dr_read = True
        self._update_irq()
        return value

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        if offset & ~3 == self.DR:
            self._write_dr(size, value)
            return
        super().write(offset, size, value, access)

    def _write_dr(self, size: int, value: int) -> None:
        if not self.master_on or self.receive_only:
            return
        if self.fifo and size >= 2 and self.bits <= 8:
            self._clock(value & 0xFF)  # data packing: two frames, low byte first
            self._clock(value >> 8 & 0xFF)
        else:
            self._clock(value)
        self._update_irq()

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == self.SR:
            # rc_w0 flags of v1/v2 (CRCERR); OVR/MODF clear by sequences, not writes.
            return
        nss_before = self.nss_active()
        self.regs[offset] = value
        if offset == self.CR1:
            b = self.b
            if value & b.SPE and value & b.MSTR and value & b.SSM and not value & b.SSI:
                # Master with its internal NSS low: mode fault (RM0090 28.3.10).
                self.sr_flags |= b.MODF
                self.regs[self.CR1] = value & ~(b.SPE | b.MSTR)
        if offset in (self.CR1, self.CR2):
            self._configure()
        if self.nss_active() != nss_before:
            self._nss_changed()
        self._update_irq()


class FifoSpi(_SpiBase):
    """spi_v4/v5/v6 (see module doc)."""

    FIFO_BYTES = 16  # SPI1..3 of the H7 (SPI4..6: 8); the data has no FIFO size (shortcut)
    CR1, CR2, CFG1, CFG2, IER, SR, IFCR, TXDR, RXDR = (
        0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x20, 0x30,
    )  # fmt: skip
    COMM_FULL, COMM_TX, COMM_RX, COMM_HALF = range(4)

    def __init__(self, ctx: BlockContext) -> None:
        self.b = _Bits(
            ctx,
            {
                "SPE": ("CR1", "SPE"), "CSTART": ("CR1", "CSTART"), "SSI": ("CR1", "SSI"),
                "HDDIR": ("CR1", "HDDIR"), "CSUSP": ("CR1", "CSUSP"), "TSIZE": ("CR2", "TSIZE"),
                "DSIZE": ("CFG1", "DSIZE"), "FTHLV": ("CFG1", "FTHLV"),
                "MIDI": ("CFG2", "MIDI"), "COMM": ("CFG2", "COMM"),
                "CPHA": ("CFG2", "CPHA"), "CPOL": ("CFG2", "CPOL"),
                "MASTER": ("CFG2", "MASTER"), "LSBFIRST": ("CFG2", "LSBFIRST"),
                "SSM": ("CFG2", "SSM"), "SSOE": ("CFG2", "SSOE"), "SSOM": ("CFG2", "SSOM"),
                "RXP": ("SR", "RXP"), "TXP": ("SR", "TXP"), "DXP": ("SR", "DXP"),
                "EOT": ("SR", "EOT"), "TXTF": ("SR", "TXTF"), "OVR": ("SR", "OVR"),
                "MODF": ("SR", "MODF"), "SUSP": ("SR", "SUSP"), "TXC": ("SR", "TXC"),
                "RXPLVL": ("SR", "RXPLVL"), "RXWNE": ("SR", "RXWNE"),
                "CTSIZE": ("SR", "CTSIZE"),
            },
        )  # fmt: skip
        super().__init__(ctx)
        self.reset()

    def reset(self) -> None:
        was = self.nss_active() if getattr(self, "regs", None) else False
        self.regs = {self.CFG1: 7 << self.b.DSIZE_shift, 0x40: 0x107}  # 8-bit frames, CRCPOLY
        self.tx: list[int] = []
        self.rx: list[int] = []
        self.flags = 0  # EOT, TXTF, OVR, MODF, SUSP
        self.started = False
        self.sent = 0  # frames clocked in this transfer
        self.queued = 0  # frames software gave in this transfer
        self._set_irq(False)
        if was:
            self._nss_changed()

    # -- configuration -----------------------------------------------------------------------
    def _f(self, reg: int, mask: int, shift: int) -> int:
        return (self.regs.get(reg, 0) & mask) >> shift

    def frame_bits(self) -> int:
        return max(self._f(self.CFG1, self.b.DSIZE, self.b.DSIZE_shift), 3) + 1

    def _mode(self) -> int:
        cfg2 = self.regs.get(self.CFG2, 0)
        return (2 if cfg2 & self.b.CPOL else 0) | (1 if cfg2 & self.b.CPHA else 0)

    def _frame_bytes(self) -> int:
        bits = self.frame_bits()
        return 1 if bits <= 8 else 2 if bits <= 16 else 4

    def _capacity(self) -> int:
        return self.FIFO_BYTES // self._frame_bytes()

    def _packet(self) -> int:
        return self._f(self.CFG1, self.b.FTHLV, self.b.FTHLV_shift) + 1

    def _tsize(self) -> int:
        return self._f(self.CR2, self.b.TSIZE, self.b.TSIZE_shift)

    def _comm(self) -> int:
        comm = self._f(self.CFG2, self.b.COMM, self.b.COMM_shift)
        if comm == self.COMM_HALF:
            return self.COMM_TX if self.regs.get(self.CR1, 0) & self.b.HDDIR else self.COMM_RX
        return comm

    def _enabled(self) -> bool:
        return bool(self.regs.get(self.CR1, 0) & self.b.SPE)

    def nss_active(self) -> bool:
        cfg2 = self.regs.get(self.CFG2, 0)
        b = self.b
        if not self._enabled() or not cfg2 & b.MASTER or cfg2 & b.SSM or not cfg2 & b.SSOE:
            return False
        return self.started or bool(self.sent)

    def _pulses(self) -> bool:
        """SSOM=1 with MIDI > 1: SS goes inactive between frames."""
        cfg2 = self.regs.get(self.CFG2, 0)
        return bool(cfg2 & self.b.SSOM) and self._f(self.CFG2, self.b.MIDI, self.b.MIDI_shift) > 1

    # -- transfer engine -----------------------------------------------------------------------
    def _done(self) -> bool:
        tsize = self._tsize()
        return bool(tsize) and self.sent >= tsize

    def _run(self, want_rx: bool = False) -> None:
        """Clock frames as far as the FIFOs and TSIZE allow (the master's clock runs freely)."""
        if not (self.started and self._enabled()):
            return
        comm, cap = self._comm(), self._capacity()
        bits, lsb = self.frame_bits(), bool(self.regs.get(self.CFG2, 0) & self.b.LSBFIRST)
        pulses = self._pulses() and self.nss_active()
        while not self._done():
            if comm == self.COMM_RX:
                if len(self.rx) >= cap or (not self._tsize() and (self.rx or not want_rx)):
                    break
                out = (1 << bits) - 1
            elif not self.tx or (comm == self.COMM_FULL and len(self.rx) >= cap):
                break
            else:
                out = self.tx.pop(0)
            got = self._exchange(out, bits, lsb, mosi=comm != self.COMM_RX)
            self.sent += 1
            if comm != self.COMM_TX:
                self.rx.append(got)
            if pulses:  # SS inactive between frames: the chip sees one frame per command
                self.started = False
                self._nss_changed()
                self.started = True
                self._nss_changed()
        if self._done():
            self.flags |= self.b.EOT
            self.started = False
            self.regs[self.CR1] = self.regs.get(self.CR1, 0) & ~self.b.CSTART

    # -- status ---------------------------------------------------------------------------------
    def _status(self) -> int:
        self._run(want_rx=True)
        b = self.b
        sr = self.flags
        cap, packet = self._capacity(), self._packet()
        tsize = self._tsize()
        if self._enabled():
            if cap - len(self.tx) >= packet and not (tsize and self.queued >= tsize):
                sr |= b.TXP
            if len(self.rx) >= packet:
                sr |= b.RXP
            if len(self.rx) * self._frame_bytes() >= 4:
                sr |= b.RXWNE  # at least a 32-bit word waits in the receive FIFO
            if sr & b.TXP and sr & b.RXP:
                sr |= b.DXP
        if tsize and self.queued >= tsize:
            sr |= b.TXTF
        if not self.tx and (not self.started or self._done()):
            sr |= b.TXC
        sr |= min(len(self.rx), 3) << b.RXPLVL_shift
        if tsize:
            sr |= max(tsize - self.sent, 0) << b.CTSIZE_shift
        return sr

    def _update_irq(self) -> None:
        ier = self.regs.get(self.IER, 0)
        self._set_irq(bool(ier & self._status() & 0x7FF))

    # -- register access ---------------------------------------------------------------------------
    def read(self, offset: int, size: int, access: Access) -> int:
        if offset & ~3 == self.RXDR and access is not Access.DEBUG:
            return self._read_rx(size)
        return super().read(offset, size, access)

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == self.SR:
            return self._status()
        if offset == self.RXDR:
            return self.rx[0] if self.rx else 0
        if offset == self.TXDR:
            return 0
        return self.regs.get(offset, 0)

    def _read_rx(self, size: int) -> int:
        self._run(want_rx=True)
        fb = self._frame_bytes()
        value = 0
        for i in range(max(size // fb, 1)):
            if not self.rx:
                break
            value |= self.rx.pop(0) << (8 * fb * i)
            self._run(want_rx=i + 1 < max(size // fb, 1))
        self._update_irq()
        return value

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        if offset & ~3 == self.TXDR:
            self._write_tx(size, value)
            return
        super().write(offset, size, value, access)

    def _write_tx(self, size: int, value: int) -> None:
        if not self._enabled():
            return  # TXDR is written only while SPE=1
        fb = self._frame_bytes()
        mask = (1 << (8 * fb)) - 1
        for i in range(max(size // fb, 1)):
            if len(self.tx) >= self._capacity():
                break  # a write into a full FIFO is lost
            self.tx.append(value >> (8 * fb * i) & mask)
            self.queued += 1
        self._run()
        self._update_irq()

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        b = self.b
        if offset == self.SR:
            return
        if offset == self.IFCR:
            self.flags &= ~(value & (b.EOT | b.TXTF | b.OVR | b.MODF | b.SUSP | 0x780))
            self._update_irq()
            return
        if offset in (self.TXDR, self.RXDR):
            return
        nss_before = self.nss_active()
        old = self.regs.get(offset, 0)
        self.regs[offset] = value
        if offset == self.CR1:
            if old & b.SPE and not value & b.SPE:
                # Disabling ends the transfer and flushes both FIFOs (RM0433 50.4.14).
                self.tx.clear()
                self.rx.clear()
                self.started = False
                self.sent = self.queued = 0
            elif value & b.SPE and not old & b.SPE:
                self.sent = self.queued = 0
                self.flags &= ~(b.EOT | b.TXTF)
            if value & b.CSTART and value & b.SPE and not self.started:
                cfg2 = self.regs.get(self.CFG2, 0)
                if cfg2 & b.MASTER:
                    if cfg2 & b.SSM and not value & b.SSI:
                        self.flags |= b.MODF  # master whose internal SS is low: mode fault
                        self.regs[self.CR1] = value & ~(b.SPE | b.CSTART)
                    else:
                        self.started = True
                        self.sent = 0
                        self.flags &= ~(b.EOT | b.TXTF)
                        self.queued = len(self.tx)
        if self.nss_active() != nss_before:
            self._nss_changed()
        self._run()
        self._update_irq()
