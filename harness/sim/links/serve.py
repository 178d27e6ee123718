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
import errno
import ipaddress
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


class ServeAddressError(ConfigError):
    """A `serve` address that cannot be parsed or bound (bad port, port in use, unknown host)."""


LOOPBACK_HOST = "127.0.0.1"


def parse_address(spec: str) -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[IPV6]:PORT` as (host, port); the host defaults to loopback.

    Port 0 asks the OS for a free port. A bare IPv6 address is refused: its colons make the
    port ambiguous, so it must be written in brackets as in URLs (RFC 3986).
    """
    text = spec.strip()
    example = "e.g. 4000, 127.0.0.1:4000 or [::1]:4000"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ServeAddressError(f"bad address {spec!r}: expected [IPV6]:PORT", hint=example)
        port_text = rest[1:]
        try:
            socket.inet_pton(socket.AF_INET6, host)
        except OSError:
            raise ServeAddressError(
                f"bad address {spec!r}: {host!r} is not an IPv6 address", hint=example
            ) from None
    elif text.count(":") > 1:
        raise ServeAddressError(
            f"bad address {spec!r}: an IPv6 address needs brackets", hint="e.g. [::1]:4000"
        )
    else:
        host, _, port_text = text.rpartition(":")
        host = host or LOOPBACK_HOST
    if not port_text.isdigit():
        raise ServeAddressError(f"bad address {spec!r}: port {port_text!r} is not a number",
                                hint=example)  # fmt: skip
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ServeAddressError(
            f"bad address {spec!r}: port {port} is outside 0..65535",
            hint="pick a port in 1024..65535 (0 lets the OS choose a free one)",
        )
    return host, port


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """The family and numeric address to bind `host` to (first answer of the resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ServeAddressError(
            f"cannot resolve host {host!r}: {exc}",
            hint="use an IP address of this machine, e.g. 127.0.0.1 or [::1]",
        ) from None
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0])


def exposure_warning(host: str, port: int, what: str) -> str | None:
    """What binding to a non-loopback address exposes, or None for loopback."""
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:  # not numeric: judge by what it stands for
        ip = ipaddress.ip_address(_resolve(host, port)[1].split("%")[0])
    if ip.is_loopback:
        return None
    scope = "every network this machine is on" if ip.is_unspecified else f"the network of {host}"
    return (
        f"warning: {what} is exposed on {_hostport(host, port)} to {scope}: anyone who can "
        "reach it can read, erase and program the board without authentication; bind "
        f"127.0.0.1:{port} (the default) unless that is intended"
    )


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bind(address: str, what: str = "the board") -> tuple[socket.socket, str | None]:
    """A listening socket for `address`, and the exposure warning if it is not loopback."""
    host, port = parse_address(address)
    family, numeric = _resolve(host, port)
    try:
        sock = socket.create_server((numeric, port), family=family, reuse_port=False)
    except OSError as exc:
        where = _hostport(numeric, port)
        if exc.errno == errno.EADDRINUSE:
            raise ServeAddressError(
                f"cannot serve on {where}: the port is in use",
                hint="stop the program holding it (`ss -ltnp`), or pick another port "
                "(port 0 lets the OS choose)",
            ) from None
        if exc.errno == errno.EACCES:
            raise ServeAddressError(
                f"cannot serve on {where}: permission denied",
                hint="ports below 1024 need privileges; use a port in 1024..65535",
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ServeAddressError(
                f"cannot serve on {where}: no interface of this machine has that address",
                hint="use 127.0.0.1, [::1] or an address `ip addr` lists",
            ) from None
        raise ServeAddressError(
            f"cannot serve on {where}: {exc.strerror or exc}",
            hint="use 127.0.0.1:PORT with a free port",
        ) from None
    bound_host, bound_port = sock.getsockname()[:2]
    return sock, exposure_warning(bound_host, bound_port, what)


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
        line_pins: dict[str, str] | None = None,
    ) -> None:
        self.board = board
        self.rfc2217 = rfc2217
        self.line_pins = dict(line_pins or {})  # see SimSerial.line_pins
        self.pace = pace
        self.baudrate = baudrate
        self.sock, self.warning = bind(address, f"board {board.name}'s bootloader UART")
        self.address = self.sock.getsockname()[:2]
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        scheme = "rfc2217" if self.rfc2217 else "socket"
        return f"{scheme}://{_hostport(*self.address)}"

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
        port.line_pins = self.line_pins
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


__all__ = ["PtyServer", "ServeAddressError", "TcpServer", "parse_address", "run_in_thread"]
