from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from stm32_hil.cli.loader import loader

from .conftest import CSP, F469, WEACT


def test_info_prints_metadata_functions_segments() -> None:
    result = CliRunner().invoke(
        loader, ["info", str(WEACT), str(CSP), str(F469)], terminal_width=140
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "W25Q128_STM32H7xx_WeActStudio" in out
    assert "R9 = 0x20001120" in out
    assert "MT25QL512A_STM32469I-EVAL" in out
    assert "StorageInfo (not loaded)" in out
    assert "hard-float" in out and "soft-float" in out
    assert "0x200018D9" in out  # CSP Init


def test_info_bad_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.stldr"
    bad.write_bytes(b"\x7fELF\x01\x01")
    result = CliRunner().invoke(loader, ["info", str(bad)])
    assert result.exit_code == 2
    assert "truncated" in result.output
    assert "Traceback" not in result.output


def test_info_warning_shown(tmp_path: Path) -> None:
    import struct

    data = bytearray(F469.read_bytes())
    struct.pack_into("<I", data, 0x34 + 112, 300)
    path = tmp_path / "odd.stldr"
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(loader, ["info", str(path)], terminal_width=200)
    assert result.exit_code == 0
    assert "warning:" in result.output and "PageSize 300" in result.output
