"""The simulator as a pyOCD debug probe: an SWD DP and an AHB-AP in front of a `SimBoard`.

pyOCD talks to probes at the level of DP and AP registers, so this module models exactly that
(ADIv5, ARM IHI 0031): DPIDR/ABORT, CTRL/STAT with power-up handshakes and sticky errors,
SELECT, RDBUFF; a MEM-AP with CSW/TAR/DRW/BD0-3/CFG/BASE/IDR, byte lanes and the TAR
auto-increment wrap of the core's AHB-AP (see `AP_IDENTITY`). Every DRW transfer becomes a
`board.bus` access with `Access.DEBUG`, so the debugger sees what the silicon's debug port
would (readout protection included). Harness errors raised by the bus become pyOCD transfer
faults (FAULT ack, CTRL/STAT.STICKYERR set until ABORT.STKERRCLR), which is how a real probe
reports a bus error.

The CoreSight ROM table and the component identification registers (PIDR/CIDR at +0xFD0 of
each component) are served by this debug-port model rather than by the board's SCS model: they
belong to the debug infrastructure, and keeping them here lets the ROM table list only the
components that the board actually maps (SCS, DWT, FPB).

Plugged into pyOCD through the `pyocd.probe` entry point `sim` (see pyproject.toml), so
`pyocd list` shows the simulated boards of the inventory and `-u sim:<board>` opens one.
"""

from __future__ import annotations

import sys

if "pyocd.probe.aggregator" not in sys.modules:
    # pyOCD loads its probe plugins, this module among them, while pyOCD itself is being
    # imported. When this module is imported first, step aside so that the plugin loader builds
    # a complete copy of it; the import system then hands out that copy (PEP 451 allows a module
    # to replace itself in sys.modules).
    _self = sys.modules.pop(__name__)
    import pyocd.probe.aggregator  # noqa: F401

    sys.modules.setdefault(__name__, _self)

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pyocd.board.board import Board
from pyocd.board.board_ids import BoardInfo
from pyocd.core import exceptions
from pyocd.core.plugin import Plugin
from pyocd.probe.debug_probe import DebugProbe

from stm32_hil.errors import HarnessError
from stm32_hil.sim.bus import Access

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

LOG = logging.getLogger(__name__)

UID_PREFIX = "sim:"

# -- DP (SW-DP v1, as on Cortex-M0+/M4/M7 STM32 parts) ------------------------------------
DPIDR_VALUE = 0x2BA01477
DP_IDR_ABORT = 0x0  # read DPIDR, write ABORT
DP_CTRL_STAT = 0x4
DP_SELECT_RESEND = 0x8  # read RESEND, write SELECT
DP_RDBUFF = 0xC

ABORT_STKCMPCLR = 1 << 1
ABORT_STKERRCLR = 1 << 2
ABORT_WDERRCLR = 1 << 3
ABORT_ORUNERRCLR = 1 << 4

CSYSPWRUPACK = 1 << 31
CSYSPWRUPREQ = 1 << 30
CDBGPWRUPACK = 1 << 29
CDBGPWRUPREQ = 1 << 28
CDBGRSTACK = 1 << 27
CDBGRSTREQ = 1 << 26
WDATAERR = 1 << 7
READOK = 1 << 6
STICKYERR = 1 << 5
STICKYCMP = 1 << 4
STICKYORUN = 1 << 1
CTRL_WRITABLE = CSYSPWRUPREQ | CDBGPWRUPREQ | CDBGRSTREQ | 0x00FFF00F  # + TRNCNT, MASKLANE, ...

