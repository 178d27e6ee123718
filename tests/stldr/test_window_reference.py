"""Validation that sees a board only through the Target interface, as a debug probe sees silicon.

The simulated NUCLEO-H743ZI is wrapped so that `target.sim` is None: no flash model, no
execution watch, no virtual clock for the checks to lean on. What the validator then does is
what it does on a real board through pyOCD, at the simulator's speed (the served-board tests in
tests/served take the real pyOCD path end to end).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.validate import CheckResult, validate
from stm32_hil.target.safety import Safety

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "loaders" / "good" / "h743_w25q128.stldr"
FAULTY = ROOT / "loaders" / "faulty"
SHARED = ROOT.parent / "shared" / "loaders"


class ProbeView(SimTarget):
    """A simulated board without its simulator handle: only what a probe can observe."""

    @property
    def sim(self) -> Any:
        return None


def _run(
    path: Path, *checks: str, board: str = "nucleo-h743zi", inventory: str | None = None
) -> dict[str, CheckResult]:
    target = ProbeView(Inventory.load(inventory).get(board))
    target.allow(Safety(destructive=True))  # a board without a simulator is a real one
    try:
        return {r.check: r for r in validate(target, load(path), only=checks)}
    finally:
        target.close()


def test_a_loader_serving_only_its_first_buffers_is_found_without_a_flash_model() -> None:
    """The window is the reference; chunk starts get pages of their own first, so a buffer the
    loader leaves untouched after its first chunks differs where it should (chunk 2)."""
    bad = _run(FAULTY / "h743_w25q128_first_buffer.stldr", "whole_device_read")
    res = bad["whole_device_read"]
    assert res.passed is False and res.verdict == "finding", res.detail
    assert "first invalid address 0x900F7400, in chunk 2 of 0x7BA00 bytes" in res.detail
    assert "34 chunk starts were first programmed with distinct pages" in res.detail
    good = _run(GOOD, "whole_device_read")["whole_device_read"]
    assert good.passed is True, good.detail
    assert "read matches the memory-mapped window over the whole device" in good.detail


def test_a_call_at_the_wrong_base_halts_on_the_trapped_stale_code() -> None:
    """No execution watch: the stale copy's code is overwritten with BKPT, so the faulty build's
    jump to its link address halts there and is named with both addresses."""
    bad = _run(FAULTY / "h743_w25q128_wrong_base.stldr", "wrong_base")["wrong_base"]
    assert bad.passed is False, bad.detail
    assert "halted (breakpoint) away from the return trap at PC=0x240001FC" in bad.detail
    assert "called at the wrong base (linked at 0x24000004, loaded and called at 0x24001004)" in (
        bad.detail
    )
    good = _run(GOOD, "wrong_base")["wrong_base"]
    assert good.passed is True and "ran inside the loaded image" in good.detail, good.detail


def test_sector_erase_is_judged_on_sector_edge_pages() -> None:
    """Without a back door the content goes down through the loader: the first and last page
    of each sector; an erase that also takes a neighbour is still caught."""
    bad = _run(FAULTY / "h743_w25q128_erase_wide.stldr", "sector_erase")["sector_erase"]
    assert bad.passed is False, bad.detail
    assert "also changed the neighbouring sector" in bad.detail
    good = _run(GOOD, "sector_erase")["sector_erase"]
    assert good.passed is True and "neighbours intact" in good.detail, good.detail


def test_erase_dropped_after_a_read_is_named_from_the_mapped_window() -> None:
    bad = _run(FAULTY / "h743_w25q128_erase_after_read.stldr", "order")["order"]
    assert bad.passed is False, bad.detail
    assert "the memory-mapped window, read by the debugger, shows the flash cells never erased" in (
        bad.detail
    )
    assert "must leave memory-mapped mode first" in bad.detail
    assert _run(GOOD, "order")["order"].passed is True


def test_a_flash_algorithm_without_a_window_is_compared_through_its_verify() -> None:
    """A third-party .FLM whose Init maps nothing and which has no Read: erase and write are
    judged through its Verify, the whole-device read has no reference and is n/a with why."""
    flm = SHARED / "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6.flm"
    checks = ("sector_erase", "unaligned_write", "whole_device_read")
    res = _run(flm, *checks, board="f7-w25q128", inventory=str(ROOT / "ci" / "shared_loaders.toml"))
    erase, write, read = (res[c] for c in checks)
    assert erase.passed is True and "neighbours intact (compared through Verify" in erase.detail
    assert write.passed is True and "read back through Verify" in write.detail, write.detail
    assert read.passed is None and read.verdict == "not applicable", read.detail
    assert "leaves no memory-mapped window and has no Read" in read.detail


def test_a_garbled_read_path_is_not_blamed_on_the_erase() -> None:
    """Wrong dummy cycles in memory-mapped mode shift every byte the window shows: the erase is
    not judged (the only reference is that window) and says why; the unaligned write fails on
    its read-back through the loader, as it does with a flash model."""
    loader = FAULTY / "l496_mx25l3233f_wrong_dummy.stldr"
    xspi = str(ROOT / "tests" / "nor" / "xspi_boards.toml")
    res = _run(loader, "sector_erase", "unaligned_write", board="l496-mx25l3233f", inventory=xspi)
    erase, write = res["sector_erase"], res["unaligned_write"]
    assert erase.passed is None and erase.verdict == "not applicable", erase.detail
    assert "the erase cannot be judged through a probe" in erase.detail
    assert "does not show what Write was just given, first at 0x90000000" in erase.detail
    assert write.passed is False, write.detail
    assert write.detail.startswith("read-back of the unaligned write through the loader: first")
    good = _run(
        ROOT / "loaders" / "good" / "l496_mx25l3233f.stldr",
        "sector_erase",
        board="l496-mx25l3233f",
        inventory=xspi,
    )
    assert good["sector_erase"].passed is True, good["sector_erase"].detail
