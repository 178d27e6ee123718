"""Board locks and pools: first come, first served, waits announced, timeouts name the holder.

The last tests run pytest with two xdist workers against pyOCD-backend boards behind the
simulated SWD probe, as a team with one (or two) bench boards would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stm32_hil.hw import locks
from stm32_hil.hw.locks import BoardBusyError, BoardLock, BoardPool
from stm32_hil.inventory import Inventory, collapse_pools


def _wait_for(predicate: object, what: str, limit_s: float = 20.0) -> None:
    """Poll a condition another thread brings about (a bound, not a speed assertion)."""
    deadline = time.monotonic() + limit_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


def _queued(directory: Path, name: str) -> list[str]:
    path = directory / f"{name}.queue"
    try:
        return [t["owner"] for t in json.loads(path.read_text() or "[]")]
    except (OSError, ValueError):
        return []


@pytest.fixture
def reports() -> Iterator[list[str]]:
    got: list[str] = []
    previous = locks.set_wait_reporter(got.append)
    yield got
    locks.set_wait_reporter(previous)


def test_waiters_are_served_in_arrival_order(tmp_path: Path) -> None:
    """The holder releases and asks again at once; it queues behind the two already waiting."""
    order: list[str] = []
    holder = BoardLock("board-1", directory=tmp_path, owner="first", timeout_s=30).acquire()

    def take(owner: str, hold_s: float) -> None:
        with BoardLock("board-1", directory=tmp_path, owner=owner, timeout_s=30):
            order.append(owner)
            time.sleep(hold_s)

    b = threading.Thread(target=take, args=("second", 0.2))
    b.start()
    _wait_for(lambda: _queued(tmp_path, "board-1") == ["second"], "second queued")
    c = threading.Thread(target=take, args=("third", 0.0))
    c.start()
    _wait_for(lambda: _queued(tmp_path, "board-1") == ["second", "third"], "third queued")
    holder.release()
    take("first-again", 0.0)
    b.join(30)
    c.join(30)
    assert order == ["second", "third", "first-again"]
    assert _queued(tmp_path, "board-1") == []


def test_timeout_names_host_pid_and_test(tmp_path: Path) -> None:
    owner = "suites/platform/test_identity.py::test_uid[bench-g071]"
    holder = BoardLock("sim:bench", directory=tmp_path, owner=owner, timeout_s=30)
    with holder, pytest.raises(BoardBusyError) as err:
        BoardLock("sim:bench", directory=tmp_path, owner="other", timeout_s=0.3).acquire()
    text = str(err.value)
    assert owner in text
    assert f"pid {os.getpid()} on {socket.gethostname()}" in text
    assert "board 'sim:bench' is busy" in text and locks.ENV_TIMEOUT in text
    assert _queued(tmp_path, "sim_bench") == []  # the timed-out ticket is withdrawn


def test_waiting_is_announced_with_holder_and_time(
    tmp_path: Path, reports: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locks, "NOTICE_AFTER_S", 0.1)
    held = BoardLock("b", directory=tmp_path, owner="test_holder", timeout_s=30).acquire()
    timer = threading.Timer(0.6, held.release)
    timer.start()
    try:
        BoardLock("b", directory=tmp_path, owner="test_waiter", timeout_s=30).acquire().release()
    finally:
        timer.cancel()
    assert reports and reports[0].startswith("[stm32-hil] test_waiter: waiting 0 s for board 'b'")
    assert f"b held by test_holder (pid {os.getpid()}" in reports[0]
    assert reports[-1].startswith("[stm32-hil] test_waiter: got b after waiting")


def test_pool_takes_any_free_board_and_names_every_holder(tmp_path: Path) -> None:
    keys = ["sim:a", "sim:b"]
    first = BoardPool("g0", keys, directory=tmp_path, owner="t1", timeout_s=5).acquire()
    second = BoardPool("g0", keys, directory=tmp_path, owner="t2", timeout_s=5).acquire()
    assert {first.key, second.key} == set(keys)
    with pytest.raises(BoardBusyError) as err:
        BoardPool("g0", keys, directory=tmp_path, owner="t3", timeout_s=0.3).acquire()
    assert "pool 'g0' is busy" in str(err.value)
    assert "held by t1" in str(err.value) and "held by t2" in str(err.value)
    second.release()
    third = BoardPool("g0", keys, directory=tmp_path, owner="t3", timeout_s=5).acquire()
    assert third.key == second.key
    first.release()
    third.release()


def test_ticket_of_a_dead_process_is_dropped(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = {"host": socket.gethostname(), "pid": int(dead.stdout), "owner": "crashed",
             "since": time.time(), "seen": time.time(), "id": "x"}  # fmt: skip
    tmp_path.joinpath("b.queue").write_text(json.dumps([stale]))
    lock = BoardLock("b", directory=tmp_path, owner="me", timeout_s=2).acquire()
    assert lock.is_held
    lock.release()


def test_damaged_queue_file_heals(tmp_path: Path) -> None:
    tmp_path.joinpath("b.queue").write_text('[{"owner": "no id"}, 5, {"id": "y", "seen": "x"}]')
    BoardLock("b", directory=tmp_path, owner="me", timeout_s=2).acquire().release()
    tmp_path.joinpath("b.queue").write_text("not json")
    BoardLock("b", directory=tmp_path, owner="me", timeout_s=2).acquire().release()
    assert _queued(tmp_path, "b") == []


def test_pool_boards_collapse_to_one_test_per_pool(tmp_path: Path) -> None:
    p = tmp_path / "boards.toml"
    p.write_text(POOL_INVENTORY)
    inv = Inventory.load(p)
    selected, members = collapse_pools([inv.get(n) for n in inv.names("pyocd")])
    assert [s.name for s in selected] == ["g0-bench"]
    assert [m.name for m in members["g0-bench"]] == ["bench-a", "bench-b"]
    assert [s.name for s in inv.select(["g0-bench"])] == ["bench-a", "bench-b"]


# -- two xdist workers against pyOCD-backend boards ---------------------------------------------

SIM_BOARDS = """
[boards.g0-a]
part = "STM32G071RB"
[boards.g0-b]
part = "STM32G071RB"
"""
ONE_BOARD_INVENTORY = (
    SIM_BOARDS
    + """
