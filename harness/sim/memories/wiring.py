"""How an external memory is wired to the part: which pin carries which signal of the bus.

On silicon a controller's signal reaches the memory only through a pin the firmware has put in
that signal's alternate function, and only if the board's trace runs from that pin to the
memory. A loader built for another pin variant of the same board family muxes the signal onto
a pin with no trace behind it and sees no memory. This module is that rule for every bus the
simulator wires (SPI, QUADSPI, OCTOSPI):

- The signals of a bus and the alternate functions that carry them come from the part's pin
  data (`BlockInfo.pins`: pin, signal, AF number), never from a table of boards.
- The inventory may declare the board's pins (`external_flash = [{ ..., pins = { CLK = "PB2",
  NCS = "PB6", ... } }]`). A declared signal reaches the memory only through its declared pin,
  and only while the firmware has that pin in the signal's alternate function (or, for a
  chip select or a bit-banged SPI line, drives it as a GPIO output).
- Without `pins` (or for a signal `pins` leaves out) the board is wired as the loader
  configures: whatever pin the firmware muxes a signal onto is taken as wired, and `report()`
  lists the pins it used.

Models ask `routes()` (kept until a GPIO port's MODER/AFR changes) and `problems(signals)`;
the board's `wiring_report()` gives the validator the words for its verdict.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stm32_hil.errors import ConfigError
from stm32_hil.sim.periph.gpio import MODE_AF, MODE_OUTPUT, Gpio

if TYPE_CHECKING:
    from stm32_hil.parts.chipdata import BlockInfo
    from stm32_hil.sim.board import SimBoard

_PIN = re.compile(r"^P([A-Z])(\d{1,2})")

# Inventory signal names per bus, in the order a report lists them.
SPI_SIGNALS = ("SCK", "NCS", "MOSI", "MISO")
QUAD_SIGNALS = ("CLK", "NCS", "IO0", "IO1", "IO2", "IO3")
OCTAL_SIGNALS = ("CLK", "NCS", "DQS", *(f"IO{i}" for i in range(8)))
GPIO_ONLY = "GPIO"  # bus name of a bit-banged memory: every line is a GPIO pin


@functools.lru_cache(maxsize=512)
def parse_pin(name: str) -> tuple[str, int]:
    """("GPIOB", 2) for "PB2" (data names such as "PC14-OSC32_IN" keep their pin part)."""
    m = _PIN.match(name.strip().upper())
    if m is None or int(m.group(2)) > 15:
        raise ConfigError(
            f"{name!r} is not a pin name",
            hint='pins are written as port letter and number: "PB2", "PA15"',
        )
    return f"GPIO{m.group(1)}", int(m.group(2))


def pin_name(port: str, pin: int) -> str:
    return f"P{port.removeprefix('GPIO')}{pin}"


@dataclass(frozen=True)
class Route:
    """Where a signal is on the board now, as far as the memory can tell."""

    signal: str
    pin: str | None  # the pin that carries it to the memory (None: nothing reaches it)
    how: str  # "AF9", "GPIO output", "GPIO input", "" when not reached
    block: str | None = None  # the controller driving it through an alternate function


@dataclass
class WiringReport:
    """What the validator says about the wiring: pins used, and the mismatches seen."""

    bus: str
    declared: dict[str, str]
    used: dict[str, str] = field(default_factory=dict)  # signal -> pin the loader used
    problems: list[str] = field(default_factory=list)
    # What the memory saw go wrong since the previous report (a logic analyser's view): the
    # commands it ignored and why, a chip select left low.
    flash_notes: list[str] = field(default_factory=list)

    def pins_text(self) -> str:
        if not self.used:
            return ""
        pins = ", ".join(f"{s} {p}" for s, p in self.used.items())
        origin = "as the board declares" if self.declared else "as the loader configured them"
        return f"{self.bus} pins used: {pins} ({origin})"

    def problems_text(self) -> str:
        return "; ".join(self.problems)

    def failure_text(self) -> str:
        """What a failed check should quote: wiring mismatches, then what the flash saw."""
        parts = []
        if self.problems:
            parts.append("wiring: " + self.problems_text())
        if self.flash_notes:
            parts.append("the flash saw: " + "; ".join(self.flash_notes))
        return "; ".join(parts)


class Wiring:
    """The pins between one controller (or the GPIO ports) and one memory."""

    def __init__(
        self,
        board: SimBoard,
        bus: str,
        signals: tuple[str, ...],
        functions: dict[str, list[tuple[str, int, str]]],
        declared: dict[str, str] | None,
    ) -> None:
        """`functions`: inventory signal -> [(pin, AF number, controller block)] from the data."""
        self.board = board
        self.bus = bus
        self.signals = signals
        self.functions = functions
        self.declared = {k.upper(): v.upper() for k, v in (declared or {}).items()}
        unknown = set(self.declared) - set(signals)
        if unknown:
            raise ConfigError(
                f"board {board.name}: external_flash pins name unknown signal(s) "
                f"{', '.join(sorted(unknown))} for bus {bus}",
                hint="signals: " + ", ".join(signals),
            )
        for pin in self.declared.values():
            parse_pin(pin)
        self._ports = self._port_names()
        self._gpio: dict[str, Gpio] = {}  # ports built so far
        self._valid = False  # routes up to date with every port's MODER/AFR
        self._routes: dict[str, Route] = {}
        self.seen: dict[str, str] = {}  # signal -> pin, every pin the loader used a signal on
        self.mismatches: dict[str, str] = {}  # signal -> why it does not reach the memory

    # -- GPIO access ---------------------------------------------------------------------------
    def port(self, name: str) -> Gpio | None:
        gpio = self._gpio.get(name)
        if gpio is not None:
            return gpio
        bus = self.board.bus
        if not bus.has(name):
            return None
        dev = bus.device(name)
        if not isinstance(dev, Gpio):
            return None
        self._gpio[name] = dev
        return dev

    def _port_names(self) -> list[str]:
        names = {parse_pin(p)[0] for p in self.declared.values()}
        for rows in self.functions.values():
            names |= {parse_pin(pin)[0] for pin, _af, _block in rows}
        return sorted(names)

    def watch(self, gpio: Gpio) -> None:
        """A port was built: routes follow its MODER/AFR writes from now on."""
        if gpio.name in self._ports:
            self._gpio[gpio.name] = gpio
            gpio.config_listeners.append(self.invalidate)
            self._valid = False

    def invalidate(self) -> None:
        self._valid = False

    def pin_mode(self, pin: str) -> tuple[int, int]:
        """(MODER mode, AF number) of a pin; (-1, 0) when its port does not exist."""
        port, n = parse_pin(pin)
        gpio = self.port(port)
        if gpio is None:
            return -1, 0
        return gpio.mode(n), gpio.alternate(n)

    # -- routing ---------------------------------------------------------------------------------
    def routes(self) -> dict[str, Route]:
        """Signal -> route, recomputed only when a port's MODER or AFR changed."""
        if not self._valid:
            self._valid = True
            self._routes = {s: self._route(s) for s in self.signals}
        return self._routes

    def _muxed(self, signal: str) -> list[tuple[str, int, str]]:
        """(pin, AF, block) of every pin the firmware put in an AF carrying `signal`."""
        out = []
        for pin, af, block in self.functions.get(signal, []):
            mode, got = self.pin_mode(pin)
            if mode == MODE_AF and got == af:
                out.append((pin, af, block))
        return out

    def _route(self, signal: str) -> Route:
        muxed = self._muxed(signal)
        for pin, _af, _block in muxed:
            self.seen.setdefault(signal, pin)
        wired = self.declared.get(signal)
        if wired is None:  # not declared: wired as the loader configures
            if muxed:
                pin, af, block = muxed[0]
                return Route(signal, pin, f"AF{af}", block)
            return Route(signal, None, "")
        hit = next((m for m in muxed if m[0] == wired), None)
        if hit is not None:
            self.mismatches.pop(signal, None)
            return Route(signal, wired, f"AF{hit[1]}", hit[2])
        mode, af = self.pin_mode(wired)
        if muxed:
            others = ", ".join(m[0] for m in muxed)
            self.mismatches[signal] = (
                f"the loader drives {signal} on {others}, the board wires {signal} on {wired}"
            )
        if mode == MODE_OUTPUT:
            return Route(signal, wired, "GPIO output")
        if mode == 0:
            return Route(signal, wired, "GPIO input")
        if not muxed and mode == MODE_AF:
            self.mismatches.setdefault(
                signal,
                f"the board wires {signal} on {wired}, which the loader set to AF{af}, not "
                f"an alternate function carrying {signal}",
            )
        return Route(signal, None, "")

    def problems(self, signals: tuple[str, ...]) -> list[str]:
        """Why some of `signals` do not reach the memory from a controller (empty: they do)."""
        routes = self.routes()
        out = []
        for s in signals:
            if routes[s].pin is None or routes[s].how.startswith("GPIO"):
                out.append(self.mismatches.get(s) or self._absent(s))
        return out

    def _absent(self, signal: str) -> str:
        wired = self.declared.get(signal)
        if wired is None:
            return f"the loader does not put any pin in the {self.bus} {signal} function"
        mode, af = self.pin_mode(wired)
        what = {0: "an input", 1: "a GPIO output", 2: f"AF{af}", 3: "analog"}.get(mode, "absent")
        return f"the board wires {signal} on {wired}, which the loader left as {what}"

    def report(self) -> WiringReport:
        self.routes()
        used = {s: r.pin for s, r in self._routes.items() if r.pin is not None}
        for s, pin in self.seen.items():
            used.setdefault(s, pin)
        ordered = {s: used[s] for s in self.signals if s in used}
        return WiringReport(self.bus, dict(self.declared), ordered, list(self.mismatches.values()))


