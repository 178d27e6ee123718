"""Program, erase and read the part's own flash through FLASH registers, on any Target.

These are the register sequences of the reference manuals (RM0444 for G0, RM0433 for H7,
RM0090/RM0410 for the sector-erase controllers of F2/F4/F7) done
through debug-port memory writes, exactly as a debugger's flash algorithm-less programming would
do them, so the same code exercises the simulator's controller model and a real part.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping

from stm32_hil.errors import ConfigError, FlashError
from stm32_hil.target.base import Target

Progress = Callable[[int, int], None]  # (done_bytes, total_bytes)

# Part families whose FLASH register sequences these flows implement. Suites that program the
# part's own flash or its option bytes mark themselves `family(*FLOW_FAMILIES)`.
FLOW_FAMILIES = ("g0", "h7")


class InternalFlash(ABC):
    """Family-specific register sequences behind one small API."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.part = target.part
        self.regs = target.part.flash_regs
        self.geometry = target.part.flash
        # Datasheet time of one program unit: the first poll waits that long, not less.
        self.unit_time_s = target.part.timing_us.get("program_unit", 10) / 1e6

    # -- helpers -----------------------------------------------------------------------
    def r(self, offset: int) -> int:
        return self.target.read32(self.regs + offset)

    def w(self, offset: int, value: int) -> None:
        self.target.write32(self.regs + offset, value)

    def _check_range(self, address: int, length: int) -> None:
        g = self.geometry
        if not (g.base <= address and address + length <= g.base + g.size):
            raise ConfigError(
                f"0x{address:08X}+0x{length:X} is outside main flash "
                f"0x{g.base:08X}..0x{g.base + g.size - 1:08X} of {self.part.name}"
            )

    def _error(self, what: str, sr: int, names: Mapping[int, str]) -> FlashError:
        flags = [name for bit, name in names.items() if sr & (1 << bit)]
        return FlashError(
            f"{self.target.name}: {what} failed: SR=0x{sr:08X} ({', '.join(flags) or 'no flag'})",
            hint="WRPERR: area write-protected; PGSERR/PROGERR: sequence or non-erased target; "
            "check the option bytes and erase first",
        )

    # -- API ---------------------------------------------------------------------------
    @abstractmethod
    def unlock(self) -> None: ...

    @abstractmethod
    def lock(self) -> None: ...

    @abstractmethod
    def erase_page(self, index: int) -> None:
        """Erase one page (G0) or sector (H7) by global index."""

    @abstractmethod
    def mass_erase(self) -> None: ...

    @abstractmethod
    def _program_unit(self, address: int, unit: bytes) -> None:
        """Write one unit and wait for it; programming mode is already on."""

    @abstractmethod
    def _programming(self, on: bool) -> None:
        """Enter or leave programming mode (CR.PG) on every bank."""

    @abstractmethod
    def read_options(self) -> dict[str, int]:
        """Option registers as currently loaded, keyed by catalogue name."""

    @abstractmethod
    def write_options(self, values: Mapping[str, int], *, launch: bool = True) -> None:
        """Program option registers; `launch` applies them (G0: OBL_LAUNCH resets the part)."""

    def erase(self, address: int, length: int) -> list[int]:
        """Erase every page/sector touching [address, address+length); returns their indices."""
        self._check_range(address, length)
        g = self.geometry
        first = g.page_of(address)
        last = g.page_of(address + max(length, 1) - 1)
        self.unlock()
        try:
            for index in range(first, last + 1):
                self.erase_page(index)
        finally:
            self.lock()
        return list(range(first, last + 1))

    def program(self, address: int, data: bytes, progress: Progress | None = None) -> None:
        """Program `data` (padded with the erase value to whole units) at `address`.

        Units that are entirely the erase value are skipped, as flash tools do: programming
        them changes no cell, and on parts with ECC it would spend the unit's one write.
        """
        unit = self.geometry.program_unit
        if address % unit:
            raise ConfigError(
                f"program address 0x{address:08X} is not aligned to the {unit}-byte unit"
            )
        pad = (-len(data)) % unit
        blob = bytes(data) + bytes([self.geometry.erase_value]) * pad
        self._check_range(address, len(blob))
        blank = bytes([self.geometry.erase_value]) * unit
        self.unlock()
        try:
            self._programming(True)
            for off in range(0, len(blob), unit):
                chunk = blob[off : off + unit]
                if chunk != blank:
                    self._program_unit(address + off, chunk)
                if progress is not None and (off // unit) % 256 == 0:
                    progress(min(off + unit, len(data)), len(data))
        finally:
            try:
                self._programming(False)
            finally:
                self.lock()
        if progress is not None:
            progress(len(data), len(data))

    def read(self, address: int, length: int) -> bytes:
        return self.target.read_memory(address, length)


def internal_flash(target: Target) -> InternalFlash:
    """The driver for the target's flash controller family."""
    kind = target.part.flash_controller
    if kind == "g0":
        from stm32_hil.flows.program_g0 import G0InternalFlash

        return G0InternalFlash(target)
    if kind == "h7":
        from stm32_hil.flows.program_h7 import H7InternalFlash

        return H7InternalFlash(target)
    from stm32_hil.parts.sectors import sector_controller

    regs = sector_controller(target.part)
    if regs is not None:  # F2/F4/F7: recognised by their FLASH register layout
        from stm32_hil.flows.program_sector import SectorInternalFlash

        return SectorInternalFlash(target, regs)
    block = next((b for b in target.part.blocks if b.name == "FLASH"), None)
    layout = block.layout_key if block is not None else None
    raise ConfigError(
        f"{target.part.name}: no flash programming flow for its FLASH block "
        f"({layout or 'no layout'})",
        hint="supported: G0 and H7 controllers, and sector-erase controllers (F2, F4, F7)",
    )
