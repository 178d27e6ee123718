"""Open a Target for an inventory entry, whatever its backend."""

from __future__ import annotations

from collections.abc import Sequence

from stm32_hil.errors import ConfigError
from stm32_hil.inventory import BoardSpec
from stm32_hil.target.base import Target
from stm32_hil.target.safety import Safety


def open_target(
    spec: BoardSpec,
    *,
    safety: Safety | None = None,
    owner: str | None = None,
    pool: Sequence[BoardSpec] = (),
) -> Target:
    """A ready Target: a fresh simulated board (or the one `hil sim serve` serves under that
    name), a locked pyOCD session on a real one, or a pyOCD session on a labgrid place held
    for the whole process.

    `safety` carries the operator's opt-ins; without it a real board refuses every write
    that would erase or program its flash or change its option bytes. `owner` (a test id) is
    what other waiters are told holds the board. `pool`: interchangeable boards, of which the
    first free one is taken (waiting first come, first served).
    """
    target: Target
    if spec.backend == "sim":
        target = _open_served(spec) or _open_sim(spec)
    elif spec.backend == "pyocd":
        target = _open_real(spec, owner, pool)
    elif spec.backend == "labgrid":
        from stm32_hil.labgrid.target import open_labgrid_target

        target = open_labgrid_target(spec, owner=owner, pool=pool)
    else:
        raise ConfigError(f"board {spec.name}: unknown backend {spec.backend!r}")
    if safety is not None:
        target.allow(safety)
    return target


def _open_sim(spec: BoardSpec) -> Target:
    from stm32_hil.sim.target import SimTarget

    return SimTarget(spec)


def _open_served(spec: BoardSpec) -> Target | None:
    """The board another process serves under this name (`hil sim serve`), through its debug
    port, or None. Says which it used on stderr: the answer depends on that board's state."""
    from stm32_hil.sim import served

    record = served.lookup_elsewhere(spec.name)
    if record is None:
        return None
    import dataclasses
    import sys

    from stm32_hil.hw.pyocd_target import PyOCDTarget
    from stm32_hil.parts import get_part
    from stm32_hil.sim.debug import pyocd_targets

    part = get_part(spec.part)
    remote = dataclasses.replace(
        spec,
        backend="pyocd",
        probe=f"sim:{spec.name}",
        target_type=pyocd_targets.register(part),
        connect_mode="attach",
        pins=dataclasses.replace(spec.pins, boot0="none", nrst="probe"),
    )
    print(f"using {record.describe()}", file=sys.stderr)
    # the serving process holds the board; a second lock would only stop parallel clients
    target = PyOCDTarget(remote, part, lock=False)
    # a simulated board, whoever serves it: nothing on it is precious (as for SimTarget)
    target.allow(Safety(destructive=True, irreversible=True))
    return target


def _open_real(spec: BoardSpec, owner: str | None, pool: Sequence[BoardSpec]) -> Target:
    from stm32_hil.hw import open_pyocd_target

    if not pool:
        return open_pyocd_target(spec, owner=owner)
    from stm32_hil.hw.locks import BoardPool

    members = {str(m.probe): m for m in pool}
    held = BoardPool(spec.pool or spec.name, list(members), owner=owner).acquire()
    try:
        return open_pyocd_target(members[held.key], lock=held, owner=owner)
    except BaseException:
        held.release()
        raise
