"""The board inventory's schema, checked against the part's own data before any board is built.

A typo in `boards.toml` should surface when the file is loaded, at its line, with what would
have been right: an unknown key names the closest valid one, a peripheral, bus or pin is looked
up on the part (stm32-data), an external flash chip in the NOR catalogue. Every problem of the
file is reported at once, so fixing an inventory takes one round, not one per mistake.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stm32_hil.errors import InventoryError, UnknownPartError
from stm32_hil.inventory_positions import KeyPositions
from stm32_hil.inventory_positions import Path as KeyPath
from stm32_hil.parts import Part, get_part

BACKENDS = ("sim", "pyocd", "labgrid")
CONNECT_MODES = ("attach", "halt", "under-reset")
BOOT0_DRIVES = ("sim", "dtr", "rts", "none")
NRST_DRIVES = ("sim", "dtr", "rts", "probe", "none")
BANKS = (1, 2)
CHIP_COUNTS = (1, 2)  # 2: dual-flash mode (two chips side by side on one controller)
# Register-block kinds (stm32-data) that can carry a serial NOR flash.
MEMORY_BUS_KINDS = ("quadspi", "octospi", "xspi", "hspi", "spi")
UART_KINDS = ("usart", "uart", "lpuart")
SIGNALS = ("CLK", "NCS", *(f"IO{i}" for i in range(8)), "DQS", "SCK", "MOSI", "MISO")

BOARD_KEYS = (
    "part", "backend", "description", "pool", "uart", "pins", "external_flash", "probe",
    "target_type", "connect_mode", "extra", "place", "coordinator",
)  # fmt: skip
UART_KEYS = ("peripheral", "port", "baud")
PIN_KEYS = ("boot0", "nrst", "boot0_inverted", "nrst_inverted")
FLASH_KEYS = ("chip", "bus", "bank", "chips", "cs_pin", "pins")


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    hint: str


class InventoryProblems(InventoryError):
    """Every problem of one inventory file, each at its line and with a hint."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = sorted(problems, key=lambda p: p.line)
        lines = [f"{path}:{p.line}: {p.message}\n  -> {p.hint}" for p in self.problems]
        if len(lines) == 1:
            first = self.problems[0]
            super().__init__(f"{path}:{first.line}: {first.message}", hint=first.hint)
        else:
            super().__init__(
                f"{len(lines)} problems in board inventory {path}:\n" + "\n".join(lines),
                hint="fix each line above; `hil boards` loads the inventory again",
            )


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name `word` was most likely meant to be (case-insensitive)."""
    options = list(choices)
    by_upper = {c.upper(): c for c in options}
    if word.upper() in by_upper:
        return by_upper[word.upper()]
    found = difflib.get_close_matches(word.upper(), list(by_upper), n=1, cutoff=0.5)
    return by_upper[found[0]] if found else None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _listing(names: Iterable[str], limit: int = 24) -> str:
    items = sorted(set(names))
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "") or "none"


class Checker:
    """Collects the problems of one file; `at(path)` gives the line of a key path."""

    def __init__(self, positions: KeyPositions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str, hint: str) -> None:
        self.problems.append(Problem(self.positions.line(path), message, hint))

    def keys(self, path: KeyPath, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        """Flag keys the schema does not know, naming the closest valid one."""
        for key in table:
            if key in allowed:
                continue
            guess = closest(key, allowed)
            self.add(
                (*path, key),
                (f"board {path[1]!r}: " if len(path) > 1 else "")
                + f"unknown key {_name((*path, key))!r}",
                (f"did you mean {guess!r}? " if guess else "")
                + "valid keys here: "
                + ", ".join(allowed),
            )

    def typed(self, path: KeyPath, value: Any, want: type, what: str) -> bool:
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if not ok:
            example = {str: '"text"', int: "115200", bool: "true", dict: "{ key = value }"}
            self.add(
                path,
                f"{_name(path)} must be {what}, not {_kind(value)}",
                f"write it as {_name(path)} = {example.get(want, what)}",
            )
        return ok

    def choice(self, path: KeyPath, value: Any, choices: tuple[Any, ...]) -> bool:
        if value in choices and not isinstance(value, bool):
            return True
        shown = ", ".join(repr(c) if isinstance(c, str) else str(c) for c in choices)
        guess = closest(value, [str(c) for c in choices]) if isinstance(value, str) else None
        self.add(
            path,
            f"{_name(path)} = {value!r} is not valid",
            (f"did you mean {guess!r}? " if guess else "") + f"{_name(path)} is one of: {shown}",
        )
        return False


def _name(path: KeyPath) -> str:
    """The key as a user writes it inside the board table ("uart.baud", "external_flash[1].bus")."""
    out = ""
    for p in path[2:]:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or str(path[-1])


# -- part data -------------------------------------------------------------------------------


def _blocks(part: Part, kinds: tuple[str, ...]) -> dict[str, str]:
    """Blocks of the part whose register kind is one of `kinds`, by upper-case name."""
    if part.chip is None:
        return {}
    return {b.name.upper(): b.name for b in part.chip.blocks if (b.kind or "") in kinds}


def part_pins(part: Part) -> set[str]:
    """The package's pins that carry any function in the data ("PA0", "PB2", ...)."""
    if part.chip is None:
        return set()
    return {f.pin.upper() for b in part.chip.blocks for f in b.pins}


