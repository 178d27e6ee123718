"""gdb-multiarch against `hil sim serve --gdb`: a whole debugging session on the live board."""

from __future__ import annotations

import os
import re
import select
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Served, require

pytestmark = pytest.mark.sim_only

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
# G0: pyOCD ships no flash algorithm for it, so the image goes in as a user would without one:
# stm32flash over the served UART (the empty-flash check starts the ROM), then FLASH_ACR.EMPTY
# cleared (RM0444: software clears it once flash is programmed) so the reset boots flash.
# H743: GDB's own `load`, through pyOCD's flash algorithm for the part.
BOARDS = {
    "nucleo-g071rb": (
        "g071",
        ["set {unsigned int}0x40022000 = {unsigned int}0x40022000 & ~0x10000"],
    ),
    "nucleo-h743zi": ("h743", ["load"]),
}


def _script(elf: Path, port: int, prepare: list[str]) -> str:
    return "\n".join(
        [
            "set pagination off",
            "set confirm off",
            f"file {elf}",
            f"target extended-remote 127.0.0.1:{port}",
            *prepare,
            "monitor reset halt",
            "break main",
            "continue",
            "next",
            "step",
            "bt",
            "finish",
            "watch ticks",
            "continue",
            "print ticks",
            "bt",
            "info registers",
            "delete",
            "detach",
            "",
        ]
    )


def _uart_until(path: str, needle: bytes, timeout_s: float) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    seen = b""
    try:
        deadline = time.monotonic() + timeout_s
        while needle not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                seen += os.read(fd, 4096)
    finally:
        os.close(fd)
    return seen


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_gdb_session_on_the_served_board(
    board: str, serve: Callable[..., Served], tmp_path: Path
) -> None:
    gdb = require("gdb-multiarch")
    folder, prepare = BOARDS[board]
    elf = FIRMWARE / folder / "hello.elf"
    served = serve(board, "--no-boot0", "--gdb", "0")
    if "load" not in prepare:
        stm32flash = require("stm32flash")
        r = served.run(stm32flash, "-m", "8n1", "-w", str(elf.with_suffix(".bin")), served.uart)
        assert r.returncode == 0, r.stdout + r.stderr
    script = tmp_path / "session.gdb"
    script.write_text(_script(elf, served.gdb_port, prepare))
    r = served.run(gdb, "-nx", "-batch", "-x", str(script), timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert re.search(r"Breakpoint 1, main \(\) at \S*hello\.c:\d+", out), out
    assert re.search(r"uart_init \(\) at \S*board\.c:\d+", out), out  # `step` went in
    assert re.search(r"#1 +0x[0-9a-f]+ in main \(\)", out), out  # ... called from main
    assert "Hardware watchpoint 2: ticks" in out, out
    # the write to `ticks` stops the core in the handler, with the value written
    assert re.search(r"in SysTick_Handler \(\) at \S*hello\.c:\d+", out), out
    assert "$1 = 1" in out, out
    # the backtrace unwinds through the exception frame into thread mode
    bt = out[out.index("$1 = 1") :]
    assert re.search(r"#0 +0x[0-9a-f]+ in SysTick_Handler", bt), out
    assert "<signal handler called>" in bt, out
    assert re.search(r"#\d +0x[0-9a-f]+ in main \(\)", bt), out
    assert re.search(r"^pc +0x[0-9a-f]+ +0x[0-9a-f]+ <SysTick_Handler\+\d+>", bt, re.M), out
    assert re.search(r"^xpsr +0x[0-9a-f]+ +\[.*EXC=15", bt, re.M), out  # in SysTick (15)
    assert "[Inferior 1 (Remote target) detached]" in out, out
    # detached, the firmware goes on in real time: the UART shows its later tick lines
    seen = _uart_until(served.uart, b"tick 200\n", timeout_s=120)
    assert b"tick 200\n" in seen, seen
