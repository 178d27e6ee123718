"""Boot selection, decided as the silicon decides it at reset (AN2606, RM0444, RM0433)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard


class BootSource(str, enum.Enum):
    FLASH = "flash"
    SYSTEM = "system_memory"
    SRAM = "sram"
    OTHER = "other"  # H7 BOOT_ADDx pointing somewhere else


@dataclass(frozen=True)
class BootDecision:
    source: BootSource
    address: int  # where the vector table is fetched from
    reason: str


def decide(board: SimBoard) -> BootDecision:
    # The option bytes that select the boot memory belong to the flash-controller model.
    if board.part.flash_controller == "g0":
        return _decide_g0(board)
    if board.part.flash_controller == "h7":
        return _decide_h7(board)
    return BootDecision(BootSource.FLASH, board.part.flash.base, "family boots from flash")


def _decide_g0(board: SimBoard) -> BootDecision:
    part = board.part
    optr_reg = part.option_register("OPTR")
    secr_reg = part.option_register("SECR")
    opts = board.flash.options
    optr, secr = opts["OPTR"], opts["SECR"]
    if secr_reg.field("BOOT_LOCK").get(secr):
        return BootDecision(BootSource.FLASH, part.flash.base, "BOOT_LOCK=1 forces main flash")
    n_boot_sel = optr_reg.field("nBOOT_SEL").get(optr)
    if n_boot_sel == 0:
        boot0 = board.pins["BOOT0"]
        via = f"BOOT0 pin={int(boot0)} (nBOOT_SEL=0)"
    else:
        boot0 = optr_reg.field("nBOOT0").get(optr) == 0
        via = f"nBOOT0 bit={int(not boot0)} (nBOOT_SEL=1, BOOT0 pin ignored)"
    if not boot0:
        if board.flash.empty_flag:
            return BootDecision(
                BootSource.SYSTEM,
                part.rom.entry,
                f"{via} selects main flash, but flash was empty at option load",
            )
        return BootDecision(BootSource.FLASH, part.flash.base, f"{via} selects main flash")
    if optr_reg.field("nBOOT1").get(optr):
        return BootDecision(BootSource.SYSTEM, part.rom.entry, f"{via}, nBOOT1=1")
    sram = part.ram[0].base
    return BootDecision(BootSource.SRAM, sram, f"{via}, nBOOT1=0 selects SRAM")


def _decide_h7(board: SimBoard) -> BootDecision:
    part = board.part
    boot_reg = part.option_register("BOOT")
    value = board.flash.options["BOOT"]
    pin = board.pins["BOOT0"]
    field = "BOOT_ADD1" if pin else "BOOT_ADD0"
    address = boot_reg.field(field).get(value) << 16
    reason = f"BOOT pin={int(pin)} selects {field}=0x{address >> 16:04X}"
    if part.flash.base <= address < part.flash.base + part.flash.size:
        return BootDecision(BootSource.FLASH, address, reason)
    if any(s.contains(address) for s in part.system_memory):
        return BootDecision(BootSource.SYSTEM, part.rom.entry, reason)
    if any(r.contains(address) for r in part.ram):
        return BootDecision(BootSource.SRAM, address, reason)
    return BootDecision(BootSource.OTHER, address, reason)
