"""Fixtures: simulated targets per part, and the same boards dressed up as real hardware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stm32_hil.errors import TargetError
from stm32_hil.inventory import BoardSpec
from stm32_hil.parts import get_part
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import Pin


class FakeRealTarget(SimTarget):
    """A simulated board that answers `sim` with None, as a board behind pyOCD does.

    Flows must treat it as real hardware: no destructive step without an opt-in.
    """

    @property
    def sim(self) -> Any:
        return None


class DeadDebugTarget(SimTarget):
    """Firmware that reconfigures the SWD pins: the debug port answers only once a connect
    under reset (NRST held while attaching) has kept the firmware from running."""

    def __init__(self, spec: BoardSpec) -> None:
        super().__init__(spec)
        self.rescued = False

    def set_pin(self, pin: Pin, level: bool) -> None:
        if pin is Pin.NRST and not level:
            self.rescued = True
        super().set_pin(pin, level)

    def read32(self, address: int) -> int:
        if not self.rescued:
            raise TargetError(f"{self.name}: SWD: no ACK from the target")
        return super().read32(address)


def _spec(part: str, name: str) -> BoardSpec:
    return BoardSpec(name=name, part=get_part(part).name, backend="sim")


@pytest.fixture
def make_target() -> Callable[..., SimTarget]:
    def make(part: str = "STM32H743ZI", cls: type[SimTarget] = SimTarget) -> SimTarget:
        return cls(_spec(part, f"flows-{part.lower()}"))

    return make