[boards.bench-a]
part = "STM32G071RB"
backend = "pyocd"
probe = "sim:g0-a"
target_type = "cortex_m"
"""
)
POOL_INVENTORY = ONE_BOARD_INVENTORY.replace('target_type = "cortex_m"\n', 'target_type = '
    '"cortex_m"\npool = "g0-bench"\n') + """
[boards.bench-b]
part = "STM32G071RB"
backend = "pyocd"
probe = "sim:g0-b"
target_type = "cortex_m"
pool = "g0-bench"
"""  # fmt: skip

USER_TESTS = """
import os, random
import pytest

@pytest.mark.parametrize("seed", range(40))
def test_ram_round_trip(target, seed):
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(512))
    base = target.part.ram[0].base + 0x2000
    target.write_memory(base, data)
    assert target.read_memory(base, len(data)) == data
    assert target.identity().pid == target.part.pid
    with open(os.environ["BOARD_LOG"], "a") as log:
        log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {target.name}\\n")
"""


@pytest.mark.parametrize(
    ("inventory", "boards"),
    [(ONE_BOARD_INVENTORY, {"bench-a"}), (POOL_INVENTORY, {"bench-a", "bench-b"})],
    ids=["one-board", "pool-of-two"],
)
def test_two_xdist_workers_share_pyocd_boards(
    tmp_path: Path, inventory: str, boards: set[str]
) -> None:
    (tmp_path / "boards.toml").write_text(inventory)
    (tmp_path / "test_bench.py").write_text(textwrap.dedent(USER_TESTS))
    log = tmp_path / "boards.log"
    env = {
        **os.environ,
        "HIL_INVENTORY": str(tmp_path / "boards.toml"),  # the simulated probe's boards
        "HIL_LOCK_DIR": str(tmp_path / "locks"),
        "BOARD_LOG": str(log),
    }
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-n", "2",
         "--backend", "pyocd", "--inventory", str(tmp_path / "boards.toml"), "test_bench.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = r.stdout[-4000:] + r.stderr[-4000:]
    assert "40 passed" in r.stdout, output
    assert r.returncode == 0, output
    used = [line.split() for line in log.read_text().splitlines()]
    assert len(used) == 40, used
    assert {w for w, _ in used} == {"gw0", "gw1"}, used  # both workers used the board(s)
    assert {b for _, b in used} == boards, used


@pytest.mark.parametrize("workers", ["0", "2"], ids=["no-xdist", "xdist"])
def test_waiting_test_announces_the_holder_on_the_terminal(tmp_path: Path, workers: str) -> None:
    """The wait line goes to the session's stderr (the terminal) even though the test's own
    output is captured, under xdist too."""
    (tmp_path / "boards.toml").write_text(ONE_BOARD_INVENTORY)
    (tmp_path / "test_bench.py").write_text(
        "def test_one(target):\n    assert target.identity().pid == target.part.pid\n"
    )
    locks_dir = tmp_path / "locks"
    held = BoardLock("sim:g0-a", directory=locks_dir, owner="outer-holder").acquire()

    def release_once_waited() -> None:
        _wait_for(lambda: _queued(locks_dir, "sim_g0-a"), "the test queued", limit_s=120)
        time.sleep(2.5)  # past NOTICE_AFTER_S: the waiter has announced itself
        held.release()

    release = threading.Thread(target=release_once_waited, daemon=True)
    release.start()
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-n", workers,
             "--backend", "pyocd", "--inventory", str(tmp_path / "boards.toml"),
             "test_bench.py"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
            env={**os.environ, "HIL_INVENTORY": str(tmp_path / "boards.toml"),
                 "HIL_LOCK_DIR": str(tmp_path / "locks")},
        )  # fmt: skip
    finally:
        release.join(130)
        held.release()
    assert "1 passed" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert "[stm32-hil] test_bench.py::test_one[bench-a]: waiting 2 s for board 'sim:g0-a'" in (
        r.stderr
    ), r.stderr[-3000:]
    assert f"sim:g0-a held by outer-holder (pid {os.getpid()} on {socket.gethostname()}" in (
        r.stderr
    )
    assert "got sim:g0-a after waiting" in r.stderr
