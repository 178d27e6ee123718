"""Option-byte tables a person can scan: register, raw value, decoded fields, factory value."""

from __future__ import annotations

from collections.abc import Mapping

from stm32_hil.parts import Part


def option_table(
    part: Part, values: Mapping[str, int], before: Mapping[str, int] | None = None
) -> str:
    rows = [("register", "value", "factory", "fields")]
    for reg in part.option_registers:
        if reg.name not in values:
            continue
        v = values[reg.name]
        fields = ", ".join(f"{k}={val:#x}" for k, val in reg.decode(v).items())
        changed = before is not None and before.get(reg.name) != v
        value = f"0x{v:08X}" + (" *" if changed else "")
        rows.append((reg.name, value, f"0x{reg.factory:08X}", fields))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out = []
    for r in rows:
        out.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    if before is not None:
        out.append("(* = changed)")
    return "\n".join(out)
