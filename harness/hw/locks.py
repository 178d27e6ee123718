"""Cross-process board locks and pools, so xdist workers (or two people) never share a board and
take turns fairly.

One lock file per board under a lock directory (default ~/.cache/stm32-hil/locks, or
$HIL_LOCK_DIR). The OS lock (filelock) is what excludes. Who may try it is decided by a ticket
queue next to it (`<board or pool>.queue`, guarded by its own filelock): a process that wants a
board appends a ticket and only tries the board's lock while its ticket is first, so a worker
that releases a board and asks again queues behind the one already waiting (first come, first
served) instead of winning every race. A pool is one queue in front of several identical boards:
the first ticket takes whichever board is free.

A `.holder` file next to each lock records who holds it (host, pid, test id, since when), so a
waiter can say whom it waits for and a timeout can name the process to wait for or stop.
Tickets of processes that died are dropped: on this host by pid, from other hosts when their
waiter stops refreshing them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import filelock

from stm32_hil.errors import TargetError
from stm32_hil.processes import pid_alive
from stm32_hil.settings import env_seconds

ENV_LOCK_DIR = "HIL_LOCK_DIR"
ENV_TIMEOUT = "HIL_BOARD_TIMEOUT"
DEFAULT_LOCK_DIR = Path.home() / ".cache" / "stm32-hil" / "locks"
DEFAULT_TIMEOUT_S = 60.0
POLL_S = 0.05  # how often a waiter looks at the queue
NOTICE_AFTER_S = 2.0  # first "waiting for" line after this long
NOTICE_EVERY_S = 10.0  # then one line per this interval
STALE_S = 30.0  # a ticket not refreshed for this long belongs to a waiter that is gone

Reporter = Callable[[str], None]


class BoardBusyError(TargetError):
    """Another process holds the board (every board of the pool) beyond the wait budget."""


def lock_dir() -> Path:
    return Path(os.environ.get(ENV_LOCK_DIR) or DEFAULT_LOCK_DIR)


def default_timeout_s() -> float:
    """$HIL_BOARD_TIMEOUT seconds, else 60."""
    return env_seconds(ENV_TIMEOUT, DEFAULT_TIMEOUT_S, TargetError, zero_ok=True, example="120")


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


_reporter: Reporter = _stderr


def set_wait_reporter(reporter: Reporter | None) -> Reporter:
    """Where "waiting for board ..." lines go (stderr by default); returns the previous one.

    The pytest plugin routes them past output capture, so they reach the terminal.
    """
    global _reporter
    previous = _reporter
    _reporter = reporter or _stderr
    return previous


def report_wait(message: str) -> None:
    """Say something about a wait where board waits are reported (see `set_wait_reporter`)."""
    _reporter(message)


def _file_stem(key: str) -> str:
    """A file name for any board, probe or pool key ("sim:nucleo-g071rb", "remote:host:5555")."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


@dataclass(frozen=True)
class Holder:
    """Who holds a board, or waits for one."""

    host: str
    pid: int
    owner: str  # the test id (pytest node id), or the program
    since: float  # time.time() of acquisition

    @classmethod
    def me(cls, owner: str | None) -> Holder:
        return cls(socket.gethostname(), os.getpid(), owner or _program(), time.time())

    def describe(self) -> str:
        held = max(0.0, time.time() - self.since)
        return f"{self.owner} (pid {self.pid} on {self.host}, for {held:.0f} s)"


def _program() -> str:
    return " ".join(os.path.basename(a) for a in sys.argv[:2]) or "python"


def _alive(host: str, pid: int) -> bool:
    if host != socket.gethostname():
        return True  # cannot tell; staleness decides
    return pid_alive(pid)


class BoardLock:
    """An exclusive lock on one board, held until `release()`; waiters take turns in order."""

    def __init__(
        self,
        key: str,
        *,
        directory: Path | None = None,
        timeout_s: float | None = None,
        owner: str | None = None,
    ) -> None:
        self.key = key
        self.directory = Path(directory) if directory is not None else lock_dir()
        self.timeout_s = default_timeout_s() if timeout_s is None else timeout_s
        self.owner = owner
        stem = _file_stem(key)
        self.path = self.directory / f"{stem}.lock"
        self.holder_path = self.directory / f"{stem}.holder"
        # Not thread-local: a Target may be closed (and its board released) by another thread.
        self._lock = filelock.FileLock(str(self.path), thread_local=False)

    @property
    def is_held(self) -> bool:
        return bool(self._lock.is_locked)

    def current_holder(self) -> Holder | None:
        """Who holds (or last held) the lock, as recorded in the holder file."""
        try:
            data = json.loads(self.holder_path.read_text())
            return Holder(str(data["host"]), int(data["pid"]), str(data["owner"]),
                          float(data["since"]))  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def holder(self) -> str:
        found = self.current_holder()
        return found.describe() if found is not None else "unknown"

    def try_acquire(self, owner: str | None = None) -> bool:
        """Take the OS lock if it is free right now (no queue): for `acquire` and pools."""
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        me = Holder.me(owner or self.owner)
        self.holder_path.write_text(json.dumps(asdict(me)) + "\n")
        return True

    def acquire(self) -> BoardLock:
        return acquire_fair(self.key, [self], self.timeout_s, self.owner, self.directory)

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> BoardLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class BoardPool:
    """Interchangeable boards behind one queue: `acquire()` returns the lock of a free one."""

    def __init__(
        self,
        name: str,
        keys: Sequence[str],
        *,
        directory: Path | None = None,
        timeout_s: float | None = None,
        owner: str | None = None,
    ) -> None:
        if not keys:
            raise TargetError(f"board pool {name!r} has no boards")
        self.name = name
        self.directory = Path(directory) if directory is not None else lock_dir()
        self.timeout_s = default_timeout_s() if timeout_s is None else timeout_s
        self.owner = owner
        self.locks = [BoardLock(k, directory=self.directory, owner=owner) for k in keys]

    def acquire(self) -> BoardLock:
        return acquire_fair(
            f"pool-{self.name}", self.locks, self.timeout_s, self.owner, self.directory,
            what=f"pool {self.name!r}",
        )  # fmt: skip


