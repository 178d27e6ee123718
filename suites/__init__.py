"""Regression suites run by `hil run` (installed as `stm32_hil_suites`)."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Test firmware images: shipped in the package when installed, the repository's firmware/
# folder in a development checkout (where this file resolves into suites/).
FIRMWARE = _HERE / "firmware" if (_HERE / "firmware").is_dir() else _HERE.parent / "firmware"
