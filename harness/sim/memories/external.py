"""External flash of a simulated board: the inventory's `external_flash` entries made real.

A board whose inventory entry lists `{chip, bus = "QUADSPI", bank, chips}` gets a QUADSPI
controller with those NOR chips on it (the RCC model resets it through the data's reset
bit), and its memory-mapped window on the bus, which the core maps (see CortexM window
handling).
`bus = "OCTOSPI1"` / `"OCTOSPI2"` (`"OCTOSPI"` meaning OCTOSPI1) puts one chip on that OCTOSPI
block of the part instead (`stm32_hil.sim.periph.octospi`), window at 0x90000000 / 0x70000000.
`bus = "SPI1"` ... (`"SPI"`: any SPI block) puts one chip on a 4-wire SPI bus, driven by that
SPI block or bit-banged through GPIOs; `bus = "GPIO"` (pins required) is a chip the firmware
bit-bangs (`stm32_hil.sim.memories.spi_nor`).

Every bus goes through the board's pins (`stm32_hil.sim.memories.wiring`): with `pins` in the
entry, a controller's command reaches the chip only while the firmware has the declared pins in
the matching alternate functions; `wiring_report()` names the pins used and any mismatch.

Two things make a whole-device pass through a loader affordable in Python:
- Status polling skips ahead. When a status-register read finds the chip busy, virtual time
  jumps to the instant the chip is ready. Shortcut: the CPU's polling loop runs fewer
  iterations than on silicon (a loader that counts iterations as a timeout sees fewer of
  them); every status value it reads is still one the chip would have returned.
  The same skipping applies to OCTOSPI (`SkippingOctospi`).
- Dual-flash memory-mapped reads are served from an interleaved mirror of both chips (even
  bytes from bank 1, odd from bank 2), refreshed only where a program or erase changed the
  chips, so the core can alias it like any memory instead of calling Python per byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stm32_hil.errors import ConfigError
from stm32_hil.sim.bus import CpuMap
from stm32_hil.sim.memories.nor.chip import NorFlash
from stm32_hil.sim.memories.nor.commands import Kind
from stm32_hil.sim.memories.spi_nor import SpiNorPort
from stm32_hil.sim.memories.wiring import (
    GPIO_ONLY,
    OCTAL_SIGNALS,
    QUAD_SIGNALS,
    SPI_NAMES,
    SPI_SIGNALS,
    Wiring,
    WiringReport,
    bus_functions,
    octospi_names,
    quadspi_names,
)
from stm32_hil.sim.periph.octospi import Octospi
from stm32_hil.sim.periph.octospim import router
from stm32_hil.sim.periph.quadspi import (
    CCR,
    CR_EN,
    FMODE_MMAP,
    LINES,
    Quadspi,
    QuadspiWindow,
    serves_linearly,
)
from stm32_hil.sim.periph.xspi_windows import window_base

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

MIRROR_BLOCK = 0x10000  # dirty-tracking granule of the dual-flash mirror, in chip bytes


class _Wired:
    """A controller whose commands reach the chip only through the board's declared pins."""

    wiring: Wiring | None = None
    txs: list[Any]

    def _lines_used(self) -> int:
        raise NotImplementedError

    def _unwired(self) -> list[str]:
        wiring = self.wiring
        if wiring is None or not wiring.declared:
            return []  # wired as the loader configures
        lines = self._lines_used()
        needed = ["CLK", "NCS", "IO0", "IO1"]
        if lines >= 4:
            needed += ["IO2", "IO3"]
        if lines >= 8:
            needed += [f"IO{i}" for i in range(4, 8)]
        return wiring.problems(tuple(s for s in needed if s in wiring.declared))

    def _cut_unwired(self) -> None:
        """After a command's phases went out: a chip the pins do not reach heard nothing."""
        problems = self._unwired()
        if problems:
            for t in self.txs:
                t._ignore("not wired: " + problems[0])


