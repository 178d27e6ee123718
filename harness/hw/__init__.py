"""Real boards through pyOCD (probes, also remote) and pyserial; board locks; pin drivers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stm32_hil.hw.pyocd_target import PyOCDTarget
    from stm32_hil.inventory import BoardSpec


def open_pyocd_target(spec: BoardSpec, **kwargs: Any) -> PyOCDTarget:
    """Lock the board and open a pyOCD session on it (see `PyOCDTarget` for kwargs)."""
    from stm32_hil.hw.pyocd_target import PyOCDTarget

    return PyOCDTarget(spec, **kwargs)


__all__ = ["open_pyocd_target"]
