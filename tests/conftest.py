"""Fixtures shared by every test area."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_LOADERS = Path(__file__).resolve().parents[2] / "shared" / "loaders"


@pytest.fixture
def shared_loader() -> Callable[[str], Path]:
    """Path of a third-party loader in ../shared/loaders, by file name.

    A missing file fails the test under CI=true (CI always has ../shared beside the clone) and
    skips it elsewhere, e.g. in a clone without the sample loaders.
    """

    def find(name: str) -> Path:
        path = SHARED_LOADERS / name
        if not path.exists():
            if os.environ.get("CI") == "true":
                pytest.fail(f"shared loader missing: {path}")
            pytest.skip(f"shared loader missing: {path}")
        return path

    return find
