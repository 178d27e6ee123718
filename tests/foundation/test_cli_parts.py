"""`hil parts`: the part catalogue and its simulator models, readable and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stm32_hil.parts import part_names

REPO = Path(__file__).resolve().parents[2]


def hil(*args: str) -> subprocess.CompletedProcess[str]:
    """The command piped; wide enough that a table row is one line (piped default: 100)."""
    return subprocess.run(
        [sys.executable, "-c", "from stm32_hil.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )


def row(stdout: str, name: str) -> str:
    """The table row of one block (the first cell is the name, padded)."""
    return next(ln for ln in stdout.splitlines() if ln.startswith(f"│ {name} "))


def test_show_lists_blocks_models_and_irqs() -> None:
    out = hil("parts", "show", "STM32L496AG")
    assert out.returncode == 0, out.stderr
    assert "STM32L496AG" in out.stdout and "0x461" in out.stdout
    assert "none: loader host only" in out.stdout
    qspi = row(out.stdout, "QUADSPI")
    assert "0xA0001000" in qspi and "quadspi/v1" in qspi
    assert "external memory controller (when wired)" in qspi and "71" in qspi
    rcc = row(out.stdout, "RCC")
    assert "rcc/l4" in rcc and "Rcc:" in rcc and "generic" not in rcc
    for name in ("CRC", "DMA1"):
        assert "generic" in row(out.stdout, name)
    assert " 11 12 13 14 15 16 17 " in row(out.stdout, "DMA1")  # one IRQ per channel
    assert "basic flash" in row(out.stdout, "FLASH")
    assert "Traceback" not in out.stderr


def test_show_json_has_the_same_facts() -> None:
    out = hil("parts", "show", "stm32l496ag", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["name"] == "STM32L496AG" and d["dev_id"] == 0x461 and d["bootloader"] is None
    blocks = {b["name"]: b for b in d["peripherals"]}
    q = blocks["QUADSPI"]
    assert (q["base"], q["kind"], q["version"]) == (0xA0001000, "quadspi", "v1")
    assert q["model_kind"] == "external" and q["irqs"] == [71]
    assert blocks["RCC"]["model_kind"] == "model" and blocks["RCC"]["model"].startswith("Rcc")
    assert blocks["CRC"]["model_kind"] == "generic"
    assert blocks["DMA1"]["irqs"] == list(range(11, 18))
    assert {"number": 71, "name": "QUADSPI", "blocks": ["QUADSPI"]} in d["irqs"]
    assert any(m["name"] == "SRAM" and m["kind"] == "ram" for m in d["memory"])
    assert [m["name"] for m in d["memory"] if m["kind"] == "flash"] == ["BANK1", "BANK2"]


def test_show_accepts_any_case_and_package_suffix() -> None:
    out = hil("parts", "show", "stm32h743zit6")
    assert out.returncode == 0, out.stderr
    assert "STM32H743ZI" in out.stdout and "0x450" in out.stdout
    assert "h7 flash controller" in out.stdout and "USART1" in out.stdout
    assert "none: loader host only" not in out.stdout


def test_show_unknown_part_names_close_ones() -> None:
    out = hil("parts", "show", "STM32L496XX")
    assert out.returncode == 2
    assert "unknown part 'STM32L496XX'" in out.stderr and "STM32L496ZG" in out.stderr
    assert "Traceback" not in out.stderr


def test_list_glob_matches_only_that_series() -> None:
    out = hil("parts", "list", "STM32U5*")
    assert out.returncode == 0, out.stderr
    expected = [n for n in part_names() if n.startswith("STM32U5")]
    listed = [ln.split("│")[1].strip() for ln in out.stdout.splitlines() if ln.startswith("│")]
    assert listed == expected
    assert f"{len(expected)} part(s) match 'STM32U5*'" in out.stdout


def test_list_substring_any_case() -> None:
    out = hil("parts", "list", "l496")
    assert out.returncode == 0, out.stderr
    assert "STM32L496AG" in out.stdout and "0x461" in out.stdout
    assert "STM32L476" not in out.stdout


def test_list_without_match_is_a_clear_error() -> None:
    out = hil("parts", "list", "nothing-like-this")
    assert out.returncode == 2
    assert "no part matches 'nothing-like-this'" in out.stderr and "Traceback" not in out.stderr
