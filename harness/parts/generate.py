"""Build `harness/parts/data/stm32.json.gz` from an stm32-data snapshot.

    python -m stm32_hil.parts.generate [--source DIR] [--check]

The snapshot (`chips.json.gz` + `registers.json.gz` + `README.md`, see its README) is ~8 MB
compressed and ~80 MB of JSON; the harness needs a fraction of it. This script keeps the facts
the harness uses (memory map, peripheral bases, register layouts, RCC bits, pins, interrupts),
drops descriptions, enums, clocks and DMA data, flattens register layouts (arrays and nested
blocks become registers at absolute offsets, so the loader does no layout arithmetic), and
dedupes what chips share: chips of one die share a peripheral table, pins differ by package
and are interned per peripheral, memory maps and interrupt tables are interned too.

The output is deterministic (sorted keys, gzip mtime 0, no file name, no timestamps) so that CI
can regenerate it and compare bytes (`--check`). It records the snapshot's source commit.

Format (version 1), one JSON object:
    source:      {repository, commit, date}
    layouts:     key ("timer_v3") -> {blocks: {BLOCK: [[reg, offset, bytes, fieldset|null]...]},
                 fieldsets: {NAME: [[field, bit_offset, bit_size] or
                 [field, bit_offset, bit_size, [[offset, width]...]] ...]}}
    blocks:      list of [name, base, size, kind, version, block, enable, reset, interrupts,
                 aliases] with enable/reset = [register, field] | null, interrupts =
                 [[signal, irq]...], aliases = other names the data gives the same base
    peripherals: list of peripheral tables: block indices sorted by base
    pinlists:    list of [[pin, signal, af|null]...] (one peripheral's pins)
    pintables:   list of {block name: pinlist index}
    memories:    list of [[name, kind, base, size, erase_size, write_size, erase_value]...]
    irqtables:   list of {interrupt name: number}
    chips:       name -> {family, line, die, device_id, cores, memory, memory_dual_bank,
                 peripherals, pins, interrupts, nvic_priority_bits} (indices into the lists)
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
PACKAGE_DIR = Path(__file__).resolve().parent
OUTPUT = PACKAGE_DIR / "data" / "stm32.json.gz"
ENV_SOURCE = "HIL_STM32_DATA"

# Bus span granularity: STM32 reference manuals allot peripherals 1 KiB boundaries.
SPAN_UNIT = 0x400

# Cores the data names wrongly. The stm32-data generator maps the STM32MP1's Cortex-A7 to
# "cm7" (its M-profile name table has no A-profile entry); the silicon has a Cortex-A7 + M4.
CORE_FIXES: dict[tuple[str, str], str] = {("STM32MP1", "cm7"): "ca7"}

Json = Any


class SourceError(Exception):
    """The snapshot is missing or malformed (exit status 2)."""


# -- source -------------------------------------------------------------------------------------


def repo_root(start: Path = PACKAGE_DIR) -> Path | None:
    """The folder holding pyproject.toml above `start` (None for an installed package)."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def default_source() -> Path | None:
    """`$HIL_STM32_DATA`, else `../shared/stm32-data` beside the repository root."""
    env = os.environ.get(ENV_SOURCE)
    if env:
        return Path(env)
    root = repo_root()
    return None if root is None else root.parent / "shared" / "stm32-data"


def read_source_info(source: Path) -> dict[str, str]:
    """Repository, commit and date parsed from the snapshot README (recorded in the output)."""
    readme = source / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as err:
        raise SourceError(f"cannot read {readme}: {err.strerror}") from err
    commit = re.search(r"\bcommit\s+([0-9a-f]{40})\b", text)
    if commit is None:
        raise SourceError(f"{readme} records no 40-digit source commit")
    repo = re.search(r"repository\s+([\w.-]+/[\w.-]+)", text)
    date = re.search(r"\b([0-9a-f]{40})\s*\((\d{4}-\d{2}-\d{2})\)", text)
    return {
        "repository": repo.group(1) if repo else "",
        "commit": commit.group(1),
        "date": date.group(2) if date else "",
    }


