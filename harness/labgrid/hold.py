"""The places this process holds: reserved in labgrid's queue, acquired, released at exit.

A test session takes its place when a test first opens the board, as a person would with
`labgrid-client reserve --wait` then `acquire`, and keeps it from test to test while nobody
else asks for it. When another session queues for the place (another host, another xdist
worker of the same run), the place passes on when the current test closes the board, as a
local board's lock does: sessions then take turns test by test and never use the board at
once, and no worker can hold a place until the end of a run another worker waits on. Waiting
goes through a labgrid reservation, so sessions are served in the coordinator's order
(priority, then age), whichever host they run on. The wait is reported like a board lock's.

A pool of places (inventory boards sharing `pool`) is one reservation whose filter is the tag
`hil_pool=<pool>`, which the harness puts on the pool's places: the coordinator hands each
waiting session (each xdist worker) whichever of them is free next.

The place is released and the reservation cancelled at interpreter exit, which also follows
Ctrl-C (and SIGTERM, turned into the same exit path when nobody else handles it).
"""

from __future__ import annotations

import atexit
import contextlib
import re
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from stm32_hil.inventory import BoardSpec
from stm32_hil.labgrid.client import Coordinator, PlaceView, coordinator_address
from stm32_hil.labgrid.errors import LabgridError, PlaceUnavailableError
from stm32_hil.settings import env_seconds

ENV_TIMEOUT = "HIL_PLACE_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0  # a session may wait for another session's whole run
POLL_S = 0.25
NOTICE_AFTER_S = 2.0
NOTICE_EVERY_S = 10.0
POOL_TAG = "hil_pool"


def wait_budget_s() -> float:
    """$HIL_PLACE_TIMEOUT seconds, else 600."""
    return env_seconds(ENV_TIMEOUT, DEFAULT_TIMEOUT_S, LabgridError, zero_ok=False, example="1800")


@dataclass
class Held:
    """A place this process has acquired."""

    coordinator: Coordinator
    place: str
    token: str
    key: str  # what it was asked for: a place name or "pool:<name>"

    def view(self) -> PlaceView:
        """The place as the coordinator sees it now; not ours any more is an error."""
        if not self.coordinator.connected:
            raise PlaceUnavailableError(
                f"labgrid place {self.place}: the coordinator {self.coordinator.address} "
                "is unreachable",
                hint="restart labgrid-coordinator; the run can be repeated as is",
            )
        view = self.coordinator.place(self.place)
        if view is None:
            raise PlaceUnavailableError(
                f"labgrid place {self.place} is unavailable: it was deleted",
                hint="recreate it (labgrid-client create, add-match) and run again",
            )
        if view.acquired != self.coordinator.user:
            raise PlaceUnavailableError(
                f"labgrid place {self.place} is unavailable: it is no longer acquired by this "
                f"session ({view.state})",
                hint="someone released or took it (labgrid-client release --kick?)",
            )
        return view

    def release(self) -> None:
        with contextlib.suppress(LabgridError):
            self.coordinator.release(self.place)
        with contextlib.suppress(LabgridError):
            self.coordinator.cancel(self.token)

    def wanted(self) -> bool:
        """Whether another session queues for this place (by its name or its pool's tag)."""
        view = self.coordinator.place(self.place)
        tags = {**(view.tags if view is not None else {}), "name": self.place}
        for reservation in self.coordinator.reservations():
            if reservation.state != "waiting" or reservation.token == self.token:
                continue
            wanted = reservation.filters.get("main", {})
            if wanted and all(tags.get(k) == v for k, v in wanted.items()):
                return True
        return False


_lock = threading.Lock()
_coordinators: dict[str, Coordinator] = {}
_held: dict[tuple[str, str], Held] = {}


def _report(message: str) -> None:
    from stm32_hil.hw import locks

    locks.report_wait(message)


def _coordinator(address: str) -> Coordinator:
    found = _coordinators.get(address)
    if found is None or not found.connected:
        found = _coordinators[address] = Coordinator(address)
    return found


