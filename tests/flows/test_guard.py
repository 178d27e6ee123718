"""option_bytes_guard: option bytes come back after the block, even after a failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.flows.option_bytes import read_option_bytes, write_option_bytes
from stm32_hil.flows.pcrop import set_pcrop_area
from stm32_hil.flows.rdp import set_rdp
from stm32_hil.flows.safety import OptionRestoreError, Safety, option_bytes_guard

from .conftest import FakeRealTarget


@pytest.mark.parametrize("part", ["STM32G071RB", "STM32H743ZI"])
def test_guard_restores_after_a_failing_block(make_target: Callable[..., Any], part: str) -> None:
    target = make_target(part)
    snapshot = read_option_bytes(target)
    boot = {"n_boot0": 0} if part.startswith("STM32G0") else {"boot_add0": 0x1FF0}
    with pytest.raises(RuntimeError, match="test body failed"), option_bytes_guard(target):
        write_option_bytes(target, boot)
        set_rdp(target, 1)
        assert read_option_bytes(target).rdp_level == 1
        raise RuntimeError("test body failed")
    assert read_option_bytes(target) == snapshot


def test_guard_removes_a_pcrop_area_added_in_the_block(make_target: Callable[..., Any]) -> None:
    target = make_target("STM32H743ZI")
    snapshot = read_option_bytes(target)
    base = target.part.flash.base + target.part.flash.page_size
    with option_bytes_guard(target):
        internal_flash(target).program(base, b"\x5a" * 256)
        set_pcrop_area(target, base, base + 0x100, erase_on_regression=False)
    assert read_option_bytes(target) == snapshot
    assert target.read_memory(base, 256) == b"\xff" * 256  # the recipe erased it


def test_guard_on_real_board_restores_with_the_opt_in(make_target: Callable[..., Any]) -> None:
    target = make_target("STM32G071RB", FakeRealTarget)
    safety = Safety(destructive=True)
    with option_bytes_guard(target, safety=safety) as snapshot:
        write_option_bytes(target, {"n_boot_sel": 0, "wrp1a_strt": 3}, safety=safety)
    assert read_option_bytes(target) == snapshot


def test_failed_restore_is_loud_and_carries_the_snapshot(
    make_target: Callable[..., Any],
) -> None:
    target = make_target("STM32G071RB")
    with pytest.raises(OptionRestoreError) as err, option_bytes_guard(target) as snapshot:
        set_rdp(target, 2, allow_irreversible=True)
    words = snapshot.encode(target.part)
    assert err.value.snapshot == words
    assert "restoring the option bytes FAILED" in str(err.value)
    assert f"0x{words['OPTR']:08X}" in str(err.value)
