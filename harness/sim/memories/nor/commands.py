"""What a serial NOR chip does with an instruction byte: the rows vendors print in datasheets.

A row says which phases follow the instruction (address, mode byte, dummy cycles, data), on
how many lines, and what the chip does with them. The chip model (chip.py) runs the phases;
the vendor tables (chips.py) are lists of these rows, so a quirk is a row, not a branch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    READ = "read"  # array read from the address, auto-increment
    PROGRAM = "program"  # page program: data latched, written at CS high
    ERASE = "erase"  # sector/block erase of `size` bytes around the address
    CHIP_ERASE = "chip_erase"
    WREN = "wren"
    WRDI = "wrdi"
    READ_REG = "read_reg"  # `regs` read in turn (the last one repeats)
    WRITE_REG = "write_reg"  # data bytes go to `regs` in turn; a non-volatile write is busy tW
    READ_ID = "read_id"  # JEDEC ID (manufacturer, type, capacity)
    READ_MFR_DEV = "read_mfr_dev"  # 0x90: 24-bit address 0, then manufacturer and device ID
    READ_UID = "read_uid"  # 0x4B: dummy bytes, then the 64-bit unique ID
    RESET_ENABLE = "reset_enable"
    RESET = "reset"
    ENTER_QPI = "enter_qpi"
    EXIT_QPI = "exit_qpi"
    ENTER_4B = "enter_4b"
    EXIT_4B = "exit_4b"
    CLEAR_FLAGS = "clear_flags"  # Micron 0x50: clear the error bits of the flag status register
    SOFT_RESET = "soft_reset"  # a reset needing no reset-enable first (Spansion F0h)
    READ_SFDP = "read_sfdp"  # 5Ah: the JESD216 parameter tables, 3-byte address, 8 dummy
    READ_REG_AT = "read_reg_at"  # register picked by the address (Macronix 71h, Micron 85h)
    WRITE_REG_AT = "write_reg_at"  # register picked by the address (Macronix 72h, Micron 81h)
    DEEP_POWER_DOWN = "deep_power_down"
    RELEASE_DPD = "release_dpd"
    SUSPEND = "suspend"  # program/erase suspend: the array readable, the operation parked
    RESUME = "resume"


@dataclass(frozen=True)
class Command:
    """One instruction. Widths are data lines in extended-SPI mode (1, 2 or 4).

    `addr_bytes` 0 = no address, 3 = follows the chip's 3/4-byte mode, 4 = always four bytes.
    `dummy` counts clock cycles between address (and mode byte) and data. `qpi_dummy` is the
    count in QPI/QIO mode, None when the command does not exist there.
    """

    opcode: int
    kind: Kind
    addr_bytes: int = 0
    addr_lines: int = 1
    data_lines: int = 1
    dummy: int = 0
    mode_byte: bool = False
    qpi_dummy: int | None = None
    needs_qe: bool = False
    needs_wel: bool = False
    size: int = 0  # erase size in bytes
    regs: tuple[str, ...] = ()
    volatile: bool = False  # register write takes effect at once, no busy time, no WEL
    dtr: bool = False  # address, mode, dummy and data at double transfer rate (0Dh, EDh)


def table(*rows: Command) -> dict[int, Command]:
    """Opcode-indexed table; a later row for the same opcode overrides an earlier one."""
    out: dict[int, Command] = {}
    for row in rows:
        out[row.opcode] = row
    return out