def hold(spec: BoardSpec, pool: Sequence[BoardSpec] = (), owner: str | None = None) -> Held:
    """The place of `spec` (or of a free member of `pool`) for this process, waiting in
    labgrid's queue if needed; taken once, then returned again until the process ends."""
    address = coordinator_address(spec.coordinator)
    members = [m for m in pool if m.place] or [spec]
    key = f"pool:{spec.pool}" if len(members) > 1 and spec.pool else str(members[0].place)
    with _lock:
        held = _held.get((address, key))
        if held is not None:
            return held
        coordinator = _coordinator(address)
        if key.startswith("pool:"):
            tags = {POOL_TAG: _tag_value(str(spec.pool))}
            for member in members:
                _tag(coordinator, str(member.place), tags)
        else:
            tags = {"name": key}
            if coordinator.place(key) is None:
                raise PlaceUnavailableError(
                    f"board {spec.name}: labgrid place {key!r} does not exist on "
                    f"{coordinator.address}",
                    hint="create it: labgrid-client -p "
                    f"{key} create && labgrid-client -p {key} add-match 'EXPORTER/GROUP/*'",
                )
        held = _wait(coordinator, tags, key, owner or spec.name)
        _held[(address, key)] = held
        _install_exit_handlers()
        return held


def _tag_value(pool: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", pool.lower())


def _tag(coordinator: Coordinator, place: str, tags: dict[str, str]) -> None:
    view = coordinator.place(place)
    if view is None:
        raise PlaceUnavailableError(
            f"labgrid place {place!r} does not exist on {coordinator.address}",
            hint=f"create it: labgrid-client -p {place} create",
        )
    if any(view.tags.get(k) != v for k, v in tags.items()):
        coordinator.set_tags(place, tags)


def _wait(coordinator: Coordinator, tags: dict[str, str], key: str, owner: str) -> Held:
    budget = wait_budget_s()
    reservation = coordinator.reserve(tags)
    token = reservation.token
    start = time.monotonic()
    next_notice = start + NOTICE_AFTER_S
    try:
        while True:
            reservation = coordinator.poll(token)
            if reservation.state in ("allocated", "acquired"):
                place = reservation.allocations["main"][0]
                coordinator.acquire(place)
                waited = time.monotonic() - start
                if waited >= NOTICE_AFTER_S:
                    _report(f"[stm32-hil] {owner}: got labgrid place {place} after {waited:.0f} s")
                return Held(coordinator, place, token, key)
            if reservation.state != "waiting":
                raise PlaceUnavailableError(
                    f"labgrid reservation {token} for {key} became {reservation.state}",
                    hint="the place may have been deleted; check `labgrid-client places`",
                )
            now = time.monotonic()
            if now - start > budget:
                raise PlaceUnavailableError(
                    f"labgrid place {key} not granted within {budget:g} s "
                    f"({_holders(coordinator, key)})",
                    hint=f"wait for that session or raise ${ENV_TIMEOUT}",
                )
            if now >= next_notice:
                _report(
                    f"[stm32-hil] {owner}: waiting {now - start:.0f} s for labgrid place {key} "
                    f"({_holders(coordinator, key)}; reservation {token})"
                )
                next_notice = now + NOTICE_EVERY_S
            time.sleep(POLL_S)
    except BaseException:
        with contextlib.suppress(LabgridError):
            coordinator.cancel(token)
        raise


def _holders(coordinator: Coordinator, key: str) -> str:
    try:
        places = coordinator.places()
    except LabgridError:
        return "holders unknown"
    if key.startswith("pool:"):
        wanted = _tag_value(key[5:])
        names = [p for p, v in places.items() if v.tags.get(POOL_TAG) == wanted]
    else:
        names = [key]
    return ", ".join(f"{n} {places[n].state}" for n in names if n in places) or "no such place"


def pass_on_if_wanted(held: Held) -> bool:
    """Between two uses of the board (a Target closed): if another session waits for the
    place, release it, so the next use queues behind that session. Returns whether it did."""
    try:
        if not held.coordinator.connected or not held.wanted():
            return False
    except LabgridError:
        return False
    with _lock:
        for key, value in list(_held.items()):
            if value is held:
                del _held[key]
    held.release()
    return True


def release_all() -> None:
    """Release every place this process holds and close its coordinator connections."""
    with _lock:
        held = list(_held.values())
        _held.clear()
        coordinators = list(_coordinators.values())
        _coordinators.clear()
    for h in held:
        h.release()
    for c in coordinators:
        c.close()


_handlers_installed = False


def _install_exit_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(release_all)
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


__all__ = ["ENV_TIMEOUT", "Held", "hold", "pass_on_if_wanted", "release_all", "wait_budget_s"]
