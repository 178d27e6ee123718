"""Allure reporting helpers: steps, hex diffs, option-byte tables (no-ops without allure)."""

from stm32_hil.report.allure_helpers import attach_option_bytes, attach_text, step
from stm32_hil.report.hexdiff import first_difference, hexdiff
from stm32_hil.report.memory import assert_memory_equal
from stm32_hil.report.tables import option_table

__all__ = [
    "assert_memory_equal",
    "attach_option_bytes",
    "attach_text",
    "first_difference",
    "hexdiff",
    "option_table",
    "step",
]
