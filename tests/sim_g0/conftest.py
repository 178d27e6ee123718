"""Fixtures for the G0 flash controller tests: fresh boards and a register-level host."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from stm32_hil.sim.board import SimBoard


def _load_host_module() -> Any:
    name = "sim_g0_host"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("g0host.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


g0host = _load_host_module()


@pytest.fixture
def hostmod() -> Any:
    return g0host


@pytest.fixture
def g071() -> SimBoard:
    return SimBoard.for_part("STM32G071RB")


@pytest.fixture
def g0b1() -> SimBoard:
    return SimBoard.for_part("STM32G0B1RE")


@pytest.fixture
def host(g071: SimBoard) -> Any:
    return g0host.G0Host(g071)


@pytest.fixture
def host_b1(g0b1: SimBoard) -> Any:
    return g0host.G0Host(g0b1)
