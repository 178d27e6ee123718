"""A served board's machinery besides its UART: gate, real-time clock, probe server, gdbserver.

`hil sim serve` builds one `ServedBoard` around the live board and its UART server; `start`
advertises it (see `stm32_hil.sim.served`) so other processes attach to it, `stop` withdraws it.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from stm32_hil.sim.links.serve import _Pump

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard
    from stm32_hil.sim.debug.gdb import GdbService
    from stm32_hil.sim.links.serial_link import SimSerial
    from stm32_hil.sim.links.serve import PtyServer, TcpServer
    from stm32_hil.sim.power_switch import PowerSwitchService
    from stm32_hil.sim.served import BoardGate


class ServedBoard:
    """Everything that serves one board besides its UART: gate, clock, probe server, gdbserver,
    and the runtime record through which other processes find them."""

    def __init__(
        self,
        board: SimBoard,
        uart: PtyServer | TcpServer,
        *,
        speed: float,
        probe_port: int,
        gdb_port: int | None,
        power_port: int | None = None,
    ) -> None:
        from stm32_hil.sim import served
        from stm32_hil.sim.debug.remote import ProbeService
        from stm32_hil.sim.links.serve import PtyServer

        self.board = board
        self.speed = speed
        self.gate = served.BoardGate()
        served.guard(board, self.gate)
        if isinstance(uart, PtyServer):
            uart.pump = _GatedPump(uart.port, self.gate)
            # time is the served clock's (`speed`): the pty port must not add it a second time
            uart.port.follows_wall_clock = False
        self.clock = served.RealTime(board, self.gate, speed)
        self.probe = ProbeService(board.name, self.gate, probe_port)
        self.gdb: GdbService | None = None
        if gdb_port is not None:
            from stm32_hil.sim.debug.gdb import GdbService

            self.gdb = GdbService(board, self.gate, gdb_port)
        self.power: PowerSwitchService | None = None
        if power_port is not None:
            from stm32_hil.sim.power_switch import PowerSwitchService

            self.power = PowerSwitchService(board, power_port)

    @property
    def probe_address(self) -> str:
        return f"{self.probe.host}:{self.probe.port}"

    def start(self, uart: str) -> None:
        from stm32_hil.sim import served

        self.probe.start()
        if self.gdb is not None:
            self.gdb.start()
        if self.power is not None:
            self.power.start()
        self.clock.start()
        served.advertise(
            served.ServedRecord(
                board=self.board.name,
                part=self.board.part.name,
                pid=os.getpid(),
                probe_host=self.probe.host,
                probe_port=self.probe.port,
                uart=uart,
                gdb_port=self.gdb.port if self.gdb is not None else None,
                power_port=self.power.port if self.power is not None else None,
                speed=self.speed,
            )
        )

    def stop(self) -> None:
        from stm32_hil.sim import served

        served.withdraw(self.board.name)
        self.clock.stop()
        if self.gdb is not None:
            with contextlib.suppress(Exception):
                self.gdb.stop()
        if self.power is not None:
            with contextlib.suppress(Exception):
                self.power.stop()
        with contextlib.suppress(Exception):
            self.probe.stop()


class _GatedPump(_Pump):
    """The pty pump, holding the board's gate for each exchange."""

    def __init__(self, port: SimSerial, gate: BoardGate) -> None:
        super().__init__(port)
        self.gate = gate

    def from_host(self, data: bytes) -> None:
        with self.gate:
            super().from_host(data)

    def ready_output(self) -> tuple[bytes, float | None]:
        with self.gate:
            return super().ready_output()


__all__ = ["ServedBoard"]
