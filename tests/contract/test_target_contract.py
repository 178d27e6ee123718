"""One contract, two backends: SimTarget and PyOCDTarget (through the simulated probe)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from stm32_hil.errors import ProtectionError
from stm32_hil.sim.board import SimBoard
from stm32_hil.target.base import Capability, HaltReason, ResetKind, Target

from .conftest import MARKER_VALUE, RESET_HANDLER_OFFSET, SPIN_OFFSET, marker_address


def ram_of(t: Target) -> int:
    return 0x24000000 if t.part.family == "h7" else t.part.ram[0].base + 0x1000


def test_memory_round_trips_in_ram(target: Target) -> None:
    base = ram_of(target)
    target.write32(base, 0x12345678)
    assert target.read32(base) == 0x12345678
    target.write16(base + 6, 0xBEEF)
    assert target.read16(base + 6) == 0xBEEF
    target.write8(base + 9, 0x5A)
    assert target.read8(base + 9) == 0x5A
    block = random.Random(28).randbytes(1500)  # crosses a 1 KiB TAR block
    target.write_memory(base + 0x101, block)
    assert target.read_memory(base + 0x101, len(block)) == block


def test_flash_reads_and_identity(target: Target, board: SimBoard) -> None:
    board.flash.array.data[0:8] = bytes.fromhex("0011223344556677")
    assert target.read_memory(target.part.flash.base, 8) == bytes.fromhex("0011223344556677")
    ident = target.identity()
    assert ident.pid == target.part.pid
    assert ident.uid == board.uid


def test_rdp_level1_flash_read_is_a_protection_error(
    target: Target, board: SimBoard, set_rdp: Any
) -> None:
    set_rdp(board, 0xBB)
    with pytest.raises(ProtectionError):
        target.read_memory(target.part.flash.base, 16)
    target.write32(ram_of(target), 0xA5A5A5A5)  # SRAM stays reachable at level 1
    assert target.read32(ram_of(target)) == 0xA5A5A5A5


def test_system_reset_keeps_ram(target: Target, board: SimBoard) -> None:
    before = len(board.reset_log)
    target.write32(ram_of(target), 0xCAFEF00D)
    target.reset(ResetKind.SYSTEM, halt=target.has(Capability.CORE))
    assert [k for _, k, _ in board.reset_log[before:]] == ["system"]
    assert target.read32(ram_of(target)) == 0xCAFEF00D


def test_pin_reset(target: Target, board: SimBoard) -> None:
    target.require(Capability.RESET_PIN)
    before = len(board.reset_log)
    target.reset(ResetKind.PIN, halt=target.has(Capability.CORE))
    assert "pin" in [k for _, k, _ in board.reset_log[before:]]
    assert "system" not in [k for _, k, _ in board.reset_log[before:]]


@pytest.mark.parametrize("kind", [ResetKind.SYSTEM, ResetKind.PIN])
def test_reset_and_halt_stops_before_the_first_instruction(
    fw_target: Target, flashed: SimBoard, kind: ResetKind
) -> None:
    """Halt-on-reset lands on the reset handler with nothing executed; resuming runs it."""
    t, flash = fw_target, flashed.part.flash.base
    marker = marker_address(flashed)
    t.halt()
    t.write32(marker, 0)
    t.reset(kind, halt=True)
    assert t.is_halted()
    assert t.read_core_register("pc") == flash + RESET_HANDLER_OFFSET
    assert t.read_core_register("msp") == marker + 0x2000
    assert t.read32(marker) == 0
    t.set_breakpoint(flash + SPIN_OFFSET)
    t.resume()
    assert t.wait_for_halt(1.0) is HaltReason.BREAKPOINT
    assert t.read32(marker) == MARKER_VALUE
    t.remove_breakpoint(flash + SPIN_OFFSET)


def test_core_registers_step_and_breakpoint(target: Target) -> None:
    if not target.has(Capability.CORE):
        pytest.skip("no simulated core in this build")
    base = ram_of(target) & ~0xFFF
    code = bytes.fromhex("012001300130fee7")  # movs r0,#1; adds r0,#1 x2; b .
    target.halt()
    target.write_memory(base, code)
    target.write_core_register("pc", base)
    target.write_core_register("r0", 0)
    target.step()
    assert target.read_core_register("r0") == 1
    assert target.read_core_register("pc") == base + 2
    target.set_breakpoint(base + 6)
    target.resume()
    assert target.wait_for_halt(1.0) is HaltReason.BREAKPOINT
    assert target.read_core_register("pc") == base + 6
    assert target.read_core_register("r0") == 3
    target.remove_breakpoint(base + 6)
