"""Backends for the contract suite: the same tests run on SimTarget and on PyOCDTarget.

The pyOCD backend connects through the simulated probe `sim:<board>` to the very board object
the sim backend uses (harness.sim.registry), so both see one piece of simulated silicon.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.inventory import BoardSpec, Inventory
from harness.sim import registry
from harness.sim.board import SimBoard
from harness.sim.target import SimTarget
from harness.target.base import Target

# (sim inventory board, pyOCD target type)
BOARDS = {"nucleo-g071rb": "cortex_m", "nucleo-h743zi": "stm32h743xx"}
HAS_CORE = importlib.util.find_spec("harness.sim.core") is not None


def pyocd_spec(board: str, target_type: str, connect_mode: str = "halt") -> BoardSpec:
    sim = Inventory.load().get(board)
    return BoardSpec(
        name=f"hw-{board}",
        part=sim.part,
        backend="pyocd",
        probe=f"sim:{board}",
        target_type=target_type,
        connect_mode=connect_mode,
        pins=sim.pins.__class__(nrst="probe"),
    )


def program_rdp(board: SimBoard, value: int) -> None:
    """Set the RDP byte through the FLASH registers, as a user's flow would."""
    from harness.flows.internal_flash import internal_flash

    flash = internal_flash(SimTarget(board.spec, board=board))
    name = "OPTR" if board.part.family == "g0" else "OPTSR"
    reg = board.part.option_register(name)
    current = flash.read_options()[name]
    flash.write_options({name: reg.field("RDP").put(current, value)})


@pytest.fixture
def set_rdp() -> object:
    return program_rdp


@pytest.fixture
def lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HIL_LOCK_DIR", str(tmp_path / "locks"))
    return tmp_path / "locks"


@pytest.fixture(params=sorted(BOARDS))
def board(request: pytest.FixtureRequest) -> Iterator[SimBoard]:
    """A fresh live board, registered so the simulated probe finds this very object."""
    registry.unregister(request.param)
    b = registry.board_for(Inventory.load().get(request.param))
    yield b
    registry.unregister(request.param)


@pytest.fixture(params=["sim", "pyocd"])
def target(request: pytest.FixtureRequest, board: SimBoard, lock_dir: Path) -> Iterator[Target]:
    if request.param == "sim":
        t: Target = SimTarget(board.spec, board=board)
    else:
        if not HAS_CORE:
            pytest.skip("pyOCD needs the simulated Cortex-M core (harness.sim.core) to connect")
        from harness.hw.pyocd_target import PyOCDTarget

        t = PyOCDTarget(pyocd_spec(board.name, BOARDS[board.name]))
    try:
        yield t
    finally:
        t.close()