class SkippingQuadspi(_Wired, Quadspi):
    """QUADSPI whose status polls skip virtual time to the chip's ready instant."""

    window: MirroringWindow  # type: ignore[assignment]
    TCF_ON_ABORT = True  # RM0433 23.5.3: TCF is also set when a transfer is aborted

    def __init__(self, name: str, base: int, chips: list[NorFlash], clock: Any) -> None:
        self.clock = clock
        self.dirty: set[tuple[int, int]] = set()  # (chip index, block) changed since mirroring
        super().__init__(name, base, chips)
        self.window = MirroringWindow(self)
        self.mark_all_dirty()
        self.reset()

    def mark_all_dirty(self) -> None:
        """Call after changing chip bytes behind the controller's back (test back-doors)."""
        for i, chip in enumerate(self.chips):
            blocks = (chip.spec.size + MIRROR_BLOCK - 1) // MIRROR_BLOCK
            self.dirty |= {(i, b) for b in range(blocks)}

    def _lines_used(self) -> int:
        ccr = self.regs[CCR]
        return max(LINES[(ccr >> shift) & 3] for shift in (8, 10, 14, 24))

    def _open(self, address: int) -> None:
        super()._open(address)
        self._cut_unwired()

    def linear_chip(self) -> NorFlash | None:
        return None if self._unwired() else super().linear_chip()

    def _close(self) -> None:
        txs = getattr(self, "txs", [])
        instant = _ready_instant(txs)
        for t in txs:  # what the commands changed, for the dual-flash mirror
            cmd = t.cmd
            if cmd is None or t.deaf:
                continue
            index = self.chips.index(t.chip)
            if cmd.kind is Kind.CHIP_ERASE:
                self.mark_all_dirty()
            elif cmd.kind in (Kind.PROGRAM, Kind.ERASE) and t.address is not None:
                size = cmd.size if cmd.kind is Kind.ERASE else t.chip.spec.page_size
                start = (t.address % t.chip.spec.size) & ~(size - 1)
                for block in range(start // MIRROR_BLOCK, (start + size - 1) // MIRROR_BLOCK + 1):
                    self.dirty.add((index, block))
        super()._close()
        _skip_to(self.clock, instant)

    def mmap_read(self, offset: int, length: int) -> bytes:
        if self.window.mirrored and offset + length <= self.mapped_size:
            mirror = self.window.mirror
            return bytes(mirror[offset : offset + length])
        return super().mmap_read(offset, length)


def _ready_instant(txs: list[Any]) -> float:
    """Latest instant a chip read busy by a status read of `txs` becomes ready (0: none)."""
    skip_to = 0.0
    for t in txs:
        cmd = t.cmd
        if cmd is not None and not t.deaf and cmd.kind is Kind.READ_REG and t.chip.busy:
            skip_to = max(skip_to, t.chip.busy_until)
    return skip_to


def _skip_to(clock: Any, instant: float) -> None:
    """Advance virtual time just past `instant` (seconds), never backwards."""
    if instant:
        due = int(instant * clock.hz) + 1
        if due > clock.now:
            clock.advance(due - clock.now)


class SkippingOctospi(_Wired, Octospi):
    """OCTOSPI whose status polls (indirect or automatic) skip to the chip's ready instant.

    One chip, so the window aliases the chip's own cells: no mirror to keep up to date.
    """

    def __init__(
        self, name: str, base: int, chips: list[NorFlash], window_base: int, clock: Any
    ) -> None:
        self.clock = clock
        super().__init__(name, base, chips, window_base)

    def mark_all_dirty(self) -> None:
        """Nothing to do: the window is the chip's own cells (kept for ExternalFlash.write)."""

    def _lines_used(self) -> int:
        ph = self.phases()
        return max(ph.imode, ph.admode, ph.abmode, ph.dmode, 1)

    def _open(self, address: int) -> None:
        super()._open(address)
        self._cut_unwired()

    def linear_chip(self) -> NorFlash | None:
        return None if self._unwired() else super().linear_chip()

    def _close(self) -> None:
        instant = _ready_instant(self.txs)
        super()._close()
        _skip_to(self.clock, instant)


class MirroringWindow(QuadspiWindow):
    """The memory-mapped window; in dual-flash mode it exposes the interleaved mirror."""

    ctrl: SkippingQuadspi

    def __init__(self, ctrl: SkippingQuadspi) -> None:
        super().__init__(ctrl)
        self.mirror = bytearray()  # allocated when dual-flash memory-mapped mode first needs it
        self.mirrored = False

    @property
    def cpu_map(self) -> CpuMap:  # type: ignore[override]
        if self.mirrored:
            return CpuMap.ROM
        return CpuMap.ROM if self.direct_chip() is not None else CpuMap.MMIO

    @property
    def data(self) -> bytearray:
        if self.mirrored:
            return self.mirror
        return super().data

    def refresh(self) -> None:
        was = getattr(self, "mirrored", False)
        self.mirrored = self._dual_linear()
        if self.mirrored:
            self._update_mirror()
        if was != self.mirrored:
            self._direct = None
            for listener in list(self.on_remap):
                listener()
            return
        super().refresh()

    def _dual_linear(self) -> bool:
        ctrl = self.ctrl
        if len(ctrl.chips) != 2 or not ctrl.dual or not ctrl.cr & CR_EN:
            return False
        if ctrl.fmode != FMODE_MMAP:
            return False
        idle = all(not (chip.busy or chip.selected) for chip in ctrl.chips)
        if not idle or not all(serves_linearly(ctrl.regs[CCR], chip) for chip in ctrl.chips):
            return False
        if not self.mirror:
            # First use: start from erased cells; every block programmed or erased since the
            # chips were created is still in ctrl.dirty and is copied in by _update_mirror.
            self.mirror = bytearray(b"\xff") * (2 * ctrl.chips[0].spec.size)
        return True

    def _update_mirror(self) -> None:
        ctrl = self.ctrl
        a, b = ctrl.chips
        for index, block in sorted(ctrl.dirty):
            lo = block * MIRROR_BLOCK
            hi = min(lo + MIRROR_BLOCK, len(a.data))
            src = (a, b)[index].data
            self.mirror[2 * lo + index : 2 * hi : 2] = src[lo:hi]
        ctrl.dirty.clear()


class SpiNor:
    """The chip side of an SPI or bit-banged NOR: what the back-doors need from a controller."""

    window = None

    def __init__(self, port: SpiNorPort) -> None:
        self.port = port
        self.chips = [port.chip]

    def mark_all_dirty(self) -> None:
        """Nothing to do: no window mirrors the cells."""


class ExternalFlash:
    """The external memories of one board, with back-doors for checks against the model."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.quadspi: SkippingQuadspi | None = None
        self.octospi: SkippingOctospi | None = None
        self.spi: SpiNorPort | None = None
        self.wiring: Wiring | None = None
        self._spi_nor: SpiNor | None = None
        self._log_seen: dict[int, int] = {}  # chip -> log lines already reported
        entries = list(board.spec.external_flash)
        if not entries:
            return
        if len(entries) > 1:
            raise ConfigError(
                f"board {board.name}: more than one external_flash entry",
                hint="the simulator wires one controller; for QUADSPI dual-flash use chips = 2",
            )
        spec = entries[0]
        bus = spec.bus.upper()
        if bus == "QUADSPI":
            self._attach_quadspi(board, spec)
        elif bus in ("OCTOSPI", "OCTOSPI1", "OCTOSPI2"):
            self._attach_octospi(board, spec, "OCTOSPI1" if bus == "OCTOSPI" else bus)
        elif bus == GPIO_ONLY or bus.startswith("SPI"):
            self._attach_spi(board, spec, bus)
        else:
            raise ConfigError(
                f"board {board.name}: external flash on {spec.bus} is not simulated",
                hint="the simulator models NOR flash on QUADSPI, OCTOSPI1, OCTOSPI2, SPIn "
                "(an SPI block) or GPIO (bit-banged, with pins)",
            )

    def _attach_quadspi(self, board: SimBoard, spec: Any) -> None:
        if spec.chips not in (1, 2) or (spec.chips == 1 and spec.bank != 1):
            raise ConfigError(
                f"board {board.name}: QUADSPI {spec.chip} x{spec.chips} on bank {spec.bank}",
                hint="the simulator wires one chip on bank 1, or two chips (dual-flash mode)",
            )
        clock = board.clock
        chips = [NorFlash(spec.chip, lambda: clock.now / clock.hz) for _ in range(spec.chips)]
        block = next((b for b in board.part.blocks if b.kind == "quadspi"), None)
        if block is None:
            raise ConfigError(
                f"board {board.name}: part {board.part.name} has no QUADSPI",
                hint="the part's data lists no QUADSPI block; check the part or the bus",
            )
        # The controller keeps the data's name (QUADSPI, or QUADSPI1 on G4) so RCC reset
        # lines and `hil parts show` refer to the same block.
        self.quadspi = SkippingQuadspi(block.name, block.base, chips, clock)
        self.quadspi.window.base = window_base(board.part, block.name)
        # Dual-flash: the pins of bank 1 (with the shared CLK) are checked; bank 2 is not.
        functions = bus_functions([block], quadspi_names(spec.bank))
        self.wiring = Wiring(board, "QUADSPI", QUAD_SIGNALS, functions, spec.pins)
        self.quadspi.wiring = self.wiring
        board.bus.attach(self.quadspi)
        board.bus.attach(self.quadspi.window)

    def _attach_octospi(self, board: SimBoard, spec: Any, name: str) -> None:
        if spec.chips != 1 or spec.bank != 1:
            raise ConfigError(
                f"board {board.name}: {name} {spec.chip} x{spec.chips} on bank {spec.bank}",
                hint="the OCTOSPI model wires one chip on port 1 (no dual-memory mode)",
            )
        block = next((b for b in board.part.blocks if b.name == name and b.kind == "octospi"), None)
        if block is None:
            have = [b.name for b in board.part.blocks if b.kind == "octospi"]
            raise ConfigError(
                f"board {board.name}: part {board.part.name} has no {name}",
                hint=f"its OCTOSPI blocks: {', '.join(have) or 'none'}",
            )
        clock = board.clock
        chip = NorFlash(spec.chip, lambda: clock.now / clock.hz)
        self.octospi = SkippingOctospi(
            block.name, block.base, [chip], window_base(board.part, block.name), clock
        )
        if any(b.kind == "octospim" for b in board.part.blocks):
            self.octospi.route = router(board, block.name)
        # Behind an I/O manager the pins belong to OCTOSPIM ports P1/P2 (OCTOSPI1 on port 1,
        # OCTOSPI2 on port 2, the manager's reset mapping); otherwise to the block itself.
        manager = next((b for b in board.part.blocks if b.name.startswith("OCTOSPIM")), None)
        if manager is not None and manager.pins:
            functions = bus_functions([manager], octospi_names(int(name[-1])))
        else:
            functions = bus_functions([block], octospi_names(None))
        self.wiring = Wiring(board, name, OCTAL_SIGNALS, functions, spec.pins)
        self.octospi.wiring = self.wiring
        board.bus.attach(self.octospi)
        board.bus.attach(self.octospi.window)

    def _attach_spi(self, board: SimBoard, spec: Any, bus: str) -> None:
        if spec.chips != 1 or spec.bank != 1:
            raise ConfigError(
                f"board {board.name}: {bus} {spec.chip} x{spec.chips} on bank {spec.bank}",
                hint="an SPI bus wires one chip",
            )
        spis = [b for b in board.part.blocks if b.kind == "spi" and b.name.startswith("SPI")]
        if bus == GPIO_ONLY:
            blocks, name = [], None
            missing = [s for s in SPI_SIGNALS if s not in {k.upper() for k in spec.pins}]
            if missing:
                raise ConfigError(
                    f"board {board.name}: a bit-banged (bus GPIO) NOR needs its pins; "
                    f"{', '.join(missing)} missing",
                    hint='pins = { SCK = "PA0", NCS = "PA5", MOSI = "PA4", MISO = "PA3" }',
                )
        elif bus == "SPI":
            blocks, name = spis, None
        else:
            blocks = [b for b in spis if b.name == bus]
            name = bus
            if not blocks:
                raise ConfigError(
                    f"board {board.name}: part {board.part.name} has no {bus}",
                    hint=f"its SPI blocks: {', '.join(b.name for b in spis) or 'none'}",
                )
        clock = board.clock
        chip = NorFlash(spec.chip, lambda: clock.now / clock.hz)
        self.wiring = Wiring(board, bus, SPI_SIGNALS, bus_functions(blocks, SPI_NAMES), spec.pins)
        self.spi = SpiNorPort(board, chip, self.wiring, name, lambda t: _skip_to(clock, t))
        self._spi_nor = SpiNor(self.spi)

    def gpio_built(self, gpio: Any) -> None:
        """A GPIO port was built: the wiring follows its configuration, a chip on pins its
        levels."""
        if self.wiring is not None:
            self.wiring.watch(gpio)
        if self.spi is not None:
            self.spi.gpio_built(gpio)

    def wiring_report(self) -> WiringReport | None:
        """The pins the loader used for the memory, the mismatches with the board's, and what
        the chips ignored since the previous report (each report takes those lines)."""
        if self.wiring is None:
            return None
        report = self.wiring.report()
        chips = self.controller.chips if self.controller is not None else []
        for chip in chips:  # what the chips ignored since the last report, each reason once
            seen = self._log_seen.get(id(chip), 0)
            for line in chip.log[seen:]:
                if line not in report.flash_notes and len(report.flash_notes) < 4:
                    report.flash_notes.append(line)
            self._log_seen[id(chip)] = len(chip.log)
        if self.spi is not None:
            report.used = self.spi.pins_used()
            report.problems += [p for p in self.spi.problems() if p not in report.problems]
            held = self.spi.held_note()
            if held:
                report.flash_notes.append(held)
        return report

    @property
    def controller(self) -> SkippingQuadspi | SkippingOctospi | SpiNor | None:
        """What the external flash hangs on (QUADSPI, OCTOSPI or an SPI bus), if any."""
        if self.quadspi is not None:
            return self.quadspi
        return self.octospi if self.octospi is not None else self._spi_nor

    @property
    def window_base(self) -> int:
        ctrl = self.controller
        return ctrl.window.base if ctrl is not None and ctrl.window is not None else 0

    @property
    def size(self) -> int:
        ctrl = self.controller
        if ctrl is None:
            return 0
        return sum(c.spec.size for c in ctrl.chips)

    # -- back-doors: the model's own view of the device, as the CPU window would show it -----
    def read(self, offset: int, length: int) -> bytes:
        """Device bytes at `offset` (dual flash interleaved), straight from the cells."""
        q = self._q()
        if len(q.chips) == 1:
            return bytes(q.chips[0].data[offset : offset + length])
        out = bytearray(length)
        for lane, (start, count, chip) in _lanes(offset, length, q.chips):
            out[lane::2] = chip.data[start : start + count]
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        """Set device bytes directly (no erase needed): to lay a known pattern down fast."""
        q = self._q()
        if len(q.chips) == 1:
            q.chips[0].data[offset : offset + len(data)] = data
        else:
            for lane, (start, count, chip) in _lanes(offset, len(data), q.chips):
                chip.data[start : start + count] = data[lane::2]
        q.mark_all_dirty()
        if q.window is not None:
            q.window.refresh()

    def _q(self) -> SkippingQuadspi | SkippingOctospi | SpiNor:
        ctrl = self.controller
        if ctrl is None:
            raise ConfigError(
                f"board {self.board.name} has no external flash",
                hint="add external_flash to its inventory entry",
            )
        return ctrl


def _lanes(
    offset: int, length: int, chips: list[NorFlash]
) -> list[tuple[int, tuple[int, int, NorFlash]]]:
    """Dual flash: for each lane (0, 1) of a device span, (chip start, byte count, chip).

    Device byte o lives in chip o & 1 at index o >> 1 (RM0433 dual-flash mode).
    """
    out = []
    for lane in (0, 1):
        count = (length - lane + 1) // 2
        if count <= 0:
            continue
        device = offset + lane
        out.append((lane, (device >> 1, count, chips[device & 1])))
    return out


def attach_external_flash(board: SimBoard) -> ExternalFlash:
    return ExternalFlash(board)
