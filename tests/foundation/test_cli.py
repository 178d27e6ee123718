"""The `hil` command: tables a person can read, typed errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def hil(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from stm32_hil.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_boards_lists_the_inventory() -> None:
    out = hil("boards")
    assert out.returncode == 0
    for name in ("nucleo-g071rb", "nucleo-g0b1re", "nucleo-h743zi", "stm32h750b-dk"):
        assert name in out.stdout


def test_malformed_inventory_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "boards.toml"
    bad.write_text("[boards.x]\npart = \n")
    out = hil("boards", "--inventory", str(bad))
    assert out.returncode == 2
    assert f"{bad}:2" in out.stderr and "Traceback" not in out.stderr


def test_unknown_board_is_a_clear_error() -> None:
    out = hil("options", "show", "--board", "nucleo-zz")
    assert out.returncode == 2
    assert "unknown board 'nucleo-zz'" in out.stderr and "known boards" in out.stderr
    assert "Traceback" not in out.stderr


def test_options_show_decodes_fields() -> None:
    out = hil("options", "show", "--board", "nucleo-g071rb")
    assert out.returncode == 0
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("OPTR"))
    assert "0xFFFFFEAA" in line and "RDP=0xaa" in line and "nBOOT_SEL=0x1" in line


def test_recover_on_a_healthy_board_reports_ok() -> None:
    out = hil("recover", "--board", "stm32h750b-dk")
    assert out.returncode == 0
    assert "recovered" in out.stdout or "healthy" in out.stdout


def test_run_writes_allure_results_and_a_summary(tmp_path: Path) -> None:
    results = tmp_path / "allure"
    out = hil(
        "run", "--board", "nucleo-g071rb", "-n", "0", "-k", "identity",
        "--alluredir", str(results),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "regression summary" in out.stdout and "nucleo-g071rb" in out.stdout
    labels = [
        {(lbl["name"], lbl["value"]) for lbl in json.loads(p.read_text())["labels"]}
        for p in results.glob("*-result.json")
    ]
    assert labels and all(("board", "nucleo-g071rb") in s for s in labels)


def test_run_with_nothing_selected_fails() -> None:
    out = hil("run", "--board", "nucleo-g071rb", "-n", "0", "-k", "no_such_test_anywhere")
    assert out.returncode != 0
