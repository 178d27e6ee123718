"""The loader suite (suites/loader) on a `backend = "pyocd"` board: the nightly run on silicon.

The board is declared as a real one (a pyOCD probe, a pyOCD target type), with the part and
external flash of the NUCLEO-H743ZI; its probe is the simulator's `sim:nucleo-h743zi`, so the
run goes through PyOCDTarget exactly as on a board on the bench.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "suites" / "loader" / "test_loader.py"
INVENTORY = """
[boards.bench-h743]
part = "STM32H743ZI"
backend = "pyocd"
probe = "sim:nucleo-h743zi"
target_type = "stm32h743xx"
pins = { nrst = "probe" }
external_flash = [{ chip = "W25Q128", bus = "QUADSPI", bank = 1 }]
"""
CHECKS = ("metadata", "init", "sector_erase", "read_before_init", "wrong_base")
# What a probe cannot judge on a simulated board: skipped, with the reason.
PROBE_NA = {"init_idle": "needs the flash model's WIP state", "timing": "its clock is virtual"}


def _suite(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    inventory = tmp_path / "bench.toml"
    inventory.write_text(INVENTORY)
    env = dict(
        os.environ,
        HIL_RUNTIME_DIR=str(tmp_path / "runtime"),  # no served board in the way
        HIL_LOCK_DIR=str(tmp_path / "locks"),
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(SUITE),
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-rA",
            "--inventory",
            str(inventory),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )


def test_own_loader_runs_on_a_pyocd_board_like_its_own(tmp_path: Path) -> None:
    """`--backend pyocd` alone selects the bench board, which takes the H743 loader (same part
    and memory as the board it is built for); each check passes, or is skipped as n/a on the
    probe with the reason."""
    select = " or ".join((*CHECKS, *PROBE_NA))
    run = _suite(tmp_path, "--backend", "pyocd", "--allow-destructive", "-k", select)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    passed = set(re.findall(r"PASSED \S+\[h743_w25q128@bench-h743-(\w+)\]", out))
    assert passed == set(CHECKS), out[-4000:]
    for check, why in PROBE_NA.items():
        skipped = re.search(rf"SKIPPED \[1\] \S+: {check} at bench-h743: not applicable: (.*)", out)
        assert skipped and why in skipped.group(1), out[-4000:]
    assert "nucleo-h743zi]" not in out  # the sim board of the example inventory is not selected


def test_real_board_keeps_its_flash_without_the_opt_in(tmp_path: Path) -> None:
    """A board on a probe is a real one: the checks that erase its external flash are skipped
    without --allow-destructive, and say so."""
    run = _suite(tmp_path, "--backend", "pyocd", "-k", "sector_erase")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "1 skipped" in out and "pass --allow-destructive to run it" in out, out[-4000:]
    assert "PASSED" not in out
