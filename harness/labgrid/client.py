"""A synchronous handle on labgrid's coordinator client, alive for the whole process.

labgrid's `ClientSession` is asyncio and learns about places and resources from a stream the
coordinator pushes. The harness is synchronous and holds a place for a whole test session, so
the session runs on its own event loop in a daemon thread: the stream stays open (the
coordinator's keepalive is answered, a vanished exporter is seen as soon as it is gone) and
every request is a coroutine handed to that loop with a time limit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stm32_hil.labgrid.errors import LabgridError

ENV_COORDINATOR = "LG_COORDINATOR"  # labgrid's own variable for the coordinator address
DEFAULT_COORDINATOR = "127.0.0.1:20408"  # labgrid's default (port 20408)
CONNECT_S = 15.0
REQUEST_S = 30.0

T = TypeVar("T")


def coordinator_address(configured: str | None = None) -> str:
    """The inventory's `coordinator`, else $LG_COORDINATOR, else labgrid's default."""
    return configured or os.environ.get(ENV_COORDINATOR) or DEFAULT_COORDINATOR


@dataclass(frozen=True)
class ResourceView:
    """One resource of a place, as the coordinator last described it."""

    path: tuple[str, str, str, str]  # exporter, group, class, resource name
    name: str  # the name inside the place (after a match's rename)
    cls: str
    params: dict[str, Any]
    avail: bool

    @property
    def exporter(self) -> str:
        return self.path[0]


@dataclass(frozen=True)
class PlaceView:
    """A place: who holds it and what it is made of."""

    name: str
    acquired: str | None  # "host/user" of the holder
    reservation: str | None
    tags: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    resources: tuple[ResourceView, ...] = ()  # acquired ones (empty while the place is free)
    matches: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        if self.acquired:
            return f"acquired by {self.acquired}"
        return "reserved" if self.reservation else "free"


@dataclass(frozen=True)
class ReservationView:
    token: str
    state: str  # waiting, allocated, acquired, expired, invalid
    allocations: dict[str, list[str]]
    owner: str
    filters: dict[str, dict[str, str]] = field(default_factory=dict)


def _pb2() -> Any:
    try:
        from labgrid.remote.generated import labgrid_coordinator_pb2
    except ImportError:
        raise LabgridError(
            "boards with backend 'labgrid' need the labgrid package",
            hint="pip install 'stm32-hil[labgrid]' (or: pip install labgrid)",
        ) from None
    return labgrid_coordinator_pb2


class Coordinator:
    """A connection to one labgrid coordinator, used from any thread."""

    def __init__(self, address: str | None = None, *, connect_s: float = CONNECT_S) -> None:
        self.address = coordinator_address(address)
        self._pb = _pb2()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="labgrid-client", daemon=True
        )
        self._thread.start()
        try:
            self._session: Any = self._call(self._start(), connect_s)
        except BaseException:
            self._stop_loop()
            raise

    # -- plumbing --------------------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T], timeout_s: float = REQUEST_S) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise LabgridError(
                f"labgrid coordinator {self.address} did not answer within {timeout_s:g} s",
                hint=f"is labgrid-coordinator running there? (address from the inventory's "
                f"'coordinator', else ${ENV_COORDINATOR})",
            ) from None
        except LabgridError:
            raise
        except Exception as exc:
            raise LabgridError(
                f"labgrid coordinator {self.address}: {_details(exc)}",
                hint="check the place name (`labgrid-client places`) and the coordinator log",
            ) from None

    async def _start(self) -> Any:
        from labgrid.remote.client import ClientSession
        from labgrid.util.proxy import proxymanager

        address = proxymanager.get_grpc_address(self.address, default_port=20408)
        session = ClientSession(address, asyncio.get_running_loop())
        await _own_connection(session)
        try:
            await session.start()
        except Exception:
            await session.close()
            raise LabgridError(
                f"cannot reach the labgrid coordinator at {self.address}",
                hint=f"start it (labgrid-coordinator -l {self.address}) or set "
                f"${ENV_COORDINATOR} / the inventory's 'coordinator'",
            ) from None
        return session

    async def _rpc(self, method: str, request: Any) -> Any:
        return await getattr(self._session.stub, method)(request)

    @property
    def connected(self) -> bool:
        return not self._session.stopping.is_set()

    @property
    def user(self) -> str:
        """Who this client is to the coordinator ("host/user", as places record holders)."""
        return f"{self._session.gethostname()}/{self._session.getuser()}"

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            with contextlib.suppress(LabgridError):
                self._call(self._close(), 5.0)
        self._stop_loop()

    async def _close(self) -> None:
        await self._session.stop()
        await self._session.close()

    def _stop_loop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    # -- places ----------------------------------------------------------------------------
    def places(self) -> dict[str, PlaceView]:
        return self._call(self._places())

    def place(self, name: str) -> PlaceView | None:
        return self.places().get(name)

    async def _places(self) -> dict[str, PlaceView]:
        await self._session.sync_with_coordinator()
        return {name: self._view(place) for name, place in sorted(self._session.places.items())}

    def _view(self, place: Any) -> PlaceView:
        resources = []
        for path in place.acquired_resources:
            exporter, group, cls, name = path
            match = place.getmatch(path)
            entry = self._session.resources.get(exporter, {}).get(group, {}).get(name)
            data = dict(entry.data) if entry is not None else {}
            resources.append(
                ResourceView(
                    path=(exporter, group, cls, name),
                    name=(match.rename if match is not None and match.rename else name),
                    cls=str(data.get("cls") or cls),
                    params=dict(data.get("params") or {}),
                    avail=bool(data.get("avail")) and "cls" in data,
                )
            )
        return PlaceView(
            name=place.name,
            acquired=place.acquired or None,
            reservation=place.reservation or None,
            tags=dict(place.tags),
            comment=place.comment or "",
            resources=tuple(resources),
            matches=tuple(str(m) for m in place.matches),
        )

    def resources(self) -> dict[str, bool]:
        """Every exported resource ("exporter/group/cls/name") and whether it is available."""
        return self._call(self._resources())

    async def _resources(self) -> dict[str, bool]:
        await self._session.sync_with_coordinator()
        out = {}
        for exporter, groups in self._session.resources.items():
            for group, entries in groups.items():
                for name, entry in entries.items():
                    data = entry.data
                    if "cls" in data:
                        out[f"{exporter}/{group}/{data['cls']}/{name}"] = bool(data.get("avail"))
        return out

    def create_place(self, name: str, *matches: str) -> None:
        """A place with resource matches ("exporter/group/cls/name", '*' allowed)."""
        pb = self._pb
        self._call(self._rpc("AddPlace", pb.AddPlaceRequest(name=name)))
        for pattern in matches:
            request = pb.AddPlaceMatchRequest(placename=name, pattern=pattern)
            self._call(self._rpc("AddPlaceMatch", request))

    def set_tags(self, place: str, tags: dict[str, str]) -> None:
        request = self._pb.SetPlaceTagsRequest(placename=place, tags=tags)
        self._call(self._rpc("SetPlaceTags", request))

    def acquire(self, place: str) -> None:
        self._call(self._acquire(place))

    async def _acquire(self, place: str) -> None:
        await self._session.stub.AcquirePlace(self._pb.AcquirePlaceRequest(placename=place))
        await self._session.sync_with_coordinator()

    def release(self, place: str) -> None:
        """Release `place` if this client holds it (never someone else's)."""
        request = self._pb.ReleasePlaceRequest(placename=place, fromuser=self.user)
        self._call(self._rpc("ReleasePlace", request))

    # -- reservations ----------------------------------------------------------------------
    def reserve(self, tags: dict[str, str], prio: float = 0.0) -> ReservationView:
        pb = self._pb
        request = pb.CreateReservationRequest(
            filters={"main": pb.Reservation.Filter(filter=tags)}, prio=prio
        )
        response = self._call(self._rpc("CreateReservation", request))
        return _reservation(response.reservation)

    def poll(self, token: str) -> ReservationView:
        """The reservation's state; polling also keeps a waiting reservation from expiring."""
        request = self._pb.PollReservationRequest(token=token)
        response = self._call(self._rpc("PollReservation", request))
        return _reservation(response.reservation)

    def reservations(self) -> list[ReservationView]:
        """Every reservation the coordinator holds (any owner), oldest first."""
        response = self._call(self._rpc("GetReservations", self._pb.GetReservationsRequest()))
        return [_reservation(r) for r in response.reservations]

    def cancel(self, token: str) -> None:
        request = self._pb.CancelReservationRequest(token=token)
        self._call(self._rpc("CancelReservation", request))


async def _own_connection(session: Any) -> None:
    """Give the session a TCP connection of its own. gRPC shares one connection between the
    channels of a process that have the same target and options, and the coordinator takes a
    second client stream on the same connection for a duplicate (it asserts)."""
    import grpc
    from labgrid.remote.generated import labgrid_coordinator_pb2_grpc

    options = [
        ("grpc.keepalive_time_ms", 7500),  # labgrid's own client settings
        ("grpc.keepalive_timeout_ms", 10000),
        ("grpc.http2.ping_timeout_ms", 10000),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.use_local_subchannel_pool", 1),
    ]
    await session.channel.close()
    session.channel = grpc.aio.insecure_channel(target=session.address, options=options)
    session.stub = labgrid_coordinator_pb2_grpc.CoordinatorStub(session.channel)


def _reservation(pb: Any) -> ReservationView:
    from labgrid.remote.common import Reservation

    res = Reservation.from_pb2(pb)
    return ReservationView(
        token=str(res.token),
        state=str(res.state.name),
        allocations={k: list(v) for k, v in res.allocations.items()},
        owner=str(res.owner),
        filters={k: dict(v) for k, v in res.filters.items()},
    )


def _details(exc: BaseException) -> str:
    details = getattr(exc, "details", None)
    if callable(details):
        try:
            return str(details())
        except Exception:
            pass
    return str(exc) or type(exc).__name__


__all__ = [
    "DEFAULT_COORDINATOR",
    "ENV_COORDINATOR",
    "Coordinator",
    "PlaceView",
    "ReservationView",
    "ResourceView",
    "coordinator_address",
]
