"""Option-byte programming: keys, *_PRG -> OPTSTART -> *_CUR, OPTCHANGEERR, BOOT_ADDx."""

from __future__ import annotations

from typing import Any

from stm32_hil.sim.rom.boot import BootSource


def test_factory_values_and_reset_state(h743: Any, seq: Any) -> None:
    part = h743.board.part
    assert h743.reg(seq.OPTSR_CUR) == part.option_register("OPTSR").factory
    assert h743.reg(seq.BOOT_CUR) == 0x1FF00800
    assert h743.reg(seq.BOOT_CUR, bank=1) == 0x1FF00800  # shared register, mirrored
    assert h743.reg(seq.PRAR_CUR, bank=1) == 0xFF
    assert h743.reg(seq.OPTCR) & seq.OPTLOCK
    assert h743.reg(seq.CR) == seq.LOCK | seq.PSIZE_64
    assert h743.board.flash.rdp_level() == 0
    assert h743.board.flash.empty_flag is False


def test_full_option_sequence_with_busy(h743: Any, seq: Any) -> None:
    h743.set_reg(seq.BOOT_PRG, 0x24000800)  # locked: ignored
    assert h743.reg(seq.BOOT_PRG) == 0x1FF00800
    h743.unlock_options()
    assert not h743.reg(seq.OPTCR) & seq.OPTLOCK
    h743.set_reg(seq.BOOT_PRG, 0x24000800)
    assert h743.reg(seq.BOOT_PRG) == 0x24000800
    assert h743.reg(seq.BOOT_CUR) == 0x1FF00800  # not yet applied
    h743.set_reg(seq.OPTCR, seq.OPTSTART)
    assert h743.reg(seq.OPTSR_CUR) & seq.OPT_BUSY
    sr = h743.wait(seq.OPTSR_CUR, seq.OPT_BUSY)
    assert not sr & seq.OPTCHANGEERR
    assert h743.reg(seq.BOOT_CUR) == 0x24000800
    assert h743.board.flash.options["BOOT"] == 0x24000800
    h743.set_reg(seq.OPTCR, seq.OPTLOCK)
    assert h743.reg(seq.OPTCR) & seq.OPTLOCK


def test_invalid_change_flags_optchangeerr_cleared_by_optccr(h743: Any, seq: Any) -> None:
    assert h743.change_options({seq.PRAR_PRG: 0x800F0000})  # area 0..0xF, DMEP=1
    h743.unlock_options()
    h743.set_reg(seq.PRAR_PRG, 0x000F0000)  # DMEP 1 -> 0 without an RDP regression
    h743.set_reg(seq.OPTCR, seq.OPTSTART)
    sr = h743.wait(seq.OPTSR_CUR, seq.OPT_BUSY)
    assert sr & seq.OPTCHANGEERR
    assert h743.reg(seq.PRAR_CUR) == 0x800F0000
    h743.set_reg(seq.OPTCCR, seq.OPTCHANGEERR)
    assert not h743.reg(seq.OPTSR_CUR) & seq.OPTCHANGEERR


def test_option_values_survive_power_cycle(h743: Any, seq: Any) -> None:
    assert h743.change_options({seq.WPSN_PRG: 0x7F, seq.BOOT_PRG: 0x1FF00810})
    h743.power_cycle()
    assert h743.reg(seq.WPSN_CUR) == 0x7F
    assert h743.reg(seq.BOOT_CUR) == 0x1FF00810
    assert h743.reg(seq.OPTCR) & seq.OPTLOCK


def test_boot_addresses_drive_boot_decision(h743: Any, seq: Any) -> None:
    board = h743.board
    assert h743.change_options({seq.BOOT_PRG: (0x1FF0 << 16) | 0x2400})
    board.reset(seq.ResetKind.SYSTEM, "boot address change")
    assert board.boot_decision.source is BootSource.SRAM
    assert board.boot_decision.address == 0x24000000
    board.set_pin("BOOT0", True)
    board.reset(seq.ResetKind.SYSTEM, "BOOT0 high")
    assert board.boot_decision.source is BootSource.SYSTEM
    assert h743.change_options({seq.BOOT_PRG: (0x0810 << 16) | 0x2400})
    board.reset(seq.ResetKind.POWER, "power cycle")
    assert board.boot_decision.source is BootSource.FLASH
    assert board.boot_decision.address == 0x08100000
