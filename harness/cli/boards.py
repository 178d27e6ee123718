"""`hil boards`: the inventory as a table (labgrid boards with their place's state)."""

from __future__ import annotations

import click
from rich.table import Table

from stm32_hil.cli.console import make_console
from stm32_hil.inventory import BACKENDS, BoardSpec, Inventory
from stm32_hil.parts import get_part


@click.command()
@click.option("--inventory", type=click.Path(), default=None, help="inventory TOML file")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default=None)
def boards(inventory: str | None, backend: str | None) -> None:
    """List the boards of the inventory; a labgrid board shows its place and who holds it."""
    inv = Inventory.load(inventory)
    specs = [inv.get(name) for name in inv.names(backend)]
    places = _place_states([s for s in specs if s.backend == "labgrid"])
    table = Table(title=f"boards in {inv.path}")
    columns = ["board", "part", "family", "backend", "flash", "uart", "boot0/nrst", "external"]
    if places:
        columns.append("place")
    for col in columns:
        # Names are copied into --board, inventories and labgrid-client: never wrapped; the rest
        # may fold.
        table.add_column(col, no_wrap=col in ("board", "part", "place"), overflow="fold")
    for spec in specs:
        part = get_part(spec.part)
        uart = spec.uart.port or spec.uart.peripheral
        ext = ", ".join(f"{e.chip}@{e.bus}" for e in spec.external_flash) or "-"
        row = [
            spec.name,
            part.name,
            part.family,
            spec.backend,
            f"{part.flash.size // 1024} KiB",
            uart,
            f"{spec.pins.boot0}/{spec.pins.nrst}",
            ext,
        ]
        if places:
            row.append(places.get(spec.name, "-"))
        table.add_row(*row)
    make_console().print(table)


def _place_states(specs: list[BoardSpec]) -> dict[str, str]:
    """Board name -> "place: state" for labgrid boards, one coordinator query per address."""
    if not specs:
        return {}
    from stm32_hil.errors import HarnessError
    from stm32_hil.labgrid.client import Coordinator, coordinator_address

    out: dict[str, str] = {}
    by_address: dict[str, list[BoardSpec]] = {}
    for spec in specs:
        by_address.setdefault(coordinator_address(spec.coordinator), []).append(spec)
    for address, members in by_address.items():
        try:
            client = Coordinator(address, connect_s=5.0)
            try:
                views = client.places()
            finally:
                client.close()
        except HarnessError as exc:
            for spec in members:
                out[spec.name] = f"{spec.place}: {exc.message}"
            continue
        for spec in members:
            view = views.get(str(spec.place))
            out[spec.name] = f"{spec.place}: " + (view.state if view else "no such place")
    return out
