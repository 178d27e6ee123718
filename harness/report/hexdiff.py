"""Hex diffs that show where memory differs, not a wall of bytes.

A whole-flash mismatch report must point at the first differing address and show a few rows of
context around each differing region, with expected and actual side by side.
"""

from __future__ import annotations


def first_difference(expected: bytes, actual: bytes) -> int | None:
    """Offset of the first differing byte (a length mismatch counts at the shorter length)."""
    n = min(len(expected), len(actual))
    if expected[:n] == actual[:n]:
        return None if len(expected) == len(actual) else n
    lo, hi = 0, n
    while hi - lo > 64:  # bisect on slices: fast for MiB-sized images
        mid = (lo + hi) // 2
        if expected[lo:mid] != actual[lo:mid]:
            hi = mid
        else:
            lo = mid
    for i in range(lo, hi):
        if expected[i] != actual[i]:
            return i
    return hi


def _row(data: bytes, start: int, width: int, other: bytes) -> str:
    cells = []
    for i in range(start, start + width):
        if i >= len(data):
            cells.append("  ")
        elif i >= len(other) or data[i] != other[i]:
            cells.append(f"{data[i]:02X}")
        else:
            cells.append(f"{data[i]:02x}")
    return " ".join(cells)


def hexdiff(
    expected: bytes, actual: bytes, base: int = 0, *, width: int = 16, max_rows: int = 32
) -> str:
    """Rows that differ (upper-case hex marks differing bytes), with one row of context."""
    n = max(len(expected), len(actual))
    differing = [r for r in range(0, n, width) if expected[r : r + width] != actual[r : r + width]]
    if not differing:
        return "identical"
    shown: list[int] = []
    for r in differing:
        for c in (r - width, r, r + width):
            if 0 <= c < n and c not in shown:
                shown.append(c)
    shown.sort()
    lines = [
        f"first difference at 0x{base + (first_difference(expected, actual) or 0):08X}; "
        f"{len(differing)} differing row(s)",
        f"{'address':9}  {'expected':<{width * 3}} | actual",
    ]
    last = None
    for r in shown[:max_rows]:
        if last is not None and r != last + width:
            lines.append("...")
        mark = "!" if r in differing else " "
        lines.append(
            f"{base + r:08X}{mark}  {_row(expected, r, width, actual):<{width * 3}}| "
            f"{_row(actual, r, width, expected)}"
        )
        last = r
    if len(shown) > max_rows:
        lines.append(f"... {len(shown) - max_rows} more row(s)")
    return "\n".join(lines)
