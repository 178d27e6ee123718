"""Fixtures for the AN3155 tests: fresh simulated boards sitting in their system bootloader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stm32_hil.an3155 import Bootloader
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serial_link import open_sim_port


def boot_to_rom(board: SimBoard) -> None:
    """BOOT0 high + NRST pulse: system memory on H7 (BOOT_ADD1) and on an empty G0."""
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)


@pytest.fixture(params=["nucleo-g071rb", "nucleo-h743zi"])
def board(request: pytest.FixtureRequest) -> SimBoard:
    b = SimBoard.from_inventory(request.param)
    boot_to_rom(b)
    assert b.bootrom.active
    return b


@pytest.fixture
def bl(board: SimBoard) -> Iterator[Bootloader]:
    port = open_sim_port(board)
    client = Bootloader(port)
    client.sync()
    client.identify()
    yield client
    port.close()