def nor_chip_names() -> list[str]:
    from stm32_hil.sim.memories.nor.chips import CHIPS

    return sorted(CHIPS)


# -- checks ----------------------------------------------------------------------------------


def check_document(data: Mapping[str, Any], positions: KeyPositions, path: Path) -> None:
    """Raise `InventoryProblems` listing every problem of the parsed document."""
    c = Checker(positions)
    c.keys((), data, ("boards",))
    boards = data.get("boards")
    if not isinstance(boards, dict) or not boards:
        c.add(
            ("boards",),
            "no [boards.NAME] tables found",
            "each board is a table such as [boards.my-board] with part and backend",
        )
    else:
        for name, raw in boards.items():
            check_board(c, name, raw)
        check_pools(c, boards)
    if c.problems:
        raise InventoryProblems(path, c.problems)


def check_board(c: Checker, name: str, raw: Any) -> None:
    at: KeyPath = ("boards", name)
    if not isinstance(raw, dict):
        c.add(at, f"board {name!r} must be a table", f"write it as [boards.{name}]")
        return
    c.keys(at, raw, BOARD_KEYS)
    part = _check_part(c, at, raw)
    backend = raw.get("backend", "sim")
    c.choice((*at, "backend"), backend, BACKENDS)
    for key in ("description", "probe", "target_type", "pool", "place", "coordinator"):
        if key in raw:
            c.typed((*at, key), raw[key], str, "a string")
    if "connect_mode" in raw:
        c.choice((*at, "connect_mode"), raw["connect_mode"], CONNECT_MODES)
    if "extra" in raw:
        c.typed((*at, "extra"), raw["extra"], dict, "a table")
    if backend == "pyocd" and not raw.get("probe"):
        c.add(
            at,
            f"board {name!r} uses backend 'pyocd' but names no probe",
            'add probe = "<unique id>" (see `pyocd list`)',
        )
    if backend == "labgrid" and not raw.get("place"):
        c.add(
            at,
            f"board {name!r} uses backend 'labgrid' but names no place",
            'add place = "<labgrid place>" (see `labgrid-client places`)',
        )
    if backend != "labgrid":
        for key in ("place", "coordinator"):
            if key in raw:
                c.add(
                    (*at, key),
                    f"board {name!r}: {key!r} is only for backend 'labgrid'",
                    'set backend = "labgrid" or remove the key',
                )
    if "uart" in raw and c.typed((*at, "uart"), raw["uart"], dict, "a table"):
        _check_uart(c, (*at, "uart"), raw["uart"], part)
    if "pins" in raw and c.typed((*at, "pins"), raw["pins"], dict, "a table"):
        _check_pins(c, (*at, "pins"), raw["pins"])
    if "external_flash" in raw:
        flashes = raw["external_flash"]
        if not isinstance(flashes, list):
            c.add(
                (*at, "external_flash"),
                f"external_flash must be an array of tables, not {_kind(flashes)}",
                'write it as external_flash = [{ chip = "W25Q128", bus = "QUADSPI" }]',
            )
        else:
            for i, entry in enumerate(flashes):
                _check_flash(c, (*at, "external_flash", i), entry, part)


