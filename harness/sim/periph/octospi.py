"""STM32 OCTOSPI controller at register level (RM0455 ch. 24, RM0456 ch. 27), driving NorFlash.

The same NOR chip models as QUADSPI sit behind it: each command becomes a `Transaction` of
instruction (1-4 bytes, IR), address (1-4 bytes, AR), alternate bytes (ABR), dummy cycles
(TCR.DCYC) and data, each phase on 0/1/2/4/8 lines as CCR says. What differs from QUADSPI,
and is modelled here:
- FMODE lives in CR[29:28]; the command's phases are in CCR/TCR/IR/ABR (and WCCR/WTCR/WIR/
  WABR for memory-mapped writes);
- the trigger rule (RM0455 "Triggering the start of a command"): in indirect mode a command
  starts on the IR write when it has no address phase and no data to be written, on the AR
  write when it has an address phase and no data to be written, and on the first DR write
  when it writes data (FMODE = indirect write, DMODE != 0); automatic polling starts like a
  read. Memory-mapped mode (FMODE = 3) starts nothing on register writes;
- TEF is set, and nothing sent, when an indirect command's address lies beyond DCR1.DEVSIZE.

Indirect transfers run against the chip as the 32-byte FIFO fills or drains (FTF against
CR.FTHRES, FLEVEL, TCF after DLR+1 bytes, BUSY until the FIFO is empty). Automatic polling
is lazy, as in the QUADSPI model: one real status transaction runs whenever software looks
at SR or DR, compared with PSMAR under PSMKR (PMM: AND/OR); with APMS the match stops the
command (BUSY low). ABORT closes the transaction, flushes the FIFO, clears BUSY and sets
TCF (RM0455 OCTOSPI_SR.TCF: "or in any mode when the transfer has been aborted").

Memory-mapped mode: OCTOSPI1's window is 256 MiB at 0x90000000, OCTOSPI2's at 0x70000000
(`OctospiWindow`). When the chip answers CCR/TCR/IR with a plain linear read, the window
exposes the chip's cells as `data` (cpu_map ROM, so a core aliases them); otherwise every
access runs a read transaction. Listeners in `window.on_remap` hear when that changes.

Not modelled -- a command that needs one of these is refused with TEF set and a line in
`unsupported`, so a verdict can call it a simulator gap instead of a wrong result:
- DTR on any phase (IDTR/ADDTR/ABDTR/DDTR), DQS (CCR.DQSE), HyperBus (DCR1.MTYP = 100),
  reserved line counts (mode 101-111), dual-memory mode (CR.DMM) -- one chip per
  controller;
- memory-mapped writes (WCCR) fault on the bus (BusFault), as QUADSPI window writes do.
Shortcuts (behaviour simplified, never silently different data):
- the polling interval (PIR) is not waited for: the first look after the chip is ready sees
  the match; the timeout counter (CR.TCEN/LPTR, TOF) never fires;
- DCR1 CSHT, CKMODE, DCR2 prescaler/WRAPSIZE, DCR3 MAXTRAN/CSBOUND, DCR4 refresh,
  TCR SSHIFT/DHQC, CCR.SIOO, interrupts and DMA requests are stored but have no effect;
- octal (8-line) single-data-rate phases go to the chip model as they are (its OPI state
  machine checks them); octal DTR is refused (above);
- no pin routing: the OCTOSPIM I/O manager stays a generic register file.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import BusFault, ConfigError
from harness.sim.bus import Access, CpuMap, Device, RegisterBlock
from harness.sim.memories.nor.chip import NorFlash, Transaction
from harness.sim.memories.nor.commands import Kind

REGS_SIZE = 0x400
FIFO_SIZE = 32
WINDOW_SIZE = 0x10000000
WINDOW_BASES = {"OCTOSPI1": 0x90000000, "OCTOSPI2": 0x70000000}

CR, DCR1, DCR2, DCR3, DCR4 = 0x000, 0x008, 0x00C, 0x010, 0x014
SR, FCR, DLR, AR, DR = 0x020, 0x024, 0x040, 0x048, 0x050
PSMKR, PSMAR, PIR = 0x080, 0x088, 0x090
CCR, TCR, IR, ABR, LPTR = 0x100, 0x108, 0x110, 0x120, 0x130
WPCCR, WPTCR, WPIR, WPABR = 0x140, 0x148, 0x150, 0x160
WCCR, WTCR, WIR, WABR = 0x180, 0x188, 0x190, 0x1A0
HLCR = 0x200
STORED = (
    CR, DCR1, DCR2, DCR3, DCR4, DLR, AR, PSMKR, PSMAR, PIR, CCR, TCR, IR, ABR, LPTR,
    WPCCR, WPTCR, WPIR, WPABR, WCCR, WTCR, WIR, WABR, HLCR,
)  # fmt: skip
# Registers RM0455 lets software write only while BUSY = 0.
LOCKED_WHEN_BUSY = (DCR1, DCR2, DCR3, DCR4, DLR, AR, PSMKR, PSMAR, PIR, CCR, TCR, IR, ABR)
RESET_VALUES = {DCR2: 0, DCR4: 0, PIR: 0, LPTR: 0}

CR_EN, CR_ABORT, CR_DMM, CR_FSEL = 1 << 0, 1 << 1, 1 << 6, 1 << 7
CR_APMS, CR_PMM = 1 << 22, 1 << 23
CR_WRITABLE = 0x30DF1FCF  # EN ABORT DMAEN TCEN DMM FSEL FTHRES, the IEs, APMS PMM FMODE
SR_TEF, SR_TCF, SR_FTF, SR_SMF, SR_TOF, SR_BUSY = 1, 2, 4, 8, 16, 32
FMODE_WRITE, FMODE_READ, FMODE_POLL, FMODE_MMAP = range(4)
LINES = (0, 1, 2, 4, 8, -1, -1, -1)  # IMODE/ADMODE/ABMODE/DMODE encodings; -1 reserved
CCR_IDTR, CCR_ADDTR, CCR_ABDTR, CCR_DDTR, CCR_DQSE = 1 << 3, 1 << 11, 1 << 19, 1 << 27, 1 << 29
MTYP_HYPERBUS = 0b100


class Phases:
    """A command's phases decoded from a CCR/TCR/IR/ABR set (regular or memory-mapped write)."""

    def __init__(self, ccr: int, tcr: int, ir: int) -> None:
        self.ccr = ccr
        self.imode, self.admode = LINES[ccr & 7], LINES[(ccr >> 8) & 7]
        self.abmode, self.dmode = LINES[(ccr >> 16) & 7], LINES[(ccr >> 24) & 7]
        self.isize, self.adsize = ((ccr >> 4) & 3) + 1, ((ccr >> 12) & 3) + 1
        self.absize = ((ccr >> 20) & 3) + 1
        self.dcyc = tcr & 0x1F
        self.instruction = ir & ((1 << (8 * self.isize)) - 1)

    def problems(self) -> list[str]:
        """What this command needs that the model does not simulate (empty: all modelled)."""
        out = []
        for name, lines in (
            ("IMODE", self.imode),
            ("ADMODE", self.admode),
            ("ABMODE", self.abmode),
            ("DMODE", self.dmode),
        ):
            if lines < 0:
                out.append(f"reserved {name} encoding")
        for bit, name in (
            (CCR_IDTR, "IDTR"),
            (CCR_ADDTR, "ADDTR"),
            (CCR_ABDTR, "ABDTR"),
            (CCR_DDTR, "DDTR"),
        ):
            if self.ccr & bit:
                out.append(f"double transfer rate ({name})")
        if self.ccr & CCR_DQSE:
            out.append("DQS (CCR.DQSE)")
        return out

    def apply(self, t: Transaction, address: int) -> None:
        """Instruction, address, alternate bytes and dummy cycles onto an open transaction."""
        if self.imode > 0:
            t.instruction(self.instruction, self.imode, self.isize)
        if self.admode > 0:
            t.address_phase(address & ((1 << (8 * self.adsize)) - 1), self.adsize, self.admode)
        if self.abmode > 0:
            t.alternate(self.absize, self.abmode)
        if self.dcyc:
            t.dummy(self.dcyc)