# -- the ticket queue ---------------------------------------------------------------------------


class _Queue:
    """The ticket file of one board or pool; every method runs under its filelock."""

    def __init__(self, directory: Path, name: str) -> None:
        stem = _file_stem(name)
        self.path = directory / f"{stem}.queue"
        self.guard = filelock.FileLock(str(directory / f"{stem}.queue.lock"))

    @contextlib.contextmanager
    def tickets(self) -> Iterator[list[dict[str, Any]]]:
        """The live tickets, oldest first; changes to the list are written back."""
        with self.guard:
            try:
                tickets = json.loads(self.path.read_text() or "[]")
            except (OSError, ValueError):
                tickets = []
            live = [t for t in tickets if _live_ticket(t)] if isinstance(tickets, list) else []
            yield live
            tmp = self.path.with_suffix(".queue.tmp")
            tmp.write_text(json.dumps(live))
            tmp.replace(self.path)


def _live_ticket(ticket: Any) -> bool:
    """A well-formed ticket whose waiter is still there (a damaged queue file heals itself)."""
    try:
        fresh = time.time() - float(ticket["seen"]) < STALE_S
        return fresh and bool(ticket["id"]) and _alive(str(ticket["host"]), int(ticket["pid"]))
    except (KeyError, TypeError, ValueError):
        return False


def acquire_fair(
    queue_name: str,
    locks: Sequence[BoardLock],
    timeout_s: float,
    owner: str | None,
    directory: Path,
    *,
    what: str | None = None,
) -> BoardLock:
    """Queue for `locks` (one board, or a pool's boards) and return the first that comes free.

    Raises BoardBusyError naming the holders after `timeout_s`.
    """
    label = what or f"board {queue_name!r}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TargetError(
            f"cannot create lock directory {directory}: {exc.strerror}",
            hint=f"set {ENV_LOCK_DIR} to a writable directory",
        ) from None
    queue = _Queue(directory, queue_name)
    me = Holder.me(owner)
    ticket: dict[str, Any] = {**asdict(me), "id": uuid.uuid4().hex, "seen": me.since}
    got: BoardLock | None = None
    with queue.tickets() as tickets:
        if not tickets:  # nobody waiting: take a free board without queueing
            got = next((lk for lk in locks if lk.try_acquire(owner)), None)
        if got is None:
            tickets.append(ticket)
    if got is not None:
        return got
    start = time.monotonic()
    next_notice = NOTICE_AFTER_S
    try:
        while True:
            with queue.tickets() as tickets:
                mine = next((t for t in tickets if t["id"] == ticket["id"]), None)
                if mine is None:  # dropped while this process was stopped: queue again
                    tickets.append(ticket)
                    mine = ticket
                mine["seen"] = time.time()
                ahead = tickets.index(mine)
                if ahead == 0:
                    got = next((lk for lk in locks if lk.try_acquire(owner)), None)
                    if got is not None:
                        tickets.remove(mine)
                        break
            waited = time.monotonic() - start
            holders = "; ".join(f"{lk.key} held by {lk.holder()}" for lk in locks)
            if waited >= timeout_s:
                raise BoardBusyError(
                    f"{label} is busy: {holders}; waited {waited:.0f} s"
                    + (f" with {ahead} waiter(s) ahead" if ahead else ""),
                    hint="wait for that test to finish, stop that process, raise "
                    f"{ENV_TIMEOUT} (now {timeout_s:g} s) or pick another board",
                )
            if waited >= next_notice:
                _reporter(
                    f"[stm32-hil] {me.owner}: waiting {waited:.0f} s for {label}: {holders}"
                    + (f"; {ahead} waiter(s) ahead" if ahead else "")
                )
                next_notice += NOTICE_EVERY_S
            time.sleep(POLL_S)
    finally:
        if got is None:
            with queue.tickets() as tickets:
                tickets[:] = [t for t in tickets if t["id"] != ticket["id"]]
    waited = time.monotonic() - start
    if waited >= NOTICE_AFTER_S:
        _reporter(f"[stm32-hil] {me.owner}: got {got.key} after waiting {waited:.0f} s")
    return got
