"""Faults: bus errors become HardFaults with the registers a debugger would show."""

from __future__ import annotations

import re

import pytest
from core_firmware import board_with, symbol

from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason

CFSR, HFSR, BFAR = 0xE000ED28, 0xE000ED2C, 0xE000ED38


def _run_fault(part: str) -> tuple[SimTarget, str]:
    board = board_with(part, "fault")
    t = SimTarget(board.spec, board.part, board=board)
    t.resume()
    assert t.wait_for_halt(0.05) is HaltReason.BREAKPOINT
    return t, board.usart().host_read().decode()


def _faulting_load(part: str, t: SimTarget) -> int:
    """Address of the `ldr` in main that reads UNMAPPED_ADDR (from the fault report)."""
    fault = t.board.core.last_fault
    assert fault is not None
    main = symbol(part, "fault", "main") & ~1
    assert main <= fault.pc < main + 0x40
    return fault.pc


def test_h7_hardfault_reports_pc_cfsr_and_bfar() -> None:
    t, out = _run_fault("STM32H743ZI")
    pc = _faulting_load("STM32H743ZI", t)
    assert f"HardFault pc=0x{pc:08X} cfsr=0x00008200 bfar=0xD0000000\n" in out
    assert t.read32(CFSR) == 0x8200  # PRECISERR | BFARVALID
    assert t.read32(BFAR) == 0xD0000000
    assert t.read32(HFSR) & (1 << 30)  # FORCED: BusFault disabled, escalated
    fault = t.board.core.last_fault
    assert fault is not None and fault.address == 0xD0000000
    assert "0xD0000000" in fault.describe()
    assert t.read_core_register("xpsr") & 0x1FF == 3  # halted inside HardFault


def test_g0_hardfault_reports_stacked_pc_and_address() -> None:
    t, out = _run_fault("STM32G071RB")
    pc = _faulting_load("STM32G071RB", t)
    assert re.search(rf"HardFault pc=0x{pc:08X}\n", out)
    assert t.read32(CFSR) == 0  # ARMv6-M: no fault status registers
    fault = t.board.core.last_fault
    assert fault is not None and fault.address == 0x60000000
    assert "no memory or peripheral is mapped there" in fault.reason


@pytest.mark.parametrize("part", ["STM32G071RB", "STM32H743ZI"])
def test_fault_without_handler_locks_up(part: str) -> None:
    board = board_with(part, "hello")
    t = SimTarget(board.spec, board.part, board=board)
    t.write32(0xE000ED08, 0x20000000)  # VTOR -> zeroed RAM: no handlers at all
    t.write_core_register("r0", 0x60000000 if part.startswith("STM32G0") else 0xD0000000)
    t.write_memory(0x20001000, bytes.fromhex("0068fee7"))  # ldr r0,[r0]; b .
    t.write_core_register("pc", 0x20001000)
    t.resume()
    assert t.wait_for_halt(0.01) is HaltReason.LOCKUP
    assert t.read32(0xE000EDF0) & (1 << 19)  # S_LOCKUP
    t.reset(halt=False)
    assert not t.is_halted()


def test_ecc_error_in_flash_faults_on_cpu_read() -> None:
    part = "STM32H743ZI"
    board = board_with(part, "hello")
    array = board.flash.array
    bad = 0x1000  # a flash word the firmware does not use
    array.program_unit(bad, bytes(array.unit))
    array.program_unit(bad, bytes(array.unit))  # written twice: ECC double error
    t = SimTarget(board.spec, board.part, board=board)
    t.write_core_register("r0", 0x08000000 + bad)
    t.write_memory(0x20001000, bytes.fromhex("0068fee7"))  # ldr r0,[r0]; b .
    t.write_core_register("pc", 0x20001000)
    t.resume()
    board.run(1000)
    fault = board.core.last_fault
    assert fault is not None and fault.address == 0x08000000 + bad
    assert fault.pc == 0x20001000
    assert "ECC" in fault.reason
    assert t.read32(BFAR) == 0x08000000 + bad


def test_debug_halt_leaves_lockup() -> None:
    board = board_with("STM32H743ZI", "hello")
    t = SimTarget(board.spec, board.part, board=board)
    t.write32(0xE000ED08, 0x20000000)  # no handlers
    t.write_core_register("pc", 0x20001000)  # zeroed RAM: movs r0,r0 ... then runs on
    t.write_core_register("msp", 0x40000000)  # stacking any exception fails
    t.write32(0xE000ED04, 1 << 28)  # PENDSV
    t.resume()
    assert t.wait_for_halt(0.01) is HaltReason.LOCKUP
    t.halt()
    assert not board.core.lockup
    assert board.core.halt_reason is HaltReason.DEBUG_REQUEST
    t.write_core_register("msp", 0x20010000)
    t.write_core_register("pc", 0x20001000)
    t.write32(0xE000ED04, 1 << 27)  # PENDSVCLR
    t.resume()
    board.run(1000)
    assert not t.is_halted()
