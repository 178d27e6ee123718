"""Recovery suite: readout protection, PCROP/DMEP, factory restore, boot bits, and parts left
broken by a reset or power loss while programming. Runs on every selected board; steps that need
fault injection are sim_only, steps that erase or change option bytes are destructive."""

from __future__ import annotations

import random
from typing import Any

import pytest

from stm32_hil.errors import ConfigError, EccError, HarnessError, ProtectionError, SafetyError
from stm32_hil.flows.bootloader_entry import boot_target
from stm32_hil.flows.internal_flash import FLOW_FAMILIES, internal_flash
from stm32_hil.flows.option_bytes import (
    H7OptionBytes,
    option_model,
    read_option_bytes,
    write_option_bytes,
)
from stm32_hil.flows.pcrop import set_pcrop_area
from stm32_hil.flows.rdp import rdp_regression, set_rdp
from stm32_hil.flows.recover import connect_under_reset, recover, restore_factory_option_bytes
from stm32_hil.report import assert_memory_equal, attach_text, step
from stm32_hil.target import Target
from stm32_hil.target.base import Capability, ResetKind

# Option-byte and flash flows exist for these families only.
pytestmark = pytest.mark.family(*FLOW_FAMILIES)


def _pattern(n: int, seed: int = 0) -> bytes:
    """Seeded random bytes: no period shorter than the transfer hides an address wrap."""
    return random.Random(0x5EC0 + seed).randbytes(n)


@pytest.mark.sim_only
@pytest.mark.destructive
@pytest.mark.parts("STM32H743ZI")
@pytest.mark.parametrize("kind", ["reset", "power_loss"])
def test_power_loss_while_flashing_is_recovered(target: Target, sim_board: Any, kind: str) -> None:
    from stm32_hil.sim.faults import FaultKind, FaultPlan, FaultTrigger

    geo = target.part.flash
    base = geo.base + geo.bank_size + geo.page_size  # bank 2, sector 1
    flash = internal_flash(target)
    image = _pattern(4096)
    with step(f"{kind} after 5 flash words while programming 0x{base:08X}"):
        sim_board.faults.arm(FaultPlan(FaultKind(kind), FaultTrigger.AFTER_UNITS, 5))
        with pytest.raises(HarnessError):
            flash.program(base, image)
    with step("the damaged word reads as 'Read Memory Error'"):
        with pytest.raises(EccError) as err:
            target.read_memory(base, len(image))
        assert err.value.address == base + 5 * geo.program_unit
        assert target.read_memory(base, 5 * geo.program_unit) == image[: 5 * geo.program_unit]
    report = recover(target)
    attach_text("recovery report", report.table())
    assert report.ok, report.table()
    assert f"erase sector {geo.page_of(base)}" in report.table()
    with step("flash erased and usable again"):
        assert_memory_equal(target.read_memory(base, len(image)), b"\xff" * len(image), base)
        flash.program(base, image)
        assert_memory_equal(target.read_memory(base, len(image)), image, base, "reprogrammed")


@pytest.mark.destructive
def test_rdp_0_1_0_erases_flash_and_keeps_options(
    target: Target, safety: Any, option_bytes_guard: Any
) -> None:
    flash = internal_flash(target)
    base = target.part.flash.base
    flash.erase(base, 1024)
    flash.program(base, _pattern(1024))
    set_rdp(target, 1, safety=safety)
    with step("level 1: the debugger cannot read main flash"):
        assert read_option_bytes(target).rdp_level == 1
        with pytest.raises(ProtectionError):
            target.read_memory(base, 16)
    result = rdp_regression(target, safety=safety)
    assert result.after.rdp_level == 0 and result.scan.blank
    assert result.after == option_bytes_guard  # every other option byte as before
    assert target.read_memory(base, 1024) == b"\xff" * 1024


