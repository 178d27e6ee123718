"""JEDEC serial NOR flash chips, modelled at the SPI command level."""

from stm32_hil.sim.memories.nor.chip import NorFlash, Transaction
from stm32_hil.sim.memories.nor.chips import CHIPS, ChipSpec, chip_spec
from stm32_hil.sim.memories.nor.commands import Command, Kind

__all__ = ["CHIPS", "ChipSpec", "Command", "Kind", "NorFlash", "Transaction", "chip_spec"]
