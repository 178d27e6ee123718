"""Slices bounded by nothing that needs an exact end stop on a block boundary, on both paths.

A slice that must end on an exact instruction (an event is due, or the caller asked for exactly
so many cycles) cuts the block it ends in, which costs Unicorn several translations. A slice
bounded only by MAX_SLICE, or by the end of a run the caller does not need exactly
(`wait_for_halt`), ends before the block that would overrun it and is charged what it ran.
The native counter and the Python path's block hook must agree instruction for instruction.
"""

from __future__ import annotations

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.bus import Access
from stm32_hil.sim.cpu import native
from stm32_hil.sim.cpu.core import MAX_SLICE, thumb_instructions
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason

RAM = 0x24000000
# loop: adds r1,#1; adds.w r2,r2,#1; adds r3,#1; b loop (one block: four instructions, one of
# them 32-bit, so counting halfwords instead of instructions would show)
LOOP = bytes.fromhex("013112f101020133")
LOOP += (0xE000 | (-(len(LOOP) + 4) // 2 & 0x7FF)).to_bytes(2, "little")
PER_LOOP = 4


def _paths(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    if on and native.library() is None:
        pytest.skip("no C compiler for the native dispatcher")
    monkeypatch.setenv("STM32_HIL_NATIVE", "1" if on else "0")


def _target(monkeypatch: pytest.MonkeyPatch, on: bool) -> SimTarget:
    """The loop at RAM, about to run, on the native path or the Python path."""
    _paths(monkeypatch, on)
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    core = target.board.core
    target.board.bus.write_block(RAM, LOOP, Access.DEBUG)
    core.write_reg("pc", RAM | 1)
    for reg in ("r1", "r2", "r3"):
        core.write_reg(reg, 0)
    core.halted, core.halt_reason = False, HaltReason.NONE
    return target


def test_the_decode_counts_thumb2_instructions() -> None:
    assert thumb_instructions(LOOP) == PER_LOOP
    assert thumb_instructions(bytes.fromhex("00bf00bf")) == 2  # nop; nop
    assert thumb_instructions(bytes.fromhex("4ff00000")) == 1  # mov.w r0, #0


@pytest.mark.parametrize("on", [True, False], ids=["native", "python"])
def test_a_long_run_ends_its_slices_on_block_boundaries_without_cuts(
    on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _target(monkeypatch, on)
    core, clock = target.board.core, target.board.clock
    start = clock.now
    cycles = 3 * MAX_SLICE + 6  # exact: the last slice cuts the block it ends in
    core.run(cycles)
    assert clock.now - start == cycles
    loops, extra = divmod(cycles, PER_LOOP)
    assert core.read_reg("r3") == loops
    assert core.read_reg("r1") == loops + (extra >= 1)
    assert core.read_reg("r2") == loops + (extra >= 2)
    if on:
        assert core.cut_blocks == 1  # the MAX_SLICE-bounded slices ended on block boundaries


@pytest.mark.parametrize("on", [True, False], ids=["native", "python"])
def test_a_run_not_needed_exactly_stops_on_the_block_boundary_before_its_end(
    on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _target(monkeypatch, on)
    core, clock = target.board.core, target.board.clock
    start = clock.now
    core.run(10_003, exact=False)
    ran = clock.now - start
    assert ran == 10_003 - 10_003 % PER_LOOP  # a whole number of loops, just short of the end
    assert [core.read_reg(r) for r in ("r1", "r2", "r3")] == [ran // PER_LOOP] * 3
    assert core.pc_now() == RAM
    if on:
        assert core.cut_blocks == 0


def test_both_paths_end_every_slice_on_the_same_instruction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = []
    for on in (True, False):
        target = _target(monkeypatch, on)
        core, clock = target.board.core, target.board.clock
        trail = []
        for cycles in (MAX_SLICE + 3, 5, 2 * MAX_SLICE + 1, 7):
            core.run(cycles, exact=False)
            trail.append((clock.now, core.pc_now(), core.read_reg("r1"), core.read_reg("r2")))
        seen.append(trail)
    assert seen[0] == seen[1]
