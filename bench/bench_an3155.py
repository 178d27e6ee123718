"""Throughput of AN3155 clients over a paced 115200 8E1 line (simulated G0, 128 KiB flash).

Our client, stm32flash and stm32loader read and write 128 KiB through the same pty server,
which holds every byte to its wire time (11 bits per byte). Each figure is the payload rate as
a fraction of the wire limit (baud / 11); the protocol's own ceiling for 256-byte Read Memory
frames is 256 / 268 = 95.5 % (command, address, length and three ACKs per frame). External
tools are timed as (operation - identify-only run), which removes their start-up and sleeps.

Run: python bench/bench_an3155.py [--size 131072]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import serial

from stm32_hil.an3155 import Bootloader, read_image, write_image
from stm32_hil.an3155.peers import stm32flash_cmd, stm32loader_available, stm32loader_cmd
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serial_link import open_sim_port

BAUD = 115200
WIRE_BPS = BAUD / 11
CEILING = 256 / 268


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=240)


def _line(name: str, op: str, size: int, seconds: float) -> None:
    rate = size / seconds
    print(
        f"{name:<28} {op:<6} {seconds:7.2f} s  {rate:8.0f} B/s  "
        f"{rate / WIRE_BPS:6.1%} of wire  ({rate / WIRE_BPS / CEILING:6.1%} of the 95.5% ceiling)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=lambda v: int(v, 0), default=0x20000)
    args = ap.parse_args()
    size = args.size
    board = SimBoard.from_inventory("nucleo-g071rb")  # empty flash: boots into the ROM
    board.flash.array.data[8:size] = os.urandom(size - 8)
    image = b"\xff" * 8 + os.urandom(size - 8)
    print(f"wire limit {WIRE_BPS:.0f} B/s at {BAUD} 8E1; protocol ceiling {CEILING:.1%}")

    # our client, in-process paced line (no pty, no second process)
    port = open_sim_port(board, pace=True, baudrate=BAUD)
    bl = Bootloader(port)
    bl.sync()
    bl.identify()
    _line("ours (sim:// paced)", "read", size, _timed(lambda: read_image(bl, 0x08000000, size)))
    bl.mass_erase()
    _line("ours (sim:// paced)", "write", size, _timed(lambda: write_image(bl, 0x08000000, image)))
    port.close()

    # The pty server runs as its own process (`hil sim serve`), as it would for a user.
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from stm32_hil.cli.main import main; main()",
            "sim",
            "serve",
            "--board",
            "nucleo-g071rb",
            "--pty",
            "--pace",
            "--baud",
            str(BAUD),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    path = server.stdout.readline().strip()
    try:
        tty = serial.Serial(path, BAUD, timeout=0.5)  # a pty carries no parity
        bl = Bootloader(tty)
        bl.sync()
        bl.identify()
        _line("ours (pty paced)", "read", size, _timed(lambda: read_image(bl, 0x08000000, size)))
        bl.mass_erase()
        _line("ours (pty paced)", "write", size, _timed(lambda: write_image(bl, 0x08000000, image)))
        tty.close()

        with tempfile.TemporaryDirectory() as tmp:
            out, img = Path(tmp) / "out.bin", Path(tmp) / "img.bin"
            img.write_bytes(image)
            base = _timed(lambda: _run(stm32flash_cmd(path)))
            t = _timed(
                lambda: _run(stm32flash_cmd(path, "-r", str(out), "-S", f"0x08000000:{size}"))
            )
            _line("stm32flash 0.7 (pty paced)", "read", size, t - base)
            _run(stm32flash_cmd(path, "-o"))
            t = _timed(lambda: _run(stm32flash_cmd(path, "-w", str(img), "-e", "0")))
            _line("stm32flash 0.7 (pty paced)", "write", size, t - base)
            if stm32loader_available():
                loader = lambda *a: stm32loader_cmd(path, *a, family="G0")  # noqa: E731
                base = _timed(lambda: _run(loader("-r", "-a", "0x08000000", "-l", "256", str(out))))
                t = _timed(
                    lambda: _run(loader("-r", "-a", "0x08000000", "-l", str(size), str(out)))
                )
                _line("stm32loader 0.7.1 (pty paced)", "read", size, t - base)
                _run(stm32flash_cmd(path, "-o"))
                base = _timed(lambda: _run(loader("-r", "-a", "0x08000000", "-l", "4", str(out))))
                t = _timed(lambda: _run(loader("-w", str(img))))
                _line("stm32loader 0.7.1 (pty paced)", "write", size, t - base)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
