"""A pyserial port wired to a simulated board's USART: `open_sim_port(board)` and `sim://`.

Waiting is done in virtual time: a read that finds no data lets the board run (the core, the
flash controller's BSY, the bootrom's scheduled replies) until bytes appear or the port's
timeout -- in virtual seconds -- has passed. With `pace=True` the line additionally holds bytes
back in real time to the baud rate, so throughput measured over it is what a real 8E1 wire at
that baud allows.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import serial

from stm32_hil.errors import ConfigError
from stm32_hil.sim.links.line import DEVICE_FRAMING, Framing, LineFaults, Pacer, transcode

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard
    from stm32_hil.sim.periph.usart import Usart

FOREVER_S = 3600.0  # timeout=None on a simulated line: one virtual hour, then give up
CATCH_UP_S = 0.1  # most virtual time one poll of a non-blocking port may add


class SimSerial(serial.SerialBase):
    """pyserial port on a SimBoard's USART (host side of the line)."""

    def __init__(
        self,
        *args: Any,
        board: SimBoard | None = None,
        usart: str | None = None,
        pace: bool = False,
        faults: LineFaults | None = None,
        **kwargs: Any,
    ) -> None:
        self.board: SimBoard | None = board
        self.usart_name = usart
        self.pace = pace
        self.faults = faults or LineFaults()
        self._rx: deque[tuple[float, int]] = deque()  # (real time available, byte)
        self._usart: Usart | None = None
        # False when something else drives the board's time (`hil sim serve`'s real-time clock).
        self.follows_wall_clock = True
        self._wall_mark: float | None = None  # perf_counter at the previous poll
        self._clock_mark: int | None = None  # the board's clock at the previous poll
        # Modem line -> board pin it drives ({"dtr": "BOOT0", "rts": "NRST"}), as a USB-serial
        # adapter wired for the bootloader; empty: the lines drive nothing.
        self.line_pins: dict[str, str] = {}
        kwargs.setdefault("parity", serial.PARITY_EVEN)
        super().__init__(*args, **kwargs)

    # -- pyserial plumbing -----------------------------------------------------------------
    def open(self) -> None:
        if getattr(self, "is_open", False):
            raise serial.SerialException("port is already open")
        if self.board is None:
            if self._port is None:
                raise serial.SerialException("no board: use sim://<board>[/<usart>]")
            self._from_url(str(self._port))
        assert self.board is not None
        self._usart = self.board.usart(self.usart_name)
        self._reconfigure_port()
        self.is_open = True

    def _from_url(self, url: str) -> None:
        from stm32_hil.sim import live as registry

        parts = urlsplit(url)
        if parts.scheme != "sim" or not parts.netloc:
            raise serial.SerialException(
                "expected sim://<board>[/<usart>][?boot0=1&pace=1&drop=P&corrupt=P&seed=N], "
                f"got {url!r}"
            )
        self.board = registry.get_or_create(parts.netloc)
        if parts.path.strip("/"):
            self.usart_name = parts.path.strip("/").upper()
        try:
            opts = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            self.pace = opts.pop("pace", "0") not in ("0", "false", "")
            boot0 = opts.pop("boot0", "0") not in ("0", "false", "")
            self.faults = LineFaults(
                seed=int(opts.pop("seed", "0")),
                drop=float(opts.pop("drop", "0")),
                corrupt=float(opts.pop("corrupt", "0")),
            )
        except ValueError as exc:
            raise serial.SerialException(f"bad option in {url!r}: {exc}") from None
        if opts:
            raise serial.SerialException(f"unknown option(s) {sorted(opts)} in {url!r}")
        if boot0:  # BOOT0 high and an NRST pulse: the part starts in its system bootloader
            self.board.set_pin("BOOT0", True)
            self.board.set_pin("NRST", False)
            self.board.set_pin("NRST", True)

    def _reconfigure_port(self) -> None:
        # Called again on every timeout change: keep the line's schedule unless the
        # line itself (baud, framing) changed.
        key = (self._baudrate, max(Framing.of(self).bits, DEVICE_FRAMING.bits))
        if getattr(self, "_line_key", None) == key:
            return
        self._line_key = key
        self._pace_out = Pacer(*key)
        self._pace_in = Pacer(*key)
        self._request_end: float | None = None

    def close(self) -> None:
        self.is_open = False

    def _update_dtr_state(self) -> None:
        """DTR/RTS drive nothing unless `line_pins` wires them (BOOT0/NRST are otherwise
        driven by the Target); asserted drives the pin high, as `stm32_hil.hw.pins` has it."""
        self._drive_line("dtr", self._dtr_state)

    def _update_rts_state(self) -> None:
        """See `_update_dtr_state`."""
        self._drive_line("rts", self._rts_state)

    def _drive_line(self, line: str, asserted: bool) -> None:
        pin = self.line_pins.get(line)
        if pin is not None and self.board is not None:
            self.board.set_pin(pin, bool(asserted))

    def _update_break_state(self) -> None:
        """A break is not modelled."""

    @property
    def cts(self) -> bool:
        return True

    @property
    def dsr(self) -> bool:
        return True

    @property
    def ri(self) -> bool:
        return False

    @property
    def cd(self) -> bool:
        return True

    # -- data --------------------------------------------------------------------------------
    def _check_open(self) -> Usart:
        if not self.is_open or self._usart is None:
            raise serial.PortNotOpenError()
        return self._usart

    def _pull(self) -> None:
        """Move what the device has transmitted onto the host side of the line."""
        usart = self._check_open()
        data = usart.host_read()
        if not data:
            return
        data = transcode(self.faults.apply(data), DEVICE_FRAMING, Framing.of(self))
        if self.pace:
            # The ROM answers as soon as the request's last byte is off the wire, whenever
            # the host process gets round to reading: replies are timed from that instant.
            end = self._pace_in.schedule(len(data), self._request_end)
            bt = self._pace_in.byte_time
            first = end - (len(data) - 1) * bt
            self._rx.extend((first + i * bt, b) for i, b in enumerate(data))
        else:
            self._rx.extend((0.0, b) for b in data)

    def _ready(self) -> int:
        if not self.pace:
            return len(self._rx)
        now = time.perf_counter()
        n = 0
        for t, _ in self._rx:
            if t > now:
                break
            n += 1
        return n

    def next_ready_time(self) -> float | None:
        """Wall-clock time at which every byte pulled so far is on the host side (paced)."""
        if not self._rx:
            return None
        return self._rx[-1][0] if self.pace else 0.0

    def settle(self, max_seconds: float = 60.0) -> None:
        """Let the board run until nothing is scheduled (the ROM is idle), within a budget.

        Servers use this after handing host bytes over: replies are produced as fast as the
        simulation runs, each after its virtual duration. Once the ROM has handed the core to
        an application (Go, a reset into flash) nothing is waiting to be answered: settling
        stops there, so the Go ACK leaves at once instead of after the budget's worth of the
        application's SysTick events; the application then runs as the port is polled (see
        `in_waiting`).
        """
        board = self.board
        assert board is not None
        clock = board.clock
        deadline = clock.now + int(max_seconds * clock.hz)
        if board.core is not None:
            board.run(clock.cycles(100))
        while (nxt := clock.next_event()) is not None and nxt <= deadline:
            if self._application_runs():
                break
            board.run(max(1, nxt - clock.now))
        self._wall_mark = time.perf_counter()

    def _application_runs(self) -> bool:
        """The core executes code of its own: nothing but wall-clock time drives the board."""
        board = self.board
        assert board is not None
        core, rom = board.core, board.bootrom
        return core is not None and not core.halted and not (rom is not None and rom.active)

    def _follow_wall_clock(self) -> None:
        """A non-blocking port polled by a server: virtual time follows the wall clock.

        Blocking reads wait in virtual time. A port with timeout 0 is polled by a loop (the pty
        and TCP servers) whose only notion of waiting is real time, so while the application
        runs each poll lets the board run for the wall time since the previous poll (at most
        `CATCH_UP_S`, so a slow host loses time instead of stalling), and firmware keeps
        printing after Go. When the clock moved between two polls something else drives it
        (`hil sim serve`'s real-time clock, another client): the port then adds nothing, so
        time is never counted twice.
        """
        assert self.board is not None
        if not self.follows_wall_clock:
            return
        clock = self.board.clock
        now = time.perf_counter()
        last = now if self._wall_mark is None else self._wall_mark
        self._wall_mark = now
        moved = self._clock_mark is not None and clock.now != self._clock_mark
        self._clock_mark = clock.now
        if moved or self._timeout != 0 or not self._application_runs():
            return  # someone else drives the board's time (`hil sim serve`'s clock, a client)
        seconds = min(max(0.0, now - last), CATCH_UP_S)
        if seconds > 0:
            self.board.run(max(1, int(seconds * clock.hz)))
        self._clock_mark = clock.now

    @property
    def in_waiting(self) -> int:
        self._follow_wall_clock()
        self._pull()
        return self._ready()

    def _take(self, n: int) -> bytes:
        return bytes(self._rx.popleft()[1] for _ in range(min(n, len(self._rx))))

    def read(self, size: int = 1) -> bytes:
        self._check_open()
        assert self.board is not None
        board = self.board
        clock = board.clock
        budget = FOREVER_S if self._timeout is None else self._timeout
        deadline = clock.now + int(budget * clock.hz)
        slice_cycles = max(1, clock.hz // 10_000)  # 100 us steps while a core runs
        while True:
            self._pull()
            if len(self._rx) >= size or clock.now >= deadline:
                break
            nxt = clock.next_event()
            if board.core is None or board.core.halted:
                # Only scheduled events (the ROM's replies, BSY ends) can produce a byte: jump
                # from one to the next instead of stepping a core that does not run.
                if nxt is None or nxt > deadline:  # nothing can produce a byte any more
                    break
                board.run(max(1, nxt - clock.now))
            else:
                step = slice_cycles if nxt is None else max(1, min(slice_cycles, nxt - clock.now))
                board.run(min(step, deadline - clock.now))
        if self.pace and self._rx:
            # bytes exist in virtual time; the wire delivers them at the baud rate
            wall_deadline = time.perf_counter() + budget
            want = min(size, len(self._rx))
            Pacer.sleep_until(min(self._rx[want - 1][0], wall_deadline))
            return self._take(min(size, self._ready()))
        return self._take(size)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        usart = self._check_open()
        raw = bytes(data)
        if self.pace:
            # Like a tty driver, write() returns once the bytes are queued; they reach the
            # device at their wire time, which is where the reply's timing starts.
            self._request_end = self._pace_out.schedule(len(raw))
        wire = transcode(self.faults.apply(raw), Framing.of(self), DEVICE_FRAMING)
        usart.host_write(wire)
        return len(raw)

    def reset_input_buffer(self) -> None:
        self._check_open()
        self._pull()
        self._rx.clear()

    def reset_output_buffer(self) -> None:
        """Writes are delivered at once: there is no output buffer to drop."""

    def flush(self) -> None:
        """Writes are delivered at once (or, paced, after their wire time)."""


def open_sim_port(board: SimBoard, usart: str | None = None, **kwargs: Any) -> SimSerial:
    """An open pyserial port on `board`'s bootloader USART (default: the inventory's UART).

    Keyword arguments are pyserial's (baudrate, parity, timeout...) plus `pace` (real-time
    baud pacing) and `faults` (a `LineFaults`).
    """
    kwargs.setdefault("baudrate", board.spec.uart.baud)
    kwargs.setdefault("timeout", 0.5)
    try:
        port = SimSerial(None, board=board, usart=usart, **kwargs)
    except ValueError as exc:
        raise ConfigError(f"cannot open a port on {board.name}: {exc}") from None
    port.port = f"sim://{board.name}" + (f"/{usart}" if usart else "")
    port.open()
    return port


def register_url_scheme() -> None:
    """Make `serial.serial_for_url("sim://<board>")` work (idempotent)."""
    pkg = "stm32_hil.sim.links.serial_handlers"
    if pkg not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(pkg)


register_url_scheme()