def _check_part(c: Checker, at: KeyPath, raw: dict[str, Any]) -> Part | None:
    if "part" not in raw:
        c.add(at, f"board {at[1]!r} has no 'part'", 'add part = "STM32..." (see `hil parts list`)')
        return None
    if not c.typed((*at, "part"), raw["part"], str, "a part name"):
        return None
    try:
        return get_part(raw["part"])
    except UnknownPartError as exc:
        c.add((*at, "part"), f"board {at[1]!r}: {exc.message}", exc.hint or "`hil parts list`")
        return None


def _on_part(
    c: Checker, path: KeyPath, value: str, known: dict[str, str], part: Part, what: str
) -> bool:
    if not known or value.upper() in known:
        return True
    guess = closest(value, known.values())
    c.add(
        path,
        f"{_name(path)} = {value!r}: {part.name} has no {what} {value!r}",
        (f"did you mean {guess!r}? " if guess else "")
        + f"{what} names on {part.name}: {_listing(known.values())}",
    )
    return False


def _check_uart(c: Checker, at: KeyPath, uart: dict[str, Any], part: Part | None) -> None:
    c.keys(at, uart, UART_KEYS)
    if "peripheral" in uart:
        value = uart["peripheral"]
        if c.typed((*at, "peripheral"), value, str, "a peripheral name") and part is not None:
            _on_part(c, (*at, "peripheral"), value, _blocks(part, UART_KINDS), part, "U(S)ART")
    if "port" in uart:
        c.typed((*at, "port"), uart["port"], str, "a pyserial URL or device path")
    if "baud" in uart and c.typed((*at, "baud"), uart["baud"], int, "an integer"):
        if uart["baud"] <= 0:
            c.add((*at, "baud"), f"uart.baud = {uart['baud']} is not a baud rate",
                  "use a positive rate such as 115200")  # fmt: skip


def _check_pins(c: Checker, at: KeyPath, pins: dict[str, Any]) -> None:
    c.keys(at, pins, PIN_KEYS)
    if "boot0" in pins:
        c.choice((*at, "boot0"), pins["boot0"], BOOT0_DRIVES)
    if "nrst" in pins:
        c.choice((*at, "nrst"), pins["nrst"], NRST_DRIVES)
    for key in ("boot0_inverted", "nrst_inverted"):
        if key in pins:
            c.typed((*at, key), pins[key], bool, "true or false")


def _check_pin(c: Checker, path: KeyPath, value: Any, pins: set[str], part: Part | None) -> None:
    if not c.typed(path, value, str, 'a pin name such as "PB2"') or part is None or not pins:
        return
    if value.upper() not in pins:
        guess = closest(value, pins)
        c.add(
            path,
            f"{_name(path)} = {value!r}: the {part.name} package has no pin {value!r}",
            (f"did you mean {guess!r}? " if guess else "")
            + "pins are written as port letter and number, e.g. PB2 (`hil parts show "
            + part.name
            + "`)",
        )


