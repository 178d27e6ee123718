"""Two sessions asking for one place: the second waits in labgrid's queue (and says so), then
runs; the place passes between them test by test (as xdist workers of one run, each a session
of its own, take turns), their uses of the board never overlap, neither waits for the other's
whole run, and the place is free once both have ended."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

from .conftest import Lab

# The user's test: holds the board a while and records when. The session that gets the place
# first holds it until the other one is queued (its reservation waiting), so the wait is real.
HOLD_TEST = """
import json, os, time
from pathlib import Path

import pytest

from stm32_hil.labgrid.client import Coordinator


@pytest.mark.parametrize("turn", [1, 2])
def test_hold_the_board(target, turn):
    stamps = Path(os.environ["STAMPS"])
    start = time.time()
    first = not any(stamps.iterdir())
    idcode = target.read32(target.part.idcode_addr)
    if first:
        client = Coordinator(os.environ["LG_COORDINATOR"])
        deadline = time.monotonic() + 60
        while not any(r.state == "waiting" for r in client.reservations()):
            assert time.monotonic() < deadline, "the other session never queued"
            time.sleep(0.2)
        client.close()
        time.sleep(2.5)  # past the waiter's first "waiting for" notice
    assert target.read32(target.part.idcode_addr) == idcode
    end = time.time()
    (stamps / f"{os.getpid()}-{turn}").write_text(json.dumps([start, end]))
"""


def test_second_session_waits_for_the_place_then_runs(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "test_hold.py").write_text(HOLD_TEST)
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    lab.env["STAMPS"] = str(stamps)
    procs = []
    for i in range(2):
        procs.append(
            lab.popen_hil(
                "run",
                "--no-suites",
                "test_hold.py",
                "--board",
                "lg-g0",
                "-n",
                "0",
                "--inventory",
                str(lab.inventory),
                "--alluredir",
                f"allure-{i}",
                log=tmp_path / f"session-{i}.log",
                cwd=tmp_path,
            )
        )
    try:
        codes = [p.wait(timeout=240) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        raise
    logs = [(tmp_path / f"session-{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    spans = sorted(json.loads(p.read_text()) for p in stamps.iterdir())
    assert len(spans) == 4, spans
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, f"two sessions used the place at once: {spans}"
    waited = [log for log in logs if "waiting" in log and "for labgrid place lg-g0" in log]
    assert waited, logs
    assert any("got labgrid place lg-g0 after" in log for log in waited), waited
    client = lab.client()
    try:
        view = client.place("lg-g0")
        left = [r for r in client.reservations() if r.state in ("waiting", "allocated")]
    finally:
        client.close()
    assert view is not None and view.state == "free", view
    assert not left, left
