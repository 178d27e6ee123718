"""The committed firmware images are exactly what the sources build to."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_committed_firmware_matches_a_fresh_build() -> None:
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("arm-none-eabi-gcc and make are required in CI (apt: gcc-arm-none-eabi)")
        pytest.skip("arm-none-eabi-gcc not installed")
    result = subprocess.run(
        [str(ROOT / "ci" / "check_firmware.sh")], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
