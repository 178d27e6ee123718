"""The safety gate: real boards (target.sim is None) refuse destructive flows without opt-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stm32_hil.errors import ProtectionError, SafetyError
from stm32_hil.flows.option_bytes import read_option_bytes, write_option_bytes
from stm32_hil.flows.pcrop import pcrop_regression
from stm32_hil.flows.rdp import rdp_regression, set_rdp
from stm32_hil.flows.recover import recover, restore_factory_option_bytes
from stm32_hil.flows.safety import Safety

from .conftest import FakeRealTarget

DESTRUCTIVE = Safety(destructive=True)
EVERYTHING = Safety(destructive=True, irreversible=True)


@pytest.fixture
def real(make_target: Callable[..., Any]) -> Any:
    return make_target("STM32G071RB", FakeRealTarget)


@pytest.mark.parametrize(
    "flow",
    [
        lambda t, s: write_option_bytes(t, {"n_boot0": 0}, safety=s),
        lambda t, s: set_rdp(t, 1, safety=s),
        lambda t, s: rdp_regression(t, safety=s),
        lambda t, s: pcrop_regression(t, safety=s),
        lambda t, s: restore_factory_option_bytes(t, safety=s),
        lambda t, s: recover(t, safety=s),
    ],
    ids=[
        "write_option_bytes",
        "set_rdp",
        "rdp_regression",
        "pcrop_regression",
        "restore_factory",
        "recover",
    ],
)
@pytest.mark.parametrize("safety", [None, Safety()], ids=["no-safety", "no-opt-in"])
def test_real_board_refuses_destructive_flows(real: Any, flow: Any, safety: Any) -> None:
    before = dict(real.board.flash.options)
    with pytest.raises(SafetyError, match="--allow-destructive"):
        flow(real, safety)
    assert real.board.flash.options == before
    assert real.board.reset_log == []


def test_real_board_with_opt_in_changes_option_bytes(real: Any) -> None:
    after = write_option_bytes(real, {"n_boot0": 0}, safety=DESTRUCTIVE)
    assert after.n_boot0 == 0  # type: ignore[attr-defined]
    assert read_option_bytes(real).n_boot0 == 0  # type: ignore[attr-defined]


def test_level_2_needs_the_caller_and_the_operator(real: Any, make_target: Any) -> None:
    sim = make_target("STM32G071RB")
    with pytest.raises(SafetyError, match="permanent"):
        set_rdp(sim, 2)
    with pytest.raises(SafetyError, match="permanent"):
        write_option_bytes(sim, {"rdp": 0xCC})
    with pytest.raises(SafetyError, match="--allow-irreversible"):
        set_rdp(real, 2, safety=DESTRUCTIVE, allow_irreversible=True)
    assert read_option_bytes(real).rdp_level == 0
    set_rdp(real, 2, safety=EVERYTHING, allow_irreversible=True)
    with pytest.raises(ProtectionError, match="RDP level 2"):
        read_option_bytes(real)


def test_safety_from_pytest_options() -> None:
    class Config:
        def __init__(self, **opts: bool) -> None:
            self.opts = opts

        def getoption(self, name: str) -> bool:
            return self.opts[name]

    none = Safety.from_options(
        Config(**{"--allow-destructive": False, "--allow-irreversible": False})
    )
    assert none == Safety()
    assert (
        Safety.from_options(Config(**{"--allow-destructive": False, "--allow-irreversible": True}))
        == EVERYTHING
    )
