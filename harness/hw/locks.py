"""Cross-process board locks, so two pytest-xdist workers (or two people) never share a board.

One lock file per board under a lock directory (default ~/.cache/stm32-hil/locks, or
$HIL_LOCK_DIR). The OS lock (filelock) is what excludes; a sidecar `.holder` file records who
holds it, so the error on a timeout can name the process to wait for or stop.
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import filelock

from stm32_hil.errors import TargetError

ENV_LOCK_DIR = "HIL_LOCK_DIR"
DEFAULT_LOCK_DIR = Path.home() / ".cache" / "stm32-hil" / "locks"
DEFAULT_TIMEOUT_S = 60.0


class BoardBusyError(TargetError):
    """Another process holds the board's lock beyond the wait budget."""


def lock_dir() -> Path:
    return Path(os.environ.get(ENV_LOCK_DIR) or DEFAULT_LOCK_DIR)


def _file_stem(key: str) -> str:
    """A file name for any board or probe key ("sim:nucleo-g071rb", "remote:host:5555")."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


class BoardLock:
    """An exclusive, re-entrant-per-object lock on one board, held until `release()`."""

    def __init__(
        self, key: str, *, directory: Path | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.key = key
        self.directory = Path(directory) if directory is not None else lock_dir()
        self.timeout_s = timeout_s
        stem = _file_stem(key)
        self.path = self.directory / f"{stem}.lock"
        self.holder_path = self.directory / f"{stem}.holder"
        self._lock = filelock.FileLock(str(self.path))

    @property
    def is_held(self) -> bool:
        return bool(self._lock.is_locked)

    def holder(self) -> str:
        """Who holds (or last held) the lock, as recorded in the holder file."""
        try:
            return self.holder_path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self) -> BoardLock:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(
                f"cannot create lock directory {self.directory}: {exc.strerror}",
                hint=f"set {ENV_LOCK_DIR} to a writable directory",
            ) from None
        try:
            self._lock.acquire(timeout=self.timeout_s)
        except filelock.Timeout:
            raise BoardBusyError(
                f"board {self.key!r} is in use by {self.holder()} "
                f"(waited {self.timeout_s:g} s for {self.path})",
                hint="wait for that process to finish, stop it, or pick another board",
            ) from None
        self.holder_path.write_text(
            f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}\n"
        )
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> BoardLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
