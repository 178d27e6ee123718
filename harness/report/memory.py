"""Memory comparisons whose failure says where: first differing address plus a hex diff."""

from __future__ import annotations

from stm32_hil.report.allure_helpers import attach_text
from stm32_hil.report.hexdiff import first_difference, hexdiff


def assert_memory_equal(actual: bytes, expected: bytes, base: int, what: str = "memory") -> None:
    """Raise AssertionError naming the first differing address; attach the full hex diff."""
    where = first_difference(expected, actual)
    if where is None:
        return
    diff = hexdiff(expected, actual, base)
    attach_text(f"hex diff: {what}", diff)
    exp = f"{expected[where]:02X}" if where < len(expected) else "end of data"
    got = f"{actual[where]:02X}" if where < len(actual) else "end of data"
    raise AssertionError(
        f"{what}: first difference at 0x{base + where:08X}: expected {exp}, read {got}\n"
        + "\n".join(diff.splitlines()[:12])
    )
