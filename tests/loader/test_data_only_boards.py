# ruff: noqa: E501
"""Real loaders on boards declared from data only: Init passes, and failures are told apart.

Each shared loader runs on a bare board of the part it was built for, a part with no
hand-written peripheral list (the map comes from stm32-data). Where the NOR catalogue lacks the
loader's exact chip, a chip of the same vendor family and command set stands in: Init only
identifies and configures the chip.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stm32_hil.inventory import BoardSpec, ExternalFlashSpec
from stm32_hil.parts import get_part
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr.elf import load
from stm32_hil.stldr.runner import LoaderFault, LoaderRunner, LoaderTimeout
from stm32_hil.stldr.validate import validate

# loader file -> (part, NOR chip, bus, chips)
# fmt: off
LOADERS = {
    "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6.stldr": ("STM32F767ZI", "W25Q128", "QUADSPI", 1),
    "CLIVEONE-MT25QL512A_STM32H7XX-PB2-PB6-PD11-PD12-PE2-PD13.stldr": ("STM32H743ZI", "MT25QL512A", "QUADSPI", 1),
    "MT25TL01G_STM32H743I-PB2-PB6-PC11-PF8-PF9-PF7-PF6-PH2-PH3-PG9-PG14.stldr": ("STM32H743XI", "MT25TL01G", "QUADSPI", 2),
    "CLIVEONE-W25Q128_STM32G47X-PA3-PA2-PB1-PB0-PA7-PA6.stldr": ("STM32G474RE", "W25Q128", "QUADSPI", 1),
    "CLIVEONE-MX25L64_STM32L4XX-PA3-PA2-PB1-PB0-PA7-PA6.stldr": ("STM32L496AG", "MX25R6435F", "QUADSPI", 1),
    "CLIVEONE-W25Q64_STM32F4XX-PF10-PB6-PF8-PF9-PF7-PF6.stldr": ("STM32F446RE", "W25Q64", "QUADSPI", 1),
    "st_contrib_csp.stldr": ("STM32F769NI", "MX25L51245G", "QUADSPI", 1),
    "st_f469_mt25ql.stldr": ("STM32F469NI", "MT25QL512A", "QUADSPI", 1),
    "weact_h7_w25q128.stldr": ("STM32H750VB", "W25Q128", "QUADSPI", 1),
    "CLIVEONE-IS25LP128_STM32H72X-PF10-PG6-PF8-PF9-PE2-PF6.stldr": ("STM32H723ZG", "IS25LP128", "OCTOSPI1", 1),
    "CLIVEONE-MT25QL256_STM32L552-PA3-PA2-PB1-PB0-PA7-PA6.stldr": ("STM32L552ZE", "MT25QL512A", "OCTOSPI1", 1),
    "CLIVEONE-W25Q128_STM32H563-PB2-PG6-PD11-PD12-PE2-PD13.stldr": ("STM32H563ZI", "W25Q128", "OCTOSPI1", 1),
    "CLIVEONE-W25Q128_STM32U545-PB10-PA4-PB1-PB0-PA7-PA6.stldr": ("STM32U545RE", "W25Q128", "OCTOSPI1", 1),
    "CLIVEONE-MX25L64_STM32G0B0-PA0-PA5-PA4-PA3.stldr": ("STM32G0B0RE", None, None, 1),
}
# fmt: on


def _target(part: str, chip: str | None, bus: str | None, chips: int = 1) -> SimTarget:
    flash = (ExternalFlashSpec(chip=chip, bus=bus, bank=1, chips=chips),) if chip and bus else ()
    return SimTarget(BoardSpec(name=f"data-{part.lower()}", part=part, backend="sim",
                               external_flash=flash))  # fmt: skip


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_shared_loader_init_passes_on_a_board_from_data_only(
    name: str, shared_loader: Callable[[str], Path]
) -> None:
    part, chip, bus, chips = LOADERS[name]
    assert get_part(part).chip is not None  # the map is the data's, no hand-typed list
    target = _target(part, chip, bus, chips)
    result = LoaderRunner(target, load(shared_loader(name))).init()
    assert result.r0 == 1, f"{name}: Init returned {result.r0} on {part}"


OCTAL_DTR = "CLIVEONE-MX25LM51245G_STM32H7X3-PB2-PG6-PC5-PD11-PF9-PF7-PF6-PC1-PH3-PG9-PG14.stldr"


def test_octal_dtr_loader_initialises_on_its_chip(shared_loader: Callable[[str], Path]) -> None:
    # Its Init resets the chip in octal DTR, then talks SPI: both are modelled, so Init ends
    # (it used to be a refused feature and a simulator-gap verdict) and no gap is recorded.
    target = _target("STM32H7B3LI", "MX25LM51245G", "OCTOSPI1")
    runner = LoaderRunner(target, load(shared_loader(OCTAL_DTR)))
    assert runner.init().r0 == 1  # LoaderTimeout/LoaderFault would blame the loader or us
    octospi = target.board.bus.built("OCTOSPI1")
    assert octospi is not None and not getattr(octospi, "unsupported", [])


def test_fault_where_the_chip_has_nothing_says_the_loader_crashed(
    shared_loader: Callable[[str], Path],
) -> None:
    # An F4 loader on an L4: its first RCC write (F4 FLASH/RCC addresses) hits a hole of the
    # L4 map, which faults on silicon too.
    name = "CLIVEONE-W25Q64_STM32F4XX-PF10-PB6-PF8-PF9-PF7-PF6.stldr"
    runner = LoaderRunner(_target("STM32L496AG", None, None), load(shared_loader(name)))
    with pytest.raises(LoaderFault) as err:
        runner.init()
    assert err.value.verdict == "crash"
    assert "the loader crashed" in err.value.message
    assert "is in no memory and no register block of STM32L496AG" in err.value.message


def test_hang_on_an_unmodelled_block_is_a_simulator_gap_naming_the_register(
    shared_loader: Callable[[str], Path],
) -> None:
    # No external memory wired: QUADSPI1 of the G474 is a generic register file, so the loader's
    # wait for the transfer-complete flag never ends. That is the simulator's limit, not a bug.
    name = "CLIVEONE-W25Q128_STM32G47X-PA3-PA2-PB1-PB0-PA7-PA6.stldr"
    target = _target("STM32G474RE", None, None)
    with pytest.raises(LoaderTimeout) as err:
        LoaderRunner(target, load(shared_loader(name))).init()
    assert err.value.verdict == "simulator gap"
    assert "simulator gap: the loader waits on QUADSPI1.SR, which is not modelled" in (
        err.value.message
    )
    assert err.value.gaps == ["QUADSPI1"]


def test_validate_verdict_lists_the_unmodelled_blocks_each_check_used(
    shared_loader: Callable[[str], Path],
) -> None:
    name = "CLIVEONE-W25Q128_STM32G47X-PA3-PA2-PB1-PB0-PA7-PA6.stldr"
    target = _target("STM32G474RE", None, None)
    results = {r.check: r for r in validate(target, load(shared_loader(name)), only=("init",))}
    init = results["init"]
    assert init.passed is False and init.verdict == "simulator gap"
    assert "QUADSPI1" in init.generic_blocks
    assert init.record()["generic_blocks"] == list(init.generic_blocks)
    assert "simulator gap" in init.detail


def test_a_clean_init_on_modelled_blocks_reports_no_gap(
    shared_loader: Callable[[str], Path],
) -> None:
    name = "CLIVEONE-W25Q128_STM32G47X-PA3-PA2-PB1-PB0-PA7-PA6.stldr"
    target = _target("STM32G474RE", "W25Q128", "QUADSPI")
    results = {r.check: r for r in validate(target, load(shared_loader(name)), only=("init",))}
    assert results["init"].passed is True
    assert "QUADSPI1" not in results["init"].generic_blocks


def test_octospi_board_is_judged_on_the_chip_model_like_quadspi(
    shared_loader: Callable[[str], Path],
) -> None:
    # The expected content and the idle check come from the NOR model behind OCTOSPI1, as for
    # QUADSPI boards, so an erase is judged on the cells, not on a window the loader left off.
    name = "CLIVEONE-W25Q128_STM32U545-PB10-PA4-PB1-PB0-PA7-PA6.stldr"
    target = _target("STM32U545RE", "W25Q128", "OCTOSPI1")
    checks = ("init_idle", "sector_erase", "unaligned_write")
    results = {r.check: r for r in validate(target, load(shared_loader(name)), only=checks)}
    for check in checks:
        assert results[check].passed is True, results[check].detail
    assert "idle (WIP=0)" in results["init_idle"].detail


def test_a_board_with_nothing_on_the_loaders_bus_gives_a_simulator_gap_not_a_finding(
    shared_loader: Callable[[str], Path],
) -> None:
    # A QUADSPI loader on a board whose inventory wires no memory: the controller is only a
    # register file and the loader waits on a chip that is not there. The verdict must blame
    # the simulated board, not the loader. (A bit-banged SPI loader on such a board polls its
    # status line until its own timeout, minutes of wall time: not a quick test.)
    name = "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6.stldr"
    target = _target("STM32F767ZI", None, None)
    results = {
        r.check: r for r in validate(target, load(shared_loader(name)), only=("sector_erase",))
    }
    erase = results["sector_erase"]
    assert erase.passed is False and erase.verdict == "simulator gap"
    assert "simulator gap" in erase.detail and "QUADSPI" in erase.detail
