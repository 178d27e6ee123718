"""DWT data watchpoints through pyOCD: MASK kept, FUNCTION armed, the core halts on a match.

The firmware is the smallest that makes a data access: its reset handler stores 0x5A to a RAM
word and spins. A write watchpoint on that word must stop the core right after the store, with
DFSR.DWTTRAP (pyOCD's WATCHPOINT halt reason) and FUNCTION.MATCHED set once: on the store
with the store done (GDB steps over it), and resuming goes on to the spin without a second
match.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pyocd.core.helpers import ConnectHelper
from pyocd.core.session import Session
from pyocd.core.target import Target as PTarget

from stm32_hil.inventory import Inventory
from stm32_hil.sim import live as registry
from stm32_hil.sim.board import SimBoard
from stm32_hil.target.base import ResetKind

BOARDS = ("nucleo-g071rb", "nucleo-h743zi")
DWT_COMP0, DWT_MASK0, DWT_FUNCTION0 = 0xE0001020, 0xE0001024, 0xE0001028
RESET_HANDLER = 0x100
STORE, SPIN = 0x104, 0x106  # the store, then "b ."


def marker(board: SimBoard) -> int:
    return 0x24000000 if board.part.family == "h7" else board.part.ram[0].base + 0x1000


def image(board: SimBoard) -> bytes:
    """ldr r0, [pc, #4]; movs r1, #0x5A; str r1, [r0]; b . ; .word marker"""
    base = board.part.flash.base
    vectors = (marker(board) + 0x2000).to_bytes(4, "little") + (base + RESET_HANDLER + 1).to_bytes(
        4, "little"
    )
    code = bytes.fromhex("01485a210160fee7") + marker(board).to_bytes(4, "little")
    return vectors.ljust(RESET_HANDLER, b"\xff") + code


@pytest.fixture(params=BOARDS)
def board(request: pytest.FixtureRequest) -> Iterator[SimBoard]:
    registry.unregister(request.param)
    b = registry.board_for(Inventory.load().get(request.param))
    b.preload_flash(image(b))
    b.reset(ResetKind.POWER, "test setup: firmware placed in flash")
    yield b
    registry.unregister(request.param)


@pytest.fixture
def session(board: SimBoard) -> Iterator[Session]:
    s = ConnectHelper.session_with_chosen_probe(unique_id=f"sim:{board.name}", connect_mode="halt")
    assert s is not None
    with s:
        yield s


def test_mask_keeps_its_value_and_function_arms(board: SimBoard, session: Session) -> None:
    target = session.target
    for mask in (0, 2, 4):
        target.write32(DWT_MASK0, mask)
        assert target.read32(DWT_MASK0) == mask
    target.write32(DWT_COMP0, 0x20000040)
    target.write32(DWT_FUNCTION0, 6)
    assert target.read32(DWT_COMP0) == 0x20000040
    assert target.read32(DWT_FUNCTION0) & 0xF == 6
    assert board.core.dwt.watched() == [(0x20000040, 16, 6)]


def test_write_watchpoint_halts_after_the_store(board: SimBoard, session: Session) -> None:
    target = session.target
    target.reset_and_halt()
    address = marker(board)
    target.write32(address, 0)
    assert target.set_watchpoint(address, 4, PTarget.WatchpointType.WRITE)
    target.resume()
    deadline = time.monotonic() + 30
    while target.get_state() is not PTarget.State.HALTED:
        assert time.monotonic() < deadline, "the watchpoint never halted the core"
    assert target.get_halt_reason() is PTarget.HaltReason.WATCHPOINT
    assert target.read_core_register("pc") == board.part.flash.base + STORE
    assert target.read32(address) == 0x5A  # the store completed before the halt
    assert target.read32(DWT_FUNCTION0) & (1 << 24)  # MATCHED, cleared by that read
    assert not target.read32(DWT_FUNCTION0) & (1 << 24)
    target.resume()
    for _ in range(100):
        assert target.get_state() is not PTarget.State.HALTED  # no second match
    target.halt()
    assert target.read_core_register("pc") == board.part.flash.base + SPIN
    target.remove_watchpoint(address, 4, PTarget.WatchpointType.WRITE)
    assert board.core.dwt.watched() == []


def test_read_watchpoint_ignores_writes(board: SimBoard, session: Session) -> None:
    target = session.target
    target.reset_and_halt()
    address = marker(board)
    assert target.set_watchpoint(address, 4, PTarget.WatchpointType.READ)
    target.resume()
    for _ in range(200):  # the firmware only writes the word, then spins
        assert target.get_state() is not PTarget.State.HALTED
    target.halt()
    assert target.read_core_register("pc") == board.part.flash.base + SPIN
    assert target.read32(address) == 0x5A
