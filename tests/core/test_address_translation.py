"""Address translation: code the CPU writes runs as written, and fetches still fault where
the default memory map forbids them, with the native TLB fill and without it.

The native dispatcher fills Unicorn's TLB itself so that stores to pages nobody executes
take the fast path; a page becomes executable when code is fetched from it, and from then on
stores there are checked for self-modifying code. These tests run the same programs with
the native library and on the plain Python path and expect the same results.
"""

from __future__ import annotations

import pytest
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH

from stm32_hil.inventory import Inventory
from stm32_hil.sim.bus import Access
from stm32_hil.sim.cpu import native
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason

RAM = 0x24000000  # AXI SRAM of the H743
CODE = RAM  # the program that stores and jumps
DATA_PAGE = RAM + 0x8000  # first touched by a store, later executed
MOVS_R0 = 0x2000  # movs r0, #imm8
BKPT = 0xBE00
# strh r1,[r2]; strh r4,[r2,#2]; bx r3; bkpt
STORE_AND_JUMP = bytes.fromhex("1180 5480 1847 00be")
STOP = CODE + 6  # the bkpt after it


@pytest.fixture(params=[True, False], ids=["native", "python"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SimTarget:
    if request.param and native.library() is None:
        pytest.skip("no C compiler for the native dispatcher")
    monkeypatch.setenv("STM32_HIL_NATIVE", "1" if request.param else "0")
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    assert (target.board.core._native is not None) is request.param
    target.board.bus.write_block(CODE, STORE_AND_JUMP, Access.DEBUG)
    return target


def _run(target: SimTarget, pc: int, **regs: int) -> None:
    core = target.board.core
    for name, value in regs.items():
        core.write_reg(name, value)
    core.write_reg("pc", pc | 1)
    core.halted, core.halt_reason = False, HaltReason.NONE
    for _ in range(100):
        if core.halted:
            return
        core.run(10_000)
    raise AssertionError(f"the program at 0x{pc:08X} never halted")


def _store_and_run(target: SimTarget, where: int, imm: int) -> int:
    """The CPU writes `movs r0, #imm; bkpt` at `where` and jumps there: R0 at the BKPT."""
    _run(target, CODE, r0=0, r1=MOVS_R0 | imm, r2=where, r3=where | 1, r4=BKPT)
    core = target.board.core
    assert core.halt_reason is HaltReason.BREAKPOINT
    assert core.pc_now() == where + 2
    return core.read_reg("r0")


def test_code_the_cpu_rewrites_runs_as_rewritten(target: SimTarget) -> None:
    where = RAM + 0x100  # the page the storing program runs from
    assert _store_and_run(target, where, 5) == 5
    assert _store_and_run(target, where, 7) == 7  # translated once: must be translated again
    assert target.read32(where) == (BKPT << 16) | MOVS_R0 | 7


def test_a_data_page_that_becomes_code_runs_what_was_stored_last(target: SimTarget) -> None:
    bus = target.board.bus
    _run(target, CODE, r0=0, r1=0x1111, r2=DATA_PAGE + 0x40, r3=STOP | 1, r4=0x2222)
    assert bus.read(DATA_PAGE + 0x40, 4, Access.DEBUG) == 0x22221111
    for imm in (3, 9, 200):
        assert _store_and_run(target, DATA_PAGE, imm) == imm


def test_code_rewritten_after_its_translation_was_evicted_runs_as_rewritten(
    target: SimTarget,
) -> None:
    """A page holding translated code, whose TLB entry is refilled by a store elsewhere in the
    page: later stores to the code must still be caught (the page keeps its checks)."""
    core, bus = target.board.core, target.board.bus
    storer = RAM + 0x2000  # another page than the code it writes
    bus.write_block(storer, STORE_AND_JUMP, Access.DEBUG)
    code, data = RAM + 0x4100, RAM + 0x4200  # one page: code, then plain data after it
    stop = storer + 6

    def store(where: int, low: int, high: int, then: int) -> None:
        _run(target, storer, r0=0, r1=low, r2=where, r3=then | 1, r4=high)
        assert core.halt_reason is HaltReason.BREAKPOINT

    store(code, MOVS_R0 | 5, BKPT, code)
    assert core.read_reg("r0") == 5
    core.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)  # as a remap or a TLB conflict would
    store(data, 0x1234, 0x5678, stop)  # the page's first access since: a store, not a fetch
    store(code, MOVS_R0 | 6, BKPT, code)
    assert core.read_reg("r0") == 6


def test_a_fetch_from_peripheral_space_faults_as_the_memory_map_says(target: SimTarget) -> None:
    # bx r3 with r3 = a peripheral address: execute-never in the default memory map
    bus, core = target.board.bus, target.board.core
    table = RAM + 0x1000
    bus.write(table + 4 * 3, 4, STOP | 1, Access.DEBUG)  # HardFault: the bkpt
    target.write32(0xE000ED08, table)  # VTOR
    core.write_reg("sp", RAM + 0x4000)
    core.write_reg("r3", 0x40000000 | 1)
    core.write_reg("pc", STOP - 2 | 1)  # the `bx r3`
    core.halted, core.halt_reason = False, HaltReason.NONE
    core.run(1_000)
    fault = core.last_fault
    assert fault is not None
    assert (fault.kind, fault.pc, fault.address) == ("bus", 0x40000000, 0x40000000)
    assert fault.reason == "instruction fetch from a non-executable region"
    assert target.read32(0xE000ED28) == 0x100  # CFSR.IBUSERR
    assert core.pc_now() == STOP  # in the HardFault handler
