"""Board locks exclude across processes; run under `-n 2` the two workers contend for real."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from stm32_hil.hw.locks import BoardBusyError, BoardLock

SHARED = Path(os.environ.get("HIL_CONTRACT_LOCK_TMP", "/tmp")) / "stm32-hil-contract-locks"


def _hold(
    directory: str, ready: multiprocessing.synchronize.Event, go: multiprocessing.synchronize.Event
) -> None:
    with BoardLock("sim:nucleo-g071rb", directory=Path(directory), timeout_s=5):
        ready.set()
        go.wait(10)


def test_busy_board_names_the_holder_pid(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path), ready, go))
    proc.start()
    try:
        assert ready.wait(30)
        with pytest.raises(BoardBusyError, match=f"pid {proc.pid}"):
            BoardLock("sim:nucleo-g071rb", directory=tmp_path, timeout_s=0.2).acquire()
    finally:
        go.set()
        proc.join(10)
    with BoardLock("sim:nucleo-g071rb", directory=tmp_path, timeout_s=5) as lock:
        assert lock.is_held


@pytest.mark.parametrize("round_", range(4))
def test_workers_never_share_a_board(round_: int) -> None:
    """Each holder appends enter/exit records; overlapping intervals would mean shared use."""
    SHARED.mkdir(parents=True, exist_ok=True)
    # One log per pytest run (xdist workers share the run uid), so old runs do not count.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"solo-{os.getpid()}")
    log = SHARED / f"intervals-{run}.log"
    with BoardLock("contract-shared-board", directory=SHARED, timeout_s=60):
        start = time.monotonic_ns()
        time.sleep(0.05)
        end = time.monotonic_ns()
        with log.open("a") as f:
            f.write(f"{os.getpid()} {start} {end}\n")
        records = sorted(
            tuple(int(x) for x in line.split()[1:]) for line in log.read_text().splitlines()
        )
    for (_, e1), (s2, _) in itertools.pairwise(records):
        assert s2 >= e1, "two holders of one board lock overlapped"
