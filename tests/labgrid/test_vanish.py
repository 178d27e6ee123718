"""A place whose exporter stops in the middle of a session: the tests that follow fail as an
infrastructure error (Allure category), naming the place and the exporter, not as a product
failure; the session still releases the place."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from stm32_hil.report.allure_env import classify

from .conftest import EXPORTER, Lab, wait_until

TWO_TESTS = """
import os, time
from pathlib import Path


def test_first(target):
    assert target.read32(target.part.idcode_addr)
    Path(os.environ["READY"]).touch()
    deadline = time.monotonic() + 120
    while not Path(os.environ["GO"]).exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_second(target):
    assert target.read32(target.part.idcode_addr)
"""


def _results(allure: Path) -> dict[str, dict[str, object]]:
    out = {}
    for path in allure.glob("*-result.json"):
        data = json.loads(path.read_text())
        out[str(data["name"]).split("[")[0]] = data
    return out


def test_exporter_stopped_mid_run_is_an_infrastructure_error(lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "test_vanish.py").write_text(TWO_TESTS)
    lab.env["READY"] = str(tmp_path / "ready")
    lab.env["GO"] = str(tmp_path / "go")
    proc = lab.popen_hil(
        "run", "--no-suites", "test_vanish.py", "--board", "lg-g0", "-n", "0",
        "--inventory", str(lab.inventory), "--alluredir", "allure", "-p", "no:randomly",
        log=tmp_path / "session.log", cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_until("the first test", (tmp_path / "ready").exists, 180)
        lab.stop_exporter()
        gone = f"{EXPORTER}/nucleo-g071rb/NetworkSerialPort/uart"
        wait_until("the coordinator to drop the exporter", lambda: not lab.resources().get(gone))
        (tmp_path / "go").touch()
        code = proc.wait(timeout=180)
    except (AssertionError, subprocess.TimeoutExpired):
        proc.kill()
        raise
    finally:
        if lab.exporter is None:
            lab.start_exporter()
    log = (tmp_path / "session.log").read_text()
    assert code == 1, log
    results = _results(tmp_path / "allure")
    assert results["test_first"]["status"] == "passed", log
    second = results["test_second"]
    assert second["status"] in ("failed", "broken"), second
    details = second["statusDetails"]
    assert isinstance(details, dict)
    message = str(details.get("message", ""))
    assert "labgrid place lg-g0 is unavailable" in message, message
    assert f"exporter {EXPORTER} offline" in message, message
    assert classify(message, str(details.get("trace", ""))) == "Infrastructure errors"
    # the session ended anyway: the place is free for the next one
    client = lab.client()
    try:
        deadline = time.monotonic() + 30
        while (view := client.place("lg-g0")) is not None and view.acquired:
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
    finally:
        client.close()
