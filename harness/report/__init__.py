"""Allure reporting helpers: steps, hex diffs, option-byte tables (no-ops without allure)."""

from harness.report.allure_helpers import attach_option_bytes, attach_text, step
from harness.report.hexdiff import first_difference, hexdiff
from harness.report.memory import assert_memory_equal
from harness.report.tables import option_table

__all__ = [
    "assert_memory_equal",
    "attach_option_bytes",
    "attach_text",
    "first_difference",
    "hexdiff",
    "option_table",
    "step",
]
