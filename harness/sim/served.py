"""Served simulated boards: the per-user record other processes find them by, and their clock.

`hil sim serve --board B` keeps one board alive for every client. Other processes (pyOCD's
`sim:B` probe, `hil --board B`, GDB through the served gdbserver) must reach that very object,
not build a fresh one, so the serving process advertises where its debug port listens in a
small JSON file under the user's runtime directory. A record whose process has gone is stale
and ignored (and removed), so a crashed server never redirects clients to nothing.

A served board also has to behave like a board on a bench: time passes while nobody talks to
it. `RealTime` lets virtual time follow the wall clock (scaled by `speed`) in short slices
under the board's `BoardGate`, which gives clients priority over the clock so that a debugger's
transfers are never queued behind a long stretch of simulation.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stm32_hil.errors import ConfigError
from stm32_hil.processes import pid_alive

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

RUNTIME_ENV = "HIL_RUNTIME_DIR"  # overrides where served-board records live (tests, CI)


def runtime_dir() -> Path:
    """Where this user's served-board records live (private to the user, 0700)."""
    base = os.environ.get(RUNTIME_ENV)
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        root = Path(xdg) if xdg and Path(xdg).is_dir() else Path(tempfile.gettempdir())
        path = root / f"stm32-hil-{os.getuid()}" / "served"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@dataclass(frozen=True)
class ServedRecord:
    """What a client needs to reach a served board."""

    board: str
    part: str
    pid: int
    probe_host: str
    probe_port: int
    uart: str | None = None
    gdb_port: int | None = None
    power_port: int | None = None  # HTTP power switch (labgrid simplerest), see power_switch
    speed: float = 1.0

    @property
    def probe_address(self) -> str:
        host = f"[{self.probe_host}]" if ":" in self.probe_host else self.probe_host
        return f"{host}:{self.probe_port}"

    def describe(self) -> str:
        return f"served board {self.board} (pid {self.pid})"


def _record_path(board: str) -> Path:
    if not board or "/" in board or board.startswith("."):
        raise ConfigError(f"bad board name {board!r} for a served board")
    return runtime_dir() / f"{board}.json"


def advertise(record: ServedRecord) -> Path:
    """Publish `record` (atomically: a reader never sees half a file)."""
    path = _record_path(record.board)
    existing = lookup(record.board)
    if existing is not None and existing.pid != record.pid:
        raise ConfigError(
            f"board {record.board} is already served by pid {existing.pid}",
            hint=f"stop that server (kill {existing.pid}) or use its ports: "
            f"probe {existing.probe_address}"
            + (f", UART {existing.uart}" if existing.uart else ""),
        )
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(record)))
    tmp.replace(path)
    return path


