"""A labgrid lab on loopback: coordinator, two served simulated boards, an exporter, places.

Started once for the directory: `labgrid-coordinator` on a free port, `hil sim serve` for a G0
and an H7 board (UART over RFC 2217 with DTR/RTS wired to BOOT0/NRST, pyOCD probe server, an
HTTP power switch labgrid's simplerest power driver drives),
their exporter configuration from `hil labgrid exporter-config`, `labgrid-exporter`, and one
place per board. Tests drive it through `hil` in other processes, as a team would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stm32_hil.labgrid.client import Coordinator

HIL = [sys.executable, "-c", "from stm32_hil.cli.main import main; main()"]
START_S = 60.0
EXPORTER = "bench"
# place -> (served board, inventory entry without its first line)
BOARDS = {
    "lg-g0": (
        "nucleo-g071rb",
        'part = "STM32G071RB"\nuart = { peripheral = "USART2" }',
    ),
    "lg-h7": (
        "stm32h750b-dk",
        'part = "STM32H750XB"\nuart = { peripheral = "USART1" }\n'
        'external_flash = [{ chip = "MT25TL01G", bus = "QUADSPI", bank = 1, chips = 2 }]',
    ),
}


def require(tool: str) -> str:
    """An external tool's path; missing fails under CI=true (ci/setup.sh installs labgrid)."""
    # next to this interpreter first: pip puts labgrid's scripts there, on PATH or not
    beside = Path(sys.executable).parent / tool
    path = str(beside) if beside.is_file() else shutil.which(tool)
    if path is not None:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{tool} is required in CI but is not installed (pip install labgrid)")
    pytest.skip(f"{tool} not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: object, timeout_s: float = START_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Lab:
    root: Path
    env: dict[str, str]
    coordinator: str
    inventory: Path
    exporter_config: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    exporter: subprocess.Popen[str] | None = None

    def run(
        self, *argv: str, cwd: Path | None = None, timeout: float = 300, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or self.root,
            env=dict(self.env, **env),
        )

    def hil(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run(*HIL, *args, **kw)  # type: ignore[arg-type]

    def popen_hil(self, *args: str, log: Path, cwd: Path | None = None) -> subprocess.Popen[str]:
        with log.open("w") as out:
            return subprocess.Popen(
                [*HIL, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=cwd or self.root,
                env=self.env,
            )

    def client(self) -> Coordinator:
        return Coordinator(self.coordinator)

    def resources(self) -> dict[str, bool]:
        client = self.client()
        try:
            return client.resources()
        finally:
            client.close()

    def start_exporter(self) -> None:
        exporter = require("labgrid-exporter")
        log = (self.root / "exporter.log").open("a")
        self.exporter = subprocess.Popen(
            [
                exporter,
                "-c",
                self.coordinator,
                "-n",
                EXPORTER,
                "--hostname",
                "127.0.0.1",
                str(self.exporter_config),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.root,
            env=self.env,
        )
        want = {f"{EXPORTER}/{board}/NetworkSerialPort/uart" for board, _ in BOARDS.values()}
        wait_until(
            "the exporter's resources",
            lambda: want <= {k for k, v in self.resources().items() if v},
        )

    def stop_exporter(self) -> None:
        if self.exporter is not None:
            stop(self.exporter)
            self.exporter = None


def _serve(board: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[str], str]:
    with log.open("w") as err:
        proc = subprocess.Popen(
            [
                *HIL,
                "sim",
                "serve",
                "--board",
                board,
                "--rfc2217",
                "127.0.0.1:0",
                "--dtr-rts-pins",
                "--power-port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip() for _ in range(3)]
    if not lines[1].startswith(f"debug probe: sim:{board}") or "power switch" not in lines[2]:
        stop(proc)
        raise AssertionError(f"hil sim serve {board}: {lines} {log.read_text()}")
    return proc, lines[0]


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        import labgrid  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("labgrid is required in CI but is not installed (pip install labgrid)")
        pytest.skip("labgrid not installed")
    coordinator_bin = require("labgrid-coordinator")
    root = tmp_path_factory.mktemp("lab")
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = dict(
        os.environ,
        HIL_RUNTIME_DIR=str(root / "runtime"),
        HIL_LOCK_DIR=str(root / "locks"),
        LG_COORDINATOR=address,
    )
    env.pop("HIL_INVENTORY", None)
    inventory = root / "lab.toml"
    inventory.write_text(
        "".join(
            f'[boards.{place}]\nbackend = "labgrid"\nplace = "{place}"\n'
            f'coordinator = "{address}"\npins = {{ boot0 = "dtr", nrst = "rts" }}\n{entry}\n\n'
            for place, (_, entry) in BOARDS.items()
        )
    )
    lab = Lab(root, env, address, inventory, root / "exporter.yaml")
    try:
        with (root / "coordinator.log").open("w") as log:
            lab.procs.append(
                subprocess.Popen(
                    [coordinator_bin, "-l", address],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd=root,
                )
            )
        for board, _ in BOARDS.values():
            proc, _uart = _serve(board, env, root / f"serve-{board}.log")
            lab.procs.append(proc)
        r = lab.hil(
            "labgrid",
            "exporter-config",
            *(a for b, _ in BOARDS.values() for a in ("--board", b)),
            "-o",
            str(lab.exporter_config),
        )
        assert r.returncode == 0, r.stdout + r.stderr
        lab.start_exporter()
        client = lab.client()
        try:
            for place, (board, _) in BOARDS.items():
                client.create_place(place, f"{EXPORTER}/{board}/*")
        finally:
            client.close()
        yield lab
    finally:
        lab.stop_exporter()
        for proc in reversed(lab.procs):
            with contextlib.suppress(Exception):
                stop(proc)
