"""The debug port of a served board, reached from other processes through pyOCD's probe server.

pyOCD already has a remote probe protocol (`pyocd.probe.tcp_probe_server` on the serving side,
`TCPClientProbe` on the client side: one JSON request per DP/AP operation). The serving process
puts the board's simulated probe behind pyOCD's `DebugProbeServer`; in any other process the
`sim:B` probe becomes a `RemoteSimProbe`, pyOCD's client with the simulated probe's identity
(unique ID `sim:B`, the board's generated target type), so `pyocd ... -u sim:B` and every
`hil` command act on the one live board without knowing it is elsewhere.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pyocd.board.board import Board
from pyocd.board.board_ids import BoardInfo
from pyocd.probe.tcp_client_probe import TCPClientProbe

from stm32_hil.sim import served

if TYPE_CHECKING:
    from stm32_hil.sim.debug.pyocd_probe import SimProbe
    from stm32_hil.sim.served import BoardGate, ServedRecord

LOG = logging.getLogger(__name__)


def gated_probe(board_name: str, gate: BoardGate) -> SimProbe:
    """A simulated probe on the live board whose transfers hold the board's gate.

    Each consumer in the serving process (the probe server, the gdbserver) gets its own probe,
    hence its own DP/AP registers (SELECT, CSW, TAR), as two debuggers on two probes would:
    pyOCD caches those registers per session and would be misled by another session's writes.
    """
    from stm32_hil.sim.debug.pyocd_probe import SimProbe

    probe = SimProbe(board_name)
    probe._mutex = gate  # type: ignore[assignment]
    return probe


class ProbeService:
    """pyOCD's `DebugProbeServer` serving a served board's simulated probe on loopback."""

    def __init__(self, board_name: str, gate: BoardGate, port: int = 0) -> None:
        from pyocd.core.session import Session
        from pyocd.probe.tcp_probe_server import DebugProbeServer

        self.probe = gated_probe(board_name, gate)
        self.session = Session(None, no_config=True, options={"serve_local_only": True})
        self.server = DebugProbeServer(self.session, self.probe, port, serve_local_only=True)
        sock = self.server._server.socket
        self.host, self.port = str(sock.getsockname()[0]), int(sock.getsockname()[1])

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


class RemoteSimProbe(TCPClientProbe):  # type: ignore[misc]
    """pyOCD's remote probe client, wearing the identity of the served board's `sim:` probe."""

    def __init__(self, record: ServedRecord) -> None:
        super().__init__(record.probe_address)
        self.record = record
        self._uid = "sim:" + record.board

    @property
    def board_name(self) -> str:
        return str(self.record.board)

    @property
    def description(self) -> str:
        return f"stm32-hil Simulated SWD probe [{self.record.board}, {self.record.describe()}]"

    @property
    def vendor_name(self) -> str:
        return "stm32-hil"

    @property
    def product_name(self) -> str:
        return "Simulated SWD probe (served)"

    @property
    def associated_board_info(self) -> BoardInfo | None:
        """The served board's part, as the local `sim:` probe reports it (no `-t` needed)."""
        from stm32_hil.parts import get_part
        from stm32_hil.sim.debug import pyocd_targets

        name = pyocd_targets.register(get_part(self.record.part))
        return BoardInfo(self.record.board, name, None, "STMicroelectronics")

    def create_associated_board(self) -> Board | None:
        assert self.session is not None
        return Board(self.session, board_info=self.associated_board_info)

    def __repr__(self) -> str:
        return f"<RemoteSimProbe {self._uid} at {self.record.probe_address}>"


def attach(board_name: str) -> Any:
    """The remote probe of `board_name` when another process serves it, else None."""
    record = served.lookup_elsewhere(board_name)
    if record is None:
        return None
    LOG.info("sim:%s: using %s", board_name, record.describe())
    return RemoteSimProbe(record)


__all__ = ["ProbeService", "RemoteSimProbe", "attach", "gated_probe"]
