"""Process-wide name -> live `SimBoard` registry.

A simulated board is an ordinary object, but two front ends may need the *same* one in a single
process: a `SimTarget` that a test drives directly and a pyOCD session that reaches the board
through the simulated debug probe (`sim:<board>`). pyOCD creates probes itself from a unique ID,
so it cannot be handed an object; it looks the board up here instead. This is the one piece of
process-global state in the simulator, and it holds nothing but references to boards that some
caller created or asked for by name.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from stm32_hil.errors import UnknownBoardError

if TYPE_CHECKING:
    from stm32_hil.inventory import BoardSpec
    from stm32_hil.sim.board import SimBoard

_lock = threading.RLock()
_boards: dict[str, SimBoard] = {}


def register(board: SimBoard, name: str | None = None) -> SimBoard:
    """Make `board` the live board for `name` (default: its own name); returns it."""
    with _lock:
        _boards[name or board.name] = board
    return board


def unregister(name: str) -> None:
    """Forget a board; the next lookup by that name builds a fresh one."""
    with _lock:
        _boards.pop(name, None)


def clear() -> None:
    """Forget every board (test isolation)."""
    with _lock:
        _boards.clear()


def get(name: str) -> SimBoard | None:
    with _lock:
        return _boards.get(name)


def names() -> list[str]:
    with _lock:
        return sorted(_boards)


def board_for(spec: BoardSpec) -> SimBoard:
    """The live board for a sim inventory entry, created from `spec` if none exists yet."""
    from stm32_hil.sim.board import SimBoard

    with _lock:
        board = _boards.get(spec.name)
        if board is None:
            board = _boards[spec.name] = SimBoard(spec)
        return board


def get_or_create(name: str, inventory: str | None = None) -> SimBoard:
    """The live board called `name`, built from the inventory's sim entry if absent.

    Raises `UnknownBoardError` listing the sim boards when the inventory has no such entry.
    """
    with _lock:
        board = _boards.get(name)
        if board is not None:
            return board
        from stm32_hil.inventory import Inventory

        inv = Inventory.load(inventory)
        spec = inv.boards.get(name)
        if spec is None or spec.backend != "sim":
            known = sorted(set(inv.names("sim")) | set(_boards))
            raise UnknownBoardError(
                f"no simulated board {name!r} (inventory {inv.path})",
                hint="simulated boards: " + (", ".join(known) or "none"),
            )
        return board_for(spec)