# -- MEM-AP (AHB-AP) ----------------------------------------------------------------------
# The AP's IDR and its TAR auto-increment wrap, per core. A debugger cannot probe the wrap: it
# trusts the IDR (pyOCD's AP_TYPE_MAP gives a variant-1 AHB-AP, IDR 0x24770011 as documented in
# the Cortex-M3/M4 TRMs, a 4 KiB page and every other AHB-AP the ADIv5 minimum of 1 KiB) and
# rewrites TAR only at page boundaries. An AP that wraps sooner than its IDR promises corrupts
# every transfer that crosses its wrap, so each core reports the IDR of its own AHB-AP and wraps
# exactly where that IDR says.
AP_IDENTITY = {
    "cortex-m0": (0x04770021, 0x400),
    "cortex-m0+": (0x04770031, 0x400),
    "cortex-m3": (0x24770011, 0x1000),
    "cortex-m4": (0x24770011, 0x1000),
    "cortex-m7": (0x04770041, 0x400),
    "cortex-m33": (0x14770005, 0x400),  # AHB5-AP
    "cortex-m55": (0x14770005, 0x400),
}
AHB_AP_IDR, _ = AP_IDENTITY["cortex-m4"]
AP_CSW, AP_TAR, AP_DRW = 0x00, 0x04, 0x0C
AP_BD0, AP_BD3 = 0x10, 0x1C
AP_CFG, AP_BASE, AP_IDR = 0xF4, 0xF8, 0xFC
CSW_SIZE_MASK = 0x7
CSW_ADDRINC_MASK = 0x30
CSW_ADDRINC_SINGLE = 0x10
CSW_DEVICEEN = 1 << 6
CSW_HPROT_MASK = 0x7F000000
CSW_RESET = 0x03000042 | CSW_DEVICEEN  # word size, HPROT data+privileged

# -- CoreSight identification ----------------------------------------------------------------
ROM_TABLE = 0xE00FF000
ARM_JEP106 = (0x4, 0x3B)  # continuation code, identity code
CLASS_ROM_TABLE = 0x1
CLASS_GENERIC = 0xE
SCS, DWT, FPB = 0xE000E000, 0xE0001000, 0xE0002000
# Component part numbers per core: (SCS, DWT, FPB/BPU), as pyOCD's component table knows them.
PART_NUMBERS = {
    "cortex-m0+": (0x008, 0x00A, 0x00B),
    "cortex-m4": (0x00C, 0x002, 0x003),
    "cortex-m7": (0x00C, 0x002, 0x00E),
}
ROM_PART = 0x4C4  # Cortex-M ROM table

# Virtual cycles one SWD transaction takes (~46 bits at a 4 MHz SWCLK, 64 MHz core clock): the
# board's core runs this long per transaction, so a resumed core makes progress while pyOCD polls.
CYCLES_PER_TRANSFER = 736
# Longest stretch of virtual time one transaction lets pass while the core is parked in a
# polling loop (SimProbe.tick).
PARKED_SKIP_S = 0.01


class _Fault(Exception):
    """An access answered FAULT; carries the harness error that caused it."""

    def __init__(self, cause: HarnessError | str, address: int | None = None) -> None:
        self.cause = cause
        self.address = address
        super().__init__(str(cause))


class _NoAck(Exception):
    """The SW-DP did not answer at all: no ACK on the wire, so no sticky flag either."""

    def __init__(self, cause: HarnessError) -> None:
        self.cause = cause
        super().__init__(str(cause))


class NoAckError(exceptions.TransferError):
    """pyOCD's "no ACK" transfer error, as a CMSIS-DAP probe reports it.

    A real probe cannot tell why the target went silent; the simulator can, and keeps the
    harness error (`harness_error`) so that `PyOCDTarget` raises it with its proper type
    (a `ProtectionError` for RDP level 2) instead of a bare "communication failure".
    """

    def __init__(self, message: str, harness_error: HarnessError) -> None:
        super().__init__(message)
        self.harness_error = harness_error


def ap_identity(core: str) -> tuple[int, int]:
    """(AP IDR, TAR auto-increment wrap in bytes) of the AHB-AP in front of `core`."""
    return AP_IDENTITY.get(core, AP_IDENTITY["cortex-m4"])


def _id_registers(part: int, cls: int) -> dict[int, int]:
    """PIDR0-7 and CIDR0-3 of an ARM CoreSight component, offset -> value."""
    cont, ident = ARM_JEP106
    return {
        0xFD0: cont,  # PIDR4: JEP106 continuation, 4 KiB
        0xFE0: part & 0xFF,  # PIDR0
        0xFE4: ((part >> 8) & 0xF) | ((ident & 0xF) << 4),  # PIDR1
        0xFE8: ((ident >> 4) & 0x7) | 0x8,  # PIDR2: JEDEC, revision 0
        0xFF0: 0x0D,
        0xFF4: (cls << 4) & 0xF0,
        0xFF8: 0x05,
        0xFFC: 0xB1,
    }


