"""Boards behind labgrid places run the product's suites and loader validation as local boards
do: same verdicts, with the board reached through the place's RFC 2217 UART and pyOCD probe
server, and the place released when the session ends."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from .conftest import BOARDS, Lab

# The bootloader suite less the whole-flash round trip, whose 128 KiB take seconds over a
# real-time UART. On the G0, test_boot0_low_runs_flash_not_the_bootloader power cycles the
# board: through the place's power switch (labgrid's power driver).
SUITE = (
    "test_command_set_and_ids_per_part or test_rdp1_nacks_and_readout_unprotect_erases or "
    "test_bad_checksum_is_nacked or test_entry_by_option_bits or "
    "test_boot0_low_runs_flash_not_the_bootloader"
)
T = TypeVar("T")
LOADER = Path(__file__).parents[2] / "loaders" / "good" / "h750_mt25tl01g.stldr"


FAMILY = {"lg-g0": "g0", "lg-h7": "h7", "nucleo-g071rb": "g0", "stm32h750b-dk": "h7"}


def _verdicts(junit: Path) -> dict[tuple[str, str], str]:
    """(test function, part family) -> passed/failed/skipped, from a JUnit XML report."""
    out: dict[tuple[str, str], str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name, _, param = case.get("name", "").partition("[")
        kinds = {child.tag for child in case}
        verdict = (
            "failed"
            if kinds & {"failure", "error"}
            else "skipped"
            if "skipped" in kinds
            else "passed"
        )
        out[(name, FAMILY.get(param.rstrip("]"), param))] = verdict
    return out


def _both(*calls: Callable[[], T]) -> list[T]:
    """The remote and the local run side by side (they share nothing but the machine)."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _run_suite(lab: Lab, where: Path, boards: list[str], **env: str) -> dict[tuple[str, str], str]:
    where.mkdir()
    args = [a for b in boards for a in ("--board", b)]
    r = lab.hil(
        "run", *args, "-n", "0", "-k", SUITE, "--allow-destructive",
        "--alluredir", str(where / "allure"), f"--junitxml={where / 'junit.xml'}",
        "-W", "ignore::DeprecationWarning", cwd=where, **env,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return _verdicts(where / "junit.xml")


def test_bootloader_suite_on_places_matches_the_local_run(lab: Lab, tmp_path: Path) -> None:
    remote, local = _both(
        lambda: _run_suite(
            lab, tmp_path / "remote", list(BOARDS), HIL_INVENTORY=str(lab.inventory)
        ),
        # the same boards simulated in-process (a runtime dir of their own: not the served ones)
        lambda: _run_suite(
            lab,
            tmp_path / "local",
            [board for board, _ in BOARDS.values()],
            HIL_RUNTIME_DIR=str(tmp_path / "rt-local"),
        ),
    )
    assert remote == local
    assert list(remote.values()).count("passed") == 9, remote  # 4 tests x 2 boards, + G0 only
    # the session ended: both places were released, no reservation is left behind
    client = lab.client()
    try:
        states = {name: view.state for name, view in client.places().items()}
    finally:
        client.close()
    assert states == dict.fromkeys(BOARDS, "free"), states
    shown = lab.hil("boards", "--inventory", str(lab.inventory), COLUMNS="200")
    assert shown.returncode == 0, shown.stderr
    for place in BOARDS:
        assert f"{place}: free" in shown.stdout, shown.stdout


def test_loader_validation_on_a_place_matches_the_local_run(lab: Lab, tmp_path: Path) -> None:
    checks = "init,sector_erase"
    remote, local = _both(
        lambda: lab.hil(
            "loader", "validate", str(LOADER), "--board", "lg-h7",
            "--inventory", str(lab.inventory), "--allow-destructive", "--only", checks,
            "--json", str(tmp_path / "remote.json"),
        ),
        lambda: lab.hil(
            "loader", "validate", str(LOADER), "--board", BOARDS["lg-h7"][0], "--only", checks,
            "--json", str(tmp_path / "local.json"), HIL_RUNTIME_DIR=str(tmp_path / "rt-local"),
        ),
    )  # fmt: skip
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert local.returncode == 0, local.stdout + local.stderr

    def verdicts(path: Path) -> dict[str, bool]:
        text = path.read_text()
        records = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
        return {r["check"]: r["passed"] for r in records}

    got = verdicts(tmp_path / "remote.json")
    assert got == verdicts(tmp_path / "local.json")
    assert {"init", "sector_erase"} <= {k for k, ok in got.items() if ok}, got
