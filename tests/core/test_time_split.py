"""Where simulation time goes: the core's count of Python time and of slices cut in a block.

`bench/bench_loader.py` splits a page write into time in Python device models and time in the
engine from these two figures; each must move with what it counts, and only with it.
"""

from __future__ import annotations

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.bus import Access
from stm32_hil.sim.cpu import native
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason

RAM = 0x24000000
# loop: adds r1,#1; adds r2,#1; adds r3,#1; b loop (one block of four instructions)
COUNT_LOOP = bytes.fromhex("013101320133fbe7")
# loop: str r1,[r0,#0x14]; adds r1,#1; b loop (QUADSPI CCR, a new value each time)
CCR_LOOP = bytes.fromhex("41610131fce7")


def _native(monkeypatch: pytest.MonkeyPatch) -> None:
    if native.library() is None:
        pytest.skip("no C compiler for the native dispatcher")
    monkeypatch.setenv("STM32_HIL_NATIVE", "1")


def _run(code: bytes, cycles: int, r0: int = 0) -> SimTarget:
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    core = target.board.core
    target.board.bus.write_block(RAM, code, Access.DEBUG)
    core.write_reg("pc", RAM | 1)
    for reg, value in (("r0", r0), ("r1", 0), ("r2", 0), ("r3", 0)):
        core.write_reg(reg, value)
    core.halted, core.halt_reason = False, HaltReason.NONE
    core.run(cycles)
    return target


def test_a_slice_ending_inside_a_block_is_counted_and_still_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _native(monkeypatch)
    target = _run(COUNT_LOOP, 10_001)  # 2,500 loops and the first instruction of the next
    core = target.board.core
    assert [core.read_reg(r) for r in ("r1", "r2", "r3")] == [2_501, 2_500, 2_500]
    assert core.cut_blocks == 1
    assert core.python_seconds == 0.0  # no peripheral was touched


def test_python_time_is_counted_only_for_accesses_handed_to_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _native(monkeypatch)
    qspi = SimTarget(Inventory.load().get("nucleo-h743zi")).board.bus.device("QUADSPI").base
    target = _run(CCR_LOOP, 2_000, r0=qspi)
    core = target.board.core
    reads, writes = core.python_accesses
    assert writes >= 600  # every third instruction is a CCR write
    assert core.python_seconds > 0.0
    # a slice of plain instructions afterwards adds no Python time
    before = core.python_seconds
    core.write_reg("r0", RAM + 0x1000)  # the same loop now stores to RAM
    core.run(2_000)
    assert core.python_seconds == before
    assert core.python_accesses == (reads, writes)
