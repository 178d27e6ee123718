"""The generated STM32 data file and its loader.

Spot-check figures are the reference manuals' (RM0433, RM0090/RM0386, RM0383, RM0444, RM0440,
RM0351, RM0432, RM0438, RM0455, RM0468, RM0481, RM0456); where the data spells a name
differently from the RM the test says so. L5/H5/U5 addresses are the non-secure aliases (the
secure alias is +0x1000_0000), which is what the data lists and what non-secure code uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stm32_hil.errors import UnknownPartError
from stm32_hil.parts import chipdata, generate
from stm32_hil.parts.chipdata import (
    AmbiguousPartError,
    ChipData,
    FieldInfo,
    UnknownBlockError,
    chip,
    layout,
    resolve,
)

KIB = 1024
MIB = 1024 * KIB


def _snapshot() -> Path:
    source = generate.default_source()
    if source is not None and (source / "chips.json.gz").is_file():
        return source
    message = f"stm32-data snapshot not found at {source} (set ${generate.ENV_SOURCE})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


# -- the committed file --------------------------------------------------------------------------


@pytest.mark.slow
def test_committed_file_matches_a_regeneration() -> None:
    source = _snapshot()
    fresh = generate.encode(generate.build(source))
    assert generate.OUTPUT.read_bytes() == fresh, (
        "harness/parts/data/stm32.json.gz differs from a regeneration: "
        "run 'python -m stm32_hil.parts.generate' and commit it"
    )
    assert chipdata.source_commit() == generate.read_source_info(source)["commit"]


def test_check_mode_reports_a_missing_source(tmp_path: Path) -> None:
    assert generate.main(["--check", "--source", str(tmp_path / "absent")]) == 2


def test_file_size_is_within_budget() -> None:
    # A budget for the wheel, not a timing: the whole data set must stay under 3 MB.
    assert generate.OUTPUT.stat().st_size < 3 * 1000 * 1000


def test_source_commit_is_recorded() -> None:
    commit = chipdata.source_commit()
    assert len(commit) == 40 and int(commit, 16) >= 0


# -- every chip ------------------------------------------------------------------------------------


def test_all_chips_load() -> None:
    names = chipdata.chip_names()
    assert len(names) == 1616
    for name in names:
        data = chip(name)
        assert data.name == name
        assert data.blocks, name
        bases = [b.base for b in data.blocks]
        assert bases == sorted(bases) and len(set(bases)) == len(bases), name
        for block, following in zip(data.blocks, data.blocks[1:]):
            assert block.size > 0 and block.end <= following.base, (name, block.name)
        assert data.memory and data.core == data.cores[0]


def test_multi_core_chips_use_the_primary_core() -> None:
    assert chip("STM32H745ZI").core == "cm7"
    assert chip("STM32H745ZI").cores == ("cm7", "cm4")
    assert chip("STM32WL55JC").cores == ("cm4", "cm0p")
    # The data calls the MP1's Cortex-A7 "cm7"; the generator corrects it.
    assert chip("STM32MP157CA").core == "ca7"


# -- spot checks against the reference manuals ----------------------------------------------------


def _flash_banks(data: ChipData) -> list[int]:
    """Bytes per flash bank (regions of one bank summed), OTP excluded."""
    banks: dict[str, int] = {}
    for region in data.memory:
        if region.kind == "flash" and region.name.startswith("BANK_"):
            bank = "_".join(region.name.split("_")[:2])
            banks[bank] = banks.get(bank, 0) + region.size
    return [banks[b] for b in sorted(banks)]


SPOT_BASES: dict[str, dict[str, int]] = {
    "STM32H743ZI": {
        "QUADSPI": 0x5200_5000,
        "RCC": 0x5802_4400,
        "GPIOA": 0x5802_0000,
        "GPIOC": 0x5802_0800,
        "FLASH": 0x5200_2000,
        "USART1": 0x4001_1000,
    },
    "STM32H750XB": {"QUADSPI": 0x5200_5000, "RCC": 0x5802_4400, "FLASH": 0x5200_2000},
    "STM32F469NI": {"QUADSPI": 0xA000_1000, "RCC": 0x4002_3800, "FLASH": 0x4002_3C00},
    "STM32F411CE": {"SPI1": 0x4001_3000, "RCC": 0x4002_3800, "GPIOA": 0x4002_0000},
    "STM32G071RB": {"RCC": 0x4002_1000, "GPIOA": 0x5000_0000, "FLASH": 0x4002_2000},
    # RM0440 calls it QUADSPI; the data names the G4 instance QUADSPI1.
    "STM32G474RE": {"QUADSPI1": 0xA000_1000, "RCC": 0x4002_1000, "GPIOA": 0x4800_0000},
    "STM32L496AG": {"QUADSPI": 0xA000_1000, "RCC": 0x4002_1000, "GPIOA": 0x4800_0000},
    "STM32L4R5ZI": {"OCTOSPI1": 0xA000_1000, "OCTOSPI2": 0xA000_1400, "OCTOSPIM": 0x5006_1C00},
    "STM32L552ZE": {"OCTOSPI1": 0x4402_1000, "RCC": 0x4002_1000, "GPIOA": 0x4202_0000},
    "STM32H7B3LI": {"OCTOSPI1": 0x5200_5000, "OCTOSPI2": 0x5200_A000, "OCTOSPIM": 0x5200_B400},
    "STM32H723ZG": {"OCTOSPI1": 0x5200_5000, "OCTOSPI2": 0x5200_A000, "RCC": 0x5802_4400},
    "STM32H563ZI": {"OCTOSPI1": 0x4700_1400, "RCC": 0x4402_0C00, "GPIOA": 0x4202_0000},
    "STM32U545RE": {"OCTOSPI1": 0x420D_1400, "RCC": 0x4602_0C00, "GPIOA": 0x4202_0000},
}


@pytest.mark.parametrize("part", sorted(SPOT_BASES))
def test_block_bases_match_the_reference_manual(part: str) -> None:
    data = chip(part)
    for name, base in SPOT_BASES[part].items():
        assert data.block(name).base == base, (part, name)


# part -> (flash bytes per bank, SRAM bytes excluding TCM/backup SRAM, or None to skip)
SPOT_MEMORY: dict[str, tuple[list[int], int | None]] = {
    "STM32H743ZI": ([1 * MIB, 1 * MIB], None),
    "STM32H750XB": ([128 * KIB], None),
    "STM32F469NI": ([1 * MIB, 1 * MIB], 320 * KIB + 64 * KIB),  # SRAM1-3 + CCM
    "STM32F411CE": ([512 * KIB], 128 * KIB),
    "STM32G071RB": ([128 * KIB], 36 * KIB),
    "STM32G474RE": ([512 * KIB], 128 * KIB),  # SRAM1 80 + SRAM2 16 + CCM 32
    "STM32L496AG": ([512 * KIB, 512 * KIB], 320 * KIB),
    "STM32L4R5ZI": ([2 * MIB], 640 * KIB),
    "STM32L552ZE": ([512 * KIB], 256 * KIB),
    "STM32H7B3LI": ([1 * MIB, 1 * MIB], None),
    "STM32H723ZG": ([1 * MIB], None),
    "STM32H563ZI": ([1 * MIB, 1 * MIB], None),
    "STM32U545RE": ([256 * KIB, 256 * KIB], None),
}


@pytest.mark.parametrize("part", sorted(SPOT_MEMORY))
def test_memory_matches_the_reference_manual(part: str) -> None:
    banks, ram = SPOT_MEMORY[part]
    data = chip(part)
    assert _flash_banks(data) == banks
    assert data.flash_size == sum(banks)
    assert data.memory_region("BANK_1") is not None or data.memory[0].name.startswith("BANK_1")
    if ram is not None:
        assert data.ram_size == ram


def test_h743_details() -> None:
    h743 = chip("STM32H743ZI")
    assert (h743.family, h743.line, h743.device_id) == ("STM32H7", "STM32H743/753", 0x450)
    bank1 = h743.memory_region("BANK_1")
    assert bank1 is not None
    assert (bank1.base, bank1.erase_size, bank1.write_size, bank1.erase_value) == (
        0x0800_0000,
        128 * KIB,
        32,
        0xFF,
    )
    qspi = h743.block("quadspi")
    assert qspi.layout_key == "quadspi_v1" and qspi.block == "QUADSPI"
    assert qspi.size == 0x400
    assert qspi.rcc_enable == chipdata.RccBits("AHB3ENR", "QUADSPIEN")
    assert qspi.rcc_reset == chipdata.RccBits("AHB3RSTR", "QUADSPIRST")
    assert ("GLOBAL", "QUADSPI") in qspi.interrupts
    assert chipdata.PinFunction("PB2", "CLK", 9) in qspi.pins
    assert h743.interrupts["QUADSPI"] == 92
    assert h743.nvic_priority_bits == 4
    assert h743.block_at(0x5200_5010) == qspi
    assert h743.block("TIM2").layout_key == "timer_v3"
    with pytest.raises(UnknownBlockError, match="QUADSPI"):
        h743.block("OCTOSPI1")


def test_dual_bank_organisation_is_kept() -> None:
    g474 = chip("STM32G474RE")
    assert g474.memory_dual_bank is not None
    assert [m.size for m in g474.memory_dual_bank if m.kind == "flash"] == [256 * KIB] * 2
    assert chip("STM32H743ZI").memory_dual_bank is None


def test_packed_blocks_are_clipped_at_the_next_base() -> None:
    g474 = chip("STM32G474RE")
    opamp1, opamp2 = g474.block("OPAMP1"), g474.block("OPAMP2")
    assert opamp2.base - opamp1.base == 4 and opamp1.size == 4


def test_shared_bases_keep_one_block_and_record_aliases() -> None:
    f103 = chip("STM32F103C8")
    adc1 = f103.block("ADC1")
    assert "ADC12_COMMON" in adc1.aliases
    assert f103.block("ADC12_COMMON") is adc1


# -- name resolution ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("STM32H743ZI", "STM32H743ZI"),
        ("stm32h743zi", "STM32H743ZI"),
        ("h743zi", "STM32H743ZI"),
        ("STM32H743ZIT6", "STM32H743ZI"),
        ("stm32f411ceu6", "STM32F411CE"),
        ("STM32L151C6-A", "STM32L151C6-A"),
        ("STM32L151C6T6", "STM32L151C6"),
    ],
)
def test_resolve(given: str, canonical: str) -> None:
    assert resolve(given) == canonical
    assert chip(given).name == canonical


def test_unknown_part_lists_close_names() -> None:
    with pytest.raises(UnknownPartError) as info:
        resolve("STM32H7433")
    assert not isinstance(info.value, AmbiguousPartError)
    assert info.value.hint is not None and "STM32H743" in info.value.hint


def test_ambiguous_prefix_is_an_error() -> None:
    with pytest.raises(AmbiguousPartError, match="ambiguous") as info:
        resolve("STM32H743")
    assert info.value.hint is not None and "STM32H743ZI" in info.value.hint


# -- register layouts -----------------------------------------------------------------------------


def test_rcc_layout_of_h743() -> None:
    rcc_key = chip("STM32H743ZI").block("RCC").layout_key
    assert rcc_key is not None
    rcc = layout(rcc_key)
    assert rcc is not None and rcc.named("CR") is not None
    cr = rcc.named("CR")
    assert cr is not None and cr.offset == 0
    assert rcc.field("CR", "HSION") == FieldInfo("HSION", 0, 1)
    assert rcc.field("CR", "HSIRDY") == FieldInfo("HSIRDY", 2, 1)
    # RM0433's PLL1RDY: field arrays are NAME[i] with the data's 0-based index.
    assert rcc.field("CR", "PLLRDY[0]") == FieldInfo("PLLRDY[0]", 25, 1)
    assert rcc.field("CR", "PLL1RDY") is None


def test_gpio_layout() -> None:
    gpio = layout("gpio_v2")
    assert gpio is not None
    moder = gpio.named("MODER")
    assert moder is not None and moder.offset == 0
    assert [(r.name, r.offset) for r in gpio.registers[-2:]] == [("AFR[0]", 0x20), ("AFR[1]", 0x24)]
    assert gpio.field("MODER", "MODER[15]") == FieldInfo("MODER[15]", 30, 2)
    assert gpio.extent == 0x28
    at = gpio.at(0x26)
    assert at is not None and at.name == "AFR[1]"
    assert gpio.at(0x28) is None


@pytest.mark.parametrize(
    ("key", "block"),
    [
        ("timer_v1", "TIM_GP16"),
        ("timer_v1", "TIM_ADV"),
        ("timer_v2", "TIM_GP32"),
        ("timer_v3", "TIM_GP32"),
        ("timer_v3", "TIM_BASIC"),
    ],
)
def test_timer_layouts_have_cnt_at_0x24(key: str, block: str) -> None:
    tim = layout(key, block)
    assert tim is not None
    cnt = tim.named("CNT")
    assert cnt is not None and cnt.offset == 0x24


def test_register_arrays_and_overlays() -> None:
    tim = layout("timer_v3", "TIM_GP32")
    assert tim is not None
    ccr2 = tim.at(0x3A)  # inside CCR2 (RM name), element 1 of the data's CCR array
    assert ccr2 is not None and (ccr2.name, ccr2.offset) == ("CCR[1]", 0x38)
    ccmr = tim.at(0x18)  # CCMR1 input and output views overlay; the rule picks one
    assert ccmr is not None and ccmr.name == "CCMR_Input[0]"
    ocm = tim.field("CCMR_Output[0]", "OCM[0]")  # split field: bits 6:4 and 16
    assert ocm is not None and ocm.mask == 0x0001_0070
    dma = layout("dma_v2", "DMA")
    assert dma is not None
    st1 = dma.named("ST[1].CR")
    assert st1 is not None and st1.offset == 0x28


def test_layout_without_block_picks_the_main_one() -> None:
    quadspi = layout("quadspi_v1")
    assert quadspi is not None and quadspi.name == "QUADSPI"
    assert layout("no_such_layout") is None
    assert layout("timer_v3", "NO_SUCH_BLOCK") is None
    octospim = layout("octospim_v1")
    assert octospim is not None
    pcr = octospim.at(0x8)
    assert pcr is not None and pcr.name == "P2CR"