class Octospi(RegisterBlock):
    def __init__(self, name: str, base: int, chips: list[NorFlash], window_base: int) -> None:
        super().__init__(name, base, REGS_SIZE)
        if len(chips) != 1:
            raise ConfigError(
                f"{name}: the OCTOSPI model drives one chip",
                hint="dual-memory mode (CR.DMM) is not simulated: give one chip",
            )
        self.chips = chips
        self.unsupported: list[str] = []  # commands refused (TEF) because not modelled
        self.txs: list[Transaction] = []
        self.window = OctospiWindow(self, window_base)
        self.reset()

    # -- reset ------------------------------------------------------------------------------
    def reset(self) -> None:
        """RCC OCTOSPInRST and system reset: registers to reset values, chip select high."""
        self._close()
        self.regs = dict.fromkeys(STORED, 0)
        self.regs.update(RESET_VALUES)
        self.fifo = bytearray()
        self.sr = 0
        self.remaining = 0
        self.active = False
        self.poll_due = False
        self.last_status = 0
        self.dlines = 0
        self.window.refresh()

    def power_on(self) -> None:
        self.reset()

    def system_reset(self) -> None:
        self.reset()

    # -- fields -----------------------------------------------------------------------------
    @property
    def cr(self) -> int:
        return self.regs[CR]

    @property
    def fmode(self) -> int:
        return (self.regs[CR] >> 28) & 3

    @property
    def fthres(self) -> int:
        return ((self.regs[CR] >> 8) & 0x1F) + 1

    @property
    def mapped_size(self) -> int:
        """DCR1.DEVSIZE: the device holds 2**(DEVSIZE+1) bytes."""
        return 1 << (((self.regs[DCR1] >> 16) & 0x1F) + 1)

    def phases(self) -> Phases:
        return Phases(self.regs[CCR], self.regs[TCR], self.regs[IR])

    def _chip(self) -> NorFlash | None:
        """The chip on the selected port: FSEL = 0 is the one chip wired (port 1)."""
        return None if self.regs[CR] & CR_FSEL else self.chips[0]

    def _refuse(self, what: str) -> bool:
        """Record what is not simulated in the current configuration; True if anything."""
        problems = self.phases().problems()
        if self.regs[CR] & CR_DMM:
            problems.append("dual-memory mode (CR.DMM)")
        if (self.regs[DCR1] >> 24) & 7 == MTYP_HYPERBUS:
            problems.append("HyperBus (DCR1.MTYP = 100)")
        if not problems:
            return False
        note = f"{self.name} {what}: " + ", ".join(problems)
        if note not in self.unsupported:
            self.unsupported.append(note)
        return True

    # -- transactions -----------------------------------------------------------------------
    def _open(self, address: int) -> None:
        self._close()
        ph = self.phases()
        chip = self._chip()
        if chip is not None:
            t = chip.begin()
            ph.apply(t, address)
            self.txs.append(t)
        self.dlines = max(ph.dmode, 0)
        self.active = True

    def _close(self) -> None:
        for t in self.txs:
            t.end()
        self.txs = []
        self.active = False

    def _wire_read(self, n: int) -> bytes:
        if not self.txs:
            return b"\xff" * n
        return self.txs[0].receive(n, self.dlines)

    def _wire_write(self, data: bytes) -> None:
        for t in self.txs:
            t.send(data, self.dlines)

    # -- command start ------------------------------------------------------------------------
    def _start(self) -> None:
        ph = self.phases()
        self.sr &= ~(SR_TCF | SR_SMF)
        self.fifo.clear()
        self.remaining = 0
        if self._refuse(("write", "read", "auto-polling", "mmap")[self.fmode]):
            self.sr |= SR_TEF
            return
        if ph.admode > 0 and self.regs[AR] >= self.mapped_size:
            # RM0455 OCTOSPI_SR.TEF: an invalid address is accessed in indirect mode.
            self.sr |= SR_TEF
            return
        if self.regs[DLR] != 0xFFFFFFFF:
            length = self.regs[DLR] + 1
        else:  # undefined length: up to the end of the memory as DCR1.DEVSIZE defines it
            length = max(self.mapped_size - self.regs[AR] % self.mapped_size, 1)
        self.sr |= SR_BUSY
        if self.fmode == FMODE_POLL:
            self.poll_due = True
            self._update()
            return
        self._open(self.regs[AR])
        if ph.dmode == 0:
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
        room = min(FIFO_SIZE - len(self.fifo), self.remaining)
        if room > 0 and self.active:
            self.fifo += self._wire_read(room)
            self.remaining -= room
            if self.remaining == 0:
                self._complete()

    def _poll(self) -> None:
        """One automatic-polling cycle: a status read, compared with PSMAR under PSMKR."""
        self._open(self.regs[AR])
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
        if self.fmode == FMODE_POLL and self.sr & SR_BUSY and self.poll_due:
            self._poll()

    def _triggers(self, offset: int) -> bool:
        """RM0455 trigger rule: does writing `offset` start the configured command?"""
        if not self.cr & CR_EN or self.fmode == FMODE_MMAP:
            return False
        ph = self.phases()
        writes_data = self.fmode == FMODE_WRITE and ph.dmode != 0
        if writes_data:
            return False  # starts on the first DR write
        if offset == IR:
            return ph.admode == 0
        return offset == AR and ph.admode != 0

    # -- flags ------------------------------------------------------------------------------
    def _status(self) -> int:
        self._update()
        sr = self.sr & ~(SR_FTF | (0x3F << 8))
        level = len(self.fifo)
        if self.fmode == FMODE_WRITE and self.cr & CR_EN:
            if FIFO_SIZE - level >= self.fthres:  # room for the threshold: write DR
                sr |= SR_FTF
        elif self.fmode == FMODE_READ and (level >= self.fthres or (level and not self.active)):
            sr |= SR_FTF
        return sr | (level << 8)

    # -- register access ----------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        if offset == SR:
            return self._status()
        if offset == DR:
            return self._read_dr(4, advance=False)
        if offset == CR:
            return self.regs[CR] & ~CR_ABORT
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
        if self.fmode != FMODE_WRITE or not self.cr & CR_EN:
            return
        if not self.active:
            if self.sr & SR_BUSY:
                return
            self._start()
            if not self.active:
                return  # refused (TEF) or nothing to send
        take = data[: self.remaining]
        self._wire_write(take)
        self.remaining -= len(take)
        if self.remaining == 0:
            self._complete()

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == CR:
            if value & CR_ABORT:
                self._abort()
            self.regs[CR] = value & CR_WRITABLE & ~CR_ABORT
            self.window.refresh()
            return
        if offset == FCR:
            self.sr &= ~(value & (SR_TEF | SR_TCF | SR_SMF | SR_TOF))
            return
        if offset in (SR, DR) or offset not in self.regs:
            return
        if self.sr & SR_BUSY and offset in LOCKED_WHEN_BUSY:
            return  # RM0455: these registers can be written only when BUSY = 0
        self.regs[offset] = value
        if offset in (CCR, TCR, IR, ABR, DCR1):
            self.window.refresh()
        if offset in (IR, AR) and self._triggers(offset):
            self._start()

    def _abort(self) -> None:
        self._close()
        self.fifo.clear()
        self.remaining = 0
        self.poll_due = False
        self.sr &= ~SR_BUSY
        self.sr |= SR_TCF  # RM0455 OCTOSPI_SR.TCF: also set when a transfer is aborted

    # -- memory-mapped reads -------------------------------------------------------------------
    def mmap_read(self, offset: int, length: int) -> bytes:
        base = self.window.base
        if self.fmode != FMODE_MMAP or not self.cr & CR_EN:
            raise BusFault(base + offset, f"{self.name} is not in memory-mapped mode")
        if offset + length > self.mapped_size:
            raise BusFault(base + offset, f"beyond DCR1.DEVSIZE of the {self.name} window")
        if self._refuse("memory-mapped read"):
            self.sr |= SR_TEF
            raise BusFault(base + offset, f"{self.name}: {self.unsupported[-1]} (not simulated)")
        direct = self.window.direct_chip()
        if direct is not None:
            return bytes(direct.data[offset : offset + length])
        self._open(offset)
        out = self._wire_read(length)
        self._close()
        return out


