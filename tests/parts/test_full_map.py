"""Every block of a chip's map on a bare board built from data (`SimBoard.for_part`).

Seven parts have no hand-written catalogue entry (the board is all data); STM32H743ZI is a
described part for comparison. Each board must decode every block the data lists (a model or
a generic register file), fault only where nothing is mapped, mirror the part's RAM regions,
build blocks lazily, and pick behaviour models from the model table.
"""

from __future__ import annotations

import itertools

import pytest

from stm32_hil.errors import BusFault
from stm32_hil.parts import get_part
from stm32_hil.parts.catalogue import EXTERNAL_WINDOWS, Part
from stm32_hil.parts.chipdata import BlockInfo
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.bus import Access, Memory
from stm32_hil.sim.periph.generic import GenericBlock

DATA_ONLY = (
    "STM32L496AG",
    "STM32F411CE",
    "STM32H7B3LI",
    "STM32U545RE",
    "STM32H563ZI",
    "STM32G474RE",
    "STM32L552ZE",
)
PARTS = (*DATA_ONLY, "STM32H743ZI")

PERIPH_LO, PERIPH_HI = 0x40000000, 0x60000000
FAR_AWAY = 0x6FFFFFF0  # FMC bank 1 on chips that have one; no window on these parts' data
MIN_GAP = 0x400

# Block -> class of the model the table must give it (IWDG/TIM/DMA resolved per part below).
MODELLED = {"RCC": "Rcc", "PWR": "Pwr", "GPIOA": "Gpio", "DBGMCU": "IdcodeBlock"}


@pytest.fixture(params=PARTS)
def board(request: pytest.FixtureRequest) -> SimBoard:
    return SimBoard.for_part(request.param)


def _probe(block: BlockInfo) -> list[tuple[int, int]]:
    """(address, width) of the first and last word of a block (one byte if it is smaller)."""
    if block.size < 4:
        return [(block.base, 1)]
    return [(block.base, 4), (block.base + block.size - 4, 4)]


def _occupied(part: Part) -> list[tuple[int, int]]:
    """Every span the part's data puts on the map: blocks and memories of every kind."""
    spans = [(b.base, b.end) for b in (*part.blocks, *part.die_blocks)]
    assert part.chip is not None
    spans += [(m.base, m.end) for m in part.chip.memory]
    spans += [(r.base, r.end) for r in (*part.ram, *part.system_memory)]
    spans += [(r.base, r.end) for r in (part.otp, part.engi) if r is not None]
    return spans


def _first_of_kind(part: Part, *kinds: str) -> BlockInfo:
    found = [b for b in part.blocks if b.kind in kinds]
    assert found, f"{part.name} has no block of kind {kinds}"
    return found[0]


def _external_windows_miss(part: Part, address: int) -> bool:
    assert part.chip is not None
    windows = [m for m in part.chip.memory if m.name.startswith(EXTERNAL_WINDOWS)]
    return not any(m.base <= address < m.end for m in windows)


def test_the_data_only_parts_are_data_only() -> None:
    for name in DATA_ONLY:
        assert get_part(name).described is False, name
    assert get_part("STM32H743ZI").described is True


def test_every_block_reads_at_its_first_and_last_word(board: SimBoard) -> None:
    part = board.part
    assert len(part.blocks) > 40  # the whole chip, not a hand-picked handful
    declared = {n for _b, _e, n in board.bus.declared()}
    for block in part.blocks:
        for address, width in _probe(block):
            value = board.bus.read(address, width)  # BusFault here: a hole in the map
            assert 0 <= value < 1 << (8 * width)
            dev = board.bus.find(address)
            assert dev is not None and dev.base <= address and address + width <= dev.end
        if block.name in declared:  # built by address: its own device over its own span
            dev = board.bus.find(block.base)
            assert dev is not None
            assert (dev.name, dev.base, dev.size) == (block.name, block.base, block.size)
    # The sweep built every declared block but those only sibling lines of the die document.
    assert {n for _b, _e, n in board.bus.declared()} <= {b.name for b in part.die_blocks}