def _check_flash(c: Checker, at: KeyPath, entry: Any, part: Part | None) -> None:
    if not c.typed(at, entry, dict, "a table"):
        return
    c.keys(at, entry, FLASH_KEYS)
    for key, example in (("chip", '"W25Q128"'), ("bus", '"QUADSPI"')):
        if key not in entry:
            c.add(at, f"{_name(at)} has no {key!r}", f"add {key} = {example}")
    if "chip" in entry and c.typed((*at, "chip"), entry["chip"], str, "a chip name"):
        names = nor_chip_names()
        if entry["chip"].upper() not in names:
            guess = closest(entry["chip"], names)
            c.add(
                (*at, "chip"),
                f"{_name((*at, 'chip'))} = {entry['chip']!r} is not in the NOR flash catalogue",
                (f"did you mean {guess!r}? " if guess else "") + "known chips: " + ", ".join(names),
            )
    if "bus" in entry and c.typed((*at, "bus"), entry["bus"], str, "a bus name") and part:
        buses = _blocks(part, MEMORY_BUS_KINDS)
        for upper, block in list(buses.items()):
            # A kind name without its index means the first such block ("OCTOSPI": OCTOSPI1,
            # "QUADSPI" on a part whose one controller is QUADSPI1).
            m = re.fullmatch(r"([A-Z]+)\d+", upper)
            if m:
                buses.setdefault(m.group(1), block)
        if entry["bus"].upper() == "GPIO":  # a memory the firmware bit-bangs on GPIO pins
            if not entry.get("pins"):
                c.add(
                    (*at, "bus"),
                    f"{_name((*at, 'bus'))} = 'GPIO' (bit-banged) needs the board's pins",
                    'add pins = { SCK = "PA0", NCS = "PA5", MOSI = "PA4", MISO = "PA3" }',
                )
        elif buses:
            _on_part(c, (*at, "bus"), entry["bus"], buses, part, "memory bus")
        else:
            c.add(
                (*at, "bus"),
                f"{part.name} has no QUADSPI, OCTOSPI or SPI block for {entry['bus']!r}",
                "external_flash needs a part with a serial memory interface",
            )
    if "bank" in entry and c.typed((*at, "bank"), entry["bank"], int, "an integer"):
        c.choice((*at, "bank"), entry["bank"], BANKS)
    if "chips" in entry and c.typed((*at, "chips"), entry["chips"], int, "an integer"):
        c.choice((*at, "chips"), entry["chips"], CHIP_COUNTS)
    pins = part_pins(part) if part is not None else set()
    if "cs_pin" in entry:
        _check_pin(c, (*at, "cs_pin"), entry["cs_pin"], pins, part)
    if "pins" in entry and c.typed((*at, "pins"), entry["pins"], dict, "a table"):
        for signal, pin in entry["pins"].items():
            if signal.upper() not in SIGNALS:
                guess = closest(signal, SIGNALS)
                c.add(
                    (*at, "pins", signal),
                    f"{_name((*at, 'pins'))} names no signal {signal!r}",
                    (f"did you mean {guess!r}? " if guess else "")
                    + "signals: "
                    + ", ".join(SIGNALS),
                )
            _check_pin(c, (*at, "pins", signal), pin, pins, part)


def check_pools(c: Checker, boards: Mapping[str, Any]) -> None:
    """A pool holds interchangeable boards: one part and one backend."""
    first: dict[str, tuple[str, Any, Any]] = {}
    for name, raw in boards.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("pool"), str):
            continue
        kind = (raw.get("part"), raw.get("backend", "sim"))
        pool = raw["pool"]
        if pool not in first:
            first[pool] = (name, *kind)
            continue
        ref, part, backend = first[pool]
        if _canon(kind[0]) != _canon(part) or kind[1] != backend:
            c.add(
                ("boards", name, "pool"),
                f"board {name!r} ({kind[0]}, {kind[1]}) is in pool {pool!r} with {ref!r} "
                f"({part}, {backend}): boards of a pool must be identical",
                "give it its own pool name, or fix its part/backend",
            )


def _canon(part: Any) -> Any:
    try:
        return get_part(str(part)).name
    except UnknownPartError:
        return part
