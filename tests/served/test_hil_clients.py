"""`hil --board B` acts on the served board B, and says so: it sees what other tools did."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from .conftest import Served, require

pytestmark = pytest.mark.sim_only

BOARD = "nucleo-g071rb"


def _rdp(out: str) -> str:
    match = re.search(r"OPTR\s+0x[0-9A-F]{8}\s+0x[0-9A-F]{8}\s+RDP=(0x[0-9a-f]{2})", out)
    assert match, out
    return match.group(1)


def test_options_and_recover_see_rdp1_set_over_the_uart(serve: Callable[..., Served]) -> None:
    stm32flash = require("stm32flash")
    served = serve(BOARD)
    pid = served.proc.pid
    r = served.run(stm32flash, "-m", "8n1", "-j", served.uart)
    assert r.returncode == 0 and "Read-Protecting flash" in r.stdout, r.stdout + r.stderr

    shown = served.hil("options", "show", "--board", BOARD)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"using served board {BOARD} (pid {pid})" in shown.stderr
    assert _rdp(shown.stdout) == "0xbb"  # level 1, as the ROM's Readout Protect left it

    rec = served.hil("recover", "--board", BOARD)
    assert f"using served board {BOARD} (pid {pid})" in rec.stderr
    assert "RDP level 1 (RDP=0xBB)" in rec.stdout, rec.stdout + rec.stderr
    assert rec.returncode == 0, rec.stdout + rec.stderr

    after = served.hil("options", "show", "--board", BOARD)
    assert after.returncode == 0, after.stdout + after.stderr
    assert _rdp(after.stdout) == "0xaa"  # the recovery happened on the served board too


def test_without_a_server_hil_uses_a_fresh_board(tmp_path: object) -> None:
    """No served board: `hil` builds its own simulated board and names none."""
    import os
    import subprocess

    from .conftest import HIL

    env = dict(os.environ, HIL_RUNTIME_DIR=str(tmp_path))
    r = subprocess.run(
        [*HIL, "options", "show", "--board", BOARD],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "using served board" not in r.stderr
    assert _rdp(r.stdout) == "0xaa"