def serves_linearly(ph: Phases, chip: NorFlash) -> bool:
    """Would `chip` answer these phases with a plain linear read of its cells?

    Runs the phases through the chip's own protocol state machine as a probe (the probe leaves
    no trace in the chip's log): only then may the window expose the cells directly.
    """
    if ph.problems():
        return False
    before = len(chip.log)
    t = Transaction(chip)
    ph.apply(t, 0)
    del chip.log[before:]
    return (
        not t.deaf
        and t.cmd is not None
        and t.cmd.kind is Kind.READ
        and t.address is not None
        and t.pre_data_cycles == t.expected_cycles
        and ph.dmode == t.data_lines
    )


class OctospiWindow(Device):
    """The memory-mapped window; ROM-like (aliasable `data`) while a linear read is mapped."""

    def __init__(self, ctrl: Octospi, base: int) -> None:
        super().__init__(f"{ctrl.name}_WINDOW", base, WINDOW_SIZE)
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
        self._direct = self._linear_chip()
        if before is not self._direct:
            for listener in list(self.on_remap):
                listener()

    def _linear_chip(self) -> NorFlash | None:
        ctrl = self.ctrl
        if not ctrl.cr & CR_EN or ctrl.fmode != FMODE_MMAP or ctrl.cr & CR_DMM:
            return None
        if (ctrl.regs[DCR1] >> 24) & 7 == MTYP_HYPERBUS:
            return None
        chip = ctrl._chip()
        if chip is None or not serves_linearly(ctrl.phases(), chip):
            return None
        return chip

    def read(self, offset: int, size: int, access: Access) -> int:
        return int.from_bytes(self.ctrl.mmap_read(offset, size), "little")

    def read_block(self, offset: int, length: int, access: Access) -> bytes:
        return self.ctrl.mmap_read(offset, length)

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        raise BusFault(
            self.base + offset, f"memory-mapped writes ({self.name}) are not simulated", write=True
        )