def load_json_gz(path: Path) -> Json:
    """One gzip-compressed JSON file of the snapshot."""
    try:
        with gzip.open(path, "rb") as fh:
            return json.loads(fh.read())
    except OSError as err:
        raise SourceError(f"cannot read {path}: {err}") from err
    except ValueError as err:
        raise SourceError(f"{path} is not gzip-compressed JSON: {err}") from err


# -- register layouts -----------------------------------------------------------------------------


def _array_offsets(array: Json | None) -> list[tuple[str, int]]:
    """(name suffix, offset) per element; arrays are either strided or list explicit offsets."""
    if array is None:
        return [("", 0)]
    if "offsets" in array:
        return [(f"[{i}]", off) for i, off in enumerate(array["offsets"])]
    return [(f"[{i}]", i * array["stride"]) for i in range(array["len"])]


def _merged(items_of: dict[str, list[Json]], extends: dict[str, str], name: str) -> list[Json]:
    """Own items plus those inherited through `extends` that the child does not redefine.

    chiptool's `extends` means "the parent's items, with the child's items replacing any of
    the same name" (TIM_GP32 extends TIM_GP16 and redefines CNT/ARR/CCR as 32-bit)."""
    own = list(items_of[name])
    parent = extends.get(name)
    if parent is None:
        return own
    names = {item["name"] for item in own}
    return own + [item for item in _merged(items_of, extends, parent) if item["name"] not in names]


def _flatten_fieldset(fields: list[Json]) -> list[list[Json]]:
    out: list[list[Json]] = []
    for field in fields:
        for suffix, step in _array_offsets(field.get("array")):
            name = field["name"] + suffix
            offset = field["bit_offset"]
            if isinstance(offset, list):
                # A field split over several bit ranges (timer OCM: bits 4..6 and 16).
                parts = [[r["start"] + step, r["end"] - r["start"] + 1] for r in offset]
                out.append([name, parts[0][0], sum(w for _, w in parts), parts])
            else:
                out.append([name, offset + step, field["bit_size"]])
    out.sort(key=lambda f: (f[1], f[0]))
    return out


def _defs(layout: Json, kind: str, what: str) -> tuple[dict[str, list[Json]], dict[str, str]]:
    """`kind/NAME` entries of a layout: NAME -> items/fields, and NAME -> the NAME it extends."""
    tag = kind + "/"
    entries = {k[len(tag) :]: v for k, v in layout.items() if k.startswith(tag)}
    items = {name: v[what] for name, v in entries.items()}
    extends = {name: v["extends"] for name, v in entries.items() if v.get("extends")}
    return items, extends


def _flatten_block(
    defs: tuple[dict[str, list[Json]], dict[str, str]],
    key: str,
    block: str,
    base: int,
    prefix: str,
    out: list[list[Json]],
    depth: int,
) -> None:
    if depth > 8:
        raise SourceError(f"{key}: block {block} nests too deep (a reference cycle?)")
    items_of, extends = defs
    if block not in items_of:
        raise SourceError(f"{key}: block {block} is referenced but not defined")
    for item in _merged(items_of, extends, block):
        for suffix, step in _array_offsets(item.get("array")):
            name = prefix + item["name"] + suffix
            offset = base + item["byte_offset"] + step
            if "block" in item:
                _flatten_block(defs, key, item["block"], offset, name + ".", out, depth + 1)
            else:
                size = item.get("bit_size", 32) // 8
                out.append([name, offset, size, item.get("fieldset")])


def flatten_layout(key: str, layout: Json) -> Json:
    """One registers.json entry as flat register lists per block plus the fieldsets they use."""
    block_defs = _defs(layout, "block", "items")
    blocks: dict[str, list[list[Json]]] = {}
    for name in sorted(block_defs[0]):
        regs: list[list[Json]] = []
        _flatten_block(block_defs, key, name, 0, "", regs, 0)
        regs.sort(key=lambda r: (r[1], r[0]))
        blocks[name] = regs
    fs_items, fs_extends = _defs(layout, "fieldset", "fields")
    used = {r[3] for regs in blocks.values() for r in regs if r[3] is not None}
    missing = used - fs_items.keys()
    if missing:
        raise SourceError(f"{key}: fieldsets {sorted(missing)} are referenced but not defined")
    fieldsets = {
        name: _flatten_fieldset(_merged(fs_items, fs_extends, name)) for name in sorted(used)
    }
    return {"blocks": blocks, "fieldsets": fieldsets}


