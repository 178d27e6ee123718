"""The jump and SWD-recovery suites collect unchanged against a real-board inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = """
[boards.bench-g071]
part = "STM32G071RB"
backend = "pyocd"
probe = "0670FF000000000000000000"
uart = { peripheral = "USART2", port = "/dev/ttyACM0" }
pins = { boot0 = "dtr", nrst = "probe" }
"""


def test_suites_collect_for_a_real_board(pytester: pytest.Pytester) -> None:
    inventory = pytester.path / "bench.toml"
    inventory.write_text(INVENTORY)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--collect-only", "-q", "--backend", "pyocd",
        "--inventory", str(inventory), "--rootdir", str(ROOT),
        str(ROOT / "suites/bootloader/test_jump.py"),
        str(ROOT / "suites/recovery/test_swd_recovery.py"),
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines([
        "*test_correct_jump_answers_0x7f_with_ack?bench-g071?*",
        "*test_jump_mistake_is_named?bench-g071-jump_primask?*",
        "*test_connect_under_reset_reaches_a_part_whose_firmware_takes_swd?bench-g071?*",
    ])  # fmt: skip
