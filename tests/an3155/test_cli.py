"""`hil an3155` against sim:// ports and `hil sim serve` as a separate process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import serial
from click.testing import CliRunner

from stm32_hil.an3155 import Bootloader
from stm32_hil.cli.an3155 import an3155
from stm32_hil.sim import live as registry
from stm32_hil.sim.board import SimBoard


def test_info_read_erase_over_sim_url(tmp_path: Path) -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    board.flash.array.data[0x800:0x900] = bytes(range(256))
    registry.register(board, "cli-g0")
    try:
        runner = CliRunner()
        r = runner.invoke(an3155, ["info", "--port", "sim://cli-g0"])
        assert r.exit_code == 0, r.output
        assert "0x460" in r.output and "(0x44)" in r.output
        out = tmp_path / "p1.bin"
        r = runner.invoke(
            an3155, ["read", "-p", "sim://cli-g0", "-a", "0x08000800", "-l", "256", str(out)]
        )
        assert r.exit_code == 0, r.output
        assert out.read_bytes() == bytes(range(256))
        r = runner.invoke(an3155, ["erase", "-p", "sim://cli-g0", "--page", "1"])
        assert r.exit_code == 0, r.output
        assert board.flash.array.is_blank(0x800, 0x800)
    finally:
        registry.unregister("cli-g0")


def test_sim_serve_pty_prints_path_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from stm32_hil.cli.main import main; main()",
            "sim",
            "serve",
            "--board",
            "nucleo-h743zi",
            "--pty",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        port = serial.Serial(path, 115200, timeout=2)
        bl = Bootloader(port)
        bl.sync()
        assert bl.get_id().pid == 0x450
        port.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
