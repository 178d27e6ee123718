"""The per-user record through which other processes find a served board."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stm32_hil.errors import ConfigError
from stm32_hil.sim import served

from .conftest import HIL, Served


@pytest.fixture(autouse=True)
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(served.RUNTIME_ENV, str(tmp_path))
    return tmp_path


def _record(pid: int, board: str = "nucleo-g071rb") -> served.ServedRecord:
    return served.ServedRecord(board, "STM32G071RB", pid, "127.0.0.1", 5555, "/dev/pts/9")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_advertised_board_is_found_elsewhere_and_withdrawn() -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        served.advertise(_record(other.pid))
        found = served.lookup_elsewhere("nucleo-g071rb")
        assert found == _record(other.pid)
        assert found.describe() == f"served board nucleo-g071rb (pid {other.pid})"
        served.withdraw("nucleo-g071rb", other.pid)
        assert served.lookup("nucleo-g071rb") is None
    finally:
        other.kill()
        other.wait()


def test_own_record_is_not_elsewhere() -> None:
    served.advertise(_record(os.getpid()))
    assert served.lookup("nucleo-g071rb") is not None
    assert served.lookup_elsewhere("nucleo-g071rb") is None


def test_record_of_a_dead_server_is_ignored_and_removed(runtime: Path) -> None:
    served.advertise(_record(_dead_pid()))
    assert served.lookup("nucleo-g071rb") is None
    assert not list(runtime.glob("*.json"))


def test_a_damaged_record_is_ignored(runtime: Path) -> None:
    (runtime / "nucleo-g071rb.json").write_text("{not json")
    assert served.lookup("nucleo-g071rb") is None


def test_second_server_for_a_live_board_is_refused() -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        served.advertise(_record(other.pid))
        with pytest.raises(ConfigError, match=f"already served by pid {other.pid}"):
            served.advertise(_record(os.getpid()))
    finally:
        other.kill()
        other.wait()


def test_hil_sim_serve_twice_is_a_clear_error(serve: Callable[..., Served]) -> None:
    first = serve("nucleo-g071rb")
    r = subprocess.run(
        [*HIL, "sim", "serve", "--board", "nucleo-g071rb", "--pty"],
        capture_output=True,
        text=True,
        timeout=120,
        env=first.env,
    )
    assert r.returncode == 2, r.stderr
    assert f"already served by pid {first.proc.pid}" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "-1"], "--speed -1.0: must be 0"),
    (["--probe-port", "70000"], "--probe-port 70000"),
])  # fmt: skip
def test_bad_serve_options_are_clear_errors(args: list[str], message: str) -> None:
    r = subprocess.run(
        [*HIL, "sim", "serve", "--board", "nucleo-g071rb", "--pty", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and message in r.stderr, r.stderr
