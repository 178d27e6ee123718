"""Pin routing from the inventory: a loader built for other pins sees no memory, and says so.

The same loader runs on two boards of the same part: one wired on the pins the loader muxes,
one wired on another pin that carries the same signal in the part's data. On the second the
chip never hears the loader (as on silicon) and the verdict names the pin. Without `pins` the
board is wired as the loader configures and Init lists the pins it used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr.elf import load
from stm32_hil.stldr.validate import CheckResult, validate

ROOT = Path(__file__).resolve().parents[2]
QUICK = ("init", "sector_erase")  # with metadata, ram_fit and device_fit, always run


def _run(
    part: str, chip: str, bus: str, pins: dict[str, str], loader: Path
) -> dict[str, CheckResult]:
    flash = ExternalFlashSpec(chip=chip, bus=bus, pins=pins)
    target = SimTarget(BoardSpec(name="pins", part=part, backend="sim", external_flash=(flash,)))
    return {r.check: r for r in validate(target, load(loader), only=QUICK)}


SPI_PINS = {"SCK": "PA5", "NCS": "PA4", "MOSI": "PA7", "MISO": "PA6"}
G071 = ROOT / "loaders" / "good" / "spi_g071_w25q16.stldr"


def test_spi_loader_on_a_board_wired_on_other_pins_fails_naming_the_pin() -> None:
    ok = _run("STM32G071RB", "W25Q16", "SPI1", SPI_PINS, G071)
    assert ok["init"].passed is True and ok["sector_erase"].passed is True
    # PB3 carries SPI1_SCK in AF0 on the G071 too: a board variant the loader was not built for.
    other = _run("STM32G071RB", "W25Q16", "SPI1", dict(SPI_PINS, SCK="PB3"), G071)
    init = other["init"]
    assert init.passed is False and init.verdict == "finding"
    assert "the loader drives SCK on PA5, the board wires SCK on PB3" in init.detail


def test_without_pins_the_board_is_wired_as_the_loader_configures() -> None:
    results = _run("STM32G071RB", "W25Q16", "SPI1", {}, G071)
    init = results["init"]
    assert init.passed is True and results["sector_erase"].passed is True
    # NCS is a GPIO the loader drives low before its first frame: found, and listed.
    assert "SPI1 pins used: SCK PA5, NCS PA4, MOSI PA7, MISO PA6" in init.detail
    assert "as the loader configured them" in init.detail


QSPI = ROOT / "loaders" / "good" / "h743_w25q128.stldr"


@pytest.mark.slow  # the loader polls a silent chip until its own timeout (about a minute)
def test_quadspi_loader_on_other_clk_pin_fails_naming_both_pins() -> None:
    ok = _run("STM32H743ZI", "W25Q128", "QUADSPI", {"CLK": "PB2", "NCS": "PB6"}, QSPI)
    assert ok["init"].passed is True and ok["sector_erase"].passed is True
    assert "QUADSPI pins used: CLK PB2, NCS PB6" in ok["init"].detail
    other = _run("STM32H743ZI", "W25Q128", "QUADSPI", {"CLK": "PF10", "NCS": "PB6"}, QSPI)
    failed = [r for r in other.values() if r.passed is False]
    assert failed, other
    assert "the loader drives CLK on PB2, the board wires CLK on PF10" in failed[0].detail


@pytest.mark.slow
def test_shared_loader_pin_variant_is_named(shared_loader: Callable[[str], Path]) -> None:
    """The F4 W25Q64 loader muxes CLK on PF10 (F469: AF9); a board with CLK on PA7 (AF10)
    does not work with it."""
    loader = shared_loader("CLIVEONE-W25Q64_STM32F4XX-PF10-PB6-PF8-PF9-PF7-PF6.stldr")
    wired = {"CLK": "PF10", "NCS": "PB6", "IO0": "PF8", "IO1": "PF9", "IO2": "PF7", "IO3": "PF6"}
    ok = _run("STM32F469NI", "W25Q64", "QUADSPI", wired, loader)
    assert ok["init"].passed is True and ok["sector_erase"].passed is True
    other = _run("STM32F469NI", "W25Q64", "QUADSPI", dict(wired, CLK="PA7"), loader)
    failed = [r for r in other.values() if r.passed is False]
    assert failed
    assert "the loader drives CLK on PF10, the board wires CLK on PA7" in failed[0].detail


def test_bitbanged_shared_loader_passes_on_its_pins(shared_loader: Callable[[str], Path]) -> None:
    """The G0B0 loader bit-bangs GPIOA: SCK PA0, NCS PA5, MOSI PA4, MISO PA3."""
    loader = shared_loader("CLIVEONE-MX25L64_STM32G0B0-PA0-PA5-PA4-PA3.stldr")
    pins = {"SCK": "PA0", "NCS": "PA5", "MOSI": "PA4", "MISO": "PA3"}
    results = _run("STM32G0B0RE", "MX25L6433F", "GPIO", pins, loader)
    assert results["init"].passed is True and results["sector_erase"].passed is True
    assert "GPIO pins used: SCK PA0, NCS PA5, MOSI PA4, MISO PA3" in results["init"].detail
