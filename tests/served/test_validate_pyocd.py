"""`hil loader validate` through pyOCD on a served board: the code path of a real board on a probe.

Each loader is validated twice: in this process on a simulated board (`SimTarget`), and by
`hil --board B loader validate` in another process, which reaches the board `hil sim serve`
serves through pyOCD (`PyOCDTarget` on probe `sim:B`). The verdicts must match check by check;
the checks that need what only the simulating process sees are n/a through the probe and name
why. The quick check set is used: the whole-device passes move 16 MiB over the debug port.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.validate import CHECKS, CheckResult, validate

from .conftest import Served

pytestmark = pytest.mark.sim_only

ROOT = Path(__file__).resolve().parents[2]
LOADERS = ROOT / "loaders"
SHARED = ROOT.parent / "shared" / "loaders"
BOARD = "nucleo-h743zi"
WHOLE_DEVICE = ("mass_erase", "whole_device_read", "whole_device_write")
QUICK = tuple(c for c in (*CHECKS, "blank_check") if c not in WHOLE_DEVICE)
# Checks only the simulating process can judge, and words of the reason given through a probe.
PROBE_NA = {
    "init_idle": "needs the flash model's WIP state",
    "timing": "its clock is virtual and runs ahead of the wall clock",
}
# (loader, {check that fails: words its detail has in both runs})
CASES: list[tuple[Path, dict[str, tuple[str, ...]]]] = [
    (LOADERS / "good" / "h743_w25q128.stldr", {}),
    (LOADERS / "good" / "flm_h743_w25q128.FLM", {}),
    (
        LOADERS / "faulty" / "h743_w25q128_wrong_base.stldr",
        {
            "wrong_base": (
                "the core executed at 0x240001FC, outside the loaded image [0x24001004,",
                "called at the wrong base (linked at 0x24000004, loaded and called at 0x24001004)",
            )
        },
    ),
    (
        LOADERS / "faulty" / "h743_w25q128_erase_after_read.stldr",
        {
            "order": (
                "Read after SectorErase shows 0xAF at 0x90020000",
                "after the Read the controller was QUADSPI FMODE=3 (memory-mapped)",
                "never erased",
                "must leave memory-mapped mode first",
            )
        },
    ),
]


def _local(
    board: str, path: Path, checks: tuple[str, ...], inventory: str | None = None
) -> dict[str, CheckResult]:
    spec = Inventory.load(inventory).get(board)
    target = SimTarget(spec)
    try:
        return {r.check: r for r in validate(target, load(path), only=checks)}
    finally:
        target.close()


def _through_probe(
    served: Served, path: Path, checks: tuple[str, ...], out: Path, *inventory: str
) -> tuple[int, dict[str, dict[str, object]]]:
    run = served.hil(
        "loader",
        "validate",
        "--board",
        served.board,
        *inventory,
        str(path),
        "--only",
        ",".join(checks),
        "--json",
        str(out),
        timeout=240,
    )
    where = f"{path.name}: {run.stdout[-3000:]}{run.stderr[-2000:]}"
    assert f"using served board {served.board} (pid {served.proc.pid})" in run.stderr, where
    assert out.exists(), where
    return run.returncode, {str(r["check"]): r for r in json.loads(out.read_text())}


def _same_verdicts(
    name: str,
    local: dict[str, CheckResult],
    remote: dict[str, dict[str, object]],
    failing: dict[str, tuple[str, ...]],
) -> None:
    assert set(remote) == set(local), name
    for check, mine in local.items():
        theirs = remote[check]
        detail = str(theirs["detail"])
        if check in PROBE_NA and mine.verdict != "not applicable":
            assert mine.passed is not None, f"{name} {check} (in-process): {mine.detail}"
            assert theirs["verdict"] == "not applicable", f"{name} {check}: {theirs}"
            assert theirs["passed"] is None, f"{name} {check}: {theirs}"
            assert PROBE_NA[check] in detail, f"{name} {check}: {detail}"
            continue
        assert theirs["passed"] == mine.passed, (
            f"{name} {check}: through the probe {theirs['passed']} ({detail}), "
            f"in-process {mine.passed} ({mine.detail})"
        )
        assert (theirs["verdict"] == "not applicable") == (mine.verdict == "not applicable")
        for words in failing.get(check, ()):
            assert words in mine.detail, f"{name} {check} (in-process): {mine.detail}"
            assert words in detail, f"{name} {check} (through the probe): {detail}"
    failed = {c for c, r in local.items() if r.passed is False and c not in PROBE_NA}
    assert failed == set(failing), f"{name}: in-process failures {failed}"


def test_validate_through_pyocd_matches_in_process(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    served = serve(BOARD)
    for n, (path, failing) in enumerate(CASES):
        # a faulty build: the check it fails, after the Init every check needs
        checks = ("init", *failing) if failing else QUICK
        code, remote = _through_probe(served, path, checks, tmp_path / f"{n}.json")
        _same_verdicts(path.name, _local(BOARD, path, checks), remote, failing)
        assert code == (1 if failing else 0), path.name


def test_shared_loader_through_pyocd_matches_in_process(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    """A third-party loader (no Verify or CheckSum; its Init leaves the window unmapped) on the
    board ci/shared_loaders.toml declares for it."""
    inventory = str(ROOT / "ci" / "shared_loaders.toml")
    board = "f7-w25q128"
    path = SHARED / "CLIVEONE-W25Q128_STM32F7XX-PB2-PB6-PF8-PF9-PF7-PF6.stldr"
    served = serve(board, "--inventory", inventory)
    out = tmp_path / "shared.json"
    code, remote = _through_probe(served, path, QUICK, out, "--inventory", inventory)
    _same_verdicts(path.name, _local(board, path, QUICK, inventory), remote, {})
    assert code == 0
