"""pyOCD's gdbserver on a served board (`hil sim serve --gdb PORT`).

The server runs in the serving process on its own simulated probe (own DP/AP registers, same
board, same gate), attached without halting: firmware the board is running keeps running
until GDB stops it. `persist` keeps the server up across GDB sessions, as a bench gdbserver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stm32_hil.errors import ConfigError
from stm32_hil.sim.debug.remote import gated_probe

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard
    from stm32_hil.sim.served import BoardGate


class GdbService:
    """A pyOCD session plus `GDBServer` listening on loopback `port` (0: any free port)."""

    def __init__(self, board: SimBoard, gate: BoardGate, port: int) -> None:
        from pyocd.core.session import Session
        from pyocd.gdbserver import GDBServer

        from stm32_hil.sim.debug import pyocd_targets

        if not 0 <= port <= 65535:
            raise ConfigError(f"--gdb {port}: a TCP port is 0..65535 (0 lets the OS choose)")
        self.probe = gated_probe(board.name, gate)
        options: dict[str, Any] = {
            "target_override": pyocd_targets.register(board.part),
            "connect_mode": "attach",
            "gdbserver_port": port,
            "serve_local_only": True,
            "persist": True,
            "telnet_port": 0,
        }
        self.session = Session(self.probe, no_config=True, options=options)
        self.session.open()
        try:
            self.server = GDBServer(self.session, core=0)
        except OSError as exc:
            self.session.close()
            raise ConfigError(
                f"cannot serve GDB on port {port}: {exc.strerror or exc}",
                hint="pick a free port (0 lets the OS choose one)",
            ) from None
        self.session.gdbservers[0] = self.server
        self.port = int(self.server.port)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.session.close()


__all__ = ["GdbService"]