def layout_extents(layouts: dict[str, Json]) -> dict[tuple[str, str], int]:
    """(layout key, block) -> bytes from the block base to the end of its last register."""
    return {
        (key, block): max((r[1] + r[2] for r in regs), default=0)
        for key, flat in layouts.items()
        for block, regs in flat["blocks"].items()
    }


# -- chips ----------------------------------------------------------------------------------------


class Interner:
    """Assigns each distinct JSON value an index, in first-seen order (deterministic input
    order gives deterministic output)."""

    def __init__(self) -> None:
        self.items: list[Json] = []
        self._index: dict[str, int] = {}

    def __call__(self, value: Json) -> int:
        # repr is exact for str/int/None/list and ~5x faster than json.dumps; dict values are
        # built in sorted key order by the callers, so equal tables give equal reprs.
        key = repr(value)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.items)
            self.items.append(value)
        return index


def _rcc_bits(rcc: Json | None, which: str) -> list[str] | None:
    bits = None if rcc is None else rcc.get(which)
    return None if bits is None else [bits["register"], bits["field"]]


def _keep_rank(periph: Json) -> int:
    """Which of several peripherals at one base keeps the address (lower ranks first): the one
    the data gives both a register layout and RCC bits, then a layout, then RCC bits."""
    has_regs = periph.get("registers") is not None
    has_rcc = periph.get("rcc") is not None
    return 0 if has_regs and has_rcc else 1 if has_regs else 2 if has_rcc else 3


