"""Fixtures: fresh simulated H743 (dual bank) and H750 (single sector) boards with sequences."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from stm32_hil.sim.board import SimBoard


def _load_h7seq() -> ModuleType:
    name = "sim_h7_h7seq"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("h7seq.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


h7seq = _load_h7seq()


@pytest.fixture
def seq() -> Any:
    """The RM0433 sequence module (register offsets, bits, `pattern`)."""
    return h7seq


@pytest.fixture
def h743() -> Any:
    return h7seq.H7Seq(SimBoard.for_part("STM32H743ZI"))


@pytest.fixture
def h750() -> Any:
    return h7seq.H7Seq(SimBoard.for_part("STM32H750XB"))
