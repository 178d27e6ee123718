"""`hil nor`: the NOR chip catalogue the simulator wires on external-memory buses."""

from __future__ import annotations

import json

import click

from stm32_hil.sim.memories.nor import CHIPS, NorFlash, chip_spec
from stm32_hil.sim.memories.nor.chips import ChipSpec
from stm32_hil.sim.memories.nor.sfdp import parse_bfpt


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"


def _row(spec: ChipSpec) -> dict[str, object]:
    fb = spec.four_byte if spec.four_byte_capable else None
    return {
        "name": spec.name,
        "vendor": spec.vendor,
        "jedec": spec.jedec_id.hex().upper(),
        "size": spec.size,
        "page": spec.page_size,
        "erase": [[size, f"{op:02X}"] for size, op in spec.erase_types],
        "four_byte": None
        if fb is None
        else {"enter": f"{fb.enter:02X}", "wel": fb.wel, "opcodes": fb.opcodes},
        "octal": spec.octal_mode.entry if spec.octal_mode else None,
        "timing_s": spec.timing,
    }


@click.group()
def nor() -> None:
    """The NOR flash catalogue (harness/sim/memories/nor/chips.toml)."""


@nor.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON record per chip")
def list_chips(as_json: bool) -> None:
    """Every chip: JEDEC ID, size, page, erase sizes, 4-byte method, octal protocol."""
    specs = [CHIPS[n] for n in sorted(CHIPS)]
    if as_json:
        click.echo(json.dumps([_row(s) for s in specs], indent=1))
        return
    for s in specs:
        erase = "/".join(_size(size) for size, _ in s.erase_types)
        extra = []
        if s.four_byte_capable and s.four_byte is not None:
            extra.append("4-byte")
        if s.octal_mode is not None:
            extra.append("octal STR/DTR")
        click.echo(
            f"{s.name:14} {s.vendor:9} {s.jedec_id.hex().upper()}  {_size(s.size):>8}  "
            f"page {s.page_size:3}  erase {erase:20} {' '.join(extra)}"
        )


@nor.command("show")
@click.argument("chip")
@click.option("--sfdp", is_flag=True, help="also dump and decode the SFDP image (5Ah)")
def show(chip: str, sfdp: bool) -> None:
    """One chip's table, and what a loader reading its SFDP learns."""
    spec = chip_spec(chip)
    click.echo(json.dumps(_row(spec), indent=1))
    if not sfdp:
        return
    flash = NorFlash(spec, lambda: 0.0)
    t = flash.begin()
    t.instruction(0x5A, 1)
    t.address_phase(0, 3, 1)
    t.dummy(8)
    image = t.receive(len(spec.sfdp), 1)
    t.end()
    for off in range(0, len(image), 16):
        click.echo(f"{off:04X}  {image[off : off + 16].hex(' ')}")
    b = parse_bfpt(image)
    click.echo(
        f"SFDP: {_size(b.size)}, page {b.page_size}, erase "
        + ", ".join(f"{_size(s)} {op:02X}h" for s, op in b.erase_types)
        + f", address {b.address_bytes} bytes, fast reads "
        + ", ".join(f"{k} {v[0]:02X}h" for k, v in b.fast_reads.items())
    )
