"""A pool of places: each session gets a different free place, a third waits in labgrid's queue
and gets the place of the first to end; Ctrl-C and SIGTERM release what a session holds."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import Lab, stop, wait_until

HOLDER = """
import os, sys, time
from stm32_hil.inventory import Inventory
from stm32_hil.labgrid.hold import hold

inventory = Inventory.load(os.environ["POOL_INVENTORY"])
spec = inventory.get("twin-a")
held = hold(spec, inventory.select(["twins"]), owner=sys.argv[1])
print("HELD", held.place, flush=True)
time.sleep(float(sys.argv[2]))
"""
PLACES = ("twin-place-1", "twin-place-2")


def _inventory(lab: Lab, path: Path) -> Path:
    path.write_text(
        "".join(
            f'[boards.twin-{x}]\npart = "STM32G071RB"\nbackend = "labgrid"\nplace = "{place}"\n'
            f'coordinator = "{lab.coordinator}"\npool = "twins"\n\n'
            for x, place in zip("ab", PLACES)
        )
    )
    return path


def _holder(
    lab: Lab, name: str, seconds: float, log: Path, started: list[subprocess.Popen[str]]
) -> subprocess.Popen[str]:
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, name, str(seconds)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=lab.env,
        )
    started.append(proc)
    return proc


def _held(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line[:1] == ["HELD"], line
    return line[1]


def test_pool_shares_places_fairly_and_releases_on_signals(lab: Lab, tmp_path: Path) -> None:
    client = lab.client()
    started: list[subprocess.Popen[str]] = []
    try:
        for place in PLACES:
            client.create_place(place)
        lab.env["POOL_INVENTORY"] = str(_inventory(lab, tmp_path / "pool.toml"))
        first = _holder(lab, "first", 60, tmp_path / "first.log", started)
        got_first = _held(first)
        second = _holder(lab, "second", 60, tmp_path / "second.log", started)
        got_second = _held(second)
        assert {got_first, got_second} == set(PLACES)
        shown = lab.hil("boards", "--inventory", lab.env["POOL_INVENTORY"], COLUMNS="200")
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.count(": acquired by ") == 2, shown.stdout  # "twin-place-1: acq..."
        third = _holder(lab, "third", 0, tmp_path / "third.log", started)
        wait_until(
            "the third session to queue",
            lambda: any(r.state == "waiting" for r in client.reservations()),
        )
        time.sleep(2.5)  # past its first "waiting for" notice
        first.send_signal(signal.SIGINT)  # Ctrl-C: the first session ends, its place freed
        assert first.wait(timeout=30) != 0
        assert _held(third) == got_first
        assert third.wait(timeout=30) == 0
        log = (tmp_path / "third.log").read_text()
        assert "third: waiting" in log and "for labgrid place pool:twins" in log, log
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

        def all_free() -> bool:
            places = client.places()
            return all(places[p].state == "free" for p in PLACES)

        wait_until("every place to be free", all_free, 30)
        assert not [r for r in client.reservations() if r.state != "expired"]
        tags = {name: view.tags for name, view in client.places().items()}
        assert all(tags[p].get("hil_pool") == "twins" for p in PLACES), tags
    finally:
        for proc in started:
            stop(proc)
        client.close()
