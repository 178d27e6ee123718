"""`hil sim serve`: one live simulated board for every client (UART, pyOCD, GDB, `hil`)."""

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
@click.option(
    "--gdb",
    "gdb_port",
    type=int,
    default=None,
    metavar="PORT",
    help="also run pyOCD's gdbserver on the live board (loopback; 0 picks a free port)",
)
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="virtual seconds per real second while served (0: time passes only with clients)",
)
@click.option(
    "--probe-port",
    type=int,
    default=0,
    show_default=True,
    help="loopback port of the debug probe server (0 picks a free one)",
)
@click.option(
    "--dtr-rts-pins",
    is_flag=True,
    help="RFC 2217: the client's DTR drives BOOT0 and RTS drives NRST (asserted = high), as "
    'an adapter wired for the bootloader (inventory pins = { boot0 = "dtr", nrst = "rts" })',
)
@click.option(
    "--power-port",
    type=int,
    default=None,
    metavar="PORT",
    help="also serve a power switch over HTTP (labgrid NetworkPowerPort, model simplerest; "
    "loopback; 0 picks a free port)",
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
    gdb_port: int | None,
    speed: float,
    probe_port: int,
    dtr_rts_pins: bool,
    power_port: int | None,
    inventory: str | None,
) -> None:
    """Serve BOARD until SIGTERM/SIGINT: its bootloader UART (the first line printed is its
    path), its debug port to other processes (`pyocd ... -u sim:BOARD` and `hil ... --board
    BOARD` attach to this very board) and, with --gdb, pyOCD's gdbserver."""
    from stm32_hil.sim import live as registry
    from stm32_hil.sim import served
    from stm32_hil.sim.links.serve import PtyServer, TcpServer, parse_address
    from stm32_hil.sim.serving import ServedBoard

    if sum(x is not None and x is not False for x in (use_pty or None, tcp, rfc2217)) != 1:
        raise ConfigError("choose exactly one of --pty, --tcp, --rfc2217")
    address = tcp or rfc2217
    if address is not None:
        parse_address(address)  # a bad address fails before the board is built
    if not speed >= 0:
        raise ConfigError(f"--speed {speed}: must be 0 (virtual time only) or positive")
    if dtr_rts_pins and rfc2217 is None:
        raise ConfigError("--dtr-rts-pins needs --rfc2217 (only RFC 2217 carries DTR/RTS)")
    for option, value in (("--probe-port", probe_port), ("--power-port", power_port or 0)):
        if not 0 <= value <= 65535:
            raise ConfigError(f"{option} {value}: a TCP port is 0..65535")
    existing = served.lookup_elsewhere(board)
    if existing is not None:
        raise ConfigError(
            f"board {board} is already served by pid {existing.pid}",
            hint=f"use that server (probe {existing.probe_address}"
            + (f", UART {existing.uart}" if existing.uart else "")
            + f") or stop it: kill {existing.pid}",
        )
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
        server = TcpServer(
            b,
            address or "",
            rfc2217=rfc2217 is not None,
            pace=pace,
            baudrate=baud,
            line_pins={"dtr": "BOOT0", "rts": "NRST"} if dtr_rts_pins else None,
        )
        where = server.url
        if server.warning:
            click.secho(server.warning, fg="yellow", err=True)
    live = ServedBoard(
        b, server, speed=speed, probe_port=probe_port, gdb_port=gdb_port, power_port=power_port
    )

    def _stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    # Handlers first: a client may signal as soon as it has read the address.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    try:
        live.start(where)
        click.echo(where)
        click.echo(f"debug probe: sim:{b.name} (pyOCD remote probe {live.probe_address})")
        if live.gdb is not None:
            click.echo(f"gdb: target extended-remote 127.0.0.1:{live.gdb.port}")
        if live.power is not None:
            click.echo(f"power switch: {live.power.url}")
        sys.stdout.flush()
        server.serve_forever()
    finally:
        live.stop()
