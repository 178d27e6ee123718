"""`hil sim serve` addresses: every bad one is a typed error, IPv6 works, exposure is announced."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import serial

from stm32_hil.an3155 import Bootloader
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.links.serve import ServeAddressError, TcpServer, parse_address, run_in_thread

HIL = [sys.executable, "-c", "from stm32_hil.cli.main import main; main()"]


@pytest.fixture
def busy_port() -> Iterator[int]:
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def hil(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HIL, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("4000", ("127.0.0.1", 4000)),
        ("0.0.0.0:4001", ("0.0.0.0", 4001)),
        ("[::1]:4002", ("::1", 4002)),
        ("[::]:0", ("::", 0)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_addresses_parse(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("99999", "outside 0..65535"),
        ("127.0.0.1:70000", "outside 0..65535"),
        ("fast", "not a number"),
        ("::1:4000", "needs brackets"),
        ("[::1]", r"expected \[IPV6\]:PORT"),
        ("[banana]:4000", "not an IPv6 address"),
        ("127.0.0.1:", "not a number"),
    ],
)
def test_bad_addresses_are_typed_errors(address: str, message: str) -> None:
    with pytest.raises(ServeAddressError, match=message) as err:
        parse_address(address)
    assert err.value.hint


def test_port_in_use_is_a_typed_error(busy_port: int) -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    with pytest.raises(ServeAddressError, match=f"127.0.0.1:{busy_port}: the port is in use"):
        TcpServer(board, str(busy_port))


def test_unknown_host_is_a_typed_error() -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    with pytest.raises(ServeAddressError, match=r"cannot resolve host 'no-such-host\.invalid'"):
        TcpServer(board, "no-such-host.invalid:4000")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tcp", "99999"], "port 99999 is outside 0..65535"),
        (["--rfc2217", "::1:4000"], "an IPv6 address needs brackets"),
    ],
)
def test_cli_bad_address_exits_cleanly(args: list[str], message: str) -> None:
    r = hil("sim", "serve", "--board", "nucleo-g071rb", *args)
    assert r.returncode == 2
    assert message in r.stderr and r.stderr.startswith("error:")
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


def test_cli_port_in_use_exits_cleanly(busy_port: int) -> None:
    r = hil("sim", "serve", "--board", "nucleo-g071rb", "--tcp", f"127.0.0.1:{busy_port}")
    assert r.returncode == 2
    assert f"127.0.0.1:{busy_port}: the port is in use" in r.stderr
    assert "internal error" not in r.stderr


def test_ipv6_loopback_serves_the_bootloader_without_warning() -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    board.set_pin("BOOT0", True)
    board.set_pin("NRST", False)
    board.set_pin("NRST", True)
    server = TcpServer(board, "[::1]:0")
    assert server.warning is None
    assert server.url.startswith("socket://[::1]:")
    stop = run_in_thread(server)
    try:
        port = serial.serial_for_url(server.url, timeout=2)
        bl = Bootloader(port)
        bl.sync()
        assert bl.get_id().pid == board.part.pid
        port.close()
    finally:
        stop()


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0"])
def test_wildcard_bind_warns_naming_the_exposure(address: str) -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    server = TcpServer(board, address)
    try:
        assert server.warning is not None
        assert "nucleo-g071rb's bootloader UART is exposed" in server.warning
        assert "every network this machine is on" in server.warning
        assert f":{server.address[1]}" in server.warning
    finally:
        server.sock.close()


def test_cli_wildcard_bind_prints_the_warning() -> None:
    proc = subprocess.Popen(
        [*HIL, "sim", "serve", "--board", "nucleo-g071rb", "--tcp", "0.0.0.0:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://0.0.0.0:")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "warning:" in err and "exposed on 0.0.0.0:" in err
        assert "without authentication" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_loopback_bind_prints_no_warning() -> None:
    proc = subprocess.Popen(
        [*HIL, "sim", "serve", "--board", "nucleo-g071rb", "--tcp", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("socket://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "warning" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
