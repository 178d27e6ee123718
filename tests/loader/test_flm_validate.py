"""Keil .FLM validation on simulated boards: our own algorithm (good and faulty builds) and the
third-party loader that exists both as .stldr and as .FLM, which must reach the same verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stm32_hil.cli.loader import loader as loader_cli
from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.flm_validate import NOT_APPLICABLE, cross_check
from stm32_hil.stldr.validate import CheckResult, validate

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "loaders" / "good" / "flm_h743_w25q128.FLM"
FAULTY = ROOT / "loaders" / "faulty" / "flm_h743_w25q128_program_nothing.FLM"
PAIR = ROOT.parent / "shared" / "loaders" / "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6"
SHARED_BOARDS = ROOT / "ci" / "shared_loaders.toml"
# The checks compared between the two builds of the pair: every one both builds have, except
# the whole-device passes (16 MiB through the loader each, minutes of CI; ci runs them).
PAIR_CHECKS = (
    "metadata",
    "init",
    "init_idle",
    "sector_erase",
    "unaligned_write",
    "verify",
    "checksum",
    "order",
    "read_before_init",
    "wrong_base",
    "timing",
)


def _run(
    path: Path, board: str, only: tuple[str, ...], inventory: Path | None = None
) -> dict[str, CheckResult]:
    if not path.exists():
        pytest.fail(f"test input missing: {path}")
    target = SimTarget(Inventory.load(inventory).get(board))
    try:
        return {r.check: r for r in validate(target, load(path), only=only)}
    finally:
        target.close()


def test_good_algorithm_passes_and_faulty_program_page_is_named() -> None:
    only = ("init", "blank_check", "unaligned_write", "verify", "wrong_base")
    good = _run(GOOD, "nucleo-h743zi", only)
    assert all(good[c].passed for c in (*only, "ram_fit")), {c: r.detail for c, r in good.items()}
    assert "top of DTCM as pyOCD places it" in good["ram_fit"].detail
    assert "through the memory-mapped window" in good["unaligned_write"].detail
    assert "top of AXISRAM" in good["wrong_base"].detail  # a second base, another region
    bad = _run(FAULTY, "nucleo-h743zi", ("init", "unaligned_write", "verify"))
    assert bad["init"].passed
    write = bad["unaligned_write"]
    assert write.passed is False and write.verdict == "finding"
    assert "ProgramPage" in write.detail and "inside the written range" in write.detail
    assert "0x900000FD" in write.detail  # the first byte that should have been programmed
    verify = bad["verify"]
    assert verify.passed is False and "a match is adr + sz" in verify.detail


def test_algorithm_that_is_not_position_independent_is_named() -> None:
    """Built without -fpic, Init calls a code address of its link base (0): outside the image."""
    path = ROOT / "loaders" / "faulty" / "flm_h743_w25q128_absolute_call.FLM"
    init = _run(path, "nucleo-h743zi", ("init",))["init"]
    assert init.passed is False
    assert "outside the loaded algorithm" in init.detail
    assert "must be position-independent" in init.detail


def test_checks_that_do_not_apply_are_listed_not_passed() -> None:
    results = _run(GOOD, "nucleo-h743zi", ("checksum", "read_before_init"))
    for check in NOT_APPLICABLE:
        res = results[check]
        assert res.passed is None and res.verdict == "not applicable"
        assert res.detail.startswith("not applicable to .FLM")


def test_stldr_and_flm_of_one_loader_reach_the_same_verdicts() -> None:
    stldr = _run(PAIR.with_suffix(".stldr"), "f7-w25q128", PAIR_CHECKS, SHARED_BOARDS)
    flm = _run(PAIR.with_suffix(".flm"), "f7-w25q128", PAIR_CHECKS, SHARED_BOARDS)
    assert cross_check(list(stldr.values()), list(flm.values())) == []
    compared = [
        c
        for c in stldr
        if c in flm and flm[c].verdict != "not applicable" and stldr[c].passed is not None
    ]
    assert len(compared) >= 10, compared
    assert {c: stldr[c].passed for c in compared} == {c: flm[c].passed for c in compared}
    # The FLM maps no window: its read-back goes through its own Verify, as Keil verifies.
    assert "through Verify" in flm["unaligned_write"].detail
    assert flm["checksum"].verdict == "not applicable"


def test_cross_check_reports_a_difference() -> None:
    a = [CheckResult("x.stldr", "verify", True, ""), CheckResult("x.stldr", "checksum", True, "")]
    b = [
        CheckResult("x.flm", "verify", False, "mismatch"),
        CheckResult("x.flm", "checksum", None, "n/a", verdict="not applicable"),
    ]
    assert cross_check(a, b) == [("verify", True, False)]


def test_cli_validate_flm_exit_codes_and_json(tmp_path: Path) -> None:
    cli = CliRunner()
    out = tmp_path / "v.json"
    ok = cli.invoke(
        loader_cli,
        ["validate", str(GOOD), "--board", "nucleo-h743zi", "--only", "init,blank_check,checksum"],
    )
    assert ok.exit_code == 0, ok.output
    assert "n/a" in ok.output and "1 not applicable" in ok.output
    bad = cli.invoke(
        loader_cli,
        [
            "validate",
            str(FAULTY),
            "--board",
            "nucleo-h743zi",
            "--only",
            "unaligned_write",
            "--json",
            str(out),
        ],
    )
    assert bad.exit_code == 1, bad.output
    records = {r["check"]: r for r in json.loads(out.read_text())}
    assert records["unaligned_write"]["passed"] is False
    assert "ProgramPage" in records["unaligned_write"]["detail"]


@pytest.mark.parametrize(
    ("field", "offset", "value", "check", "words"),
    [
        ("szPage", 140, 0, "ram_fit", "szPage 0 cannot be a ProgramPage buffer"),
        ("szPage", 140, 0x8000_0000, "ram_fit", "do not fit in DTCM"),
        ("szDev", 136, 0x4000_0000, "device_fit", "declares 1 GiB"),
        ("szDev", 136, 0, "device_fit", "DeviceSize is 0"),
        ("sector size", 160, 0, "device_fit", "no usable sector"),
        ("sector size", 160, 1, "device_fit", "1-byte sectors, smaller than its 256-byte page"),
    ],
)
def test_damaged_flash_device_gives_a_verdict_before_any_call(
    field: str, offset: int, value: int, check: str, words: str
) -> None:
    """Sizes in the FlashDevice table are judged against the board before a buffer is made."""
    import io
    import struct
    import time

    from elftools.elf.elffile import ELFFile

    data = bytearray(GOOD.read_bytes())
    elf = ELFFile(io.BytesIO(bytes(data)))
    (sym,) = elf.get_section_by_name(".symtab").get_symbol_by_name("FlashDevice")  # type: ignore[union-attr]
    seg = next(elf.iter_segments())
    struct.pack_into("<I", data, seg["p_offset"] + sym["st_value"] - seg["p_vaddr"] + offset, value)
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    start = time.monotonic()
    results = {
        r.check: r for r in validate(target, load(bytes(data), name=f"{field}.FLM"), only=("init",))
    }
    assert time.monotonic() - start < 60
    assert results[check].passed is False and words in results[check].detail, field
    assert results["init"].passed is None  # not run: nothing was called on a damaged table
