"""Open a Target for an inventory entry, whatever its backend."""

from __future__ import annotations

from stm32_hil.errors import ConfigError
from stm32_hil.inventory import BoardSpec
from stm32_hil.target.base import Target
from stm32_hil.target.safety import Safety


def open_target(spec: BoardSpec, *, safety: Safety | None = None) -> Target:
    """A ready Target: a fresh simulated board, or a locked pyOCD session on a real one.

    `safety` carries the operator's opt-ins; without it a real board refuses every write
    that would erase or program its flash or change its option bytes.
    """
    target: Target
    if spec.backend == "sim":
        from stm32_hil.sim.target import SimTarget

        target = SimTarget(spec)
    elif spec.backend == "pyocd":
        from stm32_hil.hw import open_pyocd_target

        target = open_pyocd_target(spec)
    else:
        raise ConfigError(f"board {spec.name}: unknown backend {spec.backend!r}")
    if safety is not None:
        target.allow(safety)
    return target
