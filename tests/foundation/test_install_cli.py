"""`hil run` pieces that decide where things go, and what piped output looks like."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stm32_hil.cli import run as run_cli
from stm32_hil.cli.console import PIPED_WIDTH, make_console

HIL = [sys.executable, "-c", "from stm32_hil.cli.main import main; main()"]


@pytest.mark.parametrize(
    ("nodeid", "suite"),
    [
        (
            "../venv/lib/python3.11/site-packages/stm32_hil_suites/recovery/test_recovery.py::t[b]",
            "recovery/test_recovery.py",
        ),
        (
            "build/__editable__.x/stm32_hil_suites/loader/test_loader.py::test_loader_check[a@b]",
            "loader/test_loader.py",
        ),
        ("suites/bootloader/test_jump.py::test_x", "bootloader/test_jump.py"),
        ("tests/test_app.py::test_boot[nucleo-g071rb]", "tests/test_app.py"),
    ],
)
def test_summary_names_a_suite_the_same_wherever_it_is_installed(nodeid: str, suite: str) -> None:
    assert run_cli.suite_of(nodeid) == suite


def test_the_users_pytest_configuration_is_found_in_the_current_directory(tmp_path: Path) -> None:
    assert run_cli.user_config(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert run_cli.user_config(tmp_path) is None  # no pytest section: not a pytest config
    (tmp_path / "setup.cfg").write_text("[tool:pytest]\nmarkers = mine\n")
    assert run_cli.user_config(tmp_path) == tmp_path / "setup.cfg"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert run_cli.user_config(tmp_path) == tmp_path / "pytest.ini"


def test_test_paths_are_resolved_against_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    paths, rest = run_cli._resolve_paths(
        ("tests/test_a.py::test_x", "-x", "--maxfail", "2", "missing.py"), tmp_path
    )
    assert paths == [f"{tmp_path / 'tests' / 'test_a.py'}::test_x"]
    assert rest == ["-x", "--maxfail", "2", "missing.py"]


def test_hil_run_passes_what_the_suites_need_and_writes_results_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def fake_main(args: list[str], plugins: list[object]) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(run_cli.pytest, "main", fake_main)
    (tmp_path / "tests").mkdir()
    (tmp_path / "inv.toml").write_text("")
    (tmp_path / "l.stldr").write_text("")
    with CliRunner().isolated_filesystem(temp_dir=tmp_path) as cwd:
        Path("tests").mkdir()
        res = CliRunner().invoke(
            run_cli.run, ["tests", "--inventory", "../inv.toml", "--stldr", "../l.stldr"]
        )
    assert res.exit_code == 2  # nothing ran (pytest was faked): no outcomes is not a pass
    (args,) = seen
    assert args[0] == str(run_cli.suites_dir()) and args[1] == str(Path(cwd, "tests").resolve())
    assert "--import-mode=importlib" in args and "no:cacheprovider" in args
    assert f"--alluredir={Path(cwd, 'allure-results').resolve()}" in args
    assert args[args.index("--rootdir") + 1] == str(Path(cwd))
    assert args[args.index("--inventory") + 1] == str((tmp_path / "inv.toml").resolve())
    assert args[args.index("--stldr") + 1] == str((tmp_path / "l.stldr").resolve())


def test_no_suites_and_no_paths_is_a_usage_error() -> None:
    res = CliRunner().invoke(run_cli.run, ["--no-suites"])
    assert res.exit_code == 2 and "nothing to run" in res.output


def test_piped_console_is_100_columns_unless_columns_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console().width == PIPED_WIDTH  # pytest captures stdout: not a terminal
    monkeypatch.setenv("COLUMNS", "180")
    assert make_console().width == 180


@pytest.mark.parametrize(
    "command", [["parts", "list", "STM32H7*"], ["parts", "show", "STM32H743ZI"], ["boards"]]
)
def test_piped_tables_fit_100_columns(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([*HIL, *command], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    widest = max(len(line) for line in done.stdout.splitlines())
    assert 40 < widest <= PIPED_WIDTH, done.stdout


def test_piped_transfer_leaves_no_progress_frame_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "flash.bin"
    done = subprocess.run(
        [*HIL, "an3155", "read", "--port", "sim://nucleo-g071rb", "-l", "0x800", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size == 0x800
    assert done.stdout.startswith("2048 bytes from 0x08000000"), done.stdout  # no bar first
    assert "━" not in done.stdout + done.stderr
