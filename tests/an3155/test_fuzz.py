"""The ROM never wedges: after any byte stream the client gets it back to a working state."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stm32_hil.an3155 import Bootloader
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serial_link import open_sim_port

_BOARD = SimBoard.from_inventory("nucleo-h743zi")
_BOARD.set_pin("BOOT0", True)
_BOARD.set_pin("NRST", False)
_BOARD.set_pin("NRST", True)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(noise=st.binary(max_size=300), synced=st.booleans())
def test_random_bytes_never_wedge_the_rom(noise: bytes, synced: bool) -> None:
    board = _BOARD
    if not board.bootrom.active:
        board.set_pin("NRST", False)
        board.set_pin("NRST", True)
    port = open_sim_port(board, timeout=0.2)
    bl = Bootloader(port)
    if synced:
        bl.sync()
    port.write(noise)
    board.run(board.clock.cycles(50_000))  # let whatever the noise started finish
    if not board.bootrom.active:  # noise may have issued Go or a protect + reset
        board.set_pin("NRST", False)
        board.set_pin("NRST", True)
    bl._needs_resync = True
    if board.bootrom.synced:
        assert bl.get_id().pid == 0x450
    else:
        bl.sync()
        assert bl.get_version().version == 0x91
