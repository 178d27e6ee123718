"""`hil boards`: the inventory as a table."""

from __future__ import annotations

import click
from rich.table import Table

from stm32_hil.cli.console import make_console
from stm32_hil.inventory import Inventory
from stm32_hil.parts import get_part


@click.command()
@click.option("--inventory", type=click.Path(), default=None, help="inventory TOML file")
@click.option("--backend", type=click.Choice(["sim", "pyocd"]), default=None)
def boards(inventory: str | None, backend: str | None) -> None:
    """List the boards of the inventory."""
    inv = Inventory.load(inventory)
    table = Table(title=f"boards in {inv.path}")
    for col in ("board", "part", "family", "backend", "flash", "uart", "boot0/nrst", "external"):
        # Names are copied into --board and inventories: never wrapped; the rest may fold.
        table.add_column(col, no_wrap=col in ("board", "part"), overflow="fold")
    for name in inv.names(backend):
        spec = inv.get(name)
        part = get_part(spec.part)
        uart = spec.uart.port or spec.uart.peripheral
        ext = ", ".join(f"{e.chip}@{e.bus}" for e in spec.external_flash) or "-"
        table.add_row(
            name,
            part.name,
            part.family,
            spec.backend,
            f"{part.flash.size // 1024} KiB",
            uart,
            f"{spec.pins.boot0}/{spec.pins.nrst}",
            ext,
        )
    make_console().print(table)
