"""Option-byte change: OPTSTRT into the option page, OBL_LAUNCH reload (RM0444 3.4)."""

from __future__ import annotations

import sys

from stm32_hil.sim.rom.boot import BootSource
from stm32_hil.target.base import ResetKind

g0 = sys.modules["sim_g0_host"]  # loaded by conftest.py
BASE = 0x08000000


def test_full_option_sequence_applies_only_after_reload(host):
    board = host.board
    optr_reg = board.part.option_register("OPTR")
    host.unlock_options()
    new = host.set_optr_field("BORF_LEV", 2)
    assert host.write_options(OPTR=new) == 0
    assert host.cr & g0.CR_OPTSTRT == 0
    assert optr_reg.field("BORF_LEV").get(board.flash.options["OPTR"]) != 2
    assert board.flash.options["OPTR"] == optr_reg.factory
    host.launch()
    assert board.reset_log[-1][1] == "option_reload"
    assert board.flash.options["OPTR"] == new
    assert host.reg(optr_reg.offset) == new
    assert host.cr & g0.CR_LOCK  # the part reset


def test_option_change_survives_power_cycle(host):
    new = host.set_optr_field("nRST_STOP", 0)
    assert host.write_options(OPTR=new) == 0
    host.board.reset(ResetKind.POWER)
    assert host.board.flash.options["OPTR"] == new


def test_unprogrammed_option_writes_are_lost_on_reset(host):
    offset = host.opt_offset("OPTR")
    factory = host.reg(offset)
    host.unlock_options()
    host.set_reg(offset, host.set_optr_field("nRST_STOP", 0))
    assert host.reg(offset) != factory  # the register holds the pending value
    host.board.reset(ResetKind.POWER)
    assert host.reg(offset) == factory


def test_option_busy_until_done(host):
    host.unlock_options()
    host.set_reg(g0.CR, g0.CR_OPTSTRT)
    assert host.sr & g0.SR_BSY1
    assert host.cr & g0.CR_OPTSTRT
    host.wait_idle()
    assert not host.cr & g0.CR_OPTSTRT


def test_obl_launch_ignored_while_optlock(host):
    host.unlock()
    before = len(host.board.reset_log)
    host.set_reg(g0.CR, g0.CR_OBL_LAUNCH)
    assert len(host.board.reset_log) == before


def test_nboot_sel_and_nboot0_select_system_memory(host):
    board = host.board
    assert host.program(BASE, bytes(8)) == 0  # flash not empty
    board.reset(ResetKind.POWER)
    assert board.boot_decision.source is BootSource.FLASH
    new = host.set_optr_field("nBOOT0", 0)  # nBOOT_SEL=1 in factory value
    assert host.write_options(OPTR=new) == 0
    assert board.boot_decision.source is BootSource.FLASH
    host.launch()
    assert board.boot_decision.source is BootSource.SYSTEM
    reg = board.part.option_register("OPTR")
    assert reg.field("nBOOT0").get(host.reg(reg.offset)) == 0


def test_nboot1_zero_selects_sram(host):
    board = host.board
    optr = host.set_optr_field("nBOOT0", 0)
    optr = board.part.option_register("OPTR").field("nBOOT1").put(optr, 0)
    assert host.write_options(OPTR=optr) == 0
    host.launch()
    assert board.boot_decision.source is BootSource.SRAM


def test_nboot_sel_zero_follows_boot0_pin(host):
    board = host.board
    assert host.program(BASE, bytes(8)) == 0
    assert host.write_options(OPTR=host.set_optr_field("nBOOT_SEL", 0)) == 0
    host.launch()
    assert board.boot_decision.source is BootSource.FLASH
    board.set_pin("BOOT0", True)
    board.reset(ResetKind.SYSTEM)
    assert board.boot_decision.source is BootSource.SYSTEM


def test_boot_lock_forces_flash(host):
    board = host.board
    optr = host.set_optr_field("nBOOT0", 0)
    secr_reg = board.part.option_register("SECR")
    secr = secr_reg.field("BOOT_LOCK").put(host.reg(secr_reg.offset), 1)
    assert host.write_options(OPTR=optr, SECR=secr) == 0
    host.launch()
    assert secr_reg.field("BOOT_LOCK").get(host.reg(secr_reg.offset)) == 1
    assert board.boot_decision.source is BootSource.FLASH
