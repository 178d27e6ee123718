"""`hil parts`: what the harness knows about any STM32, and what the simulator models of it.

`list` answers "which parts match, and which have bootloader facts?"; `show` answers "if I
run code on this part, which blocks have a behaviour model and which are generic register
files (simulator gaps)?". Both read the same Part the boards and simulator use, so what the
command prints is what a board built on that part gets.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import click
from rich.table import Table

from stm32_hil.cli.console import make_console
from stm32_hil.errors import ConfigError
from stm32_hil.parts import Part, chipdata, get_part, part_names
from stm32_hil.parts.chipdata import BlockInfo
from stm32_hil.sim.periph.models import row_for

# What the part's flash controller model does; the FLASH block is wired by the board from the
# device entry, not from the model table, so row_for() would wrongly call it generic.
FLASH_MODELS = {
    "g0": "g0 flash controller (register-level: unlock, program, erase, option bytes)",
    "h7": "h7 flash controller (register-level: unlock, program, erase, option bytes)",
    "basic": "basic flash (array + register read-back)",
}
SECTOR_MODEL = "sector-erase flash controller (register-level: unlock, program, sector/bank erase)"


def _flash_model(part: Part) -> str:
    """The flash controller model a simulated board of `part` gets (see sim/board.py)."""
    from stm32_hil.parts.sectors import sector_controller

    if part.flash_controller == "basic" and sector_controller(part) is not None:
        return SECTOR_MODEL
    return FLASH_MODELS.get(part.flash_controller, part.flash_controller)


# Blocks that get their model only when the inventory wires external flash to them.
EXTERNAL_MEMORY_KINDS = ("quadspi", "octospi")


@click.group()
def parts() -> None:
    """Every STM32 of stm32-data: memory map, peripheral blocks and their simulator models."""


# --- list ------------------------------------------------------------------------------------


def _matching(pattern: str | None) -> list[str]:
    """Part names matching a glob (when it has wildcards) or a substring, any case.

    A bare "l496" is far more common at a prompt than "*L496*", so no wildcard means substring.
    """
    names = part_names()
    if pattern is None:
        return names
    pat = pattern.upper()
    if any(c in pat for c in "*?["):
        return [n for n in names if fnmatch.fnmatchcase(n.upper(), pat)]
    return [n for n in names if pat in n.upper()]


def _list_row(name: str) -> list[str]:
    """One table row; parts the harness cannot build (no core model) still get a row."""
    try:
        part = get_part(name)
    except ConfigError:
        chip = chipdata.chip(name)
        return [
            name,
            chip.family.removeprefix("STM32").lower(),
            chip.line,
            f"{chip.core} (no model)",
            "-",
            "-",
            f"0x{chip.device_id:03X}",
            "no",
        ]
    return [
        part.name,
        part.family,
        part.line,
        part.core,
        str(part.flash.size // 1024),
        str(sum(r.size for r in part.ram) // 1024),
        f"0x{part.pid:03X}",
        "yes" if part.described else "no",
    ]


@parts.command("list")
@click.argument("pattern", required=False)
def list_parts(pattern: str | None) -> None:
    """List parts whose name matches PATTERN (glob like 'STM32H7*', or a substring like l496)."""
    names = _matching(pattern)
    if not names:
        raise ConfigError(
            f"no part matches {pattern!r}",
            hint="use a glob ('STM32H7*') or a piece of a name ('l496'); "
            "`hil parts list` shows all",
        )
    title = "STM32 parts" if pattern is None else f"STM32 parts matching {pattern!r}"
    table = Table(title=title)
    for col in ("part", "family", "line", "core", "flash KiB", "RAM KiB", "DEV_ID", "described"):
        justify = "right" if col in ("flash KiB", "RAM KiB") else "left"
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name in names:
        table.add_row(*_list_row(name))
    console = make_console()
    console.print(table)
    console.print(f"{len(names)} part(s)" + ("" if pattern is None else f" match {pattern!r}"))


# --- show ------------------------------------------------------------------------------------


def _block_model(part: Part, block: BlockInfo) -> tuple[str, str]:
    """(category, description) of what serves a block on a simulated board.

    Categories: "model" (behaviour model), "flash" (the part's flash controller model),
    "external" (model once external flash is wired), "generic" (register file: a gap).
    """
    if block.name == "FLASH" or block.kind == "flash":
        return "flash", _flash_model(part)
    if block.kind in EXTERNAL_MEMORY_KINDS:
        return "external", "external memory controller (when wired)"
    row = row_for(block.kind, block.version)
    if row is None:
        return "generic", "generic"
    return "model", f"{row.factory.rpartition(':')[2].split('.')[0]}: {row.what}"


def _block_irqs(part: Part, block: BlockInfo) -> list[int]:
    numbers = part.chip.interrupts if part.chip is not None else {}
    return sorted({numbers[irq] for _signal, irq in block.interrupts if irq in numbers})


def _bootloader(part: Part) -> dict[str, Any] | None:
    bl = part.bootloader
    if bl is None:
        return None
    return {
        "version": f"{bl.version >> 4}.{bl.version & 0xF}",
        "id_byte": bl.id_byte,
        "id_addr": bl.id_addr,
        "entry": bl.entry,
        "usarts": list(bl.usarts),
        "commands": list(bl.commands),
        "extended_erase": bl.extended_erase,
    }


def _memory(part: Part) -> list[dict[str, Any]]:
    def region(name: str, kind: str, base: int, size: int) -> dict[str, Any]:
        return {"name": name, "kind": kind, "base": base, "end": base + size, "size": size}

    out = [region(r.name, "ram", r.base, r.size) for r in part.ram]
    fg = part.flash
    out += [
        region(f"BANK{i + 1}", "flash", fg.base + i * fg.bank_size, fg.bank_size)
        for i in range(fg.banks)
    ]
    out += [region(r.name, "system memory", r.base, r.size) for r in part.system_memory]
    if part.otp is not None:
        out.append(region(part.otp.name, "otp", part.otp.base, part.otp.size))
    if part.engi is not None:
        out.append(region(part.engi.name, "engineering", part.engi.base, part.engi.size))
    return out


def describe(part: Part) -> dict[str, Any]:
    """Everything `show` prints, as plain data: the table and --json views render this one dict
    so they cannot disagree."""
    blocks = []
    for b in part.blocks:
        category, model = _block_model(part, b)
        blocks.append(
            {
                "name": b.name,
                "base": b.base,
                "end": b.end,
                "size": b.size,
                "kind": b.kind,
                "version": b.version,
                "model_kind": category,
                "model": model,
                "irqs": _block_irqs(part, b),
            }
        )
    users: dict[str, list[str]] = {}
    for b in part.blocks:
        for _signal, irq in b.interrupts:
            if b.name not in users.setdefault(irq, []):
                users[irq].append(b.name)
    interrupts = part.chip.interrupts if part.chip is not None else {}
    irqs = [
        {"number": num, "name": name, "blocks": users.get(name, [])}
        for name, num in sorted(interrupts.items(), key=lambda kv: (kv[1], kv[0]))
    ]
    fg = part.flash
    return {
        "name": part.name,
        "family": part.family,
        "line": part.line,
        "core": part.core,
        "fpu": part.fpu,
        "dev_id": part.pid,
        "described": part.described,
        "flash": {
            "base": fg.base,
            "size": fg.size,
            "banks": fg.banks,
            "page_size": fg.page_size,
            "program_unit": fg.program_unit,
            "erase_value": fg.erase_value,
        },
        "flash_controller": part.flash_controller,
        "flash_model": _flash_model(part),
        "bootloader": _bootloader(part),
        "memory": _memory(part),
        "peripherals": blocks,
        "irqs": irqs,
    }


def _size(n: int) -> str:
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


def _render(d: dict[str, Any]) -> None:
    console = make_console()
    fg = d["flash"]
    bl = d["bootloader"]
    bl_text = (
        "none: loader host only"
        if bl is None
        else (
            f"v{bl['version']}, USARTs {', '.join(bl['usarts'])}, entry 0x{bl['entry']:08X}, "
            f"ID 0x{bl['id_byte']:02X} @ 0x{bl['id_addr']:08X}, "
            f"commands {' '.join(f'{c:02X}' for c in bl['commands'])}"
        )
    )
    counts = {k: sum(1 for p in d["peripherals"] if p["model_kind"] == k) for k in
              ("model", "flash", "external", "generic")}  # fmt: skip
    header = [
        ("part", d["name"]),
        ("family / line", f"{d['family']} / {d['line']}"),
        ("core", f"{d['core']}, FPU {'yes' if d['fpu'] else 'no'}"),
        ("DEV_ID", f"0x{d['dev_id']:03X}"),
        (
            "flash",
            f"{_size(fg['size'])} at 0x{fg['base']:08X}, {fg['banks']} bank(s), "
            f"{_size(fg['page_size'])} pages, {fg['program_unit']}-byte program unit, "
            f"erased 0x{fg['erase_value']:02X}",
        ),
        ("controller model", d["flash_model"]),
        ("bootloader", bl_text),
        (
            "blocks",
            f"{len(d['peripherals'])}: {counts['model']} modelled, {counts['flash']} flash, "
            f"{counts['external']} external-memory, {counts['generic']} generic",
        ),
    ]
    head = Table(show_header=False, box=None, title=f"{d['name']}", title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    for key, value in header:
        head.add_row(key, value)
    console.print(head)

    mem = Table(title="memory", caption="end = first address past the region")
    for col in ("region", "kind", "base", "end", "size"):
        mem.add_column(col)
    for m in d["memory"]:
        mem.add_row(m["name"], m["kind"], f"0x{m['base']:08X}", f"0x{m['end']:08X}",
                    _size(m["size"]))  # fmt: skip
    console.print(mem)

    per = Table(title="peripherals", caption="generic = register file only (a simulator gap)")
    for col in ("block", "base", "end", "kind/version", "model", "IRQ"):
        per.add_column(col)
    for p in d["peripherals"]:
        kind = "-" if p["kind"] is None else f"{p['kind']}/{p['version']}"
        model = p["model"] if p["model_kind"] != "generic" else "[yellow]generic[/]"
        per.add_row(
            p["name"],
            f"0x{p['base']:08X}",
            f"0x{p['end']:08X}",
            kind,
            model,
            " ".join(str(n) for n in p["irqs"]) or "-",
        )
    console.print(per)

    irq = Table(title="interrupts")
    for col in ("IRQ", "name", "blocks"):
        irq.add_column(col)
    for i in d["irqs"]:
        irq.add_row(str(i["number"]), i["name"], ", ".join(i["blocks"]) or "-")
    console.print(irq)


@parts.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print the same facts as JSON")
def show_part(name: str, as_json: bool) -> None:
    """Show one part: memory map, peripheral blocks with their simulator models, IRQs.

    NAME is any case, package suffix optional (stm32h743zit6, STM32L496AG).
    """
    # An unknown name raises UnknownPartError; main() prints it with the closest names, exit 2.
    d = describe(get_part(name))
    if as_json:
        click.echo(json.dumps(d, indent=2))
    else:
        _render(d)
