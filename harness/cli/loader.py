"""`hil loader ...`: inspect external loaders (.stldr)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from stm32_hil.cli.console import make_console
from stm32_hil.cli.loader_flm import render_flm
from stm32_hil.errors import HarnessError
from stm32_hil.stldr import FUNCTION_NAMES, Stldr, load
from stm32_hil.stldr.flm import Flm
from stm32_hil.stldr.flm_validate import FLM_ONLY
from stm32_hil.stldr.validate import CALL_WALL_LIMIT, CHECKS


@click.group()
def loader() -> None:
    """External loaders (.stldr): inspect metadata, functions and layout."""


def _render(console: Console, ld: Stldr) -> None:
    info = ld.storage_info
    meta = Table(title=f"{ld.path}", show_header=False, title_justify="left")
    meta.add_column("field", style="bold")
    meta.add_column("value")
    meta.add_row("device", info.name or "(empty)")
    meta.add_row("type", f"{info.type_name} ({info.device_type})")
    meta.add_row("window", f"0x{info.start:08X} .. 0x{info.end:08X} ({info.size:,} bytes)")
    meta.add_row("page size", f"{info.page_size} bytes")
    meta.add_row("erase value", f"0x{info.erase_value:02X}")
    meta.add_row("sectors", ", ".join(f"{s.count} x 0x{s.size:X}" for s in info.sectors) or "-")
    meta.add_row("toolchain", ld.toolchain)
    abi = "hard-float" if ld.hard_float else "soft-float"
    meta.add_row("ABI", f"EABI{ld.eabi_version}, {abi} (e_flags 0x{ld.e_flags:08X})")
    meta.add_row(
        "RWPI",
        f"yes, R9 = 0x{ld.r9:08X}"
        if ld.rwpi and ld.r9 is not None
        else ("yes, static base unknown" if ld.rwpi else "no"),
    )
    meta.add_row("return trap", f"BKPT at 0x{ld.trap_address:08X}")
    console.print(meta)

    funcs = Table(title="functions", title_justify="left")
    funcs.add_column("name")
    funcs.add_column("address", justify="right")
    for name in FUNCTION_NAMES:
        addr = ld.function(name)
        funcs.add_row(name, f"0x{addr:08X}" if addr is not None else "[dim]absent[/dim]")
    console.print(funcs)

    segs = Table(title="PT_LOAD segments", title_justify="left")
    for col in ("#", "address", "filesz", "memsz", "flags", "role"):
        segs.add_column(col, justify="right" if col in ("filesz", "memsz") else "left")
    for s in ld.segments:
        segs.add_row(
            str(s.index),
            f"0x{s.vaddr:08X}",
            f"0x{s.filesz:X}",
            f"0x{s.memsz:X}",
            s.flag_text,
            "StorageInfo (not loaded)" if s.metadata else "loaded",
        )
    console.print(segs)
    if ld.warnings:
        for w in ld.warnings:
            console.print(f"[yellow]warning:[/yellow] {w}")
    else:
        console.print("[green]no warnings[/green]")


@loader.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
def info(paths: tuple[str, ...]) -> None:
    """Print StorageInfo, exported functions, segments and warnings of each PATH."""
    console = make_console()
    failed = 0
    for path in paths:
        try:
            ld = load(path)
            if isinstance(ld, Flm):
                render_flm(console, ld)
            else:
                _render(console, ld)
        except HarnessError as exc:
            failed += 1
            click.secho(f"error: {exc}", fg="red", err=True)
    if failed:
        raise SystemExit(2)


@loader.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--board", "board_name", required=True, help="board from the inventory")
@click.option(
    "--inventory", default=None, help="board inventory TOML (default: fixtures/boards.toml)"
)
@click.option(
    "--json",
    "json_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="write one record per check (loader, check, passed, detail)",
)
@click.option(
    "--no-reinit",
    is_flag=True,
    help="do not reload + Init before each operation (finds order-dependent loaders)",
)
@click.option("--full", is_flag=True, help="write the whole device, not a sample")
@click.option(
    "--buffer",
    "buffers",
    multiple=True,
    metavar="SIZE",
    help="also read the whole device through a RAM buffer of SIZE bytes (e.g. 0x7E000, a "
    "programmer's buffer); repeatable",
)
@click.option(
    "--wall-limit",
    default=CALL_WALL_LIMIT,
    show_default=True,
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="wall-clock seconds the loader calls of one check may take on a board simulated in "
    "this process (past it the check has no verdict, exit 2); through a probe (a real or a "
    "served board) each call has its own wall-clock budget instead",
)
@click.option(
    "--only",
    default=None,
    metavar="CHECK,...",
    help="run only these checks (comma-separated; ram_fit and device_fit always run): "
    + ", ".join(CHECKS)
    + "; for a Keil .FLM also "
    + ", ".join(FLM_ONLY),
)
@click.option(
    "--allow-destructive",
    is_flag=True,
    help="allow the loader to erase and program the external flash of a REAL board",
)
def validate(
    paths: tuple[str, ...],
    board_name: str,
    inventory: str | None,
    json_path: str | None,
    no_reinit: bool,
    full: bool,
    buffers: tuple[str, ...],
    wall_limit: float,
    only: str | None,
    allow_destructive: bool,
) -> None:
    """Validate each loader PATH on BOARD: exit 0 all passed, 1 a check failed, 2 no verdict."""
    from stm32_hil.cli.loader_validate import run_validate

    checks = None
    if only is not None:
        checks = tuple(c.strip() for c in only.split(",") if c.strip())
        unknown = [c for c in checks if c not in CHECKS + FLM_ONLY]
        if unknown or not checks:
            raise click.BadParameter(
                f"unknown check(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(CHECKS)}",
                param_hint="--only",
            )
    sizes = []
    for text in buffers:
        try:
            size = int(text, 0)
        except ValueError:
            raise click.BadParameter(
                f"{text!r} is not a number (use 0x7E000 or 516096)", param_hint="--buffer"
            ) from None
        if not 0x400 <= size <= 0x10000000:
            raise click.BadParameter(
                f"{text} is outside 0x400 .. 0x10000000 bytes", param_hint="--buffer"
            )
        sizes.append(size)
    raise SystemExit(
        run_validate(
            paths,
            board_name,
            inventory,
            json_path,
            not no_reinit,
            full,
            checks,
            buffers=tuple(sizes),
            wall_limit=wall_limit,
            allow_destructive=allow_destructive,
        )
    )
