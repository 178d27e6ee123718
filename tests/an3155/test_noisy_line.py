"""64 KiB through a noisy line: retries, resynchronisation and confirmed reads at work.

The line drops and corrupts bytes at a seeded rate (half the faults are drops, half are single
bit flips, in both directions). Each run must end with the data identical or with a typed error,
never with a silent difference; at least 19 of 20 seeded runs per rate must be identical.
The data is seeded random with no period shorter than the transfer.
"""

from __future__ import annotations

import random

import pytest

from stm32_hil.an3155 import Bootloader, read_image, write_image
from stm32_hil.errors import HarnessError
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.line import LineFaults
from stm32_hil.sim.links.serial_link import open_sim_port

pytestmark = [pytest.mark.sim_only, pytest.mark.slow]
SIZE = 0x10000
RUNS = 20
RAM = 0x24000000  # H743 AXI SRAM: room for 64 KiB, and rewritable when a check fails


def _in_rom(name: str) -> SimBoard:
    board = SimBoard.from_inventory(name)
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    return board


def _one_run(board: SimBoard, address: int, seed: int, rate: float, **write: object) -> str:
    """'identical', or the typed error's class name; a silent difference fails the test."""
    faults = LineFaults(seed=seed, drop=rate / 2, corrupt=rate / 2)
    port = open_sim_port(board, faults=faults)
    data = random.Random(seed).randbytes(SIZE)
    try:
        bl = Bootloader(port)
        bl.sync(10)
        written = write_image(bl, address, data, **write)  # type: ignore[arg-type]
        back = read_image(bl, address, SIZE, confirm=True)
    except HarnessError as exc:
        return type(exc).__name__
    finally:
        port.close()
    assert faults.dropped and faults.corrupted  # the line really was noisy
    assert written.retries > 0 and back.retries > 0  # and the retries are counted
    assert back == data, f"seed {seed}: silent difference in what was read back"
    assert board.bus.read_block(address, SIZE) == data, f"seed {seed}: memory differs"
    return "identical"


@pytest.mark.parametrize("rate", [0.001, 0.01])
def test_64k_ram_write_read_through_noise(rate: float) -> None:
    board = _in_rom("nucleo-h743zi")
    outcomes = [_one_run(board, RAM, seed, rate, verify=True, unit=4) for seed in range(RUNS)]
    assert outcomes.count("identical") >= RUNS - 1, outcomes


def test_64k_flash_write_survives_lost_acks() -> None:
    """Flash cannot be programmed twice: a frame whose ACK was lost is read back, not resent."""
    board = _in_rom("nucleo-g071rb")
    assert _one_run(board, board.part.flash.base, 7, 0.001) == "identical"