def test_generic_blocks_keep_what_was_written_and_record_the_debug_port(
    board: SimBoard,
) -> None:
    generic: list[tuple[BlockInfo, GenericBlock]] = []
    for block in board.part.blocks:
        # Registers of the peripheral region; the calibration words in system memory (UID,
        # TS_CAL, VREFINTCAL: some at half-word bases) are read-only values on silicon.
        if block.size < 8 or block.base % 4 or not PERIPH_LO <= block.base < PERIPH_HI:
            continue
        dev = board.bus.find(block.base)
        if isinstance(dev, GenericBlock) and dev.name == block.name:
            generic.append((block, dev))
    assert len(generic) >= 10, [b.name for b, _d in generic]
    for i, (block, _dev) in enumerate(generic):
        address = block.base + block.size - 4  # last word: off the registers most blocks use
        pattern = (0xA5000000 | (i << 8) | 0x5A) & 0xFFFFFFFF
        board.bus.write(address, 4, pattern)
        assert board.bus.read(address, 4) == pattern, block.name
        assert board.bus.read(block.base, 4) == 0, block.name  # reset value, not the pattern
        touch = board.gaps.register_at(address)
        assert touch is not None, block.name
        assert (touch.block, touch.address) == (block.name, address)
        assert (touch.writes, touch.reads, touch.last_value) == (1, 1, pattern)
        assert touch.first_pc is None  # the debug port, not code
    # Debug-port traffic is a host's, not a verdict's: nothing counts as code's gap.
    assert board.gaps.since(0) == []
    assert board.gaps.blocks() == []
    assert len(board.gaps.since(0, by_code=False)) >= 2 * len(generic)


