"""A served board's power switch over HTTP, as the networked relays labgrid drives.

labgrid's `NetworkPowerPort` with `model: simplerest` switches a relay by fetching a URL:
`GET <host>/<value>` with value 1 (on) or 0 (off), and `GET <host>` answers "1" or "0". A board
`hil sim serve --power-port P` serves exactly that on loopback, at `http://127.0.0.1:P/power`,
so a labgrid place can power cycle a simulated board the way it does a bench's relay: switched
off the board is held (nothing runs); switched on it goes through a power-on reset (option
bytes reloaded, RAM lost).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from stm32_hil.target.base import ResetKind

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

PATH = "/power"


class PowerSwitch:
    """On/off for one simulated board (its calls go through the board's gated entry points)."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.on = True
        self._lock = threading.Lock()

    def set(self, on: bool) -> None:
        with self._lock:
            if on == self.on:
                return
            self.on = on
            if not on:
                self.board.set_pin("NRST", False)  # no supply: the core does not run
            else:
                self.board.reset(ResetKind.POWER, "power switch on")
                self.board.set_pin("NRST", True)


class PowerSwitchService:
    """`PowerSwitch` behind labgrid's simplerest protocol on a loopback HTTP port."""

    def __init__(self, board: SimBoard, port: int = 0) -> None:
        self.switch = PowerSwitch(board)
        switch = self.switch

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # labgrid's simplerest fetches only
                path = self.path.rstrip("/")
                if path == PATH:
                    self._answer(200, "1" if switch.on else "0")
                elif path in (f"{PATH}/1", f"{PATH}/0"):
                    switch.set(path.endswith("1"))
                    self._answer(200, "1" if switch.on else "0")
                else:
                    self._answer(404, f"use {PATH}, {PATH}/1 or {PATH}/0")

            def _answer(self, code: int, text: str) -> None:
                body = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # the serving process's stdout carries addresses only

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=f"power-{board.name}", daemon=True
        )

    @property
    def url(self) -> str:
        """The `host` of a labgrid NetworkPowerPort (model simplerest) for this switch."""
        return f"http://127.0.0.1:{self.port}{PATH}/{{value}}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


__all__ = ["PowerSwitch", "PowerSwitchService"]
