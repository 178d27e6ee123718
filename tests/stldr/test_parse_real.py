"""Facts about the three real loaders (SOURCES.md), read back through the parser."""

from __future__ import annotations

import pytest

from stm32_hil.parts import get_part
from stm32_hil.stldr import DeviceType, check_fits, load
from stm32_hil.stldr.errors import LayoutError

from .conftest import CSP, F469, WEACT

W25Q128_SIZE = 16 * 1024 * 1024
SIXTY_FOUR_MIB = 64 * 1024 * 1024


def test_weact_keil_rwpi_static_base_is_prgdata() -> None:
    ld = load(WEACT)
    assert ld.toolchain == "keil"
    assert ld.rwpi is True
    assert ld.r9 == 0x20001120  # first PrgData section
    assert ld.hard_float
    info = ld.storage_info
    assert (info.start, info.size, info.page_size) == (0x90000000, W25Q128_SIZE, 256)
    assert info.device_type == DeviceType.SPI_FLASH
    assert info.sectors_total == info.size
    assert set(ld.functions) == {"Init", "Write", "Read", "SectorErase", "Verify"}
    assert ld.functions["Init"] & 1  # Thumb
    assert ld.warnings == ()


def test_weact_devinfo_segment_is_metadata_and_bss_is_zeroed() -> None:
    ld = load(WEACT)
    meta = [s for s in ld.segments if s.metadata]
    assert [(s.vaddr, s.memsz) for s in meta] == [(0x20001128, 200)]
    (code,) = ld.loaded
    img = code.image()
    assert len(img) == code.memsz == 0x2124
    assert img[code.filesz :] == bytes(code.memsz - code.filesz)


def test_csp_gcc_hard_float_storage_info_from_dev_info_section() -> None:
    ld = load(CSP)
    assert ld.toolchain == "gcc"
    assert ld.e_flags == 0x5000400 and ld.hard_float and ld.eabi_version == 5
    assert not ld.rwpi and ld.r9 is None
    # The code segment maps StorageInfo's address too (zero padding); the section wins.
    assert ld.storage_info.name == "QSPI_flashloader_CSP"
    assert ld.storage_info.size == SIXTY_FOUR_MIB
    assert ld.storage_info.sectors[0].size == 4096
    assert ld.trap_address == 0x20000000
    assert "Read" not in ld.functions and "MassErase" in ld.functions


def test_f469_iar_storage_info_at_zero_not_loaded() -> None:
    ld = load(F469)
    assert ld.toolchain == "iar"
    assert not ld.hard_float
    assert ld.storage_info_addr == 0
    assert [s.vaddr for s in ld.loaded] == [0x20000004]
    assert ld.storage_info.name == "MT25QL512A_STM32469I-EVAL"
    assert ld.storage_info.sector_at(0x90012345) == (0x90010000, 0x10000)


@pytest.mark.parametrize("path", [WEACT, CSP, F469])
def test_fits_h7_ram(path: object) -> None:
    region = check_fits(load(path), get_part("STM32H743ZI"))  # type: ignore[arg-type]
    assert region.base == 0x20000000


def test_csp_does_not_fit_g0_ram() -> None:
    with pytest.raises(LayoutError, match="does not lie in one RAM region"):
        check_fits(load(CSP), get_part("STM32G071RB"))
