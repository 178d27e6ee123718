"""Jumps into system memory from firmware: what the simulated ROM accepts and what it names."""

from __future__ import annotations

import pytest
from jumpfw import FAMILIES, running_target, sync, trigger_jump

from stm32_hil.an3155 import ACK, Bootloader
from stm32_hil.sim.links.serial_link import open_sim_port
from stm32_hil.sim.rom import entry as bootrom_entry
from stm32_hil.target.base import HaltReason, Pin, ResetKind

MISTAKES = [
    ("g0", "jump_primask", "primask", "PRIMASK was set at the jump"),
    ("h7", "jump_primask", "primask", "PRIMASK was set at the jump"),
    ("g0", "jump_systick", "systick", "SysTick was left running with its interrupt enabled"),
    ("h7", "jump_systick", "systick", "SysTick was left running with its interrupt enabled"),
    ("g0", "jump_nosyscfg", "remap", "SYSCFG clock was off when MEM_MODE=01 was written"),
    ("h7", "jump_base", "vector", "jumped to the system-memory base 0x1FF00000"),
]


@pytest.mark.parametrize("family", FAMILIES)
def test_correct_jump_is_answered_with_ack(family: str) -> None:
    target = running_target(family, "jump_ok")
    port, out = trigger_jump(target)
    assert b"jumping to the bootloader\n" in out
    core = target.board.core
    assert core.halted and core.halt_reason is HaltReason.BOOTROM
    report = target.board.bootrom_entry_report
    assert report is not None
    assert report.answers and not report.warnings, report.table()
    assert report.pc == target.read32(target.part.bootloader.entry + 4) & ~1
    assert report.msp == target.read32(target.part.bootloader.entry)
    assert sync(port) == bytes((ACK,))


@pytest.mark.parametrize(("family", "program", "check", "words"), MISTAKES)
def test_each_mistake_is_silent_and_named(
    family: str, program: str, check: str, words: str
) -> None:
    target = running_target(family, program)
    port, out = trigger_jump(target)
    assert b"jumping to the bootloader\n" in out
    report = target.board.bootrom_entry_report
    assert report is not None and not report.answers
    assert [c.name for c in report.problems] == [check], report.table()
    assert words in report.describe()
    assert sync(port) == b""  # no ACK, as a real part gives none
    assert not target.board.bootrom.active


def test_g0_remap_never_written_is_named() -> None:
    target = running_target("g0", "jump_ok")
    board = target.board
    trigger_jump(target)
    # Undo the firmware's remap (SYSCFG clock still on): the ROM would see main flash at 0.
    target.write32(target.part.peripherals["SYSCFG"], 0)
    report = bootrom_entry.check_jump(board)
    remap = next(c for c in report.checks if c.name == "remap")
    assert not remap.ok and "MEM_MODE=00" in remap.detail and "main flash" in remap.detail


def test_h7_base_jump_restarts_the_application() -> None:
    target = running_target("h7", "jump_base")
    _port, out = trigger_jump(target)
    # The base boot code re-read the boot selection (BOOT pin low: BOOT_ADD0 = flash).
    assert out.count(b"send 'B' to enter the bootloader") == 2
    assert not target.board.core.halted
    report = target.board.bootrom_entry_report
    assert report is not None
    assert report.restarted_application and "restarted the application" in report.describe()
    assert "BOOT_ADD0=0x0800" in report.describe()


def test_h7_base_jump_reaches_the_bootloader_when_boot_selects_it() -> None:
    target = running_target("h7", "jump_base")
    target.set_pin(Pin.BOOT0, True)  # BOOT pin high at reset: BOOT_ADD1 = 0x1FF0 (factory)
    target.reset(ResetKind.PIN)
    bl = Bootloader(open_sim_port(target.board))
    bl.sync()
    bl.go(target.part.flash.base)  # the ROM starts the application; the boot latch stays
    bl.port.close()
    port, out = trigger_jump(target)
    assert b"jumping to the bootloader\n" in out
    report = target.board.bootrom_entry_report
    assert report is not None
    assert report.answers, report.table()
    assert sync(port) == bytes((ACK,))


@pytest.mark.parametrize("family", FAMILIES)
def test_msp_outside_ram_and_pending_interrupt_are_fatal(family: str) -> None:
    target = running_target(family, "jump_ok")
    trigger_jump(target)
    board = target.board
    core = board.core
    core.write_reg("msp", 0x10000000 if family == "g0" else 0x60000000)
    board.core.scs.enabled.add(5)
    board.core.scs.pending.add(16 + 5)
    report = bootrom_entry.check_jump(board)
    names = {c.name for c in report.problems}
    assert names == {"msp", "nvic"}, report.table()
    assert "is not in RAM" in report.describe() and "IRQ 5 enabled and pending" in report.describe()


def test_enabled_but_idle_interrupt_is_only_a_warning() -> None:
    target = running_target("g0", "jump_ok")
    trigger_jump(target)
    board = target.board
    board.core.scs.enabled.add(7)
    report = bootrom_entry.check_jump(board)
    assert report.answers and [c.name for c in report.warnings] == ["nvic"]
    assert "note: IRQ 7 still enabled" in report.describe()


def test_boot_into_system_memory_is_not_checked() -> None:
    target = running_target("g0", "jump_primask")
    target.set_pin(Pin.BOOT0, True)
    assert bootrom_entry.admit(target.board, "reset") is True
    assert target.board.bootrom_entry_report is None
