"""Backends for the contract suite: the same tests run on SimTarget and on PyOCDTarget.

The pyOCD backend connects through the simulated probe `sim:<board>` to the very board object
the sim backend uses (stm32_hil.sim.live), so both see one piece of simulated silicon.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from stm32_hil.inventory import BoardSpec, Inventory
from stm32_hil.sim import live as registry
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import ResetKind, Target

# (sim inventory board, pyOCD target type)
BOARDS = {"nucleo-g071rb": "cortex_m", "nucleo-h743zi": "stm32h743xx"}
HAS_CORE = importlib.util.find_spec("stm32_hil.sim.cpu.core") is not None


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
    from stm32_hil.flows.internal_flash import internal_flash

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


def open_target(backend: str, board: SimBoard, connect_mode: str = "halt") -> Target:
    if backend == "sim":
        return SimTarget(board.spec, board=board)
    if not HAS_CORE:
        pytest.skip("pyOCD needs the simulated Cortex-M core (stm32_hil.sim.cpu.core) to connect")
    from stm32_hil.hw.pyocd_target import PyOCDTarget

    return PyOCDTarget(pyocd_spec(board.name, BOARDS[board.name], connect_mode))


@pytest.fixture(params=["sim", "pyocd"])
def target(request: pytest.FixtureRequest, board: SimBoard, lock_dir: Path) -> Iterator[Target]:
    t = open_target(request.param, board)
    try:
        yield t
    finally:
        t.close()


# A minimal firmware image: vector table, then a reset handler that stores MARKER_VALUE to a RAM
# marker word and spins. Hand-assembled Thumb (ARMv6-M subset, runs on M0+ and M7):
#   0x100: ldr r0, [pc, #4]   ; marker address from the literal at 0x108
#   0x102: movs r1, #0x5A
#   0x104: str r1, [r0]
#   0x106: b .
#   0x108: .word marker
RESET_HANDLER_OFFSET = 0x100
SPIN_OFFSET = 0x106
MARKER_VALUE = 0x5A


def marker_address(board: SimBoard) -> int:
    return 0x24000000 if board.part.family == "h7" else board.part.ram[0].base + 0x1000


def firmware_image(board: SimBoard) -> bytes:
    flash = board.part.flash.base
    stack = marker_address(board) + 0x2000
    vectors = stack.to_bytes(4, "little") + (flash + RESET_HANDLER_OFFSET + 1).to_bytes(4, "little")
    code = bytes.fromhex("01485a210160fee7") + marker_address(board).to_bytes(4, "little")
    return vectors.ljust(RESET_HANDLER_OFFSET, b"\xff") + code


@pytest.fixture
def flashed(board: SimBoard) -> SimBoard:
    """The board with `firmware_image` in flash, power-cycled so that it boots from flash."""
    image = firmware_image(board)
    board.flash.array.data[: len(image)] = image
    board.reset(ResetKind.POWER, "test setup: firmware placed in flash")
    return board


@pytest.fixture(params=["sim", "pyocd"])
def fw_target(
    request: pytest.FixtureRequest, flashed: SimBoard, lock_dir: Path
) -> Iterator[Target]:
    t = open_target(request.param, flashed)
    try:
        yield t
    finally:
        t.close()
