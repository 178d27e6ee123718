"""The board inventory (default `fixtures/boards.toml`): which boards exist, how to reach them.

Users edit this file; every error names the file and line so a typo never becomes a traceback.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from stm32_hil.errors import InventoryError, UnknownBoardError
from stm32_hil.inventory_positions import KeyPositions
from stm32_hil.inventory_schema import BACKENDS, check_document
from stm32_hil.parts import get_part

__all__ = [
    "BACKENDS",
    "BoardSpec",
    "ExternalFlashSpec",
    "Inventory",
    "PinSpec",
    "UartSpec",
    "collapse_pools",
]
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
    # Signal -> pin of the board's wiring ({"CLK": "PB2", "NCS": "PB6", ...}; SPI: SCK, NCS,
    # MOSI, MISO). Empty: wired as the loader configures (stm32_hil.sim.memories.wiring).
    pins: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


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
    # Boards sharing a pool name are interchangeable: a test takes whichever is free.
    pool: str | None = None
    # backend "labgrid": the place, and the coordinator (else $LG_COORDINATOR)
    place: str | None = None
    coordinator: str | None = None
    source: str = ""  # "file:line" the entry came from
    extra: dict[str, Any] = field(default_factory=dict)


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
        positions = KeyPositions(text)
        check_document(data, positions, path)
        boards = {
            name: _build_board(name, raw, f"{path}:{positions.line(('boards', name))}")
            for name, raw in data["boards"].items()
        }
        return cls(boards, path)

    def pools(self) -> dict[str, list[BoardSpec]]:
        """Pool name -> its boards, in inventory order."""
        pools: dict[str, list[BoardSpec]] = {}
        for spec in self.boards.values():
            if spec.pool:
                pools.setdefault(spec.pool, []).append(spec)
        return pools

    def select(self, names: list[str]) -> list[BoardSpec]:
        """Boards by name; a pool's name stands for all of its boards."""
        pools = self.pools()
        out: list[BoardSpec] = []
        for name in names:
            if name in self.boards or name not in pools:
                out.append(self.get(name))
            else:
                out.extend(pools[name])
        return out

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


def _build_board(name: str, raw: dict[str, Any], where: str) -> BoardSpec:
    """A BoardSpec from an entry `check_document` has accepted."""
    ext = tuple(
        ExternalFlashSpec(
            chip=str(e["chip"]),
            bus=str(e["bus"]),
            bank=int(e.get("bank", 1)),
            chips=int(e.get("chips", 1)),
            cs_pin=e.get("cs_pin"),
            pins=dict(e.get("pins", {})),
        )
        for e in raw.get("external_flash", [])
    )
    return BoardSpec(
        name=name,
        part=get_part(str(raw["part"])).name,
        backend=str(raw.get("backend", "sim")),
        description=str(raw.get("description", "")),
        uart=UartSpec(**raw.get("uart", {})),
        pins=PinSpec(**raw.get("pins", {})),
        external_flash=ext,
        probe=raw.get("probe"),
        target_type=raw.get("target_type"),
        connect_mode=str(raw.get("connect_mode", "halt")),
        pool=raw.get("pool"),
        place=raw.get("place"),
        coordinator=raw.get("coordinator"),
        source=where,
        extra=dict(raw.get("extra", {})),
    )


def collapse_pools(specs: list[BoardSpec]) -> tuple[list[BoardSpec], dict[str, list[BoardSpec]]]:
    """One entry per pool (named after it: tests run once on whichever board is free) and the
    selected boards of each pool; boards outside pools pass through unchanged, in order."""
    members: dict[str, list[BoardSpec]] = {}
    out: list[BoardSpec] = []
    for spec in specs:
        if not spec.pool:
            out.append(spec)
            continue
        if spec.pool not in members:
            out.append(
                dataclasses.replace(
                    spec, name=spec.pool, description=f"any free board of pool {spec.pool}"
                )
            )
        members.setdefault(spec.pool, []).append(spec)
    return out, members
