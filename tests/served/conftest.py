"""A board served by `hil sim serve` in its own process, and the tools that talk to it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HIL = [sys.executable, "-c", "from stm32_hil.cli.main import main; main()"]
PYOCD = [sys.executable, "-m", "pyocd"]
START_S = 60.0


def require(tool: str) -> str:
    """The path of an external tool; missing fails under CI=true (CI installs it), else skips."""
    path = shutil.which(tool)
    if path is not None:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is required in CI but is not installed (ci/setup.sh installs it)")
    pytest.skip(f"{tool} not installed")


@dataclass
class Served:
    """A running `hil sim serve`: its UART path, printed lines and the clients' environment."""

    board: str
    proc: subprocess.Popen[str]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    @property
    def uart(self) -> str:
        return self.lines[0]

    @property
    def gdb_port(self) -> int:
        for line in self.lines:
            if line.startswith("gdb: "):
                return int(line.rsplit(":", 1)[1])
        raise AssertionError(f"no gdb line in {self.lines}")

    def run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Another process, as a user would start it next to the server."""
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env=self.env
        )

    def hil(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run(*HIL, *args, timeout=timeout)

    def pyocd(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run(*PYOCD, *args, timeout=timeout)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `hil sim serve --board B --pty ARGS...`; stopped (SIGTERM) at teardown."""
    env = dict(os.environ, HIL_RUNTIME_DIR=str(tmp_path / "runtime"))
    started: list[Served] = []

    def start(board: str, *args: str) -> Served:
        # stderr to a file: a pipe nobody drains would stall the server once full
        log = tmp_path / f"serve-{len(started)}.log"
        with log.open("w") as err_file:
            proc = subprocess.Popen(
                [*HIL, "sim", "serve", "--board", board, "--pty", *args],
                stdout=subprocess.PIPE,
                stderr=err_file,
                text=True,
                env=env,
            )
        served = Served(board, proc, env)
        started.append(served)
        assert proc.stdout is not None
        want = 3 if "--gdb" in args else 2
        deadline = time.monotonic() + START_S
        while len(served.lines) < want and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                proc.wait(timeout=10)
                raise AssertionError(f"hil sim serve exited ({proc.returncode}): {log.read_text()}")
            served.lines.append(line.strip())
        assert served.lines[1].startswith(f"debug probe: sim:{board}")
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.send_signal(signal.SIGTERM)
            try:
                served.proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                served.proc.kill()
                served.proc.communicate()


def random_image(size: int, seed: int) -> bytes:
    """Seeded random bytes: no period shorter than the image, so a misplaced chunk shows."""
    import random

    return random.Random(seed).randbytes(size)
