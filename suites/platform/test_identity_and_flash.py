"""Platform suite: the board is who the inventory says, and its own flash programs and reads back
through the FLASH registers. Runs unchanged on simulated and real boards."""

from __future__ import annotations

import random

import pytest

from stm32_hil.errors import ConfigError
from stm32_hil.flows.internal_flash import FLOW_FAMILIES, internal_flash
from stm32_hil.report import assert_memory_equal, attach_option_bytes, step
from stm32_hil.target import Target


def test_identity_matches_the_inventory(target: Target) -> None:
    ident = target.identity()
    assert ident.pid == target.part.pid, (
        f"{target.name}: IDCODE PID 0x{ident.pid:03X}, inventory part {target.part.name} "
        f"has 0x{target.part.pid:03X}"
    )
    assert ident.flash_size_kib == target.part.flash.size // 1024


@pytest.mark.family(*FLOW_FAMILIES)
def test_option_bytes_decode(target: Target) -> None:
    flash = internal_flash(target)
    options = flash.read_options()
    attach_option_bytes("option bytes", target.part, options)
    assert set(options) == {r.name for r in target.part.option_registers}
    rdp_reg = "OPTR" if target.part.family == "g0" else "OPTSR"
    rdp = target.part.option_register(rdp_reg).field("RDP").get(options[rdp_reg])
    assert rdp == 0xAA, f"{target.name} is not at RDP level 0 (RDP=0x{rdp:02X})"


@pytest.mark.destructive
@pytest.mark.family(*FLOW_FAMILIES)
def test_last_page_erase_program_read(target: Target) -> None:
    flash = internal_flash(target)
    geo = target.part.flash
    page = geo.page_count - 1
    base = geo.base + page * geo.page_size
    size = min(geo.page_size, 8 * 1024)
    pattern = random.Random(0xF1A5 + page).randbytes(size)  # no period shorter than a page
    with step(f"erase page/sector {page} at 0x{base:08X}"):
        assert flash.erase(base, size) == [page]
        assert_memory_equal(flash.read(base, size), b"\xff" * size, base, "erased page")
    with step(f"program {size} bytes"):
        flash.program(base, pattern)
    with step("read back"):
        assert_memory_equal(flash.read(base, size), pattern, base, "programmed page")


@pytest.mark.destructive
@pytest.mark.family(*FLOW_FAMILIES)
def test_programming_is_one_way_until_erased(target: Target) -> None:
    flash = internal_flash(target)
    geo = target.part.flash
    base = geo.base + (geo.page_count - 1) * geo.page_size
    unit = geo.program_unit
    flash.erase(base, unit)
    flash.program(base, b"\x0f" * unit)
    with pytest.raises(Exception) as err:  # G0: PROGERR; H7: programs, then ECC error on read
        flash.program(base, b"\xf0" * unit)
        flash.read(base, unit)
    assert "PROGERR" in str(err.value) or "ECC" in str(err.value)
    flash.erase(base, unit)
    assert flash.read(base, unit) == b"\xff" * unit


@pytest.mark.family(*FLOW_FAMILIES)
def test_out_of_range_program_is_refused(target: Target) -> None:
    flash = internal_flash(target)
    end = target.part.flash.base + target.part.flash.size
    with pytest.raises(ConfigError, match="outside main flash"):
        flash.program(end, b"\x00" * target.part.flash.program_unit)
