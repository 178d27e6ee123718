"""Where a part boots, decided by its option bytes, and how to point it at the bootloader.

G0 (RM0444 table 9): nBOOT_SEL=1 makes the nBOOT0 bit replace the BOOT0 pin; with boot0
selected, nBOOT1 picks system memory (1) or SRAM (0). An empty main flash also diverts a G0 to
system memory (not visible in the option bytes). H7 (RM0433 2.6): the core fetches its vector
table at BOOT_ADD0 << 16 (BOOT pin low) or BOOT_ADD1 << 16 (pin high).
"""

from __future__ import annotations

from harness.errors import ConfigError
from harness.flows.option_bytes import (
    G0OptionBytes,
    H7OptionBytes,
    OptionBytes,
    read_option_bytes,
    write_option_bytes,
)
from harness.flows.safety import Safety
from harness.parts import Part
from harness.target.base import Target


def boot_target(part: Part, options: OptionBytes, boot0_pin: bool) -> str:
    """Where the part boots: flash, system_memory, sram, or an address (H7 BOOT_ADDx)."""
    if isinstance(options, G0OptionBytes):
        if options.boot_lock:
            return "flash"
        boot0 = boot0_pin if not options.n_boot_sel else options.n_boot0 == 0
        if not boot0:
            return "flash"
        return "system_memory" if options.n_boot1 else "sram"
    if isinstance(options, H7OptionBytes):
        address = (options.boot_add1 if boot0_pin else options.boot_add0) << 16
        if part.flash.base <= address < part.flash.base + part.flash.size:
            return "flash"
        if any(region.contains(address) for region in part.system_memory):
            return "system_memory"
        if any(region.contains(address) for region in part.ram):
            return "sram"
        return f"0x{address:08X}"
    raise ConfigError(f"no boot selection rules for {type(options).__name__}")


def boot_from_option_bytes(
    target: Target, source: str, *, safety: Safety | None = None
) -> OptionBytes:
    """Make the part boot from `source` ("flash" or "system_memory") whatever the BOOT0 pin.

    G0: nBOOT_SEL=1 and nBOOT0/nBOOT1 set accordingly. H7 has no pin override: both
    BOOT_ADD0 and BOOT_ADD1 are pointed at the source. Takes effect at the next reset (H7)
    or immediately through OBL_LAUNCH (G0).
    """
    if source not in ("flash", "system_memory"):
        raise ConfigError(f"boot source {source!r}", hint="use 'flash' or 'system_memory'")
    part = target.part
    current = read_option_bytes(target)
    changes: dict[str, int]
    if isinstance(current, G0OptionBytes):
        changes = {"n_boot_sel": 1, "n_boot0": 0 if source == "system_memory" else 1,
                   "n_boot1": 1}  # fmt: skip
    else:
        address = part.flash.base if source == "flash" else part.system_memory[0].base
        changes = {"boot_add0": address >> 16, "boot_add1": address >> 16}
    return write_option_bytes(target, changes, safety=safety)
