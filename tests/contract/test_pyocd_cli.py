"""The simulated boards from a shell: `pyocd list` and `pyocd commander -u sim:<board>`.

Each test runs pyOCD's own command line in a subprocess, so the entry-point plugin, the
inventory lookup and a fresh board per process are exercised exactly as a user meets them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from stm32_hil.sim.board import SimBoard

BUDGET_S = 120  # a wedged pyOCD fails the test instead of hanging the run


def pyocd(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyocd", *args],
        capture_output=True, text=True, timeout=BUDGET_S, cwd=cwd,
    )  # fmt: skip


def commander(cwd: Path, board: str, target: str, *commands: str) -> str:
    args = ["commander", "-u", f"sim:{board}", "-t", target]
    for command in commands:
        args += ["-c", command]
    out = pyocd(cwd, *args)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_list_shows_the_simulated_boards(tmp_path: Path) -> None:
    out = pyocd(tmp_path, "list")
    assert out.returncode == 0, out.stderr
    for board in ("nucleo-g071rb", "nucleo-h743zi"):
        assert re.search(rf"Simulated SWD probe \[{board}\]\s+sim:{board}\b", out.stdout)


def test_commander_reads_the_h743_idcode(tmp_path: Path) -> None:
    board = SimBoard.from_inventory("nucleo-h743zi")
    expected = board.bus.read(board.part.idcode_addr, 4)
    out = commander(tmp_path, "nucleo-h743zi", "stm32h743xx", "read32 0x5C001000")
    match = re.search(r"5c001000:\s+([0-9a-f]{8})", out)
    assert match, out
    assert int(match.group(1), 16) == expected
    assert expected & 0xFFF == 0x450


def test_commander_halt_reg_step_reset_halt_on_g0(tmp_path: Path) -> None:
    out = commander(tmp_path, "nucleo-g071rb", "cortex_m", "halt", "reg", "step", "reset halt")
    assert "Successfully halted device" in out
    assert re.search(r"\bpc: 0x[0-9a-f]{8}", out) and re.search(r"\bsp: 0x[0-9a-f]{8}", out)
    assert "Successfully halted device on reset" in out


def test_commander_step_executes_one_instruction(tmp_path: Path) -> None:
    code = 0x20001000
    out = commander(
        tmp_path, "nucleo-g071rb", "cortex_m",
        "halt", f"write16 0x{code:08x} 0x2001", f"wreg pc 0x{code:08x}", "wreg r0 0",
        "step", "reg r0", "reg pc",
    )  # fmt: skip
    assert "r0 = 0x00000001" in out  # movs r0, #1 ran
    assert f"pc = 0x{code + 2:08x}" in out


def test_commander_names_the_boards_for_an_unknown_sim_probe(tmp_path: Path) -> None:
    out = pyocd(tmp_path, "commander", "-u", "sim:no-such-board", "-t", "cortex_m", "-c", "halt")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "no simulated board 'no-such-board'" in text
    assert "nucleo-g071rb" in text and "nucleo-h743zi" in text