class SimDap:
    """The SW-DP and AP0 (AHB-AP) of one simulated board, at register level.

    Independent of pyOCD so it can be tested on its own; `SimProbe` adapts it to pyOCD's API.
    """

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.ctrl_stat = 0
        self.select = 0
        self.rdbuff = 0
        self.csw = CSW_RESET
        self.tar = 0
        self.ap_idr, self.tar_wrap = ap_identity(board.part.core)
        self._overlay = self._build_overlay()

    # -- identification overlay ---------------------------------------------------------
    def _build_overlay(self) -> dict[int, int]:
        """ROM table words and component ID registers, absolute address -> value."""
        scs_p, dwt_p, fpb_p = PART_NUMBERS.get(self.board.part.core, PART_NUMBERS["cortex-m4"])
        words: dict[int, int] = {}
        entries = []
        for base, part in ((SCS, scs_p), (DWT, dwt_p), (FPB, fpb_p)):
            if self.board.bus.find(base) is None:
                continue
            entries.append(((base - ROM_TABLE) & 0xFFFFF000) | 0x3)  # present, 32-bit format
            for off, val in _id_registers(part, CLASS_GENERIC).items():
                words[base + off] = val
        for i, entry in enumerate([*entries, 0]):
            words[ROM_TABLE + 4 * i] = entry
        words[ROM_TABLE + 0xFCC] = 0x1  # MEMTYPE: system memory present on this bus
        for off, val in _id_registers(ROM_PART, CLASS_ROM_TABLE).items():
            words[ROM_TABLE + off] = val
        return words

    def _in_overlay(self, address: int) -> bool:
        page = address & ~0xFFF
        if page == ROM_TABLE:
            return self.board.bus.find(address) is None
        return (address & 0xFFF) >= 0xFD0 and (address & ~3) in self._overlay

    # -- DP -------------------------------------------------------------------------------
    def power_on(self) -> None:
        """Debug power-on reset of the DP/AP (probe connect after the target lost power)."""
        self.ctrl_stat = 0
        self.select = 0
        self.csw = CSW_RESET
        self.tar = 0

    def _check_debug_port(self) -> None:
        """A disabled debug port (RDP level 2, SWD pins taken by firmware) does not answer.

        That is a missing ACK, not a FAULT: nothing reaches the DP, so no sticky flag is set
        and pyOCD does not try to clear one (which would fail again, forever).
        """
        try:
            self.board.check_debug()
        except HarnessError as exc:
            raise _NoAck(exc) from None

    def read_dp(self, addr: int) -> int:
        self._check_debug_port()
        reg = addr & 0xC
        if reg == DP_IDR_ABORT:
            return DPIDR_VALUE
        if reg == DP_CTRL_STAT:
            if self.select & 0xF:  # DPBANKSEL != 0: DLCR etc. are not modelled, read as zero
                return 0
            return self.ctrl_stat
        if reg == DP_SELECT_RESEND:
            return self.rdbuff
        return self.rdbuff

    def write_dp(self, addr: int, value: int) -> None:
        self._check_debug_port()
        reg = addr & 0xC
        value &= 0xFFFFFFFF
        if reg == DP_IDR_ABORT:
            if value & ABORT_STKERRCLR:
                self.ctrl_stat &= ~STICKYERR
            if value & ABORT_STKCMPCLR:
                self.ctrl_stat &= ~STICKYCMP
            if value & ABORT_WDERRCLR:
                self.ctrl_stat &= ~WDATAERR
            if value & ABORT_ORUNERRCLR:
                self.ctrl_stat &= ~STICKYORUN
        elif reg == DP_CTRL_STAT:
            if self.select & 0xF:
                return
            status = self.ctrl_stat & (STICKYERR | STICKYCMP | STICKYORUN | WDATAERR | READOK)
            ctrl = value & CTRL_WRITABLE
            # The power controller acknowledges requests at once (the board is always powered).
            if ctrl & CSYSPWRUPREQ:
                ctrl |= CSYSPWRUPACK
            if ctrl & CDBGPWRUPREQ:
                ctrl |= CDBGPWRUPACK
            if ctrl & CDBGRSTREQ:
                ctrl |= CDBGRSTACK
            self.ctrl_stat = ctrl | status
        elif reg == DP_SELECT_RESEND:
            self.select = value

    # -- AP -------------------------------------------------------------------------------
    def _ap_reg(self) -> tuple[int, int]:
        return self.select >> 24, self.select & 0xF0

    def read_ap(self, addr: int) -> int:
        """One AP read; `addr` supplies A[3:2], SELECT the AP and bank (as on the wire)."""
        self._check_debug_port()
        apsel, bank = self._ap_reg()
        reg = bank | (addr & 0xC)
        if self.ctrl_stat & STICKYERR:
            raise _Fault("STICKYERR set: an earlier transfer faulted; write ABORT.STKERRCLR")
        if apsel != 0:
            value = 0  # no AP there: IDR reads zero, which ends pyOCD's AP scan
        elif reg == AP_IDR:
            value = self.ap_idr
        elif reg == AP_BASE:
            value = ROM_TABLE | 0x3  # ADIv5 format, entry present
        elif reg == AP_CFG:
            value = 0  # little-endian, 32-bit addresses and data
        elif reg == AP_CSW:
            value = self.csw
        elif reg == AP_TAR:
            value = self.tar
        elif reg == AP_DRW:
            value = self._transfer(self.tar, self._size(), None)
            self._increment()
        elif AP_BD0 <= reg <= AP_BD3:
            value = self._transfer((self.tar & ~0xF) + (reg - AP_BD0), 4, None)
        else:
            value = 0
        self.rdbuff = value
        self.ctrl_stat |= READOK
        return value

    def write_ap(self, addr: int, value: int) -> None:
        self._check_debug_port()
        apsel, bank = self._ap_reg()
        reg = bank | (addr & 0xC)
        value &= 0xFFFFFFFF
        if self.ctrl_stat & STICKYERR:
            raise _Fault("STICKYERR set: an earlier transfer faulted; write ABORT.STKERRCLR")
        if apsel != 0:
            return
        if reg == AP_CSW:
            size = value & CSW_SIZE_MASK
            if size > 2:
                size = 2  # unsupported sizes read back as a supported one (ADIv5)
            inc = value & CSW_ADDRINC_MASK
            if inc not in (0, CSW_ADDRINC_SINGLE):
                inc = CSW_ADDRINC_SINGLE  # packed increment is not implemented
            self.csw = (value & CSW_HPROT_MASK) | CSW_DEVICEEN | inc | size
        elif reg == AP_TAR:
            self.tar = value
        elif reg == AP_DRW:
            self._transfer(self.tar, self._size(), value)
            self._increment()
        elif AP_BD0 <= reg <= AP_BD3:
            self._transfer((self.tar & ~0xF) + (reg - AP_BD0), 4, value)

    def _size(self) -> int:
        return 1 << (self.csw & CSW_SIZE_MASK)

    def _increment(self) -> None:
        if self.csw & CSW_ADDRINC_MASK:
            step = self._size()
            wrap = self.tar_wrap
            self.tar = (self.tar & ~(wrap - 1)) | ((self.tar + step) & (wrap - 1))

    def _transfer(self, address: int, size: int, value: int | None) -> int:
        """One AHB transfer. Data sits in its byte lane of the 32-bit DRW, as on the bus."""
        if not self.ctrl_stat & CSYSPWRUPACK:
            self.ctrl_stat |= STICKYERR
            raise _Fault("system power-up not acknowledged: set CTRL/STAT.CSYSPWRUPREQ", address)
        if address % size:
            self.ctrl_stat |= STICKYERR
            raise _Fault(f"unaligned {size * 8}-bit access at 0x{address:08X}", address)
        lane = (address & 3) * 8
        mask = (1 << (size * 8)) - 1
        try:
            if value is None:
                if self._in_overlay(address):
                    word = self._overlay.get(address & ~3, 0)
                    return word & (mask << lane)
                return (self.board.bus.read(address, size, Access.DEBUG) & mask) << lane
            if self._in_overlay(address):
                return 0  # identification registers are read-only
            self.board.bus.write(address, size, (value >> lane) & mask, Access.DEBUG)
            return 0
        except HarnessError as exc:
            self.ctrl_stat |= STICKYERR
            raise _Fault(exc, address) from None

    # -- time -----------------------------------------------------------------------------
    def tick(self) -> None:
        """One wire transaction's worth of virtual time; a running core executes meanwhile.

        A core parked in a polling loop (a flash algorithm waiting for BSY while pyOCD polls
        DHCSR) changes nothing until the clock's next event, so time passes up to that event
        (at most PARKED_SKIP_S) instead of re-running the loop one transaction at a time: a
        1 s sector erase completes in a few transactions rather than outlasting pyOCD's
        wall-clock timeout."""
        core, clock = self.board.core, self.board.clock
        if core is not None and core.parked and not core.halted:
            limit = int(PARKED_SKIP_S * clock.hz)
            nxt = clock.next_event()
            skip = limit if nxt is None else min(limit, nxt - clock.now)
            if skip > CYCLES_PER_TRANSFER:
                # The loop would spin identically; the next transaction runs it again and
                # sees whatever the skipped time changed (BSY cleared, an event fired).
                core.parked = False
                clock.advance(skip)
                return
        self.board.run(CYCLES_PER_TRANSFER)

    def idle(self, seconds: float) -> None:
        """The wire is idle for `seconds` of target time (see `SimProbe.idle`)."""
        self.board.run(max(1, int(seconds * self.board.clock.hz)))


