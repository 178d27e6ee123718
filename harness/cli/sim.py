"""`hil sim serve`: put a simulated board's bootloader UART on a pty, TCP or RFC 2217 port."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from stm32_hil.errors import ConfigError


@click.group()
def sim() -> None:
    """Simulated boards."""


@sim.command()
@click.option("--board", required=True, help="simulated board from the inventory")
@click.option("--pty", "use_pty", is_flag=True, help="serve on a pseudo-terminal")
@click.option(
    "--tcp",
    default=None,
    metavar="[HOST:]PORT",
    help="raw TCP (socket://); HOST defaults to 127.0.0.1, IPv6 as [::1]:PORT",
)
@click.option(
    "--rfc2217", default=None, metavar="[HOST:]PORT", help="RFC 2217 (rfc2217://), as --tcp"
)
@click.option("--pace", is_flag=True, help="hold bytes to the baud rate in real time")
@click.option("--baud", default=115200, show_default=True)
@click.option(
    "--boot0/--no-boot0",
    default=True,
    show_default=True,
    help="BOOT0 high and a reset first, so the ROM listens",
)
@click.option("--inventory", default=None, help="board inventory file")
def serve(
    board: str,
    use_pty: bool,
    tcp: str | None,
    rfc2217: str | None,
    pace: bool,
    baud: int,
    boot0: bool,
    inventory: str | None,
) -> None:
    """Serve BOARD's bootloader UART until SIGTERM/SIGINT; the first line printed is its path."""
    from stm32_hil.sim import live as registry
    from stm32_hil.sim.links.serve import PtyServer, TcpServer, parse_address

    if sum(x is not None and x is not False for x in (use_pty or None, tcp, rfc2217)) != 1:
        raise ConfigError("choose exactly one of --pty, --tcp, --rfc2217")
    address = tcp or rfc2217
    if address is not None:
        parse_address(address)  # a bad address fails before the board is built
    b = registry.get_or_create(board, inventory)
    if boot0:
        b.set_pin("BOOT0", True)
        b.set_pin("NRST", False)
        b.set_pin("NRST", True)
    server: PtyServer | TcpServer
    if use_pty:
        server = PtyServer(b, pace=pace, baudrate=baud)
        where = server.path
    else:
        server = TcpServer(b, address or "", rfc2217=rfc2217 is not None, pace=pace, baudrate=baud)
        where = server.url
        if server.warning:
            click.secho(server.warning, fg="yellow", err=True)

    def _stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    # Handlers first: a client may signal as soon as it has read the address.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    click.echo(where)
    sys.stdout.flush()
    server.serve_forever()
