"""The memory controller's state after a loader call, read over the debug port.

A verdict that says "Read after SectorErase shows 0xAF" leaves the loader author guessing; the
QUADSPI/OCTOSPI registers say why (still memory-mapped, still BUSY, a length of zero). The
register offsets are the reference manuals' (RM0433 23.5 and RM0410 14.5 for QUADSPI, the same
on F4/F7/G4/L4/H7; RM0455 and RM0468 for OCTOSPI) and are chosen by the block's kind from the
part data, never by part name.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from stm32_hil.errors import HarnessError
from stm32_hil.target.base import Target

FMODE_NAMES = ("indirect write", "indirect read", "automatic polling", "memory-mapped")
SR_BUSY = 1 << 5


@dataclass(frozen=True)
class Layout:
    sr: int
    dlr: int
    ccr: int
    fmode_reg: int  # register holding FMODE
    fmode_shift: int


LAYOUTS = {
    "quadspi": Layout(sr=0x08, dlr=0x10, ccr=0x14, fmode_reg=0x14, fmode_shift=26),
    "octospi": Layout(sr=0x20, dlr=0x40, ccr=0x100, fmode_reg=0x00, fmode_shift=28),
}


@dataclass(frozen=True)
class ControllerState:
    name: str
    sr: int
    dlr: int
    ccr: int
    fmode: int

    @property
    def busy(self) -> bool:
        return bool(self.sr & SR_BUSY)

    @property
    def mapped(self) -> bool:
        return self.fmode == 3

    def describe(self) -> str:
        return (
            f"{self.name} FMODE={self.fmode} ({FMODE_NAMES[self.fmode]}), "
            f"BUSY={int(self.busy)}, DLR=0x{self.dlr:08X} (SR=0x{self.sr:08X}, "
            f"CCR=0x{self.ccr:08X})"
        )


def _block(target: Target) -> tuple[str, int, str] | None:
    """(name, base, kind) of the controller the board's external memory hangs on."""
    blocks = [b for b in target.part.blocks if b.kind in LAYOUTS]
    if not blocks:
        return None
    wanted = [e.bus.upper() for e in target.spec.external_flash]
    wanted = ["OCTOSPI1" if w == "OCTOSPI" else w for w in wanted]
    for block in blocks:
        if block.name.upper() in wanted:
            return block.name, block.base, str(block.kind)
    block = blocks[0]
    return block.name, block.base, str(block.kind)


def read_state(target: Target) -> ControllerState | None:
    """The controller's SR, DLR, CCR and FMODE, or None when the part has none or reads fail."""
    found = _block(target)
    if found is None:
        return None
    name, base, kind = found
    layout = LAYOUTS[kind]
    with contextlib.suppress(HarnessError):
        sr = target.read32(base + layout.sr)
        dlr = target.read32(base + layout.dlr)
        ccr = target.read32(base + layout.ccr)
        fmode = (target.read32(base + layout.fmode_reg) >> layout.fmode_shift) & 3
        return ControllerState(name, sr, dlr, ccr, fmode)
    return None


__all__ = ["ControllerState", "read_state"]