def _fault(err: _Fault) -> exceptions.TransferFaultError:
    return exceptions.TransferFaultError(f"simulated probe: {err}", fault_address=err.address)


def _board_name(unique_id: str) -> str:
    return unique_id[len(UID_PREFIX) :] if unique_id.lower().startswith(UID_PREFIX) else unique_id


def _sim_board_names() -> list[str]:
    """Sim boards of the inventory, any registered in this process and any served by another
    (`hil sim serve --inventory X` serves boards the default inventory may not have)."""
    from stm32_hil.inventory import Inventory
    from stm32_hil.sim import live as registry
    from stm32_hil.sim import served

    try:
        names = set(Inventory.load().names("sim"))
    except HarnessError as exc:
        LOG.warning("simulated probes: %s", exc)
        names = set()
    names |= {r.board for r in served.served_boards() if r.pid != os.getpid()}
    return sorted(names | set(registry.names()))


def _served(name: str) -> DebugProbe | None:
    """The remote probe of a board another process serves (`hil sim serve`), else None."""
    from stm32_hil.sim.debug import remote

    return remote.attach(name)  # type: ignore[no-any-return]


class SimProbe(DebugProbe):
    """A pyOCD `DebugProbe` whose wire ends in a simulated board (SWD only)."""

    @classmethod
    def get_all_connected_probes(
        cls, unique_id: str | None = None, is_explicit: bool = False
    ) -> list[DebugProbe]:
        return [_served(name) or cls(name) for name in _sim_board_names()]

    @classmethod
    def get_probe_with_id(cls, unique_id: str, is_explicit: bool = False) -> DebugProbe | None:
        """The probe of sim board `unique_id`.

        With an explicit `sim:` prefix an unknown name is an error listing the boards: a
        simulated board cannot be plugged in later, so waiting for it (what pyOCD does for a
        USB probe that is absent) would never end.
        """
        name = _board_name(unique_id)
        names = _sim_board_names()
        remote = _served(name)
        if remote is not None or name in names:
            return remote or cls(name)
        if is_explicit:
            raise exceptions.ProbeError(
                f"no simulated board {name!r}; simulated boards: {', '.join(names) or 'none'} "
                "(add one to the inventory, fixtures/boards.toml or $HIL_INVENTORY)"
            )
        return None

    def __init__(self, board_name: str) -> None:
        super().__init__()
        self._board_name = board_name
        self._board: SimBoard | None = None
        self._dap: SimDap | None = None
        self._is_open = False
        self._protocol: DebugProbe.Protocol | None = None
        self._reset_asserted = False
        self._mutex = threading.RLock()

    # -- identity -----------------------------------------------------------------------
    @property
    def board_name(self) -> str:
        return self._board_name

    @property
    def board(self) -> SimBoard:
        """The live simulated board behind this probe (opened on first use)."""
        if self._board is None:
            from stm32_hil.sim import live as registry

            try:
                self._board = registry.get_or_create(self._board_name)
            except HarnessError as exc:
                raise exceptions.ProbeError(str(exc)) from None
            self._dap = SimDap(self._board)
        return self._board

    @property
    def dap(self) -> SimDap:
        _ = self.board
        assert self._dap is not None
        return self._dap

    @property
    def description(self) -> str:
        return f"{self.vendor_name} {self.product_name} [{self._board_name}]"

    @property
    def vendor_name(self) -> str:
        return "stm32-hil"

    @property
    def product_name(self) -> str:
        return "Simulated SWD probe"

    @property
    def supported_wire_protocols(self) -> Sequence[DebugProbe.Protocol]:
        return [DebugProbe.Protocol.DEFAULT, DebugProbe.Protocol.SWD]

    @property
    def unique_id(self) -> str:
        return UID_PREFIX + self._board_name

    @property
    def wire_protocol(self) -> DebugProbe.Protocol | None:
        return self._protocol

    @property
    def is_open(self) -> bool:
        return self._is_open

    @property
    def capabilities(self) -> set[DebugProbe.Capability]:
        return {DebugProbe.Capability.SWJ_SEQUENCE}

    @property
    def associated_board_info(self) -> BoardInfo | None:
        """The board this probe is soldered to, as pyOCD asks a probe: its target type is the
        part's generated one (`pyocd_targets`), so no `-t` is needed."""
        from stm32_hil.sim.debug import pyocd_targets

        name = pyocd_targets.register(self.board.part)
        return BoardInfo(self._board_name, name, None, "STMicroelectronics")

    def create_associated_board(self) -> Board | None:
        assert self.session is not None
        return Board(self.session, board_info=self.associated_board_info)

    # -- life cycle ---------------------------------------------------------------------
    def open(self) -> None:
        _ = self.board
        self._is_open = True

    def close(self) -> None:
        self._is_open = False

    def connect(self, protocol: DebugProbe.Protocol | None = None) -> None:
        if protocol not in (None, DebugProbe.Protocol.DEFAULT, DebugProbe.Protocol.SWD):
            raise exceptions.ProbeError(
                f"the simulated probe speaks SWD only, not {protocol.name}"  # type: ignore[union-attr]
            )
        try:
            self.board.check_debug()
        except HarnessError as exc:
            raise exceptions.ProbeError(f"{self._board_name}: {exc}") from None
        self._protocol = DebugProbe.Protocol.SWD

    def disconnect(self) -> None:
        self._protocol = None

    def swj_sequence(self, length: int, bits: int) -> None:
        """Line reset / JTAG-to-SWD: the simulated SW-DP is always in SWD mode."""

    def set_clock(self, frequency: float) -> None:
        """SWCLK has no effect on virtual time per transaction."""

    # -- reset --------------------------------------------------------------------------
    def reset(self) -> None:
        with self._mutex:
            self.assert_reset(True)
            self.assert_reset(False)

    def assert_reset(self, asserted: bool) -> None:
        with self._mutex:
            self._reset_asserted = bool(asserted)
            self.board.set_pin("NRST", not asserted)

    def is_reset_asserted(self) -> bool:
        return not self.board.pins["NRST"]

    # -- time -----------------------------------------------------------------------------
    def idle(self, seconds: float) -> None:
        """Let `seconds` of target time pass with no transfers.

        The board's time is virtual: a host that sleeps between transfers would see no progress
        (a flash erase would never finish). `PyOCDTarget.delay` calls this instead of sleeping
        when the session's probe has it, so waits are paced in target time, deterministically.
        """
        with self._mutex:
            self.dap.idle(seconds)

    # -- DAP access -----------------------------------------------------------------------
    def _call(self, fn: Callable[[], int | None]) -> int:
        with self._mutex:
            try:
                self.dap.tick()
                return fn() or 0
            except _Fault as err:
                raise _fault(err) from None
            except _NoAck as err:
                raise NoAckError(
                    f"SWD communication failure (No ACK) from simulated {self._board_name}: "
                    f"{err.cause.message}",
                    err.cause,
                ) from None

    def read_dp(self, addr: int, now: bool = True) -> Any:
        value = self._call(lambda: self.dap.read_dp(addr))
        return value if now else (lambda: value)

    def write_dp(self, addr: int, data: int) -> None:
        self._call(lambda: self.dap.write_dp(addr, data))

    def read_ap(self, addr: int, now: bool = True) -> Any:
        value = self._call(lambda: self.dap.read_ap(addr))
        return value if now else (lambda: value)

    def write_ap(self, addr: int, data: int) -> None:
        self._call(lambda: self.dap.write_ap(addr, data))

    def read_ap_multiple(self, addr: int, count: int = 1, now: bool = True) -> Any:
        values = [self._call(lambda: self.dap.read_ap(addr)) for _ in range(count)]
        return values if now else (lambda: values)

    def write_ap_multiple(self, addr: int, values: Sequence[int]) -> None:
        for v in values:
            self._call(lambda v=v: self.dap.write_ap(addr, v))  # type: ignore[misc]


class SimProbePlugin(Plugin):
    """pyOCD plugin (`pyocd.probe` entry point `sim`) for the simulated probe."""

    def load(self) -> type[SimProbe]:
        return SimProbe

    @property
    def name(self) -> str:
        return "sim"

    @property
    def description(self) -> str:
        return "stm32-hil simulated boards (SWD)"
