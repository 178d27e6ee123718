"""Keil .FLM flash algorithms: parsed through pyOCD onto the loader object, placed as pyOCD
places them, and refused with typed errors when damaged."""

from __future__ import annotations

import random
import struct
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from elftools.elf.elffile import ELFFile
from pyocd.core.memory_map import RamRegion
from pyocd.target.pack.flash_algo import PackFlashAlgo

from stm32_hil.cli.loader import loader as loader_cli
from stm32_hil.errors import HarnessError, LoaderError
from stm32_hil.parts import get_part
from stm32_hil.stldr import load
from stm32_hil.stldr.errors import MissingSymbolError, NotElfError, TruncatedElfError
from stm32_hil.stldr.flm import FLASH_DEVICE_SIZE, Flm, default_ram, place

from .conftest import LOADERS

PAIR = LOADERS / "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6"
OWN = Path(__file__).resolve().parents[2] / "loaders" / "good" / "flm_h743_w25q128.FLM"


def _flm(path: Path) -> Flm:
    if not path.exists():
        pytest.fail(f"test input missing: {path}")
    loaded = load(path)
    assert isinstance(loaded, Flm)
    return loaded


def test_pair_flm_describes_the_same_device_as_its_stldr() -> None:
    flm = _flm(PAIR.with_suffix(".flm"))
    stldr = load(PAIR.with_suffix(".stldr"))
    assert flm.storage_info == stldr.storage_info  # name, type, window, page, erase, sectors
    dev = flm.device
    assert (dev.type_name, dev.prog_timeout_ms, dev.erase_timeout_ms) == ("EXTSPI", 100, 3000)
    assert dev.sectors == ((0, 0x10000),)
    assert set(flm.algo_functions) == {
        "Init", "UnInit", "EraseSector", "ProgramPage", "EraseChip", "BlankCheck", "Verify"
    }  # fmt: skip
    assert flm.functions["Write"] == flm.algo_functions["ProgramPage"]
    assert "Read" not in flm.functions and "CheckSum" not in flm.functions
    assert flm.rwpi and flm.warnings == ()


def test_placement_matches_pyocd_flash_algo() -> None:
    """Load address, entry points, static base, buffers and stack as pyOCD computes them."""
    path = PAIR.with_suffix(".flm")
    part = get_part("STM32F767ZI")
    region = default_ram(part)
    assert region.base == 0x20000000
    placed = place(_flm(path), part)
    algo = PackFlashAlgo(str(path))
    want = algo.get_pyocd_flash_algo(
        algo.page_size, RamRegion(start=region.base, length=region.size)
    )
    assert placed.load_address == want["load_address"] == placed.trap_address
    assert placed.r9 == want["static_base"]
    assert (placed.algo_functions["Init"] | 1) == want["pc_init"]
    assert (placed.algo_functions["ProgramPage"] | 1) == want["pc_program_page"]
    assert (placed.algo_functions["EraseSector"] | 1) == want["pc_erase_sector"]
    blob = b"".join(struct.pack("<I", w) for w in want["instructions"])
    assert blob[4:] == placed.loaded[0].data[: len(blob) - 4]
    assert placed.image_end <= region.end

    from stm32_hil.inventory import Inventory
    from stm32_hil.sim.target import SimTarget
    from stm32_hil.stldr.flm_runner import FlmRunner

    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    own = place(_flm(OWN), target.part)
    runner = FlmRunner(target, own)
    own_algo = PackFlashAlgo(str(OWN))
    h7 = default_ram(target.part)
    own_want = own_algo.get_pyocd_flash_algo(
        own_algo.page_size, RamRegion(start=h7.base, length=h7.size)
    )
    assert runner.stack_top == own_want["begin_stack"]
    assert list(runner.buffers) == own_want["page_buffers"]


def _symbol_name_offset(data: bytes, name: str) -> int:
    return data.index(b"\0" + name.encode() + b"\0") + 1


def test_damaged_files_are_refused_with_typed_errors() -> None:
    data = PAIR.with_suffix(".flm").read_bytes()
    with pytest.raises(NotElfError):
        load(b"PK\x03\x04" + data[4:], name="x.flm")
    with pytest.raises(TruncatedElfError):
        load(data[: len(data) // 2], name="cut.flm")
    renamed = bytearray(data)
    at = _symbol_name_offset(data, "ProgramPage")
    renamed[at : at + 11] = b"ProgramPagX"
    with pytest.raises(MissingSymbolError, match="no ProgramPage"):
        load(bytes(renamed), name="renamed.flm")


def _flash_device_file_offset(data: bytes) -> int:
    import io

    elf = ELFFile(io.BytesIO(data))
    symtab = elf.get_section_by_name(".symtab")
    (sym,) = symtab.get_symbol_by_name("FlashDevice")  # type: ignore[union-attr]
    address = int(sym["st_value"])
    for seg in elf.iter_segments():
        if seg["p_vaddr"] <= address < seg["p_vaddr"] + seg["p_filesz"]:
            return int(seg["p_offset"]) + address - int(seg["p_vaddr"])
    raise AssertionError("FlashDevice not in a segment")


def test_sector_list_without_end_marker_is_refused_in_bounded_time() -> None:
    data = bytearray(OWN.read_bytes())
    table = _flash_device_file_offset(bytes(data))
    end = table + FLASH_DEVICE_SIZE + 8  # the entry after the single sector group
    assert struct.unpack_from("<II", data, end) == (0xFFFFFFFF, 0xFFFFFFFF)
    struct.pack_into("<II", data, end, 0x1000, 0x10000)
    start = time.monotonic()
    with pytest.raises(LoaderError, match="no end marker"):
        load(bytes(data), name="no_end.FLM")
    assert time.monotonic() - start < 10


def test_implausible_flash_device_fields_are_warned() -> None:
    data = bytearray(OWN.read_bytes())
    table = _flash_device_file_offset(bytes(data))
    struct.pack_into("<I", data, table + 140, 0x2000_0001)  # szPage
    struct.pack_into("<B", data, table + 148, 0x5A)  # valEmpty
    warnings = " ".join(load(bytes(data), name="odd.FLM").warnings)
    assert "szPage 536870913" in warnings and "valEmpty 0x5A" in warnings


def test_seeded_mutations_give_a_loader_or_a_typed_error() -> None:
    """Random byte flips in the real .flm: each parse ends in a result or a HarnessError."""
    data = PAIR.with_suffix(".flm").read_bytes()
    rng = random.Random(0xF1A5)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(mutated)) if rng.random() < 0.5 else rng.randrange(0x80)
            mutated[at] = rng.randrange(256)
        start = time.monotonic()
        try:
            load(bytes(mutated), name="mutated.flm")
            outcomes["parsed"] += 1
        except HarnessError as exc:
            assert exc.message
            outcomes["refused"] += 1
        assert time.monotonic() - start < 10
    assert outcomes["parsed"] and outcomes["refused"]


def test_cli_info_shows_the_flash_device_and_functions() -> None:
    result = CliRunner().invoke(loader_cli, ["info", str(PAIR.with_suffix(".flm")), str(OWN)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Keil .FLM flash algorithm" in out and "EXTSPI" in out
    assert "ProgramPage" in out and "0x4C89" in out  # offset in the blob
    assert "W25Q128_NUCLEO-H743ZI_FLM" in out