@pytest.mark.destructive
@pytest.mark.family("h7")
@pytest.mark.parametrize("dmep", [0, 1], ids=["dmep0-survives", "dmep1-erased"])
def test_pcrop_and_regression(
    target: Target, safety: Any, option_bytes_guard: Any, dmep: int
) -> None:
    geo = target.part.flash
    sector = min(1, geo.page_count - 1)
    base = geo.base + sector * geo.page_size
    code, data = _pattern(0x200, 1), _pattern(0x200, 2)
    flash = internal_flash(target)
    flash.erase(base, geo.page_size)
    flash.program(base, code + data)
    set_pcrop_area(target, base, base + 0x200, erase_on_regression=bool(dmep), safety=safety)
    with pytest.raises(ProtectionError):
        target.read_memory(base, 16)  # execute-only
    set_rdp(target, 1, safety=safety)
    result = rdp_regression(target, safety=safety)
    areas = result.after.pcrop_areas(target.part)
    if dmep:
        assert areas == []
        assert target.read_memory(base, 0x400) == b"\xff" * 0x400
    else:
        assert areas == [(base, base + 0x200, False)]
        assert result.kept_pages == {sector}
        assert target.read_memory(base + 0x200, 0x200) == data  # the sector was kept whole
        with pytest.raises(ProtectionError):
            target.read_memory(base, 16)
    # option_bytes_guard removes a surviving area with the DMEP recipe at teardown


@pytest.mark.sim_only
@pytest.mark.irreversible
def test_rdp_level_2_is_permanent(target: Target, sim_board: Any) -> None:
    with pytest.raises(SafetyError):
        set_rdp(target, 2)
    assert read_option_bytes(target).rdp_level == 0
    set_rdp(target, 2, allow_irreversible=True)
    for kind in (ResetKind.SYSTEM, ResetKind.POWER):
        with pytest.raises(ProtectionError, match="RDP level 2"):
            target.read32(target.part.idcode_addr)
        sim_board.reset(kind, "test")
    with pytest.raises(ProtectionError):
        set_rdp(target, 0)
    assert not recover(target).ok


@pytest.mark.destructive
def test_factory_restore(target: Target, safety: Any, option_bytes_guard: Any) -> None:
    factory = option_model(target.part.family).factory(target.part)
    if isinstance(factory, H7OptionBytes):
        changes = {"boot_add0": 0x1FF0, "wpsn1": 0xFE, "iwdg1_sw": 0}
    else:
        changes = {"n_boot_sel": 0, "wrp1a_strt": 2, "wrp1a_end": 3, "borr_lev": 1}
    write_option_bytes(target, changes, safety=safety)
    set_rdp(target, 1, safety=safety)
    restored = restore_factory_option_bytes(target, safety=safety)
    assert restored.diff(factory) == {}


@pytest.mark.destructive
def test_boot_bits_read_back_after_reload(
    target: Target, safety: Any, option_bytes_guard: Any
) -> None:
    part = target.part
    if part.family == "g0":
        cases = [
            ({"n_boot_sel": 1, "n_boot0": 0, "n_boot1": 1}, "system_memory"),
            ({"n_boot_sel": 1, "n_boot0": 0, "n_boot1": 0}, "sram"),
            ({"n_boot_sel": 1, "n_boot0": 1, "n_boot1": 1}, "flash"),
        ]
    else:
        sysmem = part.system_memory[0].base >> 16
        cases = [
            ({"boot_add0": sysmem, "boot_add1": part.flash.base >> 16}, "system_memory"),
            ({"boot_add0": part.flash.base >> 16, "boot_add1": sysmem}, "flash"),
        ]
    for changes, where in cases:
        with step(f"{changes} -> boots from {where}"):
            write_option_bytes(target, changes, safety=safety)
            if target.has(Capability.POWER_CYCLE):
                target.reset(ResetKind.POWER)  # G0 already reloaded through OBL_LAUNCH
            loaded = read_option_bytes(target)
            assert {k: getattr(loaded, k) for k in changes} == changes
            assert boot_target(part, loaded, boot0_pin=False) == where


def test_option_values_outside_field_widths(target: Target) -> None:
    before = read_option_bytes(target)
    too_wide = {"rdp": 0x1AA, "n_boot0": 2} if target.part.family == "g0" else {
        "rdp": 0x1AA, "boot_add0": 0x10000}  # fmt: skip
    for name, value in too_wide.items():
        with pytest.raises(ConfigError, match=rf"{name} .* outside 0\.\."):
            write_option_bytes(target, {name: value})
    with pytest.raises(ConfigError, match="no field"):
        write_option_bytes(target, {"no_such_bit": 1})
    assert read_option_bytes(target) == before


@pytest.mark.needs("connect_under_reset", "core")
def test_connect_under_reset_stops_the_core(target: Target) -> None:
    result = connect_under_reset(target)
    assert result.pid == target.part.pid
    assert result.halted and target.is_halted()
