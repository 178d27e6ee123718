"""Real boards through pyOCD (probes, also remote) and pyserial; board locks; pin drivers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.hw.pyocd_target import PyOCDTarget
    from harness.inventory import BoardSpec


def open_pyocd_target(spec: BoardSpec, **kwargs: Any) -> PyOCDTarget:
    """Lock the board and open a pyOCD session on it (see `PyOCDTarget` for kwargs)."""
    from harness.hw.pyocd_target import PyOCDTarget

    return PyOCDTarget(spec, **kwargs)


__all__ = ["open_pyocd_target"]
