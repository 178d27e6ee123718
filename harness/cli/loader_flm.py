"""`hil loader info` for a Keil .FLM: the FlashDevice table, the functions and the RAM blob.

An FLM is position-independent: addresses are shown as offsets in the blob (the programmer
chooses where it runs).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from stm32_hil.stldr.flm import ALGO_FUNCTIONS, REQUIRED, ROLE, Flm


def render_flm(console: Console, flm: Flm) -> None:
    dev, info = flm.device, flm.storage_info
    meta = Table(title=f"{flm.path}", show_header=False, title_justify="left")
    meta.add_column("field", style="bold")
    meta.add_column("value")
    meta.add_row("format", "Keil .FLM flash algorithm (CMSIS-Pack)")
    meta.add_row("device", dev.name or "(empty)")
    meta.add_row("type", f"{dev.type_name} ({dev.dev_type}); as a .stldr: {info.type_name}")
    end = dev.start + dev.size
    meta.add_row("window", f"0x{dev.start:08X} .. 0x{end:08X} ({dev.size:,} bytes)")
    meta.add_row("page size", f"{dev.page_size} bytes")
    meta.add_row("erase value", f"0x{dev.empty:02X}")
    meta.add_row(
        "sectors",
        ", ".join(f"0x{size:X} from +0x{off:X}" for off, size in dev.sectors) or "-",
    )
    meta.add_row(
        "timeouts",
        f"program page {dev.prog_timeout_ms} ms, erase sector {dev.erase_timeout_ms} ms",
    )
    meta.add_row("FlashDevice version", f"0x{dev.version:04X}")
    meta.add_row("toolchain", flm.toolchain)
    abi = "hard-float" if flm.hard_float else "soft-float"
    meta.add_row("ABI", f"EABI{flm.eabi_version}, {abi} (e_flags 0x{flm.e_flags:08X})")
    meta.add_row(
        "blob",
        f"{flm.algo_size:,} bytes (code, data, zero-init); R9 = blob + 0x{flm.rw_offset:X}",
    )
    meta.add_row(
        "placement",
        "position-independent: pyOCD loads it at the top of the part's default RAM "
        "(`hil loader validate` shows where)",
    )
    console.print(meta)

    funcs = Table(title="functions", title_justify="left")
    funcs.add_column("name")
    funcs.add_column("offset", justify="right")
    funcs.add_column("role in a .stldr")
    for name in ALGO_FUNCTIONS:
        address = flm.algo_functions.get(name)
        shown = (
            f"0x{address - flm.code_start:X}"
            if address is not None
            else ("[red]missing[/red]" if name in REQUIRED else "[dim]absent[/dim]")
        )
        funcs.add_row(name, shown, ROLE.get(name, "-"))
    console.print(funcs)
    if flm.warnings:
        for w in flm.warnings:
            console.print(f"[yellow]warning:[/yellow] {w}")
    else:
        console.print("[green]no warnings[/green]")


__all__ = ["render_flm"]
