"""What a place is made of, in the harness's terms: a pyOCD probe URL and a pyserial UART URL.

A place for this harness holds (names are the resources' names in the place, after any
rename of its matches):

- the bootloader UART as a `NetworkSerialPort` (ser2net's RFC 2217 port on the exporter host,
  or the one a `hil sim serve --rfc2217` board opens): `rfc2217://host:port` at its `speed`;
- the debug probe as a `NetworkService` whose address and port are a pyOCD probe server
  (`pyocd server` next to the probe, or a served board's probe port): `remote:host:port`;
- optionally the board's supply as a `NetworkPowerPort` (a networked relay, switched through
  labgrid's own power driver): the Target can then power cycle the board.

When a place holds several of a kind, the one named `uart` (`probe`) is taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stm32_hil.labgrid.client import PlaceView, ResourceView
from stm32_hil.labgrid.errors import PlaceUnavailableError

UART_CLASS = "NetworkSerialPort"
PROBE_CLASS = "NetworkService"
POWER_CLASS = "NetworkPowerPort"
UART_NAME = "uart"
PROBE_NAME = "probe"
POWER_NAME = "power"


@dataclass(frozen=True)
class Reach:
    """How to reach the board of a place."""

    probe: str  # pyOCD probe unique ID: "remote:host:port"
    uart: str | None  # pyserial URL, or None when the place has no UART
    baud: int | None
    exporters: tuple[str, ...]  # exporters the place's resources come from
    power: dict[str, Any] | None = None  # NetworkPowerPort parameters, if the place has one


def _pick(place: PlaceView, cls: str, preferred: str) -> ResourceView | None:
    found = [r for r in place.resources if r.cls == cls]
    if len(found) > 1:
        named = [r for r in found if r.name == preferred]
        if len(named) != 1:
            raise PlaceUnavailableError(
                f"labgrid place {place.name} has {len(found)} {cls} resources and none "
                f"named {preferred!r}",
                hint=f"rename the one to use: labgrid-client -p {place.name} add-named-match "
                f"EXPORTER/GROUP/{cls}/NAME {preferred}",
            )
        return named[0]
    return found[0] if found else None


def _host(value: object) -> str:
    host = str(value)
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def reach(place: PlaceView) -> Reach:
    """The probe and UART of an acquired place; a missing resource names what to add."""
    gone = [r for r in place.resources if not r.avail]
    if gone:
        exporters = sorted({r.exporter for r in gone})
        raise PlaceUnavailableError(
            f"labgrid place {place.name} is unavailable: resource(s) "
            + ", ".join("/".join(r.path) for r in gone)
            + f" gone (exporter {', '.join(exporters)} offline?)",
            hint="restart the exporter on the bench host; the run can be repeated as is",
        )
    probe = _pick(place, PROBE_CLASS, PROBE_NAME)
    if probe is None:
        raise PlaceUnavailableError(
            f"labgrid place {place.name} has no {PROBE_CLASS} for the debug probe",
            hint="export the pyOCD probe server (`pyocd server`) as a NetworkService "
            "(see `hil labgrid exporter-config` and the README)",
        )
    uart = _pick(place, UART_CLASS, UART_NAME)
    uart_url = None
    baud = None
    if uart is not None:
        scheme = "socket" if uart.params.get("protocol") == "raw" else "rfc2217"
        uart_url = f"{scheme}://{_host(uart.params['host'])}:{int(uart.params['port'])}"
        baud = int(uart.params.get("speed") or 115200)
    address = probe.params.get("address")
    port = probe.params.get("port")
    if not address or not port:
        raise PlaceUnavailableError(
            f"labgrid place {place.name}: {PROBE_CLASS} {probe.name} has no address/port",
            hint="give it address and port of the pyOCD probe server",
        )
    power = _pick(place, POWER_CLASS, POWER_NAME)
    return Reach(
        probe=f"remote:{_host(address)}:{int(port)}",
        uart=uart_url,
        baud=baud,
        exporters=tuple(sorted({r.exporter for r in place.resources})),
        power=dict(power.params) if power is not None else None,
    )


__all__ = ["POWER_CLASS", "PROBE_CLASS", "UART_CLASS", "Reach", "reach"]
