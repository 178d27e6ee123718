"""The board inventory (default `fixtures/boards.toml`): which boards exist, how to reach them.

Users edit this file; every error names the file and line so a typo never becomes a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from stm32_hil.errors import InventoryError, UnknownBoardError, UnknownPartError
from stm32_hil.parts import get_part

BACKENDS = ("sim", "pyocd")
# The example inventory ships with the pytest plugin package (repository folder `fixtures/`).
DEFAULT_INVENTORY = Path(str(resources.files("stm32_hil_pytest") / "boards.toml"))
ENV_INVENTORY = "HIL_INVENTORY"


@dataclass(frozen=True)
class UartSpec:
    """The UART wired to the part's bootloader USART.

    `peripheral` names the USART inside the part (simulated boards model it); `port` is any
    pyserial URL for real boards (a tty, rfc2217://host:port, socket://...).
    """

    peripheral: str = "USART1"
    port: str | None = None
    baud: int = 115200


@dataclass(frozen=True)
class PinSpec:
    """How BOOT0 and NRST are driven: "sim", "dtr", "rts", "probe" (NRST only) or "none"."""

    boot0: str = "none"
    nrst: str = "none"
    boot0_inverted: bool = False
    nrst_inverted: bool = False


@dataclass(frozen=True)
class ExternalFlashSpec:
    chip: str
    bus: str  # "QUADSPI", "OCTOSPI1", "SPI1"...
    bank: int = 1
    chips: int = 1  # 2 for dual-flash mode
    cs_pin: str | None = None


@dataclass(frozen=True)
class BoardSpec:
    name: str
    part: str
    backend: str
    description: str = ""
    uart: UartSpec = field(default_factory=UartSpec)
    pins: PinSpec = field(default_factory=PinSpec)
    external_flash: tuple[ExternalFlashSpec, ...] = ()
    probe: str | None = None  # pyOCD probe unique ID (or "sim:<board>", "remote:host:port")
    target_type: str | None = None  # pyOCD target type
    connect_mode: str = "halt"
    source: str = ""  # "file:line" the entry came from
    extra: dict[str, Any] = field(default_factory=dict)


def _line_of(text: str, board: str) -> int:
    pattern = re.compile(r"^[ \t]*\[\s*boards\.\"?" + re.escape(board) + r"\"?\s*\]", re.M)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


class Inventory:
    """Parsed inventory. Construction validates every board, so errors surface at load time."""

    def __init__(self, boards: dict[str, BoardSpec], path: Path) -> None:
        self.boards = boards
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Inventory:
        p = Path(path or os.environ.get(ENV_INVENTORY) or DEFAULT_INVENTORY)
        try:
            text = p.read_text()
        except OSError as exc:
            raise InventoryError(
                f"cannot read board inventory {p}: {exc.strerror}",
                hint=f"pass --inventory FILE or set {ENV_INVENTORY}",
            ) from None
        return cls.parse(text, p)

    @classmethod
    def parse(cls, text: str, path: Path) -> Inventory:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            line = m.group(1) if m else "?"
            raise InventoryError(
                f"{path}:{line}: malformed TOML: {exc}", hint="fix the syntax at that line"
            ) from None
        raw_boards = data.get("boards")
        if not isinstance(raw_boards, dict) or not raw_boards:
            raise InventoryError(
                f"{path}:1: no [boards.NAME] tables found",
                hint="each board is a table such as [boards.my-board] with part and backend",
            )
        boards = {
            name: _parse_board(name, raw, f"{path}:{_line_of(text, name)}")
            for name, raw in raw_boards.items()
        }
        return cls(boards, path)

    def names(self, backend: str | None = None) -> list[str]:
        return [n for n, b in self.boards.items() if backend is None or b.backend == backend]

    def get(self, name: str) -> BoardSpec:
        try:
            return self.boards[name]
        except KeyError:
            raise UnknownBoardError(
                f"unknown board {name!r} in {self.path}",
                hint="known boards: " + ", ".join(sorted(self.boards)),
            ) from None


_BOARD_KEYS = {
    "part", "backend", "description", "uart", "pins", "external_flash", "probe", "target_type",
    "connect_mode", "extra",
}  # fmt: skip


def _parse_board(name: str, raw: Any, where: str) -> BoardSpec:
    if not isinstance(raw, dict):
        raise InventoryError(f"{where}: board {name!r} must be a table")
    unknown = set(raw) - _BOARD_KEYS
    if unknown:
        raise InventoryError(
            f"{where}: board {name!r} has unknown key(s) {', '.join(sorted(unknown))}",
            hint="allowed: " + ", ".join(sorted(_BOARD_KEYS)),
        )
    if "part" not in raw:
        raise InventoryError(f"{where}: board {name!r} has no 'part'")
    try:
        part = get_part(str(raw["part"])).name
    except UnknownPartError as exc:
        raise InventoryError(f"{where}: board {name!r}: {exc.message}", hint=exc.hint) from None
    backend = raw.get("backend", "sim")
    if backend not in BACKENDS:
        raise InventoryError(
            f"{where}: board {name!r}: unknown backend {backend!r}",
            hint="backend is one of: " + ", ".join(BACKENDS),
        )
    try:
        uart = UartSpec(**raw.get("uart", {}))
        pins = PinSpec(**raw.get("pins", {}))
        ext = tuple(ExternalFlashSpec(**e) for e in raw.get("external_flash", []))
    except TypeError as exc:
        raise InventoryError(f"{where}: board {name!r}: {exc}") from None
    if backend == "pyocd" and not raw.get("probe"):
        raise InventoryError(
            f"{where}: board {name!r} uses backend 'pyocd' but names no probe",
            hint='add probe = "<unique id>" (see `pyocd list`)',
        )
    return BoardSpec(
        name=name,
        part=part,
        backend=backend,
        description=str(raw.get("description", "")),
        uart=uart,
        pins=pins,
        external_flash=ext,
        probe=raw.get("probe"),
        target_type=raw.get("target_type"),
        connect_mode=str(raw.get("connect_mode", "halt")),
        source=where,
        extra=dict(raw.get("extra", {})),
    )