def bus_functions(
    blocks: list[BlockInfo], names: dict[str, str]
) -> dict[str, list[tuple[str, int, str]]]:
    """Inventory signal -> [(pin, AF, block)], from the data's pin functions of `blocks`.

    `names` maps the data's signal names to the inventory's ("BK1_NCS" -> "NCS").
    """
    out: dict[str, list[tuple[str, int, str]]] = {}
    for block in blocks:
        for pf in block.pins:
            signal = names.get(pf.signal)
            if signal is None or pf.af is None:
                continue
            try:
                pin = pin_name(*parse_pin(pf.pin))
            except ConfigError:
                continue
            out.setdefault(signal, []).append((pin, pf.af, block.name))
    return out


def quadspi_names(bank: int) -> dict[str, str]:
    names = {"CLK": "CLK", f"BK{bank}_NCS": "NCS"}
    names.update({f"BK{bank}_IO{i}": f"IO{i}" for i in range(4)})
    return names


def octospi_names(port: int | None) -> dict[str, str]:
    """Signal names of an OCTOSPI port: "P1_CLK" behind an OCTOSPIM, plain "CLK" otherwise."""
    prefix = f"P{port}_" if port else ""
    return {prefix + s: s for s in OCTAL_SIGNALS}


SPI_NAMES = {"SCK": "SCK", "NSS": "NCS", "MOSI": "MOSI", "MISO": "MISO"}
