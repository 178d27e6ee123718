"""A place's power switch, driven through labgrid's own power driver.

The place exports the relay as a `NetworkPowerPort` (any model labgrid knows: simplerest,
rest, gude, netio, ...); the harness builds labgrid's `NetworkPowerDriver` on a local labgrid
Target holding that resource, so the switching protocol is labgrid's, not the harness's.
"""

from __future__ import annotations

from typing import Any

from stm32_hil.errors import TargetError

OFF_S = 2.0  # off time of a power cycle (labgrid's default): long enough to drain a board


class PlacePower:
    def __init__(self, place: str, params: dict[str, Any], off_s: float = OFF_S) -> None:
        import attr
        from labgrid import Target
        from labgrid.driver.powerdriver import NetworkPowerDriver
        from labgrid.resource.power import NetworkPowerPort

        wanted = {f.name for f in attr.fields(NetworkPowerPort) if f.init} - {"target", "name"}
        self.place = place
        self._target = Target(f"stm32-hil-{place}")
        try:
            NetworkPowerPort(self._target, None, **{k: params[k] for k in wanted if k in params})
            self._driver = NetworkPowerDriver(self._target, None, delay=float(off_s))
            self._target.activate(self._driver)
        except Exception as exc:
            raise TargetError(
                f"labgrid place {place}: cannot drive its NetworkPowerPort {params}: {exc}",
                hint="check the resource's model and host in the exporter configuration",
            ) from None

    def cycle(self) -> None:
        try:
            self._driver.cycle()
        except Exception as exc:
            raise TargetError(
                f"labgrid place {self.place}: power cycle failed: {exc}",
                hint="check the relay (labgrid-client -p PLACE power cycle)",
            ) from None


__all__ = ["PlacePower"]
