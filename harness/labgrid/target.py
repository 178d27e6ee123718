"""The Target of a labgrid place: pyOCD through the place's probe server, UART over RFC 2217.

Tests get the very class a local real board gives them (`PyOCDTarget`), built from the
inventory entry with the probe and UART the place provides, so a board moves from a desk to a
shared bench without its tests changing. What differs is who holds the board: the place, for
the whole session (see `hold`), instead of a local lock per Target. When an operation fails,
the place is looked at: if it is gone (exporter offline, place deleted or taken), the error
says so as a `PlaceUnavailableError`, which reports file under infrastructure, not product.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import serial

from stm32_hil.errors import HarnessError
from stm32_hil.hw.pyocd_target import PyOCDTarget
from stm32_hil.inventory import BoardSpec
from stm32_hil.labgrid.errors import LabgridError, PlaceUnavailableError
from stm32_hil.labgrid.hold import Held, hold, pass_on_if_wanted
from stm32_hil.labgrid.reach import Reach, reach
from stm32_hil.parts import get_part
from stm32_hil.target.base import Capability, ResetKind
from stm32_hil.target.safety import Safety

if TYPE_CHECKING:
    from stm32_hil.labgrid.power import PlacePower

T = TypeVar("T")
SIM_PROBE_VENDOR = "stm32-hil"  # vendor_name of the simulated probe, also through a server


def open_labgrid_target(
    spec: BoardSpec, *, owner: str | None = None, pool: Sequence[BoardSpec] = ()
) -> LabgridTarget:
    """Hold the board's place (waiting in labgrid's queue) and open a Target on it."""
    held = hold(spec, pool, owner)
    view = held.view()
    where = reach(view)
    member = next((m for m in pool if m.place == held.place), spec)
    return LabgridTarget(member, held, where)


def remote_spec(spec: BoardSpec, where: Reach) -> BoardSpec:
    """The inventory entry with the place's probe and UART filled in."""
    part = get_part(spec.part)
    target_type = spec.target_type
    if target_type is None:  # the part's memory map from its data, as for simulated boards
        from stm32_hil.sim.debug import pyocd_targets

        target_type = pyocd_targets.register(part)
    uart = dataclasses.replace(
        spec.uart, port=where.uart or spec.uart.port, baud=where.baud or spec.uart.baud
    )
    return dataclasses.replace(spec, probe=where.probe, uart=uart, target_type=target_type)


class LabgridTarget(PyOCDTarget):
    backend = "labgrid"

    def __init__(self, spec: BoardSpec, held: Held, where: Reach) -> None:
        self.held = held
        self.place = held.place
        self.reach = where
        self._power: PlacePower | None = None
        self._closed = False
        try:
            super().__init__(remote_spec(spec, where), lock=False)
        except HarnessError as exc:
            self._raise_if_place_lost(exc)
            raise
        if self.simulated:
            # a simulated board behind the place: nothing on it is precious (as for SimTarget)
            self.allow(Safety(destructive=True, irreversible=True))

    @property
    def simulated(self) -> bool:
        """Whether the probe server serves a board `hil sim serve` simulates (it says so)."""
        probe = self.session.probe if self.session is not None else None
        return getattr(probe, "vendor_name", None) == SIM_PROBE_VENDOR

    def close(self) -> None:
        """Close the pyOCD session and UART; the place stays held unless another session
        waits for it (see `hold`)."""
        super().close()
        if not self._closed:
            self._closed = True
            pass_on_if_wanted(self.held)

    def describe_place(self) -> str:
        return f"labgrid place {self.place} via {self.held.coordinator.address}"

    # Every way an operation reaches the bench goes through one of these; a failure there is
    # checked against the place before it is reported as the board's.
    def _checked(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except PlaceUnavailableError:
            raise
        except (HarnessError, serial.SerialException, OSError) as exc:
            self._raise_if_place_lost(exc)
            raise

    def _raise_if_place_lost(self, exc: BaseException) -> None:
        try:
            reach(self.held.view())
        except PlaceUnavailableError as lost:
            raise PlaceUnavailableError(
                f"{lost.message} (while {self.name}: {exc})", hint=lost.hint
            ) from exc
        except LabgridError:
            return

    def _open_session(self, options: dict[str, Any]) -> None:
        self._checked(lambda: super(LabgridTarget, self)._open_session(options))

    def _mem(self, fn: Any, address: int, length: int, write: bool) -> Any:
        return self._checked(lambda: super(LabgridTarget, self)._mem(fn, address, length, write))

    def _core_call(self, fn: Any) -> Any:
        return self._checked(lambda: super(LabgridTarget, self)._core_call(fn))

    def capabilities(self) -> frozenset[Capability]:
        caps = super().capabilities()
        return caps | {Capability.POWER_CYCLE} if self.reach.power is not None else caps

    def reset(self, kind: ResetKind = ResetKind.SYSTEM, *, halt: bool = False) -> None:
        if kind is ResetKind.POWER and self.reach.power is not None:
            self._checked(lambda: self._power_cycle(halt))
            return
        self._checked(lambda: super(LabgridTarget, self).reset(kind, halt=halt))

    def _power_cycle(self, halt: bool) -> None:
        """Off and on through the place's relay (labgrid's power driver), as on the bench."""
        if self._power is None:
            from stm32_hil.labgrid.power import PlacePower

            self._power = PlacePower(self.place, self.reach.power or {})
        self._power.cycle()
        if halt:
            self.halt()

    def _serial(self, **kwargs: Any) -> serial.SerialBase:
        return self._checked(lambda: super(LabgridTarget, self)._serial(**kwargs))


__all__ = ["LabgridTarget", "open_labgrid_target", "remote_spec"]
