"""Readout protection: raise it, and regress it from level 1 to 0 (which erases the flash).

Both go through the option bytes exactly as on silicon (`write_option_bytes`); the silicon (or
the simulator's controller) performs the mass erase of a regression itself. The flow's job is
to check afterwards that the part is really usable again: RDP byte 0xAA, every other option
unchanged, and the main flash blank apart from PCROP areas the part is meant to keep.
"""

from __future__ import annotations

from dataclasses import dataclass

from stm32_hil.errors import ConfigError, FlashError, ProtectionError
from stm32_hil.flows.flash_scan import FlashScan, pages_overlapping, scan_flash
from stm32_hil.flows.option_bytes import (
    RDP_LEVEL0,
    RDP_LEVEL1,
    RDP_LEVEL2,
    G0OptionBytes,
    H7OptionBytes,
    OptionBytes,
    read_option_bytes,
    write_option_bytes,
)
from stm32_hil.flows.safety import Safety, check_allowed
from stm32_hil.report import attach_text, step
from stm32_hil.target.base import Target

RDP_BYTES = {0: RDP_LEVEL0, 1: RDP_LEVEL1, 2: RDP_LEVEL2}


@dataclass(frozen=True)
class RegressionResult:
    before: OptionBytes
    after: OptionBytes
    scan: FlashScan
    kept_pages: frozenset[int]  # pages/sectors kept for PCROP areas that survive

    def summary(self) -> str:
        kept = f", kept {len(self.kept_pages)} PCROP page(s)" if self.kept_pages else ""
        return f"RDP {self.before.rdp_level} -> {self.after.rdp_level}; flash blank{kept}"


def set_rdp(
    target: Target,
    level: int,
    *,
    safety: Safety | None = None,
    allow_irreversible: bool = False,
) -> OptionBytes:
    """Set readout protection `level` (0, 1, 2). 1 -> 0 is a regression: see rdp_regression.

    Level 2 is permanent (no debug, frozen option bytes) and is refused with SafetyError
    unless `allow_irreversible=True` (and, on a real board, --allow-irreversible).
    """
    if level not in RDP_BYTES:
        raise ConfigError(f"RDP level {level!r} does not exist", hint="levels are 0, 1 and 2")
    current = read_option_bytes(target)
    if level == 0 and current.rdp_level == 1:
        return rdp_regression(target, safety=safety).after
    if level == 2:
        check_allowed(target, safety, "RDP level 2", irreversible=True,
                      allow_irreversible=allow_irreversible)  # fmt: skip
    with step(f"set RDP level {level} (RDP=0x{RDP_BYTES[level]:02X})"):
        return write_option_bytes(
            target,
            {"rdp": RDP_BYTES[level]},
            safety=safety,
            allow_irreversible=allow_irreversible,
        )


def kept_pcrop_pages(target: Target, options: OptionBytes) -> set[int]:
    """Pages/sectors a regression keeps: those touching a PCROP area not marked for erase."""
    areas = [(lo, hi) for lo, hi, erased in options.pcrop_areas(target.part) if not erased]
    return pages_overlapping(target, areas)


def rdp_regression(target: Target, *, safety: Safety | None = None) -> RegressionResult:
    """RDP level 1 -> 0: the part mass-erases its flash; verify blank flash and sane options."""
    check_allowed(target, safety, "RDP regression (mass erase)")
    before = read_option_bytes(target)
    if before.rdp_level == 2:
        raise ProtectionError(
            f"{target.name}: RDP level 2 cannot be regressed",
            hint="level 2 is permanent; the part can only run its own firmware",
        )
    kept = kept_pcrop_pages(target, before)
    with step(f"RDP regression level {before.rdp_level} -> 0"):
        after = write_option_bytes(target, regression_changes(target, before), safety=safety)
    check_sane(target, before, after)
    with step("verify the flash is blank"):
        scan = scan_flash(target, skip_pages=kept)
        attach_text("flash scan after regression", scan.summary())
        if not scan.blank:
            raise FlashError(
                f"{target.name}: flash not blank after the RDP regression: {scan.summary()}",
                hint="power-cycle the board and repeat the regression; persistent ECC errors "
                "need a sector erase (`recover`)",
            )
    return RegressionResult(before, after, scan, frozenset(kept))


def regression_changes(target: Target, before: OptionBytes) -> dict[str, int]:
    """The option change of a regression: RDP 0xAA, and on H7 no area where DMEP=1.

    RM0433: a regression erases a PCROP area with DMEP=1 and removes it (RM0444: likewise on G0
    with PCROP_RDP=1); writing that removal in the same change makes the result the flow
    expects explicit (and verifiable).
    """
    changes = {"rdp": RDP_LEVEL0}
    if isinstance(before, G0OptionBytes) and before.pcrop_rdp:
        # RM0444: with PCROP_RDP=1 the regression erases the PCROP zones; they are gone.
        factory = G0OptionBytes.factory(target.part)
        changes |= {
            name: getattr(factory, name)
            for name in ("pcrop1a_strt", "pcrop1a_end", "pcrop_rdp", "pcrop1b_strt", "pcrop1b_end")
        }
    if isinstance(before, H7OptionBytes):
        for n in range(1, target.part.flash.banks + 1):
            if getattr(before, f"prar{n}_dmep"):
                changes |= {f"prar{n}_start": 0xFF, f"prar{n}_end": 0, f"prar{n}_dmep": 0}
    return changes


PROTECTION_FIELDS = ("rdp", "pcrop", "prar", "scar", "dmep", "dmes")


def check_sane(target: Target, before: OptionBytes, after: OptionBytes) -> None:
    """After a regression: level 0, and nothing but protection fields changed."""
    if after.rdp_level != 0:
        raise FlashError(
            f"{target.name}: RDP still at level {after.rdp_level} after the regression",
            hint="the option change was refused or interrupted; power-cycle and retry",
        )
    drift = {k: v for k, v in before.diff(after).items() if not k.startswith(PROTECTION_FIELDS)}
    if drift:
        detail = ", ".join(f"{k}: {a:#x} -> {b:#x}" for k, (a, b) in drift.items())
        raise FlashError(
            f"{target.name}: option bytes changed by the regression: {detail}",
            hint="an interrupted option change loads defaults; restore them "
            "(restore_factory_option_bytes or the snapshot)",
        )
