"""The three public loaders, used by path (they are test inputs, not part of the product)."""

from __future__ import annotations

from pathlib import Path

import pytest

LOADERS = Path(__file__).resolve().parents[3] / "shared" / "loaders"
WEACT = LOADERS / "weact_h7_w25q128.stldr"
CSP = LOADERS / "st_contrib_csp.stldr"
F469 = LOADERS / "st_f469_mt25ql.stldr"


@pytest.fixture(scope="session")
def loader_bytes() -> dict[str, bytes]:
    missing = [p for p in (WEACT, CSP, F469) if not p.exists()]
    if missing:
        pytest.fail(f"corpus loaders missing: {missing}")
    return {"weact": WEACT.read_bytes(), "csp": CSP.read_bytes(), "f469": F469.read_bytes()}
