"""Simulated boards running the committed jump/swd_off firmware, for the tests in this folder.

The image goes straight into the flash cells (the controller's register sequence has its own
tests), then a power-on reset samples option bytes and the G0 empty flag as on a freshly
flashed board, and the core starts the application.
"""

from __future__ import annotations

from pathlib import Path

from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serial_link import SimSerial, open_sim_port
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import ResetKind

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
DIRS = {"g0": "g071", "h7": "h743"}
BOARDS = {"g0": "nucleo-g071rb", "h7": "nucleo-h743zi"}
FAMILIES = ("g0", "h7")


def image(family: str, program: str) -> bytes:
    return (FIRMWARE / DIRS[family] / f"{program}.bin").read_bytes()


def flash_image(board: SimBoard, data: bytes) -> None:
    board.preload_flash(data)


def running_target(family: str, program: str) -> SimTarget:
    """A target whose application is running (core resumed after a power-on reset)."""
    target = SimTarget(SimBoard.from_inventory(BOARDS[family]).spec)
    flash_image(target.board, image(family, program))
    target.board.reset(ResetKind.POWER, "firmware loaded")
    target.board.core.resume()
    return target


def trigger_jump(target: SimTarget) -> tuple[SimSerial, bytes]:
    """Send 'B' and let the application answer and jump; returns the port and its output."""
    port = open_sim_port(target.board, timeout=0.01)
    port.write(b"B")
    target.delay(0.01)
    return port, port.read(4096)


def sync(port: SimSerial) -> bytes:
    port.reset_input_buffer()
    port.write(b"\x7f")
    port.timeout = 0.05
    return bytes(port.read(1))
