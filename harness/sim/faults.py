"""Fault injection: interrupt a simulated board at the worst moment, as a field failure does.

Flash controller models ask the injector before each programmed unit, erase and option-byte
change; when the armed plan fires, the controller leaves the cells in the interrupted state a
real part shows (partial bits, bad ECC, half-erased sector, unreadable option bytes) and the
board then resets or loses power.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FaultKind(str, enum.Enum):
    RESET = "reset"  # NRST/system reset: RAM kept, option bytes not reloaded
    POWER_LOSS = "power_loss"  # supply gone: RAM lost, option bytes reloaded at power-up


class FaultTrigger(str, enum.Enum):
    AFTER_UNITS = "after_units"  # after N program units completed, during unit N+1
    DURING_ERASE = "during_erase"  # the next page/sector/bank/mass erase
    DURING_OPTION_CHANGE = "during_option_change"  # the next option-byte programming


@dataclass
class FaultPlan:
    kind: FaultKind
    trigger: FaultTrigger
    count: int = 0

    def describe(self) -> str:
        what = {
            FaultTrigger.AFTER_UNITS: f"after {self.count} programmed unit(s)",
            FaultTrigger.DURING_ERASE: "during the next erase",
            FaultTrigger.DURING_OPTION_CHANGE: "during the next option-byte change",
        }[self.trigger]
        return f"{self.kind.value} {what}"


@dataclass
class FaultRecord:
    plan: FaultPlan
    address: int | None
    at_cycle: int


@dataclass
class FaultInjector:
    plan: FaultPlan | None = None
    fired: list[FaultRecord] = field(default_factory=list)
    _units_seen: int = 0

    def arm(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._units_seen = 0

    def disarm(self) -> None:
        self.plan = None

    def _fire(self, trigger: FaultTrigger, address: int | None, now: int) -> FaultKind | None:
        plan = self.plan
        if plan is None or plan.trigger is not trigger:
            return None
        if trigger is FaultTrigger.AFTER_UNITS:
            if self._units_seen < plan.count:
                self._units_seen += 1
                return None
        self.plan = None
        self.fired.append(FaultRecord(plan, address, now))
        return plan.kind

    def on_program_unit(self, address: int, now: int) -> FaultKind | None:
        """Called before a unit is programmed; a non-None answer means: interrupt this one."""
        return self._fire(FaultTrigger.AFTER_UNITS, address, now)

    def on_erase(self, address: int, now: int) -> FaultKind | None:
        return self._fire(FaultTrigger.DURING_ERASE, address, now)

    def on_option_change(self, now: int) -> FaultKind | None:
        return self._fire(FaultTrigger.DURING_OPTION_CHANGE, None, now)
