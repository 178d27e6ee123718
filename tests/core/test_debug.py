"""Halt, step, resume, FPB breakpoints and the debug registers seen through the bus."""

from __future__ import annotations

import pytest
from core_firmware import board_with, symbol

from stm32_hil.errors import TargetError
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason

DHCSR, DCRSR, DCRDR, DEMCR = 0xE000EDF0, 0xE000EDF4, 0xE000EDF8, 0xE000EDFC
FP_CTRL, FP_COMP0 = 0xE0002000, 0xE0002008


def _target(part: str = "STM32G071RB") -> SimTarget:
    board = board_with(part, "hello")
    return SimTarget(board.spec, board.part, board=board)


def test_step_executes_one_instruction() -> None:
    t = _target()
    pc0 = t.read_core_register("pc")
    t.step()
    assert t.is_halted()
    assert t.board.core.halt_reason is HaltReason.STEP
    assert t.read_core_register("pc") != pc0
    assert t.board.clock.now > 0


def test_breakpoint_halts_at_address_and_resume_continues() -> None:
    part = "STM32H743ZI"
    t = _target(part)
    handler = symbol(part, "hello", "SysTick_Handler") & ~1
    t.set_breakpoint(handler)
    t.resume()
    assert t.wait_for_halt(0.1) is HaltReason.BREAKPOINT
    assert t.read_core_register("pc") == handler
    assert t.read_core_register("xpsr") & 0x1FF == 15  # inside the SysTick exception
    ticks = t.read32(symbol(part, "hello", "ticks"))
    t.resume()  # steps over the breakpoint, runs until the next SysTick
    assert t.wait_for_halt(0.1) is HaltReason.BREAKPOINT
    assert t.read32(symbol(part, "hello", "ticks")) == ticks + 1
    t.remove_breakpoint(handler)
    t.resume()
    t.board.run(100_000)
    assert not t.is_halted()


def test_breakpoints_are_limited_to_fpb_comparators() -> None:
    t = _target()
    for i in range(4):  # Cortex-M0+: 4 comparators
        t.set_breakpoint(0x08000100 + 2 * i)
    assert t.read32(FP_CTRL) & 1
    assert (t.read32(FP_CTRL) >> 4) & 0xF == 4
    assert t.read32(FP_COMP0) & 1
    with pytest.raises(TargetError, match="no free hardware breakpoint"):
        t.set_breakpoint(0x08000200)


def test_bkpt_instruction_halts_with_pc_on_it() -> None:
    part = "STM32G071RB"
    t = _target(part)
    t.write_core_register("pc", symbol(part, "hello", "Default_Handler"))
    t.resume()
    assert t.wait_for_halt(0.01) is HaltReason.BREAKPOINT
    pc = t.read_core_register("pc")
    assert t.read16(pc) == 0xBEDE  # bkpt #0xDE


def test_dhcsr_halt_resume_and_register_transfer() -> None:
    t = _target()
    core = t.board.core
    t.resume()
    t.board.run(1000)
    assert not core.halted
    t.write32(DHCSR, 0xA05F0003)  # C_DEBUGEN | C_HALT
    assert core.halted
    status = t.read32(DHCSR)
    assert status & (1 << 17) and status & (1 << 1) and status & (1 << 16)
    t.write32(DCRSR, 15)  # read PC
    assert t.read32(DCRDR) == core.read_reg("pc")
    t.write32(DCRDR, 0x12345678)
    t.write32(DCRSR, (1 << 16) | 4)  # write r4
    assert core.read_reg("r4") == 0x12345678
    t.write32(DHCSR, 0xA05F0001)  # clear C_HALT: run
    assert not core.halted
    assert not t.read32(DHCSR) & (1 << 17)
    t.write32(DHCSR, 0x00000003)  # wrong key: ignored
    assert not core.halted


def test_vector_catch_on_reset() -> None:
    t = _target()
    t.write32(DEMCR, 1)  # VC_CORERESET
    t.resume()
    t.board.run(1000)
    t.board.reset(cause="test")
    assert t.board.core.halted
    assert t.board.core.halt_reason is HaltReason.VECTOR_CATCH
    assert t.read32(0xE000ED30) & (1 << 3)  # DFSR.VCATCH


def test_trace_lists_recent_pcs() -> None:
    t = _target()
    t.board.core.enable_trace()
    t.resume()
    t.board.run(5000)
    trace = t.board.core.trace()
    assert trace and all(0x08000000 <= a < 0x08020000 for a in trace)


@pytest.mark.parametrize("part", ["STM32G071RB", "STM32H743ZI"])
def test_breakpoint_in_ram_mid_block(part: str) -> None:
    t = _target(part)
    base = 0x20001000
    t.write_memory(base, bytes.fromhex("0120013001300130fee7"))  # movs r0,#1; adds r0,#1 x3
    t.write_core_register("pc", base)
    t.step()
    t.set_breakpoint(base + 6)
    t.resume()
    assert t.wait_for_halt(0.01) is HaltReason.BREAKPOINT
    assert t.read_core_register("pc") == base + 6
    assert t.read_core_register("r0") == 3
