"""Serve a simulated board's bootloader UART to other programs: a pty, TCP or RFC 2217.

External tools (stm32flash, stm32loader, a terminal) talk to the simulator through what they
already know: a pseudo-terminal path, `socket://host:port` or `rfc2217://host:port`. The board
runs in this process; replies come out as soon as the simulation has produced them, or paced at
the baud rate (`pace=True`) so throughput figures mean what they would on a wire. A pty cannot
carry parity (the Linux pty driver clears PARENB), so pty clients use 8N1 and the line is
treated as matched; RFC 2217 clients set the framing and get the line model's garbage if it is
not 8E1.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import socket
import threading
import time
import tty
from collections.abc import Callable
from typing import TYPE_CHECKING

from stm32_hil.errors import ConfigError
from stm32_hil.sim.links.serial_link import SimSerial, open_sim_port

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

POLL_S = 0.05


class _Pump:
    """Moves bytes between a byte-stream endpoint and the board's line."""

    def __init__(self, port: SimSerial) -> None:
        self.port = port

    def from_host(self, data: bytes) -> None:
        self.port.write(data)
        self.port.settle()

    def ready_output(self) -> tuple[bytes, float | None]:
        """Bytes the host may receive now, and the time at which more will be ready."""
        self.port.timeout = 0
        out = self.port.read(1 << 16) if self.port.in_waiting else b""
        return out, self.port.next_ready_time()


def _wait_timeout(next_ready: float | None) -> float:
    if next_ready is None:
        return POLL_S
    return max(0.0, min(POLL_S, next_ready - time.perf_counter()))


class PtyServer:
    """A pseudo-terminal whose other end is the board's bootloader USART."""

    def __init__(self, board: SimBoard, *, pace: bool = False, baudrate: int = 115200) -> None:
        self.port = open_sim_port(board, pace=pace, baudrate=baudrate, timeout=0)
        self.pump = _Pump(self.port)
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()

    def serve_forever(self) -> None:
        try:
            while not self._stop.is_set():
                out, nxt = self.pump.ready_output()
                if out:
                    os.write(self.master, out)
                r, _, _ = select.select([self.master], [], [], _wait_timeout(nxt))
                if r:
                    try:
                        data = os.read(self.master, 4096)
                    except OSError:
                        data = b""
                    if data:
                        self.pump.from_host(data)
        finally:
            self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.master = self.slave = -1


def _parse_hostport(spec: str) -> tuple[str, int]:
    host, _, port = spec.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise ConfigError(f"bad [HOST:]PORT {spec!r}", hint="e.g. 4000 or 127.0.0.1:4000") from None


class TcpServer:
    """Raw TCP (`socket://host:port`); with `rfc2217=True` the RFC 2217 dialect."""

    def __init__(
        self,
        board: SimBoard,
        address: str,
        *,
        rfc2217: bool = False,
        pace: bool = False,
        baudrate: int = 115200,
    ) -> None:
        self.board = board
        self.rfc2217 = rfc2217
        self.pace = pace
        self.baudrate = baudrate
        host, port = _parse_hostport(address)
        self.sock = socket.create_server((host, port), reuse_port=False)
        self.address = self.sock.getsockname()[:2]
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        scheme = "rfc2217" if self.rfc2217 else "socket"
        return f"{scheme}://{self.address[0]}:{self.address[1]}"

    def serve_forever(self) -> None:
        try:
            while not self._stop.is_set():
                r, _, _ = select.select([self.sock], [], [], POLL_S)
                if r:
                    conn, _ = self.sock.accept()
                    with conn:
                        self._serve_client(conn)
        finally:
            self.sock.close()

    def _serve_client(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = open_sim_port(self.board, pace=self.pace, baudrate=self.baudrate, timeout=0)
        pump = _Pump(port)
        manager = None
        if self.rfc2217:
            from serial import rfc2217

            manager = rfc2217.PortManager(port, _SocketWriter(conn))
        while not self._stop.is_set():
            out, nxt = pump.ready_output()
            if out:
                conn.sendall(b"".join(manager.escape(out)) if manager else out)
            r, _, _ = select.select([conn], [], [], _wait_timeout(nxt))
            if not r:
                continue
            data = conn.recv(4096)
            if not data:
                return
            if manager is not None:
                data = b"".join(manager.filter(data))
            if data:
                pump.from_host(data)

    def stop(self) -> None:
        self._stop.set()


class _SocketWriter:
    """The `connection` object pyserial's RFC 2217 PortManager writes its replies to."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> None:
        self.conn.sendall(data)


def run_in_thread(server: PtyServer | TcpServer) -> Callable[[], None]:
    """Start `server` in a daemon thread; returns a function that stops and joins it."""
    t = threading.Thread(target=server.serve_forever, name="sim-serve", daemon=True)
    t.start()

    def stop() -> None:
        server.stop()
        t.join(timeout=5)

    return stop


__all__ = ["PtyServer", "TcpServer", "run_in_thread"]
