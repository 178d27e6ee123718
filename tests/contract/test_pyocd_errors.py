"""PyOCDTarget says what went wrong and what exists, instead of raising pyOCD internals."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from typing import Any

import pytest

from harness.errors import ConfigError, ProtectionError, TargetError
from harness.hw import open_pyocd_target
from harness.sim.board import SimBoard

from .conftest import pyocd_spec


def test_pyocd_lists_the_simulated_boards() -> None:
    from pyocd.core.helpers import ConnectHelper

    ids = {p.unique_id for p in ConnectHelper.get_all_connected_probes(blocking=False)}
    assert {"sim:nucleo-g071rb", "sim:nucleo-h743zi"} <= ids


def test_unknown_probe_lists_connected_probes(lock_dir: Path) -> None:
    spec = dataclasses.replace(pyocd_spec("nucleo-g071rb", "cortex_m"), probe="sim:no-such")
    with pytest.raises(TargetError, match="sim:nucleo-g071rb"):
        open_pyocd_target(spec)


def test_unknown_target_type_suggests_names(lock_dir: Path) -> None:
    spec = pyocd_spec("nucleo-h743zi", "stm32h743x")
    with pytest.raises(ConfigError, match="stm32h743xx"):
        open_pyocd_target(spec)


def test_rdp_level2_board_refuses_the_session(board: SimBoard, lock_dir: Path, set_rdp: Any) -> None:
    set_rdp(board, 0xCC)
    with pytest.raises(ProtectionError, match="RDP level 2"):
        open_pyocd_target(pyocd_spec(board.name, "cortex_m"))


def test_failed_connect_releases_the_board_lock(lock_dir: Path) -> None:
    spec = pyocd_spec("nucleo-h743zi", "stm32h743x")
    for _ in range(2):  # a leaked lock would time out the second attempt instead
        with pytest.raises(ConfigError):
            open_pyocd_target(spec, lock_timeout_s=0.5)


def test_pyocd_cli_lists_sim_probes() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pyocd", "list"], capture_output=True, text=True, timeout=120
    )
    assert "sim:nucleo-h743zi" in out.stdout, out.stderr
