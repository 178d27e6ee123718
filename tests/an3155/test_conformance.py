"""stm32flash and stm32loader against the simulated ROM through a pty, as on a bench.

Under CI=true a missing tool is a failure, not a skip: the point is that CI proves it.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stm32_hil.an3155.peers import stm32flash_cmd, stm32loader_available, stm32loader_cmd
from stm32_hil.parts.catalogue import BootloaderInfo
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serve import PtyServer, run_in_thread


def rom_info(board: SimBoard) -> BootloaderInfo:
    """The part's bootloader facts (every part these tests use has a system bootloader)."""
    info = board.part.bootloader
    assert info is not None
    return info


pytestmark = pytest.mark.sim_only
BOARDS = {
    "nucleo-g071rb": "G0",
    "nucleo-g0b1re": "G0",
    "nucleo-h743zi": "H7",
    "stm32h750b-dk": "H7",
}
IMAGE_SIZE = 0x4000


def _require(tool: str, present: bool) -> None:
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is required in CI but is not installed")
    pytest.skip(f"{tool} not installed")


@pytest.fixture(params=sorted(BOARDS))
def served(request: pytest.FixtureRequest) -> Iterator[tuple[SimBoard, str, str]]:
    board = SimBoard.from_inventory(request.param)
    # A programmed G0 ignores the BOOT0 pin (nBOOT_SEL=1): the tests keep its first word
    # erased so the empty-flash entry brings it back to the ROM after protect/unprotect.
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    server = PtyServer(board)
    stop = run_in_thread(server)
    yield board, server.path, BOARDS[request.param]
    stop()


def _run(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-2000:]
    return out


def test_stm32flash_identify_read_write_verify_erase(
    served: tuple[SimBoard, str, str], tmp_path: Path
) -> None:
    _require("stm32flash", shutil.which("stm32flash") is not None)
    board, path, _ = served
    out = _run(stm32flash_cmd(path))
    assert f"0x{board.part.pid:04x}" in out.lower()
    assert f"Version      : 0x{rom_info(board).version:02x}" in out
    # full flash read equals the cells
    board.flash.array.data[:IMAGE_SIZE] = random.Random(1).randbytes(IMAGE_SIZE)
    full = tmp_path / "full.bin"
    # The part's own flash size: stm32flash assumes 2 MiB for every device 0x450 (H750: 128 KiB).
    flash = f"0x{board.part.flash.base:08x}:{board.part.flash.size}"
    _run(stm32flash_cmd(path, "-S", flash, "-r", str(full)))
    assert full.read_bytes() == bytes(board.flash.array.data)
    # erase + write + verify (stm32flash erases the pages it writes, then verifies)
    image = tmp_path / "image.bin"
    data = b"\xff" * 8 + random.Random(2).randbytes(
        IMAGE_SIZE - 8
    )  # keep the G0 "empty" for re-entry
    image.write_bytes(data)
    _run(stm32flash_cmd(path, "-w", str(image), "-v"))
    assert bytes(board.flash.array.data[:IMAGE_SIZE]) == data
    # mass erase
    _run(stm32flash_cmd(path, "-o"))
    assert board.flash.array.is_blank(0, len(board.flash.array.data))


def test_stm32flash_erases_only_the_pages_asked_and_write_unprotects(
    served: tuple[SimBoard, str, str], tmp_path: Path
) -> None:
    _require("stm32flash", shutil.which("stm32flash") is not None)
    board, path, _ = served
    array = board.flash.array
    page = board.part.flash.page_size
    # Page 1 holds data a one-page erase must leave alone (the H750 has a single sector).
    two_pages = board.part.flash.size >= 2 * page
    kept = random.Random(3).randbytes(1024)
    if two_pages:
        array.data[page : page + len(kept)] = kept
    image = tmp_path / "page0.bin"
    data = b"\xff" * 8 + random.Random(4).randbytes(1024 - 8)  # keep the G0 "empty" for re-entry
    image.write_bytes(data)
    _run(stm32flash_cmd(path, "-e", "1", "-w", str(image), "-v"))
    assert bytes(array.data[: len(data)]) == data
    if two_pages:
        assert bytes(array.data[page : page + len(kept)]) == kept  # not erased
    # Write Unprotect: the ROM answers and resets; the board takes a write afterwards.
    _run(stm32flash_cmd(path, "-u"))
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    _run(stm32flash_cmd(path, "-w", str(image), "-v"))
    assert bytes(array.data[: len(data)]) == data


def test_stm32flash_readout_protect_round_trip(served: tuple[SimBoard, str, str]) -> None:
    _require("stm32flash", shutil.which("stm32flash") is not None)
    board, path, _ = served
    board.flash.array.data[16:32] = b"\x00" * 16
    _run(stm32flash_cmd(path, "-j"))
    assert board.flash.rdp_level() == 1
    _run(stm32flash_cmd(path, "-k"))
    assert board.flash.rdp_level() == 0
    assert board.flash.array.is_blank(0, len(board.flash.array.data))


def test_stm32loader_identify_erase_write_verify_read(
    served: tuple[SimBoard, str, str], tmp_path: Path
) -> None:
    _require("stm32loader", stm32loader_available())
    board, path, family = served
    board.flash.array.data[:0x100] = b"\x00" * 0x100
    image = tmp_path / "image.bin"
    data = b"\xff" * 8 + random.Random(3).randbytes(0x2000 - 8)
    image.write_bytes(data)
    out = _run(stm32loader_cmd(path, "-e", "-w", "-v", str(image), family=family))
    assert f"0x{board.part.pid:x}" in out.lower()
    assert bytes(board.flash.array.data[: len(data)]) == data
    back = tmp_path / "back.bin"
    _run(stm32loader_cmd(path, "-r", "-a", "0x08000000", "-l", "8192", str(back), family=family))
    assert back.read_bytes() == data


@pytest.mark.slow  # stm32loader sleeps 20 s after Readout Unprotect before re-syncing
@pytest.mark.parametrize("served", ["nucleo-g071rb"], indirect=True)  # one 20 s wait is enough
def test_stm32loader_readout_protect_round_trip(served: tuple[SimBoard, str, str]) -> None:
    _require("stm32loader", stm32loader_available())
    board, path, family = served
    _run(stm32loader_cmd(path, "-x", family=family))
    assert board.flash.rdp_level() == 1
    board.flash.array.data[16:32] = b"\x00" * 16
    _run(stm32loader_cmd(path, "-u", family=family))
    assert board.flash.rdp_level() == 0
    assert board.flash.array.is_blank(0, len(board.flash.array.data))
