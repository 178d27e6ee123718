# ruff: noqa: E501
"""Our SPI NOR test loaders (loaders/src/spi_loader.c) through the whole validation.

A G071 (FIFO SPI, software chip select on a GPIO) and an F411 (classic SPI, hardware NSS) each
pass every check on boards declared in an inventory with their pins; the faulty builds fail the
write check, and the verdict names their fault from what the flash saw. The whole-device read
is sampled around chunk boundaries (every byte of an SPI read is a register access, so a full
2 MiB pass costs minutes: `hil loader validate` without limits does it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr.elf import load
from stm32_hil.stldr.validate import CheckResult, Validator

LOADERS = Path(__file__).resolve().parents[2] / "loaders"
INVENTORY = """
[boards.g071-spi-nor]
part = "STM32G071RB"
backend = "sim"
external_flash = [
    { chip = "W25Q16", bus = "SPI1", pins = { SCK = "PA5", NCS = "PA4", MOSI = "PA7", MISO = "PA6" } },
]

[boards.f411-spi-nor]
part = "STM32F411CE"
backend = "sim"
external_flash = [
    { chip = "W25Q16", bus = "SPI1", pins = { SCK = "PA5", NCS = "PA4", MOSI = "PA7", MISO = "PA6" } },
]
"""
SAMPLED_READ = 0x10000


def _target(board: str) -> SimTarget:
    return SimTarget(Inventory.parse(INVENTORY, Path("spi-boards.toml")).get(board))


def _run(board: str, loader: str, only: tuple[str, ...] | None = None) -> dict[str, CheckResult]:
    validator = Validator(_target(board), load(LOADERS / loader), full_read_limit=SAMPLED_READ)
    return {r.check: r for r in validator.run(only)}


@pytest.mark.slow
@pytest.mark.parametrize(
    "board, loader",
    [
        ("g071-spi-nor", "good/spi_g071_w25q16.stldr"),
        ("f411-spi-nor", "good/spi_f411_w25q16.stldr"),
    ],
)
def test_spi_loader_passes_every_check(board: str, loader: str) -> None:
    results = _run(board, loader)
    # Our SPI loaders have no Verify/CheckSum (optional): those checks are not applicable.
    failed = {
        k: r.detail
        for k, r in results.items()
        if r.passed is not True and r.verdict != "not applicable"
    }
    assert not failed
    assert {k for k, r in results.items() if r.verdict == "not applicable"} <= {
        "verify",
        "checksum",
    }
    assert {"init", "sector_erase", "mass_erase", "whole_device_read", "order"} <= set(results)
    assert "SPI1 pins used: SCK PA5, NCS PA4, MOSI PA7, MISO PA6" in results["init"].detail


@pytest.mark.parametrize(
    "loader, fault",
    [
        ("faulty/spi_g071_w25q16_no_wel.stldr", "instruction 0x02 ignored: WEL is 0"),
        ("faulty/spi_g071_w25q16_cs_held.stldr", "NCS (PA4) is still low after the call"),
    ],
)
def test_faulty_spi_loader_fails_naming_its_fault(loader: str, fault: str) -> None:
    results = _run("g071-spi-nor", loader, ("init", "unaligned_write"))
    assert results["init"].passed is True
    write = results["unaligned_write"]
    assert write.passed is False and write.verdict == "finding"
    assert fault in write.detail