def _span(extent: int, next_base: int | None, base: int) -> int:
    """max(1 KiB, extent rounded up to 1 KiB), clipped at the next block's base."""
    span = max(SPAN_UNIT, -(-extent // SPAN_UNIT) * SPAN_UNIT)
    if next_base is not None:
        span = min(span, next_base - base)
    return span


def peripheral_table(
    peripherals: list[Json], extents: dict[tuple[str, str], int], chip: str
) -> tuple[list[Json], dict[str, list[Json]]]:
    """The chip's blocks sorted by base with spans, and each kept block's pins."""
    by_base: dict[int, list[Json]] = {}
    for periph in peripherals:
        by_base.setdefault(periph["address"], []).append(periph)
    kept: list[tuple[Json, list[str]]] = []
    for base in sorted(by_base):
        group = sorted(enumerate(by_base[base]), key=lambda ip: (_keep_rank(ip[1]), ip[0]))
        kept.append((group[0][1], sorted(p["name"] for _, p in group[1:])))
    table: list[Json] = []
    pins: dict[str, list[Json]] = {}
    for i, (periph, aliases) in enumerate(kept):
        regs = periph.get("registers")
        kind = version = block = None
        extent = 0
        if regs is not None:
            kind, version, block = regs["kind"], regs["version"], regs["block"]
            extent_key = (f"{kind}_{version}", block)
            if extent_key not in extents:
                raise SourceError(f"{chip}: {periph['name']} names missing layout {extent_key}")
            extent = extents[extent_key]
        next_base = kept[i + 1][0]["address"] if i + 1 < len(kept) else None
        rcc = periph.get("rcc")
        irqs = sorted([x["signal"], x["interrupt"]] for x in periph.get("interrupts", []))
        table.append(
            [
                periph["name"],
                periph["address"],
                _span(extent, next_base, periph["address"]),
                kind,
                version,
                block,
                _rcc_bits(rcc, "enable"),
                _rcc_bits(rcc, "reset"),
                irqs,
                aliases,
            ]
        )
        raw_pins = periph.get("pins")
        if raw_pins:
            # Kept in the snapshot's order (sorted by pin, then signal): sorting 770k entries
            # again would double the generator's run time for no change.
            pins[periph["name"]] = [[p["pin"], p["signal"], p.get("af")] for p in raw_pins]
    return table, pins


def _by_name(entry: Json) -> str:
    return str(entry["name"])


def _memory(regions: Iterable[Json]) -> list[Json]:
    out = []
    for r in regions:
        s = r.get("settings") or {}
        out.append(
            [
                r["name"],
                r["kind"],
                r["address"],
                r["size"],
                s.get("erase_size"),
                s.get("write_size"),
                s.get("erase_value"),
            ]
        )
    return sorted(out, key=lambda m: (m[2], m[0]))


def build(source: Path) -> dict[str, Json]:
    """The output document for one snapshot."""
    info = read_source_info(source)
    raw_layouts = load_json_gz(source / "registers.json.gz")
    raw_chips = load_json_gz(source / "chips.json.gz")
    layouts = {key: flatten_layout(key, raw_layouts[key]) for key in sorted(raw_layouts)}

    extents = layout_extents(layouts)
    blocks, peripherals = Interner(), Interner()
    pinlists, pintables = Interner(), Interner()
    memories, irqtables = Interner(), Interner()
    chips: dict[str, Json] = {}
    for name in sorted(raw_chips):
        raw = raw_chips[name]
        core = raw["cores"][0]
        table, pins = peripheral_table(core["peripherals"], extents, name)
        maps = raw["memory"]
        if not 1 <= len(maps) <= 2:
            raise SourceError(f"{name}: expected one or two memory maps, found {len(maps)}")
        cores = [CORE_FIXES.get((raw["family"], c["name"]), c["name"]) for c in raw["cores"]]
        chips[name] = {
            "family": raw["family"],
            "line": raw["line"],
            "die": raw["die"],
            "device_id": raw["device_id"],
            "cores": cores,
            "memory": memories(_memory(maps[0])),
            "memory_dual_bank": memories(_memory(maps[1])) if len(maps) > 1 else None,
            "peripherals": peripherals([blocks(row) for row in table]),
            "pins": pintables({block: pinlists(lst) for block, lst in sorted(pins.items())}),
            "interrupts": irqtables(
                {i["name"]: i["number"] for i in sorted(core["interrupts"], key=_by_name)}
            ),
            "nvic_priority_bits": core["nvic_priority_bits"],
        }
    return {
        "format": FORMAT_VERSION,
        "source": info,
        "layouts": layouts,
        "blocks": blocks.items,
        "peripherals": peripherals.items,
        "pinlists": pinlists.items,
        "pintables": pintables.items,
        "memories": memories.items,
        "irqtables": irqtables.items,
        "chips": chips,
    }


def encode(document: dict[str, Json]) -> bytes:
    """Deterministic bytes: sorted keys, compact separators, gzip without mtime or name."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("ascii"))
    return buf.getvalue()


# -- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Generate (or with --check, verify) the committed data file; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m stm32_hil.parts.generate",
        description="Build harness/parts/data/stm32.json.gz from an stm32-data snapshot.",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help=f"snapshot folder (default: ${ENV_SOURCE}, else ../shared/stm32-data "
        "beside the repository root)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate in memory and fail (exit 1) if the committed file differs",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    source = args.source or default_source()
    if source is None:
        print(
            f"error: no stm32-data snapshot given: pass --source DIR or set ${ENV_SOURCE}",
            file=sys.stderr,
        )
        return 2
    needed = [source / n for n in ("README.md", "chips.json.gz", "registers.json.gz")]
    absent = [str(p) for p in needed if not p.is_file()]
    if absent:
        print(
            f"error: stm32-data snapshot not found: missing {', '.join(absent)}\n"
            f"  -> pass --source DIR or set ${ENV_SOURCE} to the snapshot folder",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    try:
        data = encode(build(source))
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output: Path = args.output
    took = time.monotonic() - started
    if args.check:
        try:
            committed = output.read_bytes()
        except FileNotFoundError:
            committed = None
        if committed != data:
            state = "is missing" if committed is None else "differs from a regeneration"
            print(
                f"{output} {state} from {source}\n"
                "  -> run 'python -m stm32_hil.parts.generate' and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{output.name}: matches a regeneration from {source} ({took:.1f} s)")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    print(f"wrote {output} ({len(data):,} bytes, {took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
