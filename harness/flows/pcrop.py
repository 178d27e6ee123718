"""PCROP (execute-only) areas: set one, and remove all of them with the DMEP recipe.

A PCROP area with DMEP=0 survives an RDP regression and cannot be moved or removed afterwards;
a board left like that keeps a block of flash nobody can read or erase. The recipe reported to
free a stuck H743 (shared/reference/stm32-parts.md): RDP=0xBB with DMEP set, power cycle, then
in one option change RDP=0xAA, PCROP start=0xFF end=0, DMEP=0, power cycle. G0 parts follow
the same shape with PCROP_RDP in place of DMEP.
"""

from __future__ import annotations

from dataclasses import dataclass

from stm32_hil.errors import ConfigError, FlashError, ProtectionError
from stm32_hil.flows.flash_scan import FlashScan, scan_flash
from stm32_hil.flows.option_bytes import (
    RDP_LEVEL0,
    RDP_LEVEL1,
    G0OptionBytes,
    H7OptionBytes,
    OptionBytes,
    read_option_bytes,
    write_option_bytes,
)
from stm32_hil.flows.safety import Safety, check_allowed
from stm32_hil.report import attach_text, step
from stm32_hil.target.base import Capability, ResetKind, Target

G0_NO_AREA = {"pcrop1a_strt": 0x1FF, "pcrop1a_end": 0, "pcrop1b_strt": 0x1FF, "pcrop1b_end": 0}


@dataclass(frozen=True)
class PcropResult:
    before: OptionBytes
    after: OptionBytes
    removed: tuple[tuple[int, int, bool], ...]  # areas found before: (start, end, erase flag)
    scan: FlashScan

    def summary(self) -> str:
        areas = ", ".join(f"0x{lo:08X}..0x{hi:08X}" for lo, hi, _ in self.removed) or "none"
        return f"PCROP areas removed: {areas}; RDP level {self.after.rdp_level}; flash blank"


def set_pcrop_area(
    target: Target,
    start: int,
    end: int,
    *,
    erase_on_regression: bool,
    safety: Safety | None = None,
) -> OptionBytes:
    """Make [start, end) of main flash execute-only (H7: bank of `start`; G0: area A).

    `erase_on_regression` is DMEP on H7 and PCROP_RDP on G0: whether an RDP 1 -> 0
    regression takes the area (and its code) away or leaves it in place.
    """
    check_allowed(target, safety, "setting a PCROP area")
    part = target.part
    geo = part.flash
    if not (geo.base <= start < end <= geo.base + geo.size):
        raise ConfigError(f"PCROP area 0x{start:08X}..0x{end:08X} is outside main flash")
    current = read_option_bytes(target)
    if isinstance(current, H7OptionBytes):
        unit = H7OptionBytes.AREA_UNIT
        bank = geo.bank_of(start)
        if geo.bank_of(end - 1) != bank:
            raise ConfigError("a PCROP area must lie within one bank")
        bank_base = geo.base + bank * geo.bank_size
        n = bank + 1
        changes = {
            f"prar{n}_start": (start - bank_base) // unit,
            f"prar{n}_end": (end - 1 - bank_base) // unit,
            f"prar{n}_dmep": int(erase_on_regression),
        }
    elif isinstance(current, G0OptionBytes):
        unit = G0OptionBytes.PCROP_GRANULE
        changes = {
            "pcrop1a_strt": (start - geo.base) // unit,
            "pcrop1a_end": (end - 1 - geo.base) // unit,
            "pcrop_rdp": int(erase_on_regression),
        }
    else:  # pragma: no cover - option_model() knows only these families
        raise ConfigError(f"no PCROP support for family {part.family}")
    with step(f"PCROP area 0x{start:08X}..0x{end:08X} (erase on regression: "
              f"{erase_on_regression})"):  # fmt: skip
        return write_option_bytes(target, changes, safety=safety)


def _power_cycle(target: Target, why: str) -> None:
    """Power cycle when the board can; otherwise the closest: a system reset (noted)."""
    if target.has(Capability.POWER_CYCLE):
        with step(f"power cycle ({why})"):
            target.reset(ResetKind.POWER)
    else:
        with step(f"system reset in place of a power cycle ({why})"):
            attach_text("note", f"{target.name} has no power_cycle capability")
            target.reset(ResetKind.SYSTEM)


def pcrop_regression(target: Target, *, safety: Safety | None = None) -> PcropResult:
    """Remove every PCROP area with the DMEP recipe; the whole flash ends up erased."""
    check_allowed(target, safety, "PCROP removal (RDP regression, mass erase)")
    before = read_option_bytes(target)
    if before.rdp_level == 2:
        raise ProtectionError(f"{target.name}: RDP level 2: PCROP areas cannot be removed")
    part = target.part
    if isinstance(before, H7OptionBytes):
        arm = {f"prar{n}_dmep": 1 for n in range(1, part.flash.banks + 1)}
        clear = before.no_pcrop_changes(part)
    else:
        arm = {"pcrop_rdp": 1}
        clear = dict(G0_NO_AREA, pcrop_rdp=0)
    with step("PCROP recipe 1/2: RDP level 1 with DMEP (erase on regression) set"):
        write_option_bytes(target, {"rdp": RDP_LEVEL1, **arm}, safety=safety)
        _power_cycle(target, "load RDP 1 with DMEP")
        armed = read_option_bytes(target)
        if armed.rdp_level != 1 or any(getattr(armed, k) != v for k, v in arm.items()):
            raise FlashError(
                f"{target.name}: PCROP recipe: RDP 1 with DMEP did not load "
                f"(RDP=0x{getattr(armed, 'rdp'):02X})",  # noqa: B009
                hint="check for OPTCHANGEERR; power-cycle the board and retry",
            )
    with step("PCROP recipe 2/2: RDP level 0, no PCROP area, DMEP cleared, in one change"):
        write_option_bytes(target, {"rdp": RDP_LEVEL0, **clear}, safety=safety)
        _power_cycle(target, "load the regressed option bytes")
    after = read_option_bytes(target)
    if after.rdp_level != 0 or after.pcrop_areas(part):
        raise FlashError(
            f"{target.name}: PCROP recipe ended with RDP level {after.rdp_level} and "
            f"{len(after.pcrop_areas(part))} PCROP area(s)",
            hint="the option change was refused; see the option-byte tables of the steps",
        )
    with step("verify the flash is blank"):
        scan = scan_flash(target)
        attach_text("flash scan after PCROP removal", scan.summary())
        if not scan.blank:
            raise FlashError(f"{target.name}: flash not blank after PCROP removal: "
                             f"{scan.summary()}")  # fmt: skip
    return PcropResult(before, after, tuple(before.pcrop_areas(part)), scan)
