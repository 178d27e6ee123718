"""Polling loops: time is skipped only where time can change what the loop reads.

A HAL-style wait reads a status register until a flag comes or its own count runs out. A
status read of a busy NOR chip (here through QUADSPI automatic polling) moves time to the end
of its operation; in an indirect mode nothing but the CPU changes QUADSPI's SR, so a wait for
a flag that never comes must run its count, as silicon does, and cost those cycles only.
"""

from __future__ import annotations

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.bus import Access
from stm32_hil.sim.cpu import native
from stm32_hil.sim.cpu.core import MAX_SLICE
from stm32_hil.sim.periph.quadspi import Quadspi
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason

CR, DLR, CCR, AR, PSMKR, PSMAR, PIR = 0x00, 0x10, 0x14, 0x18, 0x24, 0x28, 0x2C
SR_TCF, SR_SMF = 0x02, 0x08
CR_EN, CR_APMS = 1 << 0, 1 << 22
RAM = 0x24000000
# loop: ldr r2,[r0,#8]; tst r2,r3; bne done; subs r1,#1; bne loop; done: b done
WAIT = bytes.fromhex("82681a4201d10139fad1fee7")
DONE = RAM + 10
LOOP_INSTRUCTIONS = 5


def _board() -> tuple[SimTarget, int]:
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    board = target.board
    qspi = board.bus.device("QUADSPI")
    board.bus.write_block(RAM, WAIT, Access.DEBUG)
    return target, qspi.base


def _ccr(instr: int, *, admode: int = 0, dmode: int = 0, fmode: int = 0) -> int:
    return instr | 1 << 8 | admode << 10 | 2 << 12 | dmode << 24 | fmode << 26


def _wait(target: SimTarget, base: int, flag: int, count: int) -> tuple[int, int]:
    """Run the wait loop from reset of its registers: (cycles it took, iterations left)."""
    core = target.board.core
    clock = target.board.clock
    core.write_reg("pc", RAM | 1)
    core.write_reg("r0", base)
    core.write_reg("r1", count)
    core.write_reg("r3", flag)
    core.halted, core.halt_reason = False, HaltReason.NONE
    start = clock.now
    for _ in range(100_000):
        if core.pc_now() == DONE:
            return clock.now - start, core.read_reg("r1")
        core.run(64_000)
    raise AssertionError("the wait loop never ended")


def _w(target: SimTarget, base: int, offset: int, value: int) -> None:
    target.board.bus.write(base + offset, 4, value, Access.CPU)


def _native_or_not(monkeypatch: pytest.MonkeyPatch, on: bool) -> None:
    if on and native.library() is None:
        pytest.skip("no C compiler for the native dispatcher")
    monkeypatch.setenv("STM32_HIL_NATIVE", "1" if on else "0")


def _wait_for_tcf_without_data(count: int) -> tuple[int, int]:
    """An indirect write waits for its data, so TCF never comes: the loop's own count ends."""
    target, base = _board()
    _w(target, base, CR, CR_EN)
    _w(target, base, DLR, 255)
    _w(target, base, CCR, _ccr(0x02, dmode=1))
    return _wait(target, base, SR_TCF, count)


@pytest.mark.parametrize("on", [True, False], ids=["native", "python"])
def test_a_wait_for_a_flag_that_never_comes_runs_its_count(
    on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _native_or_not(monkeypatch, on)
    count = 20_000
    cycles, left = _wait_for_tcf_without_data(count)
    assert left == 0, "the flag came: the controller started a command nobody sent data for"
    # its own instructions (plus the slice that ends on the loop's exit), not a slice per look
    assert cycles <= count * LOOP_INSTRUCTIONS + 64_000, cycles
    assert cycles < count * MAX_SLICE // 8


def test_the_count_loop_costs_the_same_with_and_without_the_native_dispatcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    results = []
    for on in (True, False):
        _native_or_not(monkeypatch, on)
        results.append(_wait_for_tcf_without_data(3_001))
    assert results[0] == results[1]


@pytest.mark.parametrize("on", [True, False], ids=["native", "python"])
def test_a_wait_on_a_busy_chip_still_skips_to_the_end_of_the_erase(
    on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _native_or_not(monkeypatch, on)
    target, base = _board()
    began = target.board.clock.now
    _w(target, base, CR, CR_EN)
    _w(target, base, CCR, _ccr(0x06))  # write enable
    _w(target, base, CCR, _ccr(0x20, admode=1))  # sector erase at 0: starts on AR
    _w(target, base, AR, 0)
    _w(target, base, PSMKR, 0x01)  # automatic polling: WIP == 0
    _w(target, base, PSMAR, 0x00)
    _w(target, base, PIR, 0x10)
    _w(target, base, DLR, 0)
    _w(target, base, CR, CR_EN | CR_APMS)
    _w(target, base, CCR, _ccr(0x05, dmode=1, fmode=2))
    count = 1_000_000_000
    _, left = _wait(target, base, SR_SMF, count)
    clock = target.board.clock
    qspi = target.board.bus.device("QUADSPI")
    assert isinstance(qspi, Quadspi)
    erase = clock.hz * qspi.chips[0].spec.timing["erase_4k"]
    assert left > 0, "the loop ran out before the erase ended"
    # the erase's datasheet time passed, while the loop itself ran a handful of iterations
    assert clock.now - began >= erase
    assert (count - left) * LOOP_INSTRUCTIONS < erase // 100
