"""The core boots the committed firmware, runs it on virtual time, and talks on the UART."""

from __future__ import annotations

import pytest
from core_firmware import board_with, image, symbol

from stm32_hil.errors import TargetTimeout
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import HaltReason, ResetKind

PARTS = ["STM32G071RB", "STM32H743ZI"]


def _vector(part: str, index: int) -> int:
    data = image(part, "hello").read_bytes()
    return int.from_bytes(data[4 * index : 4 * index + 4], "little")


@pytest.mark.parametrize("part", PARTS)
def test_reset_loads_msp_and_pc_from_the_flash_vector_table(part: str) -> None:
    board = board_with(part, "hello")
    core = board.core
    assert core.halted
    assert core.read_reg("msp") == _vector(part, 0)
    assert core.read_reg("pc") == _vector(part, 1) & ~1
    assert core.read_reg("pc") == symbol(part, "hello", "Reset_Handler") & ~1
    assert core.read_reg("xpsr") & (1 << 24)  # Thumb


@pytest.mark.parametrize("part", PARTS)
def test_hello_prints_and_counts_ticks_with_virtual_time(part: str) -> None:
    board = board_with(part, "hello")
    ticks_addr = symbol(part, "hello", "ticks")
    board.core.resume()
    board.run(1_000_000)
    first = board.bus.read(ticks_addr, 4)
    board.run(2_000_000)
    second = board.bus.read(ticks_addr, 4)
    period = board.clock.hz // 10_000  # firmware: 10 kHz SysTick on the 64 MHz core clock
    assert first > 100
    # 2 M more cycles -> 2 M / period more ticks (+-1 for the phase of the first tick).
    assert abs((second - first) - 2_000_000 // period) <= 1
    out = board.usart().host_read().decode()
    assert out.startswith(f"hello from {part}\n")
    assert "tick 100\n" in out and "tick 200\n" in out
    assert board.bus.read(symbol(part, "hello", "regcheck_runs"), 4) > 10
    # Exception entry/return (SysTick while regcheck spins) preserved r0-r3, r12 (+ s0-s15).
    assert board.bus.read(symbol(part, "hello", "regcheck_fail"), 4) == 0


@pytest.mark.parametrize("part", PARTS)
def test_runs_are_deterministic(part: str) -> None:
    results = []
    for _ in range(2):
        board = board_with(part, "hello")
        board.core.resume()
        board.run(700_001)
        results.append((board.core.read_reg("pc"), board.core.read_reg("r4"),
                        board.bus.read(symbol(part, "hello", "ticks"), 4)))  # fmt: skip
    assert results[0] == results[1]


def test_h7_fpu_registers_and_fp_handler_context() -> None:
    part = "STM32H743ZI"
    board = board_with(part, "hello")
    core = board.core
    core.write_reg("s7", 0x40490FDB)
    assert core.read_reg("s7") == 0x40490FDB
    core.write_reg("fpscr", 0x00C00000)
    assert core.read_reg("fpscr") == 0x00C00000
    core.resume()
    board.run(500_000)
    import struct

    ticks = board.bus.read(symbol(part, "hello", "ticks"), 4)
    acc = struct.unpack("<f", board.read(symbol(part, "hello", "fp_acc"), 4))[0]
    assert ticks > 10
    assert acc == pytest.approx(ticks * 0.5)
    assert board.bus.read(symbol(part, "hello", "regcheck_fail"), 4) == 0


def test_g0_has_no_fpu_registers() -> None:
    board = board_with("STM32G071RB", "hello")
    board.core.write_reg("s3", 123)
    assert board.core.read_reg("s3") == 0


@pytest.mark.parametrize("part", PARTS)
def test_runaway_code_times_out_with_pc(part: str) -> None:
    board = board_with(part, "hello")
    target = SimTarget(board.spec, board.part, board=board)
    target.resume()
    with pytest.raises(TargetTimeout, match=r"PC=0x0800") as err:
        target.wait_for_halt(0.01)
    # The error carries a short trace of where the code loops: flash addresses of its blocks.
    assert "recently executed blocks: 0x0800" in str(err.value)


@pytest.mark.parametrize("kind", list(ResetKind))
def test_reset_kinds_restart_from_the_vector_table(kind: ResetKind) -> None:
    part = "STM32G071RB"
    board = board_with(part, "hello")
    ticks_addr = symbol(part, "hello", "ticks")
    board.core.resume()
    board.run(300_000)
    assert board.bus.read(ticks_addr, 4) > 0
    target = SimTarget(board.spec, board.part, board=board)
    target.reset(kind, halt=True)
    assert board.core.halted
    assert board.core.read_reg("pc") == symbol(part, "hello", "Reset_Handler") & ~1
    # POWER clears RAM; SYSTEM and PIN keep it until the reset handler clears .bss.
    kept = board.bus.read(ticks_addr, 4)
    assert (kept == 0) == (kind is ResetKind.POWER)
    target.reset(kind, halt=False)
    board.run(300_000)
    assert not board.core.halted
    assert board.core.halt_reason is HaltReason.NONE


def test_sysresetreq_from_firmware_resets_the_board() -> None:
    part = "STM32H743ZI"
    board = board_with(part, "hello")
    board.core.resume()
    board.run(200_000)
    before = len(board.reset_log)
    # AIRCR write through the core's own bus path, as firmware would do.
    board.core.halt()
    board.bus.write(0xE000ED0C, 4, 0x05FA0004)
    assert len(board.reset_log) == before + 1
    assert board.reset_log[-1][2] == "SYSRESETREQ"
    assert board.core.read_reg("pc") == symbol(part, "hello", "Reset_Handler") & ~1
