"""The loader suite (suites/loader) and `hil loader validate` on a `backend = "pyocd"` board: the
nightly run on silicon.

The board is declared as a real one (a pyOCD probe, a pyOCD target type), with the part and
external flash of the NUCLEO-H743ZI; its probe is the simulator's `sim:nucleo-h743zi`, so the
run goes through PyOCDTarget exactly as on a board on the bench.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HIL = [sys.executable, "-c", "from stm32_hil.cli.main import main; main()"]
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


def test_cli_on_a_real_board_needs_the_opt_in_and_blames_no_loader(tmp_path: Path) -> None:
    """Without --allow-destructive an erase check has no verdict (exit 2) naming the opt-in,
    never a failure of the loader; with it the check passes."""
    inventory = tmp_path / "bench.toml"
    inventory.write_text(INVENTORY)
    env = dict(
        os.environ,
        HIL_RUNTIME_DIR=str(tmp_path / "runtime"),
        HIL_LOCK_DIR=str(tmp_path / "locks"),
        COLUMNS="200",
    )
    loader = str(ROOT / "loaders" / "good" / "h743_w25q128.stldr")
    argv = [
        *HIL,
        *("loader", "validate", loader, "--board", "bench-h743", "--inventory", str(inventory)),
        *("--only", "sector_erase", "--json", str(tmp_path / "v.json")),
    ]
    refused = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    record = {r["check"]: r for r in json.loads((tmp_path / "v.json").read_text())}
    erase = record["sector_erase"]
    assert erase["passed"] is None and erase["verdict"] == "no verdict", erase
    assert "refused on a real board" in erase["detail"] and "--allow-destructive" in erase["detail"]
    allowed = subprocess.run(
        [*argv, "--allow-destructive"], capture_output=True, text=True, timeout=300, env=env
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert json.loads((tmp_path / "v.json").read_text())[-1]["passed"] is True