def withdraw(board: str, pid: int | None = None) -> None:
    """Remove the record of `board` if it is this process's (or `pid`'s)."""
    path = _record_path(board)
    current = _read(path)
    if current is not None and current.pid == (pid if pid is not None else os.getpid()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _read(path: Path) -> ServedRecord | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return ServedRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def lookup(board: str) -> ServedRecord | None:
    """The live record of a served `board`, or None (stale records are removed)."""
    try:
        path = _record_path(board)
    except ConfigError:
        return None
    record = _read(path)
    if record is None:
        return None
    if not pid_alive(record.pid):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None
    return record


def lookup_elsewhere(board: str) -> ServedRecord | None:
    """A served `board` in another process (the serving process uses its own object)."""
    record = lookup(board)
    return record if record is not None and record.pid != os.getpid() else None


def served_boards() -> list[ServedRecord]:
    out = []
    for path in sorted(runtime_dir().glob("*.json")):
        record = lookup(path.stem)
        if record is not None:
            out.append(record)
    return out


class BoardGate:
    """The one lock around a served board, with clients ahead of the clock.

    A context manager (and re-entrant), so it can stand in for a probe's mutex. `pending`
    counts threads waiting for it; `RealTime` yields while any is.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._count_lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        return self._pending

    def __enter__(self) -> BoardGate:
        with self._count_lock:
            self._pending += 1
        self._lock.acquire()
        with self._count_lock:
            self._pending -= 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def acquire(self) -> bool:
        self.__enter__()
        return True

    def release(self) -> None:
        self._lock.release()

    @contextlib.contextmanager
    def clock_slice(self, force: bool = False) -> Iterator[bool]:
        """Held for one slice of the clock; yields False (run nothing) if a client waits,
        unless `force` (a clock starved by a client that never stops polling)."""
        if self._pending and not force:
            yield False
            return
        with self._lock:
            yield force or not self._pending


def _locked(gate: BoardGate, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        with gate:
            return fn(*args, **kwargs)

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


def guard(board: SimBoard, gate: BoardGate) -> None:
    """Route the board's entry points used by UART servers through `gate`.

    The debug probe and the pty pump hold the gate for whole transactions; these per-call
    guards cover the rest (a TCP UART client's port, a reset), so that the core never runs
    in two threads at once.
    """
    for name in ("run", "set_pin", "reset", "read", "write"):
        setattr(board, name, _locked(gate, getattr(board, name)))
    usart = board.usart(None)
    for name in ("host_read", "host_write"):
        if hasattr(usart, name):
            setattr(usart, name, _locked(gate, getattr(usart, name)))


CATCH_UP_S = 0.05  # most virtual time the clock makes up at once; beyond, the board loses time
SLICE_S = 0.0005  # virtual time run per gate hold, so clients wait at most one slice
PERIOD_S = 0.002  # how often the clock wakes up
# A debugger waiting for the core (pyOCD polls DHCSR without pause while a flash algorithm runs)
# always has a transfer pending: past STARVE_S without a slice, the clock takes the gate anyway
# and runs for up to HOLD_S of wall time, so time still passes at most of the wall clock's pace.
STARVE_S = 0.005
HOLD_S = 0.02


class RealTime(threading.Thread):
    """Virtual time follows the wall clock, `speed` virtual seconds per real second.

    The clock never runs a board backwards or twice: clients that advanced the board
    themselves (a UART reply, a debug transfer) have used up that time already (the clock goes
    on from where they left it), and a host too
    slow to keep up drops time (at most `CATCH_UP_S` is made up) instead of stalling clients.
    The core runs if it is running; halted, only the peripherals' scheduled events pass, as
    the flash controller's erase goes on while a debugger holds the core.
    """

    def __init__(self, board: SimBoard, gate: BoardGate, speed: float = 1.0) -> None:
        super().__init__(name=f"sim-clock-{board.name}", daemon=True)
        if not speed >= 0:
            raise ConfigError(f"--speed {speed}: must be 0 (virtual time only) or positive")
        self.board = board
        self.gate = gate
        self.speed = speed
        self._stop_event = threading.Event()
        run = board.run
        self._run: Callable[[int], None] = getattr(run, "__wrapped__", run)

    def run(self) -> None:
        if self.speed == 0:
            return
        clock = self.board.clock
        hz = clock.hz
        wall0, virt0 = time.perf_counter(), clock.now
        slice_cycles = max(1, int(SLICE_S * hz))
        catch_up = int(CATCH_UP_S * hz)
        last_slice = time.perf_counter()
        while not self._stop_event.wait(PERIOD_S):
            now = time.perf_counter()
            target = virt0 + int((now - wall0) * self.speed * hz)
            force = now - last_slice > STARVE_S
            held_until = now + HOLD_S
            while not self._stop_event.is_set():
                with self.gate.clock_slice(force) as may_run:
                    if not may_run:
                        break
                    behind = target - clock.now
                    if behind > catch_up:  # too far behind: drop the excess
                        virt0 += behind - catch_up
                        target -= behind - catch_up
                        behind = catch_up
                    if behind <= 0:  # clients ran the board ahead: continue from there
                        virt0 -= behind
                        last_slice = time.perf_counter()
                        break
                    self._run(min(behind, slice_cycles))
                    last_slice = time.perf_counter()
                    if force and last_slice > held_until:
                        break

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=5)


__all__ = [
    "BoardGate",
    "RealTime",
    "ServedRecord",
    "advertise",
    "guard",
    "lookup",
    "lookup_elsewhere",
    "runtime_dir",
    "served_boards",
    "withdraw",
]
