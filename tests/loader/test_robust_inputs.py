"""Odd loader metadata gets a verdict, not a crash: each robustness case of the field reports.

Mutants of our own good loader with one StorageInfo field changed, validated on the simulated
NUCLEO-H743ZI (a W25Q128, 16 MiB). Memory is bounded by tracemalloc's peak where a field used
to size a buffer.
"""

from __future__ import annotations

import os
import struct
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from stm32_hil.cli.loader import loader as loader_cli
from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.elf import MAX_FILE_SIZE
from stm32_hil.stldr.runner import LoaderRunner
from stm32_hil.stldr.validate import CheckResult, validate

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "loaders" / "good" / "h743_w25q128.stldr"
FIELDS = {"start": 104, "size": 108, "page": 112, "sector0": 120, "sector1": 128}


def _mutant(**fields: int | tuple[int, int]) -> bytes:
    data = bytearray(GOOD.read_bytes())
    stldr = load(bytes(data))
    seg = next(s for s in stldr.segments if s.vaddr <= stldr.storage_info_addr < s.end)
    base = seg.offset + stldr.storage_info_addr - seg.vaddr
    for name, value in fields.items():
        values = value if isinstance(value, tuple) else (value,)
        struct.pack_into(f"<{len(values)}I", data, base + FIELDS[name], *values)
    return bytes(data)


def _validate(data: bytes, *checks: str, **options: object) -> dict[str, CheckResult]:
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    results = validate(target, load(data, name="mutant.stldr"), only=checks, **options)  # type: ignore[arg-type]
    return {r.check: r for r in results}


def test_a_device_bigger_than_the_boards_chip_is_refused_before_any_buffer() -> None:
    data = _mutant(size=0x2000000, sector0=(512, 0x10000))
    tracemalloc.start()
    try:
        res = _validate(data, "init", "whole_device_read", "whole_device_write")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    fit = res["device_fit"]
    assert fit.passed is False
    assert "the loader declares 32 MiB (0x2000000); this board's W25Q128 has 16 MiB" in fit.detail
    assert res["whole_device_read"].passed is None and "device_fit failed" in (
        res["whole_device_read"].detail
    )
    assert peak < 8 * 1024 * 1024  # no buffer of the declared size was made


def test_a_2_gib_page_is_flagged_and_the_write_uses_a_plausible_page() -> None:
    tracemalloc.start()
    try:
        res = _validate(_mutant(page=0x80000000), "metadata", "unaligned_write")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res["metadata"].passed is False and "PageSize 2147483648" in res["metadata"].detail
    assert res["unaligned_write"].passed is True, res["unaligned_write"].detail
    assert "boundaries of 256 bytes (PageSize 2147483648 is implausible)" in (
        res["unaligned_write"].detail
    )
    assert peak < 64 * 1024 * 1024


def test_a_16_byte_page_writes_across_pages_without_reading_before_the_device() -> None:
    res = _validate(_mutant(page=16), "metadata", "unaligned_write")
    assert "PageSize 0x10 (16 B) is implausible" in res["metadata"].detail
    write = res["unaligned_write"]
    assert write.passed is True, write.detail
    assert "39 bytes at 0x9000000D across 2 page boundaries of 16 bytes" in write.detail


def test_odd_sector_lists_get_verdicts() -> None:
    huge = _validate(_mutant(sector0=(0xFFFFFFFF, 0xFFFFFFFF)), "sector_erase")
    assert huge["device_fit"].passed is False  # one sector of 4 GiB: none fits the device
    assert "no usable sector inside the device" in huge["device_fit"].detail
    many = _validate(_mutant(sector0=(0xFFFFFFFF, 0x10000)), "sector_erase")
    assert many["device_fit"].passed is True  # the count is cut at the device's end
    assert many["sector_erase"].passed is True, many["sector_erase"].detail
    wide = _validate(_mutant(sector0=(2, 0x1000000)), "sector_erase")
    assert wide["sector_erase"].passed is False  # the loader erases 64 KiB, not the claim
    assert "the sector is not erased" in wide["sector_erase"].detail
    empty = _validate(_mutant(sector0=(1, 0)), "sector_erase")
    assert empty["device_fit"].passed is False
    assert "no usable sector inside the device" in empty["device_fit"].detail
    assert empty["sector_erase"].passed is None
    short = _validate(_mutant(sector0=(3, 0x10000)), "sector_erase")
    assert short["sector_erase"].passed is True
    assert "covers only up to 0x90030000" in short["device_fit"].detail


@pytest.mark.slow
def test_full_write_with_a_short_sector_list_covers_what_can_be_erased() -> None:
    data = _mutant(sector0=(3, 0x10000))
    res = _validate(data, "whole_device_write", full=True)
    write = res["whole_device_write"]  # MassErase erases all: the whole device is written
    assert write.passed is True and "wrote and compared all 16,777,216 bytes" in write.detail
    # Without MassErase only the sectors listed can be erased, so only they are written.
    assert b"MassErase\0" in data  # the symbol's name (and its debug string): renamed away
    res = _validate(data.replace(b"MassErase\0", b"MassErasX\0"), "whole_device_write", full=True)
    write = res["whole_device_write"]
    assert write.passed is True, write.detail
    assert "wrote and compared all 196,608 bytes (of DeviceSize 16,777,216" in write.detail


def test_a_whole_chip_sector_erase_gets_the_chip_erase_budget() -> None:
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    from stm32_hil.sim.memories.nor.chips import chip_spec

    times = chip_spec("W25Q128").timing
    runner = LoaderRunner(target, load(GOOD), datasheet=dict(times))
    assert runner.erase_budget(0x90000000, 0x90000000) == runner.budgets.erase_sector
    assert runner.erase_budget(0x90000000, 0x90FFFFFF) >= times["chip_erase"]
    result = runner.sector_erase(0x90000000, 0x90FFFFFF)  # 256 blocks: longer than one budget
    assert result.seconds > runner.budgets.erase_sector
    assert target.sim.external.read(0x00FF0000, 16) == b"\xff" * 16


def test_loader_info_refuses_a_fifo_and_an_oversized_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.stldr"
    os.mkfifo(fifo)
    big = tmp_path / "big.stldr"
    with big.open("wb") as fh:  # sparse: no disk used
        fh.truncate(MAX_FILE_SIZE + 1)
    cli = CliRunner()
    for path, words in ((fifo, "not a regular file"), (big, "more than the")):
        result = cli.invoke(loader_cli, ["info", str(path)])
        assert result.exit_code == 2
        assert words in result.output
