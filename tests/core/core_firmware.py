"""Loading the committed test firmware into simulated boards.

Test setup writes the image with `SimBoard.preload_flash` (cells programmed unit by unit; the
flash controller's register sequence is exercised by its own tests), then power-cycles so
option bytes and the boot selection are evaluated as on a freshly flashed board.
"""

from __future__ import annotations

from pathlib import Path

from elftools.elf.elffile import ELFFile

from stm32_hil.sim.board import SimBoard
from stm32_hil.target.base import ResetKind

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
DIRS = {"STM32G071RB": "g071", "STM32H743ZI": "h743"}
BOARDS = {"STM32G071RB": "nucleo-g071rb", "STM32H743ZI": "nucleo-h743zi"}


def image(part: str, program: str, ext: str = "bin") -> Path:
    return FIRMWARE / DIRS[part] / f"{program}.{ext}"


def symbol(part: str, program: str, name: str) -> int:
    with image(part, program, "elf").open("rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        syms = symtab.get_symbol_by_name(name)  # type: ignore[union-attr]
        assert syms, f"{name} not in {program}.elf"
        return int(syms[0]["st_value"])


def flash(board: SimBoard, data: bytes) -> None:
    board.preload_flash(data)


def board_with(part: str, program: str) -> SimBoard:
    """A board holding `program` in flash, reset and halted at its reset handler."""
    board = SimBoard.from_inventory(BOARDS[part])
    flash(board, image(part, program).read_bytes())
    board.reset(ResetKind.POWER, "firmware loaded")
    board.core.halt()
    return board
