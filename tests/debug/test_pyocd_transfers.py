"""Block transfers through pyOCD's own API over the simulated probe.

pyOCD splits a block transfer at the AP's auto-increment page, which it takes from the AP IDR;
an AP that wraps sooner silently puts the bytes past its wrap at the start of the page. The data
is seeded random with no period shorter than the transfer, so a misplaced byte cannot read back
as the right one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from pyocd.core.helpers import ConnectHelper
from pyocd.core.session import Session

from stm32_hil.inventory import Inventory
from stm32_hil.sim import live as registry
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.debug.pyocd_probe import ap_identity

# board -> (RAM address, transfer size): one board per AHB-AP flavour (M0+, M4, M7)
BOARDS = {
    "nucleo-g071rb": (0x20000000, 0x8000),
    "stm32469i-eval": (0x20000000, 0x10000),
    "nucleo-h743zi": (0x24000000, 0x10000),
}


def random_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture(params=sorted(BOARDS))
def board(request: pytest.FixtureRequest) -> Iterator[SimBoard]:
    registry.unregister(request.param)
    b = registry.board_for(Inventory.load().get(request.param))
    yield b
    registry.unregister(request.param)


@pytest.fixture
def session(board: SimBoard) -> Iterator[Session]:
    s = ConnectHelper.session_with_chosen_probe(
        unique_id=f"sim:{board.name}",
        target_override="cortex_m",
        connect_mode="halt",
        options={"frequency": 4_000_000},
    )
    assert s is not None
    with s:
        yield s


def test_pyocd_uses_the_wrap_our_ap_has(board: SimBoard, session: Session) -> None:
    ap = session.target.aps[next(iter(session.target.aps))]
    assert ap.auto_increment_page_size == ap_identity(board.part.core)[1]


def test_block_write_then_read_is_identical(board: SimBoard, session: Session) -> None:
    address, size = BOARDS[board.name]
    data = random_bytes(0x5EED, size)
    target = session.target
    target.write_memory_block8(address, data)
    assert board.bus.read_block(address, size) == data  # what the bus holds, byte for byte
    fresh = random_bytes(0xF00D, size)
    board.bus.write_block(address, fresh)
    assert bytes(target.read_memory_block8(address, size)) == fresh


def test_unaligned_transfer_across_pages(board: SimBoard, session: Session) -> None:
    """Starting 3 bytes before a page, the byte, half-word and word paths all cross it."""
    address, _ = BOARDS[board.name]
    start = address + 0x1000 - 3
    data = random_bytes(7, 0x2000 + 5)
    session.target.write_memory_block8(start, data)
    assert board.bus.read_block(start, len(data)) == data
    assert bytes(session.target.read_memory_block8(start, len(data))) == data