def test_reserved_peripheral_address_faults(board: SimBoard) -> None:
    part = board.part
    occupied = _occupied(part)
    blocks = sorted(
        (b for b in part.blocks if PERIPH_LO <= b.base < PERIPH_HI), key=lambda b: b.base
    )
    hole: tuple[int, int] | None = None
    for prev, nxt in itertools.pairwise(blocks):
        lo, hi = prev.end, nxt.base
        if hi - lo >= MIN_GAP and not any(s < hi and lo < e for s, e in occupied):
            hole = (lo, hi)
            break
    assert hole is not None, f"{part.name}: no reserved gap in the peripheral region"
    lo, hi = hole
    for address in (lo, (lo + hi) // 2 & ~3, hi - 4):  # both edges and the middle
        with pytest.raises(BusFault) as caught:
            board.bus.read(address, 4)
        assert caught.value.address == address
    # The blocks either side of the hole still answer: the fault is the hole's, not the bus's.
    board.bus.read(lo - 4, 4)
    board.bus.read(hi, 4)


def test_address_outside_everything_faults(board: SimBoard) -> None:
    assert not any(s <= FAR_AWAY < e for s, e in _occupied(board.part))  # the data says so
    assert _external_windows_miss(board.part, FAR_AWAY)
    with pytest.raises(BusFault):
        board.bus.read(FAR_AWAY, 4)
    with pytest.raises(BusFault):
        board.bus.write(FAR_AWAY, 4, 0x12345678)


def test_ram_devices_match_the_part(board: SimBoard) -> None:
    part = board.part
    assert part.ram
    for region in part.ram:
        dev = board.bus.built(region.name)
        assert isinstance(dev, Memory), region.name
        assert (dev.name, dev.base, dev.size) == (region.name, region.base, region.size)
        assert board.bus.find(region.base) is dev
        assert board.bus.find(region.end - 1) is dev
    ram_names = {r.name for r in part.ram}
    memories = [
        d
        for d in board.bus.devices
        if type(d) is Memory and d.volatile and d.name not in {"OTP", "ENGI"}
    ]
    assert {d.name for d in memories} == ram_names
    # The part's RAM is the data's on-chip RAM (external FMC/OCTOSPI/SDRAM windows excluded).
    assert part.chip is not None
    on_chip = {
        (m.name, m.base, m.size)
        for m in part.chip.memory
        if m.kind == "ram" and not m.name.startswith(EXTERNAL_WINDOWS)
    }
    assert on_chip <= {(r.name, r.base, r.size) for r in part.ram}
    assert sum(r.size for r in part.ram if not r.name.endswith("_ICODE")) >= part.chip.ram_size


def test_blocks_are_built_on_first_access(board: SimBoard) -> None:
    crc = board.part.chip.block("CRC") if board.part.chip else None
    assert crc is not None and crc.kind == "crc"
    assert board.bus.built("CRC") is None
    assert "CRC" in {n for _b, _e, n in board.bus.declared()}
    assert board.bus.has("CRC")
    spans = board.bus.spans()
    assert (crc.base, crc.end) in spans  # decoded before it exists
    board.bus.read(crc.base, 4)
    dev = board.bus.built("CRC")
    assert isinstance(dev, GenericBlock) and dev.kind == "crc"
    assert getattr(dev, "modelled", True) is False
    assert "CRC" not in {n for _b, _e, n in board.bus.declared()}
    assert board.bus.spans() == spans  # building moved nothing on the map
    # Building by name yields the same device; other blocks stay unbuilt.
    assert board.bus.device("CRC") is dev
    assert board.bus.built("TIM2") is None


def test_few_blocks_are_built_at_provisioning(board: SimBoard) -> None:
    declared = len(board.bus.declared())
    assert declared >= len(board.part.blocks) - 8  # at most a handful attached up front


def test_model_table_picks_models_and_generic_files(board: SimBoard) -> None:
    part = board.part
    expected = dict(MODELLED)
    expected[_first_of_kind(part, "timer").name] = "Timer"
    expected[_first_of_kind(part, "iwdg").name] = "Iwdg"
    for name, cls in expected.items():
        dev = board.bus.device(name)
        assert not isinstance(dev, GenericBlock), name
        assert getattr(dev, "modelled", True) is True, name
        assert type(dev).__name__ == cls, (name, type(dev).__name__)
        assert type(dev).__module__.startswith("stm32_hil.sim.periph."), name
    dma = next(b for b in part.blocks if b.name in ("DMA1", "GPDMA1"))
    for name in ("CRC", dma.name):
        dev = board.bus.device(name)
        assert isinstance(dev, GenericBlock), name
        assert getattr(dev, "modelled", True) is False, name
    assert board.bus.built(dma.name) is not None


def test_die_sibling_blocks_answer_and_are_logged() -> None:
    """An H743 carries the H745's IWDG2 (same die, DEV_ID 0x450): pyOCD's H7 flash algorithm
    refreshes it on every H7, so the bus answers, and the gap log names the block."""
    part = get_part("STM32H743ZI")
    assert part.chip is not None
    h745 = {b.name: b.base for b in get_part("STM32H745ZI").blocks}
    siblings = {b.name: b.base for b in part.die_blocks}
    assert siblings["IWDG2"] == h745["IWDG2"]
    own = {(b.base, b.end) for b in part.blocks}
    for b in part.die_blocks:  # never on top of the chip's own blocks
        assert not any(s < b.end and b.base < e for s, e in own), b.name
    board = SimBoard.for_part(part.name)
    board.bus.write(siblings["IWDG2"], 4, 0xAAAA, Access.CPU)  # KR refresh key
    touched = [g for g in board.gaps.since(0, by_code=False) if g.block == "IWDG2"]
    assert touched, board.gaps.since(0, by_code=False)
    assert get_part("STM32F411CE").die_blocks == ()  # a die no other line shares
