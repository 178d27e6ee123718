"""labgrid exporter configuration for boards `hil sim serve` serves, so the remote path (place,
reservation, RFC 2217 UART, pyOCD probe server) can be exercised with no hardware.

One exporter group per board, named after the board: its `uart` (`NetworkSerialPort`, the
served RFC 2217 port), its `probe` (`NetworkService`, the served pyOCD probe server) and, when
served with `--power-port`, its `power` (`NetworkPowerPort`, a simplerest relay). A real
bench's configuration has the same resources, pointing at ser2net, `pyocd server` and a relay.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from stm32_hil.errors import ConfigError
from stm32_hil.labgrid.reach import (
    POWER_CLASS,
    POWER_NAME,
    PROBE_CLASS,
    PROBE_NAME,
    UART_CLASS,
    UART_NAME,
)
from stm32_hil.sim.served import ServedRecord

PROBE_USER = "pyocd"  # NetworkService requires a user name; the pyOCD probe server has none


def _address(url: str, board: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("rfc2217", "socket") or parts.hostname is None or not parts.port:
        raise ConfigError(
            f"served board {board} has its UART on {url}, which a labgrid exporter cannot "
            "carry as a NetworkSerialPort",
            hint=f"serve it with --rfc2217 PORT: hil sim serve --board {board} --rfc2217 0 "
            "--dtr-rts-pins",
        )
    return parts.hostname, parts.port, "rfc2217" if parts.scheme == "rfc2217" else "raw"


def exporter_yaml(records: Iterable[ServedRecord], baud: int = 115200) -> str:
    """The exporter configuration (YAML) for the served boards `records`."""
    lines = [
        "## labgrid exporter configuration: boards served by `hil sim serve` (one group each)",
        "## labgrid-exporter -c COORDINATOR:20408 FILE  (a Jinja2 template: ## starts a comment)",
    ]
    for record in records:
        if record.uart is None:
            raise ConfigError(f"served board {record.board} has no UART address")
        host, port, protocol = _address(record.uart, record.board)
        lines += [
            f"{record.board}:",
            f"  {UART_NAME}:",
            f"    cls: {UART_CLASS}",
            f"    host: '{host}'",
            f"    port: {port}",
            f"    speed: {baud}",
            f"    protocol: {protocol}",
            f"  {PROBE_NAME}:",
            f"    cls: {PROBE_CLASS}",
            f"    address: '{record.probe_host}'",
            f"    port: {record.probe_port}",
            f"    username: {PROBE_USER}",
        ]
        if record.power_port is not None:  # `hil sim serve --power-port`: a simplerest relay
            lines += [
                f"  {POWER_NAME}:",
                f"    cls: {POWER_CLASS}",
                "    model: simplerest",
                f"    host: 'http://{record.probe_host}:{record.power_port}/power/{{value}}'",
                "    index: 0",
            ]
    return "\n".join(lines) + "\n"


__all__ = ["exporter_yaml"]
