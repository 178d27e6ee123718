"""The product as a firmware team installs it: a regular (non-editable) install in a fresh venv.

The wheel is built once from this tree, installed with PyPI's `fixtures` package beside it in a
plain venv (no system site-packages, so nothing from the development install can stand in for
the wheel), and used from a directory outside the repository: a conftest-free test taking
`target`, then `hil run` with the shipped suites plus that test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("setup.py", "pyproject.toml", "README.md", "harness", "fixtures", "suites", "firmware")
BOARD = "nucleo-g071rb"
TIMEOUT_S = 1500

USER_TEST = """
def test_flash_is_erased(target):
    base = target.part.flash.base
    assert target.read_memory(base, 16) == b"\\xff" * 16
"""

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(done.args)} -> {done.returncode}\n{out[-6000:]}"
    return out


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(venv directory, environment for commands in it) with the wheel and PyPI `fixtures`."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HIL_INVENTORY")}
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "dist")]
    try:
        import setuptools  # noqa: F401
        import wheel  # noqa: F401

        build.append("--no-build-isolation")  # the tools are here: no isolated build env
    except ImportError:
        pass
    _ok(_run([*build, str(src)], root, env))
    (wheel_file,) = (root / "dist").glob("stm32_hil-*.whl")
    venv_dir = root / "venv"
    _ok(_run([sys.executable, "-m", "venv", str(venv_dir)], root, env))
    env["PATH"] = f"{venv_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv_dir)
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    _ok(_run([*pip, str(wheel_file), "fixtures"], root, env))
    return venv_dir, env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project outside the repository: one test file, no conftest, no pytest config."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_board.py").write_text(USER_TEST)
    return tmp_path


def test_both_fixtures_packages_are_importable_side_by_side(
    venv: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv_dir, env = venv
    probe = (
        "import json, fixtures, stm32_hil, stm32_hil_pytest.plugin, stm32_hil_suites\n"
        "print(json.dumps({'fixtures': fixtures.__file__, 'Fixture': hasattr(fixtures, 'Fixture'),"
        " 'hil': stm32_hil.__file__, 'suites': stm32_hil_suites.__file__}))"
    )
    out = _ok(_run([str(venv_dir / "bin" / "python"), "-c", probe], tmp_path, env))
    where = json.loads(out.strip().splitlines()[-1])
    assert where["Fixture"], "PyPI's fixtures package was shadowed"
    for key in ("fixtures", "hil", "suites"):
        assert str(where[key]).startswith(str(venv_dir)), where  # not the development tree
    assert "site-packages" in where["hil"] and str(REPO) not in where["hil"]


def test_a_conftest_free_user_test_gets_target(
    venv: tuple[Path, dict[str, str]], project: Path
) -> None:
    venv_dir, env = venv
    cmd = [str(venv_dir / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    out = _ok(_run([*cmd, "tests", "--board", BOARD, "--strict-markers"], project, env))
    assert "1 passed" in out, out
    markers = _ok(_run([*cmd, "--markers"], project, env))
    for marker in ("destructive", "sim_only", "family(", "needs(", "hardware_only", "slow"):
        assert f"@pytest.mark.{marker}" in markers, marker


def test_hil_run_from_a_user_directory_runs_suites_and_user_tests(
    venv: tuple[Path, dict[str, str]], project: Path
) -> None:
    venv_dir, env = venv
    hil = str(venv_dir / "bin" / "hil")
    out = _ok(_run([hil, "run", "-n", "0", "--board", BOARD, "tests"], project, env))
    results = project / "allure-results"
    found = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    names = {str(r.get("fullName", "")) for r in found}
    assert any("test_board" in n for n in names), names  # the user's test
    assert any("recovery" in n for n in names) and any("bootloader" in n for n in names), names
    assert all(r["status"] in ("passed", "skipped") for r in found)
    assert (results / "environment.properties").is_file()
    assert "tests/test_board.py" in out and "recovery/test_recovery.py" in out, out
    assert not (venv_dir / "allure-results").exists()


def test_hil_run_exit_status_and_help(venv: tuple[Path, dict[str, str]], project: Path) -> None:
    venv_dir, env = venv
    hil = str(venv_dir / "bin" / "hil")
    (project / "tests" / "test_fails.py").write_text("def test_fails(target):\n    assert 0\n")
    failed = _run([hil, "run", "-n", "0", "--no-suites", "--board", BOARD, "tests"], project, env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "test_fails" in failed.stdout
    empty = _run(
        [hil, "run", "-n", "0", "--no-suites", "tests", "-k", "nothing_matches"], project, env
    )
    assert empty.returncode == 2 and "no tests" in empty.stderr
    helptext = _ok(_run([hil, "run", "--help"], project, env))
    assert "--inventory" in helptext and "HIL_INVENTORY" in helptext and "tests/" in helptext
