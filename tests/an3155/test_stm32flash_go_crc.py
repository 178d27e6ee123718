"""stm32flash's Go (-g) and Get Checksum (-C) against boards served on a pty.

`-g` only succeeds when the Go ACK leaves before the application starts using the board's time
(stm32flash waits 500 ms for it); after it the application keeps printing on the same UART, so
the pty shows lines written after stm32flash has exited. `-C` succeeds only when the ROM answers
Get Checksum with ACK, ACK, CRC, XOR as silicon does, and its CRC is the one of the cells.
Under CI=true a missing stm32flash is a failure, not a skip.
"""

from __future__ import annotations

import os
import random
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stm32_hil.an3155 import stm32_crc32
from stm32_hil.an3155.peers import stm32flash_cmd
from stm32_hil.parts.catalogue import BootloaderInfo
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serve import PtyServer, run_in_thread


def rom_info(board: SimBoard) -> BootloaderInfo:
    """The part's bootloader facts (every part these tests use has a system bootloader)."""
    info = board.part.bootloader
    assert info is not None
    return info


pytestmark = pytest.mark.sim_only
BOARDS = ("nucleo-g071rb", "nucleo-g0b1re", "nucleo-h743zi", "stm32h750b-dk")

# A tick printer in ARMv6-M Thumb (runs on M0+ and M7), linked at flash base + 0x100; the ROM
# leaves the bootloader USART clocked, so the application only sets UE|RE|TE. SysTick runs
# without its interrupt (the ROM leaves VTOR on system memory) and is polled for COUNTFLAG:
#   ldr r0, usart ; movs r1, #0x0D ; str r1, [r0]            -- CR1 = UE | RE | TE
#   ldr r2, systick ; ldr r1, reload ; str r1, [r2, #4]      -- RVR
#   movs r1, #0 ; str r1, [r2, #8] ; movs r1, #5 ; str r1, [r2]  -- CVR = 0, CSR = ENABLE|CLK
# loop: movs r4, #10
# wait: ldr r1, [r2] ; lsls r1, r1, #15 ; bpl wait ; subs r4, #1 ; bne wait  -- 10 wraps
#   adr r5, msg
# print: ldrb r1, [r5] ; cmp r1, #0 ; beq loop
# txe: ldr r3, [r0, #0x1C] ; lsls r3, r3, #24 ; bpl txe      -- ISR.TXE
#   str r1, [r0, #0x28] ; adds r5, #1 ; b print              -- TDR
# msg: "tick\n" ; systick: 0xE000E010 ; reload: 63999 ; usart: (patched)
APP_CODE = bytes.fromhex(
    "10480d2101600d4a0d49516000219160052111600a241168c903fcd5013cfad104a5297800"
    "29f5d0c3691b06fcd581620135f6e77469636b0a00c04610e000e0fff9000000000000"
)
APP_OFFSET = 0x100


def _require_stm32flash() -> None:
    if shutil.which("stm32flash") is not None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("stm32flash is required in CI but is not installed")
    pytest.skip("stm32flash not installed")


def tick_app(board: SimBoard) -> bytes:
    base = board.part.flash.base
    stack = board.part.ram[0].base + 0x1000
    vectors = stack.to_bytes(4, "little") + (base + APP_OFFSET + 1).to_bytes(4, "little")
    code = APP_CODE[:-4] + board.usart().base.to_bytes(4, "little")
    return vectors.ljust(APP_OFFSET, b"\xff") + code


@pytest.fixture(params=BOARDS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[SimBoard, str]]:
    _require_stm32flash()
    board = SimBoard.from_inventory(request.param)
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    assert board.bootrom.active
    server = PtyServer(board)
    stop = run_in_thread(server)
    yield board, server.path
    stop()


def _run(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-2000:]
    return out


def _read_for(fd: int, seconds: float) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], min(left, 0.05))
        if ready:
            out += os.read(fd, 4096)
    return out


def test_go_acks_then_the_application_keeps_printing(
    served: tuple[SimBoard, str], tmp_path: Path
) -> None:
    board, path = served
    image = tmp_path / "tick.bin"
    image.write_bytes(tick_app(board))
    _run(stm32flash_cmd(path, "-w", str(image)))
    out = _run(stm32flash_cmd(path, "-g", hex(board.part.flash.base)))
    assert "Starting execution at address" in out and "done." in out
    assert board.bootrom.jumps[-1].address == board.part.flash.base
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    try:
        first = _read_for(fd, 1.0)
        later = _read_for(fd, 1.0)
    finally:
        os.close(fd)
    assert first.count(b"tick\n") >= 2, first
    assert later.count(b"tick\n") >= 2, later  # still running after stm32flash left


def test_get_checksum_over_the_whole_flash(served: tuple[SimBoard, str]) -> None:
    board, path = served
    size = board.part.flash.size
    board.flash.array.data[:size] = random.Random(size).randbytes(size)
    # stm32flash's device table gives every ID 0x450 part 2 MiB; an H750 has 128 KiB and its
    # ROM (as silicon) NACKs a range past the end, so the range is the part's own flash
    out = _run(stm32flash_cmd(path, "-S", f"0x{board.part.flash.base:08x}:{size}", "-C"))
    match = re.search(r"CRC\(0x([0-9a-f]{8})-0x([0-9a-f]{8})\) = 0x([0-9a-f]{8})", out)
    assert match, out
    start, end, crc = (int(g, 16) for g in match.groups())
    assert (start, end) == (board.part.flash.base, board.part.flash.base + size)
    if 0xA1 in rom_info(board).commands:
        assert "Read memory" not in out  # stm32flash used the ROM's Get Checksum
    assert crc == stm32_crc32(bytes(board.flash.array.data[:size]))
