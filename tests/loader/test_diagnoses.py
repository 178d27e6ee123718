"""Each diagnosis and programmer-side check on a faulty loader of our own that reproduces it.

Every case runs the check twice on the simulated NUCLEO-H743ZI: on the faulty build it fails
with words naming the fault, on the good build of the same source it passes. The faulty builds
are `loaders/faulty/h743_w25q128_<variant>.stldr` (FAULT_* in loaders/src/qspi_loader.c).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load, programmer
from stm32_hil.stldr.validate import CheckResult, Validator, validate

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "loaders" / "good" / "h743_w25q128.stldr"
FAULTY = ROOT / "loaders" / "faulty"

# (variant, check, validate options, words the failure must contain)
CASES: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    (
        "erase_after_read",
        "order",
        {},
        (
            "Read after SectorErase shows",
            "after the Read the controller was QUADSPI FMODE=3 (memory-mapped)",
            "BUSY=0, DLR=0x",
            "never erased",
            "must leave memory-mapped mode first",
        ),
    ),
    (
        "verify_returns_one",
        "verify",
        {},
        ("returned 1", "non-standard convention 1 = success", "mismatch at 0x00000001"),
    ),
    (
        "no_read",
        "order",
        {"reinit": False},
        ("the host's own read of the memory-mapped window", "not a loader crash"),
    ),
    ("page_16", "metadata", {}, ("PageSize 0x10 (16 B) is implausible",)),
    ("page_8k", "metadata", {}, ("PageSize 0x2000 (8192 B) is implausible",)),
    (
        "func_outside",
        "metadata",
        {},
        ("function CheckSum at 0x24070000 lies outside the loaded image",),
    ),
    (
        "erase_no_wait",
        "timing",
        {},
        ("SectorErase(0x90000000, 0x90000000) returned after", "does not wait for the flash"),
    ),
    (
        "read_before_init",
        "read_before_init",
        {},
        ("Read(0x90000000, 0x100) before any Init returned 1 (success) with zeros",),
    ),
    (
        "wrong_base",
        "wrong_base",
        {},
        (
            "called at the wrong base (linked at 0x24000004, loaded and called at 0x24001004)",
            "outside the loaded image [0x24001004,",
        ),
    ),
    (
        "first_buffer",
        "whole_device_read",
        {"buffers": (0x40000,)},
        ("buffer 0x40000 (--buffer)", "first invalid address 0x90080000"),
    ),
]


def _target() -> SimTarget:
    return SimTarget(Inventory.load().get("nucleo-h743zi"))


def _run(path: Path, check: str, options: dict[str, Any]) -> CheckResult:
    results = validate(_target(), load(path), only=("init", check), **options)
    (result,) = [r for r in results if r.check == check]
    return result


@cache
def _good(check: str, reinit: bool, buffers: tuple[int, ...]) -> CheckResult:
    return _run(GOOD, check, {"reinit": reinit, "buffers": buffers})


@pytest.mark.parametrize(("variant", "check", "options", "words"), CASES, ids=[c[0] for c in CASES])
def test_check_fails_on_the_faulty_loader_and_passes_on_the_good_one(
    variant: str, check: str, options: dict[str, Any], words: tuple[str, ...]
) -> None:
    bad = _run(FAULTY / f"h743_w25q128_{variant}.stldr", check, options)
    assert bad.passed is False, bad.detail
    assert bad.verdict == "finding", bad.detail  # the loader's fault, not a crash or a gap
    for text in words:
        assert text in bad.detail, bad.detail
    good = _good(check, options.get("reinit", True), options.get("buffers", ()))
    assert good.passed is True, good.detail


def test_wrong_base_on_the_good_loader_runs_it_inside_the_moved_image() -> None:
    result = _good("wrong_base", True, ())
    assert "at 0x24001004" in result.detail and "ran inside the loaded image" in result.detail


def test_read_before_init_on_the_good_loader_names_what_each_call_does() -> None:
    # The good loader faults when its window is not mapped: an error the programmer shows,
    # never data it did not read.
    detail = _good("read_before_init", True, ()).detail
    assert "before any Init" in detail and "Read fails visibly" in detail
    assert "Verify fails visibly" in detail and "CheckSum fails visibly" in detail


def test_timing_passes_only_with_calls_judged_against_the_datasheet() -> None:
    detail = _good("timing", True, ()).detail
    assert "program/erase calls within the W25Q128 datasheet times" in detail


def test_programmer_buffer_goes_to_another_ram_region_when_the_image_leaves_no_room() -> None:
    # A loader in DTCM leaves AXI SRAM free: STM32CubeProgrammer's 0x7E000-byte buffer goes
    # there, as on the H750 board of the field report; the largest buffer stays after the image.
    shared = ROOT.parent / "shared" / "loaders" / "weact_h7_w25q128.stldr"
    if not shared.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared loader missing: {shared}")
        pytest.skip(f"shared loader missing: {shared}")
    target = SimTarget(Inventory.load().get("weact-mini-h750"))
    validator = Validator(target, load(shared))
    validator.run(("metadata",))  # ram_fit places the image and the largest buffer
    runners = programmer.buffer_runners(validator)
    (_, largest_label), (cube, cube_label) = runners
    assert largest_label.startswith("buffer 0x19E00 (largest)")
    assert cube is not None and (cube.buffer, cube.buffer_size) == (0x24000000, 0x7E000)
    assert "STM32CubeProgrammer's RAM buffer) in AXISRAM" in cube_label
