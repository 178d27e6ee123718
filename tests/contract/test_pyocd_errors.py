"""PyOCDTarget says what went wrong and what exists, instead of raising pyOCD internals."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from stm32_hil.errors import ConfigError, ProtectionError, TargetError
from stm32_hil.hw import open_pyocd_target
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.debug.pyocd_probe import SimProbe

from .conftest import BOARDS, pyocd_spec


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


@pytest.mark.parametrize("builtin_target", [False, True])
def test_rdp_level2_board_refuses_the_session(
    board: SimBoard, lock_dir: Path, set_rdp: Any, builtin_target: bool
) -> None:
    set_rdp(board, 0xCC)
    target_type = BOARDS[board.name] if builtin_target else "cortex_m"
    with pytest.raises(ProtectionError, match="RDP level 2"):
        open_pyocd_target(pyocd_spec(board.name, target_type))


def test_explicit_unknown_sim_probe_lists_the_boards() -> None:
    from pyocd.core import exceptions

    with pytest.raises(exceptions.ProbeError, match=r"simulated boards: .*nucleo-h743zi"):
        SimProbe.get_probe_with_id("no-such", is_explicit=True)
    assert SimProbe.get_probe_with_id("no-such", is_explicit=False) is None
    probe = SimProbe.get_probe_with_id("sim:nucleo-g071rb", is_explicit=True)
    assert probe is not None and probe.unique_id == "sim:nucleo-g071rb"


def test_failed_connect_releases_the_board_lock(lock_dir: Path) -> None:
    spec = pyocd_spec("nucleo-h743zi", "stm32h743x")
    for _ in range(2):  # a leaked lock would time out the second attempt instead
        with pytest.raises(ConfigError):
            open_pyocd_target(spec, lock_timeout_s=0.5)
