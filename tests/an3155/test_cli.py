"""`hil an3155` against sim:// ports and `hil sim serve` as a separate process."""

from __future__ import annotations

import random
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
from stm32_hil.sim.links.serve import PtyServer, run_in_thread


def test_info_read_erase_over_sim_url(tmp_path: Path) -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    page = random.Random(0x800).randbytes(256)
    board.flash.array.data[0x800:0x900] = page
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
        assert out.read_bytes() == page
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


def test_info_on_a_served_pty_falls_back_to_8n1_once() -> None:
    board = SimBoard.from_inventory("nucleo-h743zi")
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    server = PtyServer(board)
    stop = run_in_thread(server)
    try:
        r = CliRunner().invoke(an3155, ["info", "--port", server.path])
    finally:
        stop()
    assert r.exit_code == 0, r.output
    assert "0x450" in r.output
    assert r.output.count("cannot carry parity") == 1
    assert "using 8N1" in r.output


def test_go_starts_the_application(tmp_path: Path) -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    base = board.part.flash.base
    stack = board.part.ram[0].base + 0x1000
    # vectors, then "b ." at base + 0x100
    image = stack.to_bytes(4, "little") + (base + 0x101).to_bytes(4, "little")
    board.preload_flash(image.ljust(0x100, b"\xff") + bytes.fromhex("fee7"))
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    assert board.bootrom.active  # the empty-flash flag was latched at power-on, before the image
    registry.register(board, "cli-go")
    try:
        r = CliRunner().invoke(an3155, ["go", "--port", "sim://cli-go", hex(base)])
    finally:
        registry.unregister("cli-go")
    assert r.exit_code == 0, r.output
    assert f"0x{base:08X}" in r.output
    assert board.bootrom.jumps[-1].pc == base + 0x101
    assert not board.bootrom.active
