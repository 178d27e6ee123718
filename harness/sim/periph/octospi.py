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

The command engine (FIFO, indirect transfers, lazy automatic polling, the window) is shared
with QUADSPI in `spi_memory`. ABORT also sets TCF here (RM0455 OCTOSPI_SR.TCF: "or in any
mode when the transfer has been aborted"). Each instance's 256 MiB window base comes from the
part's family data (`xspi_windows` in the parts catalogue).

Double transfer rate is modelled per phase (IDTR/ADDTR/ABDTR/DDTR go to the chip, which
checks them against its protocol: an octal DTR chip wants every phase in DTR, any other mode
none); DQS (CCR.DQSE) is accepted (the chip model does not check it). SIOO: in memory-mapped
mode the instruction goes out only with the first command after a CCR write, so only a chip in
continuous-read (XIP) mode answers the following ones. The timeout counter (CR.TCEN, LPTR)
sets TOF once the memory-mapped bus has been idle for LPTR clocks (counted in core clocks).
With an OCTOSPIM I/O manager (`octospim`), a command reaches the chip only while the manager
routes this controller to the port the chip is on.

Not modelled -- a command that needs one of these is refused with TEF set and a line in
`unsupported`, so a verdict can call it a simulator gap instead of a wrong result:
- HyperBus (DCR1.MTYP = 100), reserved line counts (mode 101-111), dual-memory mode
  (CR.DMM) -- one chip per controller;
- memory-mapped writes (WCCR) fault on the bus (BusFault), as QUADSPI window writes do.
Shortcuts (behaviour simplified, never silently different data):
- the polling interval (PIR) is not waited for: the first look after the chip is ready sees
  the match;
- DCR1 CSHT, CKMODE, DCR2 prescaler/WRAPSIZE, DCR3 MAXTRAN/CSBOUND, DCR4 refresh,
  TCR SSHIFT/DHQC, interrupts and DMA requests are stored but have no effect.
"""

from __future__ import annotations

from collections.abc import Callable

from stm32_hil.errors import BusFault, ConfigError
from stm32_hil.sim.bus import Access
from stm32_hil.sim.memories.nor.chip import NorFlash, Transaction
from stm32_hil.sim.memories.nor.commands import Kind
from stm32_hil.sim.periph.quadspi import covers
from stm32_hil.sim.periph.spi_memory import (
    FMODE_MMAP,
    FMODE_WRITE,
    SR_BUSY,
    SR_SMF,
    SR_TCF,
    SR_TEF,
    SR_TOF,
    MappedWindow,
    SpiMemoryController,
)

REGS_SIZE = 0x400

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
LINES = (0, 1, 2, 4, 8, -1, -1, -1)  # IMODE/ADMODE/ABMODE/DMODE encodings; -1 reserved
CCR_IDTR, CCR_ADDTR, CCR_ABDTR, CCR_DDTR, CCR_DQSE = 1 << 3, 1 << 11, 1 << 19, 1 << 27, 1 << 29
CCR_SIOO = 1 << 31
CR_TCEN = 1 << 3
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
        self.idtr, self.addtr = bool(ccr & CCR_IDTR), bool(ccr & CCR_ADDTR)
        self.abdtr, self.ddtr = bool(ccr & CCR_ABDTR), bool(ccr & CCR_DDTR)
        self.dqse = bool(ccr & CCR_DQSE)
        self.sioo = bool(ccr & CCR_SIOO)

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
        return out

    def apply(
        self, t: Transaction, address: int, alternate: int = 0, instruction: bool = True
    ) -> None:
        """Instruction, address, alternate bytes and dummy cycles onto an open transaction."""
        if self.imode > 0 and instruction:
            t.instruction(self.instruction, self.imode, self.isize, self.idtr)
        if self.admode > 0:
            mask = (1 << (8 * self.adsize)) - 1
            t.address_phase(address & mask, self.adsize, self.admode, self.addtr)
        if self.abmode > 0:
            t.alternate(self.absize, self.abmode, self.abdtr, alternate)
        if self.dcyc:
            t.dummy(self.dcyc)


class Octospi(SpiMemoryController):
    SR, FCR, DLR, AR, DR, PSMKR, PSMAR = SR, FCR, DLR, AR, DR, PSMKR, PSMAR
    PLAIN_READS = (CR, DCR1, DCR2, DCR3, DCR4, DLR, AR, PSMKR, PSMAR, PIR, CCR, TCR, IR, ABR, LPTR)
    LATCHES = (DLR, PSMKR, PSMAR, PIR, LPTR)
    SIZE_FIELD = "DCR1.DEVSIZE"
    TCF_ON_ABORT = True
    FTF_STOPS_AT_TCF = False

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
        # Parts with an OCTOSPIM: why a command of n lines does not reach the chip's port.
        self.route: Callable[[int], str | None] | None = None
        self.window = OctospiWindow(self, window_base)
        self.reset()

    # -- reset ------------------------------------------------------------------------------
    def reset(self) -> None:
        """RCC OCTOSPInRST and system reset: registers to reset values, chip select high."""
        self.regs = dict.fromkeys(STORED, 0)
        self.regs.update(RESET_VALUES)
        self._reset_engine()
        self.ddtr = False  # data phase at double transfer rate
        self.instruction_sent = False  # SIOO: the instruction went out since the CCR write
        self.idle_since: int | None = None  # core clock of the last memory-mapped access
        self.window.refresh()

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

    def linear_chip(self) -> NorFlash | None:
        if not self.cr & CR_EN or self.fmode != FMODE_MMAP or self.cr & CR_DMM:
            return None
        if (self.regs[DCR1] >> 24) & 7 == MTYP_HYPERBUS:
            return None
        chip = self._chip()
        if chip is None or self._unrouted(self.phases()):
            return None
        ph = self.phases()
        if not covers(ph.adsize, min(self.mapped_size, chip.spec.size), chip):
            return None
        if not serves_linearly(ph, chip):
            return None
        return chip

    def _unrouted(self, ph: Phases) -> str | None:
        if self.route is None:
            return None
        return self.route(max(ph.imode, ph.admode, ph.abmode, ph.dmode, 1))

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
            mapped = self.fmode == FMODE_MMAP
            skip = mapped and ph.sioo and self.instruction_sent
            ph.apply(t, address, self.regs[ABR], instruction=not skip)
            self.instruction_sent = self.instruction_sent or mapped
            why = self._unrouted(ph)
            if why:
                t._ignore(f"{self.name} does not reach the chip through OCTOSPIM: {why}")
            self.txs.append(t)
        self.dlines = max(ph.dmode, 0)
        self.ddtr = ph.ddtr
        self.active = True

    def _wire_read(self, n: int) -> bytes:
        if not self.txs:
            return b"\xff" * n
        return self.txs[0].receive(n, self.dlines, self.ddtr)

    def _wire_write(self, data: bytes) -> None:
        for t in self.txs:
            t.send(data, self.dlines, self.ddtr)

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
        self._launch(has_data=ph.dmode != 0)

    def _dr_blocked(self) -> bool:
        return not self.cr & CR_EN or (not self.active and bool(self.sr & SR_BUSY))

    def _stores(self) -> tuple[int, ...]:
        """CCR, TCR and ABR: in an indirect mode the window maps nothing whatever they say, so
        its refresh finds what it had, and `instruction_sent` counts in memory-mapped mode
        only. IR and AR too while the controller is disabled; enabled, whether they start the
        command (`_triggers`) depends on CCR, whose writes may be queued before them."""
        return (CCR, TCR, ABR) if self.cr & CR_EN else (CCR, TCR, ABR, IR, AR)

    def _steady(self) -> tuple[int, ...]:
        """CR: in an indirect mode, written with the value it holds it changes nothing
        (`idle_since` counts in memory-mapped mode only, and entering it changes CR)."""
        return (CR,)

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

    # -- register access ----------------------------------------------------------------------
    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == CR:
            if value & CR_ABORT:
                self._abort()
            self.regs[CR] = value & CR_WRITABLE & ~CR_ABORT
            self.idle_since = self._now()
            self.window.refresh()
            return
        if offset == FCR:
            self._clear_flags(value)
            return
        if offset in (SR, DR) or offset not in self.regs:
            return
        if self.sr & SR_BUSY and offset in LOCKED_WHEN_BUSY:
            return  # RM0455: these registers can be written only when BUSY = 0
        self.regs[offset] = value
        if offset == CCR:
            self.instruction_sent = False
        if offset in (CCR, TCR, IR, ABR, DCR1):
            self.window.refresh()
        if offset in (IR, AR) and self._triggers(offset):
            self._start()

    # -- timeout counter (memory-mapped mode) -------------------------------------------------
    def _now(self) -> int | None:
        clock = getattr(self, "clock", None)
        return int(clock.now) if clock is not None else None

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == SR:
            now = self._now()
            if now is not None and self.fmode == FMODE_MMAP and self.cr & CR_TCEN:
                if self.idle_since is None:
                    self.idle_since = now
                elif now - self.idle_since >= (self.regs[LPTR] & 0xFFFF):
                    self.sr |= SR_TOF
                    self.idle_since = 1 << 62  # NCS released: counts again from the next access
        return super().read_reg(offset, access)

    def mmap_read(self, offset: int, length: int) -> bytes:
        self.idle_since = self._now()
        return super().mmap_read(offset, length)

    def _check_mapped(self, offset: int) -> None:
        if self._refuse("memory-mapped read"):
            self.sr |= SR_TEF
            raise BusFault(
                self.window.base + offset, f"{self.name}: {self.unsupported[-1]} (not simulated)"
            )


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
        and ph.ddtr == chip.dtr
        and (not ph.sioo or t.xip_next)  # SIOO without XIP: later reads are not understood
    )


class OctospiWindow(MappedWindow):
    """An OCTOSPI window; memory-mapped writes are not simulated."""

    def __init__(self, ctrl: Octospi, base: int) -> None:
        super().__init__(ctrl, f"{ctrl.name}_WINDOW", base)

    def write(self, offset: int, size: int, value: int, access: Access) -> None:
        raise BusFault(
            self.base + offset, f"memory-mapped writes ({self.name}) are not simulated", write=True
        )
