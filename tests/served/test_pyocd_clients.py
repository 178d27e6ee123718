"""pyOCD in other processes acts on the served board: what one client writes, another reads."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Served, random_image, require

pytestmark = pytest.mark.sim_only

H743 = "nucleo-h743zi"
FLASH = 0x08000000
SIZE = 0x10000  # 64 KiB


def _read_back(served: Served, address: int, size: int, out: Path) -> bytes:
    r = served.pyocd(
        "commander", "-u", f"sim:{served.board}", "-c", f"savemem 0x{address:08X} {size} {out}"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return out.read_bytes()


def test_pyocd_load_then_commander_reads_back_flash(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    """`pyocd load` (pyOCD's own flash algorithm) in one process, read-back in a third."""
    served = serve(H743)
    image = random_image(SIZE, seed=0x743)
    src = tmp_path / "random64k.bin"
    src.write_bytes(image)
    r = served.pyocd("load", "-u", f"sim:{H743}", "-a", f"0x{FLASH:08X}", str(src))
    assert r.returncode == 0, r.stdout + r.stderr
    assert _read_back(served, FLASH, SIZE, tmp_path / "back.bin") == image


def test_ram_written_by_one_process_is_read_by_another(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    """The served board keeps its RAM between pyOCD sessions: each process is a new client of
    the same board, not a new board."""
    served = serve("nucleo-g071rb")
    image = random_image(0x4000, seed=0x6071)
    src = tmp_path / "ram.bin"
    src.write_bytes(image)
    ram = 0x20000000
    r = served.pyocd(
        "commander", "-u", "sim:nucleo-g071rb", "-c", "halt", "-c", f"loadmem 0x{ram:08X} {src}"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert _read_back(served, ram, len(image), tmp_path / "back.bin") == image


@pytest.mark.parametrize("board", ["nucleo-g071rb", H743])
def test_stm32flash_writes_over_the_pty_and_pyocd_reads_back(
    board: str, serve: Callable[..., Served], tmp_path: Path
) -> None:
    stm32flash = require("stm32flash")
    served = serve(board)
    image = random_image(SIZE, seed=zlib.crc32(board.encode()))
    src = tmp_path / "random64k.bin"
    src.write_bytes(image)
    # a pty cannot carry parity: 8n1 there (see `hil sim serve`)
    r = served.run(stm32flash, "-m", "8n1", "-w", str(src), "-v", served.uart)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _read_back(served, FLASH, SIZE, tmp_path / "back.bin") == image
