"""`hil options` and `hil recover`: option bytes and recovery on one board from the inventory."""

from __future__ import annotations

import sys

import click

from stm32_hil.cli.console import make_console
from stm32_hil.flows.option_bytes import read_option_bytes
from stm32_hil.flows.recover import recover as recover_flow
from stm32_hil.flows.recover import restore_factory_option_bytes
from stm32_hil.flows.safety import Safety
from stm32_hil.inventory import Inventory
from stm32_hil.report import option_table
from stm32_hil.target.factory import open_target

_board = click.option("--board", required=True, help="board name from the inventory")
_inventory = click.option("--inventory", type=click.Path(), default=None)


@click.group()
def options() -> None:
    """Read or restore a board's option bytes."""


@options.command("show")
@_board
@_inventory
def show(board: str, inventory: str | None) -> None:
    """Print the option bytes with decoded fields and factory values."""
    spec = Inventory.load(inventory).get(board)
    with open_target(spec) as target:
        model = read_option_bytes(target)
        make_console().print(
            option_table(target.part, model.encode(target.part)), markup=False, soft_wrap=True
        )


@options.command("restore")
@_board
@_inventory
@click.option("--allow-destructive", is_flag=True, help="required on real boards")
def restore(board: str, inventory: str | None, allow_destructive: bool) -> None:
    """Program the factory option bytes (RDP level 0, no protection areas)."""
    spec = Inventory.load(inventory).get(board)
    with open_target(spec) as target:
        before = read_option_bytes(target).encode(target.part)
        after = restore_factory_option_bytes(target, safety=Safety(destructive=allow_destructive))
        make_console().print(
            option_table(target.part, after.encode(target.part), before),
            markup=False,
            soft_wrap=True,
        )


@click.command()
@_board
@_inventory
@click.option("--allow-destructive", is_flag=True, help="required on real boards")
def recover(board: str, inventory: str | None, allow_destructive: bool) -> None:
    """Diagnose and repair a board: dead debug port, RDP 1, PCROP, ECC-damaged flash."""
    spec = Inventory.load(inventory).get(board)
    with open_target(spec) as target:
        report = recover_flow(target, safety=Safety(destructive=allow_destructive))
    make_console().print(report.table(), markup=False, soft_wrap=True)
    sys.exit(0 if report.ok else 1)
