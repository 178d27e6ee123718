"""Identity registers and words: DBG/DBGMCU IDCODE, unique ID, flash size."""

from __future__ import annotations

import hashlib

from stm32_hil.parts import Part
from stm32_hil.sim.bus import Access, Memory, RegisterBlock

# Revision ID in IDCODE[31:16]: a plausible production revision per PID (rev "Y"/"V").
REV_ID = {0x460: 0x2000, 0x467: 0x1000, 0x450: 0x2003}


class IdcodeBlock(RegisterBlock):
    """DBG/DBGMCU block of any family: IDCODE at +0 (DEV_ID from the data), control after it."""

    modelled = True

    def __init__(self, part: Part, base: int | None = None, size: int = 0x400) -> None:
        super().__init__("DBGMCU", part.idcode_addr if base is None else base, size)
        self.idcode = (REV_ID.get(part.pid, 0x1000) << 16) | part.pid
        self.regs: dict[int, int] = {}

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == 0:
            return self.idcode
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset != 0:
            self.regs[offset] = value

    def power_on(self) -> None:
        self.regs.clear()


class UniqueId(RegisterBlock):
    """The 96-bit unique ID words (and anything after them in the block reads 0)."""

    modelled = True

    def __init__(self, name: str, base: int, size: int, uid: bytes) -> None:
        super().__init__(name, base, size)
        self.uid = uid

    def read_reg(self, offset: int, access: Access) -> int:
        if offset + 4 <= len(self.uid):
            return int.from_bytes(self.uid[offset : offset + 4], "little")
        return 0


def unique_id(board_name: str) -> bytes:
    """96-bit UID, stable per board name so reports and locks can refer to it."""
    return hashlib.sha256(board_name.encode()).digest()[:12]


def fill_engineering(mem: Memory, part: Part, uid: bytes) -> None:
    """Write the factory words (UID, flash size in KiB) into the engineering area."""
    off = part.uid_addr - mem.base
    mem.data[off : off + 12] = uid
    if part.flash_size_addr is None:
        return
    off = part.flash_size_addr - mem.base
    mem.data[off : off + 2] = (part.flash.size // 1024).to_bytes(2, "little")
