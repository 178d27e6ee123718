"""Our own QUADSPI/OCTOSPI loaders (loaders/src/xspi_loader.c) on the boards of
tests/nor/xspi_boards.toml: each good build passes the whole validation; each faulty build
fails the check that names its fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.validate import Validator, validate

ROOT = Path(__file__).resolve().parents[2]
BOARDS = Path(__file__).with_name("xspi_boards.toml")
GOOD = [
    ("l496_mx25l3233f", "l496-mx25l3233f"),  # QUADSPI on an L4
    ("g474_w25q16", "g474-w25q16"),  # QUADSPI1 on a G4
    ("g474_w25q256", "g474-w25q256"),  # the same in 4-byte mode on a 32 MiB part
    ("u585_w25q32", "u585-w25q32"),  # OCTOSPI in quad mode on a U5
    ("h7b3_mx25lm51245g", "h7b3-mx25lm51245g"),  # OCTOSPI octal DTR with DQS on an H7B3
]


def target(board: str) -> SimTarget:
    return SimTarget(Inventory.load(str(BOARDS)).get(board))


@pytest.mark.parametrize(("name", "board"), GOOD, ids=[n for n, _ in GOOD])
def test_good_loader_passes_the_whole_validation(name: str, board: str) -> None:
    results = validate(target(board), load(ROOT / "loaders" / "good" / f"{name}.stldr"))
    not_passed = [f"{r.check}: {r.detail}" for r in results if r.passed is not True]
    assert not not_passed, not_passed  # every check ran and passed (Verify, CheckSum too)
    assert len(results) >= 16


def test_wrong_dummy_cycles_fail_the_read_back() -> None:
    stldr = load(ROOT / "loaders" / "faulty" / "l496_mx25l3233f_wrong_dummy.stldr")
    results = {
        r.check: r
        for r in validate(target("l496-mx25l3233f"), stldr, only=("init", "unaligned_write"))
    }
    assert results["init"].passed  # the chip answers its ID and status: only data is shifted
    check = results["unaligned_write"]
    assert not check.passed
    assert "first difference at 0x900000FD" in check.detail


def test_no_four_byte_mode_on_a_32_mib_part_reads_the_lower_half_above_16_mib() -> None:
    stldr = load(ROOT / "loaders" / "faulty" / "g474_w25q256_no_4byte.stldr")
    validator = Validator(
        target("g474-w25q256"), stldr, reinit=True, full=False, progress=None, buffers=()
    )
    validator.full_read_limit = 0  # sampled: the start, around 16 MiB and the end
    results = {r.check: r for r in validator.run(("init", "whole_device_read"))}
    check = results["whole_device_read"]
    assert not check.passed
    assert "first invalid address 0x91000000" in check.detail
