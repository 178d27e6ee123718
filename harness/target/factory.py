"""Open a Target for an inventory entry, whatever its backend."""

from __future__ import annotations

from harness.errors import ConfigError
from harness.inventory import BoardSpec
from harness.target.base import Target


def open_target(spec: BoardSpec) -> Target:
    """A ready Target: a fresh simulated board, or a locked pyOCD session on a real one."""
    if spec.backend == "sim":
        from harness.sim.target import SimTarget

        return SimTarget(spec)
    if spec.backend == "pyocd":
        from harness.hw import open_pyocd_target

        return open_pyocd_target(spec)
    raise ConfigError(f"board {spec.name}: unknown backend {spec.backend!r}")
