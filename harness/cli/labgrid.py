"""`hil labgrid`: put served simulated boards behind a labgrid exporter; list the places."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from stm32_hil.cli.console import make_console
from stm32_hil.errors import ConfigError


@click.group()
def labgrid() -> None:
    """Boards of a lab shared through labgrid (coordinator, exporters, places)."""


@labgrid.command("exporter-config")
@click.option(
    "--board", "boards", multiple=True, required=True, help="a board `hil sim serve` serves"
)
@click.option("--baud", default=115200, show_default=True, help="speed of the UART resource")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="write here")
def exporter_config(boards: tuple[str, ...], baud: int, output: str | None) -> None:
    """Print (or write) the labgrid exporter YAML for served boards: per board a group with
    its UART (NetworkSerialPort, needs `hil sim serve --rfc2217`) and its pyOCD probe server
    (NetworkService)."""
    from stm32_hil.labgrid.exporter import exporter_yaml
    from stm32_hil.sim import served

    records = []
    for name in boards:
        record = served.lookup(name)
        if record is None:
            raise ConfigError(
                f"board {name} is not served",
                hint=f"start it first: hil sim serve --board {name} --rfc2217 0 --dtr-rts-pins",
            )
        records.append(record)
    text = exporter_yaml(records, baud)
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@labgrid.command()
@click.option("--coordinator", default=None, help="HOST:PORT (default: $LG_COORDINATOR)")
def places(coordinator: str | None) -> None:
    """The coordinator's places: free, reserved or acquired (by whom)."""
    from stm32_hil.labgrid.client import Coordinator

    client = Coordinator(coordinator)
    try:
        views = client.places()
    finally:
        client.close()
    table = Table(title=f"labgrid places on {client.address}")
    for col in ("place", "state", "tags", "matches"):
        table.add_column(col, no_wrap=col == "place", overflow="fold")
    for view in views.values():
        tags = ", ".join(f"{k}={v}" for k, v in sorted(view.tags.items())) or "-"
        table.add_row(view.name, view.state, tags, ", ".join(view.matches) or "-")
    make_console().print(table)
