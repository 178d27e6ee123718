"""Open a Target for an inventory entry, whatever its backend."""

from __future__ import annotations

from stm32_hil.errors import ConfigError
from stm32_hil.inventory import BoardSpec
from stm32_hil.target.base import Target


def open_target(spec: BoardSpec) -> Target:
    """A ready Target: a fresh simulated board, or a locked pyOCD session on a real one."""
    if spec.backend == "sim":
        from stm32_hil.sim.target import SimTarget

        return SimTarget(spec)
    if spec.backend == "pyocd":
        from stm32_hil.hw import open_pyocd_target

        return open_pyocd_target(spec)
    raise ConfigError(f"board {spec.name}: unknown backend {spec.backend!r}")
