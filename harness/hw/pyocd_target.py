"""`Target` on a real board (or the simulated probe) through a pyOCD session.

pyOCD does the SWD/AP work and knows the core; this class maps the harness's vocabulary onto it:
typed errors instead of pyOCD exceptions, capabilities computed from the inventory's wiring,
reset kinds, BOOT0/NRST through the UART adapter's DTR/RTS, and a cross-process board lock held
for the target's lifetime.
"""

from __future__ import annotations

import contextlib
import difflib
import time
from typing import Any

import serial

from stm32_hil.errors import (
    BusFault,
    CapabilityError,
    ConfigError,
    HarnessError,
    ProtectionError,
    TargetError,
    TargetTimeout,
)
from stm32_hil.hw.locks import BoardLock
from stm32_hil.hw.pins import LINES, SerialLinePins
from stm32_hil.inventory import BoardSpec
from stm32_hil.inventory_schema import CONNECT_MODES
from stm32_hil.parts import Part, get_part
from stm32_hil.target.base import CORE_REGISTERS, Capability, HaltReason, Pin, ResetKind, Target
from stm32_hil.target.safety import Safety, classify_write

POLL_S = 0.002  # wait_for_halt polling period (wall clock)
RDP_CLEAR = 0xAA


def _pyocd() -> Any:
    """pyOCD's session API, imported on first use (it loads every probe plugin)."""
    from pyocd.core import exceptions
    from pyocd.core.helpers import ConnectHelper
    from pyocd.core.session import Session
    from pyocd.core.target import Target as PTarget

    return exceptions, ConnectHelper, Session, PTarget


def _chain(exc: BaseException) -> str:
    parts: list[str] = []
    cur: BaseException | None = exc
    while cur is not None and len(parts) < 4:
        parts.append(str(cur) or type(cur).__name__)
        cur = cur.__cause__ or cur.__context__
    return ": ".join(dict.fromkeys(parts))


def _harness_cause(exc: BaseException) -> HarnessError | None:
    """The harness error a simulated probe attached to a pyOCD exception (see NoAckError)."""
    cur: BaseException | None = exc
    for _ in range(8):
        if cur is None:
            break
        cause = getattr(cur, "harness_error", None)
        if isinstance(cause, HarnessError):
            return cause
        cur = cur.__cause__ or cur.__context__
    return None


def _silent_port(name: str, exc: BaseException) -> HarnessError | None:
    """A debug port that stopped answering (no ACK), as a typed error.

    A real probe only sees silence; the simulated one says why (RDP level 2, SWD pins taken
    by the firmware), and that keeps its type.
    """
    exceptions, *_ = _pyocd()
    if not isinstance(exc, exceptions.TransferError) or isinstance(
        exc, exceptions.TransferFaultError
    ):
        return None
    cause = _harness_cause(exc)
    if cause is None:
        return TargetError(
            f"{name}: the debug port stopped answering (no ACK): {_chain(exc)}",
            hint="check the probe cable and target power; RDP level 2 or firmware that "
            "reassigns the SWD pins also silence it (try connect_mode 'under-reset')",
        )
    err_type = ProtectionError if isinstance(cause, ProtectionError) else TargetError
    return err_type(f"{name}: {cause.message}", hint=cause.hint)


def known_target_types() -> list[str]:
    from pyocd.target import TARGET

    return sorted(TARGET)


def _choose_probe(unique_id: str) -> Any:
    if unique_id.lower().startswith("remote:"):  # a pyOCD probe server (`pyocd server`)
        from pyocd.probe.tcp_client_probe import TCPClientProbe

        return TCPClientProbe(unique_id[len("remote:") :])
    _, helper, _, _ = _pyocd()
    probes = helper.get_all_connected_probes(blocking=False, print_wait_message=False)
    exact = [p for p in probes if p.unique_id.lower() == unique_id.lower()]
    partial = [p for p in probes if unique_id.lower() in p.unique_id.lower()]
    if exact:
        return exact[0]
    if len(partial) == 1:
        return partial[0]
    listing = ", ".join(f"{p.unique_id} ({p.description})" for p in probes) or "none"
    raise TargetError(
        f"no debug probe with unique ID {unique_id!r}"
        + (f" ({len(partial)} partial matches)" if partial else ""),
        hint=f"connected probes: {listing}",
    )


class PyOCDTarget(Target):
    backend = "pyocd"

    def __init__(
        self,
        spec: BoardSpec,
        part: Part | None = None,
        *,
        lock: bool | BoardLock = True,
        lock_timeout_s: float | None = None,
        options: dict[str, Any] | None = None,
        safety: Safety | None = None,
        owner: str | None = None,
    ) -> None:
        """`lock`: True queues for the board's lock (see `stm32_hil.hw.locks`), a BoardLock
        already held (from a pool) is adopted and released on close, False takes none.
        `owner` (a test id) is what other waiters are told holds the board."""
        super().__init__(spec, part or get_part(spec.part))
        if safety is not None:
            self.allow(safety)
        if not spec.probe:
            raise ConfigError(f"board {spec.name!r} names no probe", hint='set probe = "<id>"')
        if spec.connect_mode not in CONNECT_MODES:
            raise ConfigError(
                f"board {spec.name!r}: unknown connect_mode {spec.connect_mode!r}",
                hint="connect_mode is one of: " + ", ".join(CONNECT_MODES),
            )
        if spec.connect_mode == "under-reset" and spec.pins.nrst != "probe":
            raise ConfigError(
                f"board {spec.name!r}: connect_mode 'under-reset' needs NRST wired to the probe",
                hint='set pins = { nrst = "probe" } or use connect_mode "halt"',
            )
        self._lock: BoardLock | None = None
        self._port: serial.SerialBase | None = None
        self._pins: SerialLinePins | None = None
        # Levels last driven on DTR/RTS, restored when the port is opened again: the board's
        # pins keep their level while the port is closed, as a person expects of BOOT0.
        self._line_levels = {"BOOT0": False, "NRST": True}
        self.session: Any = None
        if isinstance(lock, BoardLock):
            self._lock = lock
        elif lock:
            self._lock = BoardLock(spec.probe, timeout_s=lock_timeout_s, owner=owner).acquire()
        try:
            self._open_session(options or {})
        except BaseException:
            self.close()
            raise

    # -- session -------------------------------------------------------------------------
    def _open_session(self, options: dict[str, Any]) -> None:
        exceptions, _, session_cls, _ = _pyocd()
        target_type = self.spec.target_type or "cortex_m"
        if target_type.lower() not in known_target_types():
            close = difflib.get_close_matches(target_type.lower(), known_target_types(), n=8)
            raise ConfigError(
                f"board {self.name!r}: pyOCD knows no target type {target_type!r}",
                hint="close matches: "
                + (", ".join(close) or "none")
                + " (all: `pyocd list --targets`; use cortex_m for a generic core)",
            )
        probe = _choose_probe(self.spec.probe or "")
        opts = {"connect_mode": self.spec.connect_mode, "target_override": target_type}
        opts.update(options)
        try:
            self.session = session_cls(probe, no_config=True, options=opts)
            self.session.open()
        except exceptions.Error as exc:
            text = _chain(exc)
            cause = _harness_cause(exc)
            protected = isinstance(cause, ProtectionError) or "RDP level 2" in text
            err = ProtectionError if protected else TargetError
            raise err(
                f"{self.name}: pyOCD could not connect through {self.spec.probe}: {text}",
                hint="check power, wiring and readout protection; try connect_mode "
                "'under-reset' if the firmware disables the debug port",
            ) from None

    @property
    def _t(self) -> Any:
        if self.session is None:
            raise TargetError(f"{self.name}: the pyOCD session is closed")
        return self.session.target

    def close(self) -> None:
        if self.session is not None:
            # Closing must release the lock even if the probe is gone.
            with contextlib.suppress(Exception):
                self.session.close()
            self.session = None
        if self._port is not None:
            self._port.close()
            self._port = None
            self._pins = None
        if self._lock is not None:
            self._lock.release()

    @property
    def wall_time_is_board_time(self) -> bool:
        """False through the simulator's probe (`sim:B`, served or in-process): the board's
        clock is virtual and runs ahead of the wall clock while the probe polls."""
        from stm32_hil.sim.debug.pyocd_probe import UID_PREFIX

        return not str(self.spec.probe or "").startswith(UID_PREFIX)

    # -- capabilities --------------------------------------------------------------------
    def capabilities(self) -> frozenset[Capability]:
        caps = {Capability.MEMORY, Capability.RESET_SYSTEM}
        if self.session is not None and self._t.cores:
            caps |= {Capability.CORE, Capability.BREAKPOINTS}
        pins = self.spec.pins
        if pins.nrst == "probe" or (pins.nrst in LINES and self.spec.uart.port):
            caps.add(Capability.RESET_PIN)
        if pins.nrst == "probe":
            caps.add(Capability.CONNECT_UNDER_RESET)
        if pins.boot0 in LINES and self.spec.uart.port:
            caps.add(Capability.BOOT0)
        if self.spec.uart.port:
            caps.add(Capability.UART)
        return frozenset(caps)

    # -- errors --------------------------------------------------------------------------
    def _rdp_level(self) -> int | None:
        """RDP level from the option status register, or None if it cannot be read."""
        name = "OPTR" if self.part.family == "g0" else "OPTSR"
        try:
            reg = self.part.option_register(name)
            value = self._t.read32(self.part.flash_regs + reg.offset)
        except Exception:
            return None
        rdp = reg.field("RDP").get(value)
        return 0 if rdp == RDP_CLEAR else 2 if rdp == 0xCC else 1

    def _fault(self, exc: Exception, address: int, length: int, write: bool) -> HarnessError:
        exceptions, *_ = _pyocd()
        silent = _silent_port(self.name, exc)
        if silent is not None:
            return silent
        if not isinstance(exc, exceptions.TransferFaultError):
            return TargetError(f"{self.name}: {_chain(exc)}")
        flash = self.part.flash
        if address < flash.base + flash.size and address + length > flash.base:
            level = self._rdp_level()
            if level:
                return ProtectionError(
                    f"{self.name}: debug access to flash 0x{address:08X} refused "
                    f"(RDP level {level})",
                    hint="regress RDP to level 0 (mass erase) before reading flash by debugger",
                )
        return BusFault(address, _chain(exc), write=write)

    def _mem(self, fn: Any, address: int, length: int, write: bool) -> Any:
        exceptions, *_ = _pyocd()
        try:
            return fn()
        except exceptions.Error as exc:
            raise self._fault(exc, address, length, write) from None

    # -- memory --------------------------------------------------------------------------
    def read_memory(self, address: int, length: int) -> bytes:
        if length == 0:
            return b""
        return bytes(
            self._mem(lambda: self._t.read_memory_block8(address, length), address, length, False)
        )

    def _guard(self, address: int, data: bytes) -> None:
        """Refuse a write that would change flash, unlock its controller or set RDP 2."""
        hit = classify_write(self.part, address, data)
        if hit is not None:
            self.require_destructive(hit.what, irreversible=hit.irreversible)

    def write_memory(self, address: int, data: bytes) -> None:
        if data:
            self._guard(address, bytes(data))
            self._mem(
                lambda: self._t.write_memory_block8(address, list(data)), address, len(data), True
            )

    def read32(self, address: int) -> int:
        return int(self._mem(lambda: self._t.read32(address), address, 4, False))

    def write32(self, address: int, value: int) -> None:
        self._guard(address, (value & 0xFFFFFFFF).to_bytes(4, "little"))
        self._mem(lambda: self._t.write32(address, value & 0xFFFFFFFF), address, 4, True)

    def read16(self, address: int) -> int:
        return int(self._mem(lambda: self._t.read16(address), address, 2, False))

    def write16(self, address: int, value: int) -> None:
        self._guard(address, (value & 0xFFFF).to_bytes(2, "little"))
        self._mem(lambda: self._t.write16(address, value & 0xFFFF), address, 2, True)

    def read8(self, address: int) -> int:
        return int(self._mem(lambda: self._t.read8(address), address, 1, False))

    def write8(self, address: int, value: int) -> None:
        self._guard(address, (value & 0xFF).to_bytes(1, "little"))
        self._mem(lambda: self._t.write8(address, value & 0xFF), address, 1, True)

    # -- core ----------------------------------------------------------------------------
    def _core_call(self, fn: Any) -> Any:
        exceptions, *_ = _pyocd()
        self.require(Capability.CORE)
        try:
            return fn()
        except exceptions.Error as exc:
            raise _silent_port(self.name, exc) or TargetError(
                f"{self.name}: {_chain(exc)}"
            ) from None

    def halt(self) -> None:
        self._core_call(self._t.halt)

    def resume(self) -> None:
        self._core_call(self._t.resume)

    def step(self) -> None:
        self._core_call(self._t.step)

    def is_halted(self) -> bool:
        _, _, _, ptarget = _pyocd()
        return bool(self._core_call(self._t.get_state) == ptarget.State.HALTED)

    def delay(self, seconds: float) -> None:
        """Wall-clock time on a real probe; a probe with its own clock (`idle`) advances that.

        The simulated probe keeps virtual time: sleeping on the host would let none pass.
        """
        idle = getattr(self.session.probe, "idle", None) if self.session is not None else None
        if callable(idle):
            idle(seconds)
        else:
            time.sleep(seconds)

    def wait_for_halt(self, timeout_s: float) -> HaltReason:
        deadline = time.monotonic() + timeout_s
        while not self.is_halted():
            if time.monotonic() >= deadline:
                raise TargetTimeout(
                    f"{self.name}: core still running after {timeout_s:g} s (wall clock)",
                    hint="the code under test may be stuck; halt it and inspect PC",
                )
            self.delay(POLL_S)
        return self._halt_reason()

    def _halt_reason(self) -> HaltReason:
        _, _, _, ptarget = _pyocd()
        reason = self._core_call(self._t.get_halt_reason)
        hr = ptarget.HaltReason
        return {
            hr.USER: HaltReason.DEBUG_REQUEST,
            hr.DEBUG: HaltReason.DEBUG_REQUEST,
            hr.BREAKPOINT: HaltReason.BREAKPOINT,
            hr.WATCHPOINT: HaltReason.BREAKPOINT,
            hr.VECTOR_CATCH: HaltReason.VECTOR_CATCH,
            hr.EXTERNAL: HaltReason.DEBUG_REQUEST,
        }.get(reason, HaltReason.DEBUG_REQUEST)

    def read_core_register(self, name: str) -> int:
        key = self._reg(name)
        return int(self._core_call(lambda: self._t.read_core_register(key)))

    def write_core_register(self, name: str, value: int) -> None:
        key = self._reg(name)
        self._core_call(lambda: self._t.write_core_register(key, value & 0xFFFFFFFF))

    @staticmethod
    def _reg(name: str) -> str:
        key = name.lower()
        if key not in CORE_REGISTERS:
            raise ConfigError(
                f"unknown core register {name!r}", hint="registers: " + ", ".join(CORE_REGISTERS)
            )
        return key

    def set_breakpoint(self, address: int) -> None:
        if not self._core_call(lambda: self._t.set_breakpoint(address)):
            raise TargetError(
                f"{self.name}: cannot set a breakpoint at 0x{address:08X}",
                hint="all hardware comparators may be in use; remove a breakpoint first",
            )

    def remove_breakpoint(self, address: int) -> None:
        self._core_call(lambda: self._t.remove_breakpoint(address))

    # -- reset and pins ------------------------------------------------------------------
    def reset(self, kind: ResetKind = ResetKind.SYSTEM, *, halt: bool = False) -> None:
        exceptions, _, _, ptarget = _pyocd()
        rt = ptarget.ResetType
        try:
            if kind is ResetKind.SYSTEM:
                if halt:
                    self._t.reset_and_halt(rt.SYSTEM)
                else:
                    self._t.reset(rt.SYSTEM)
            elif kind is ResetKind.PIN:
                self.require(Capability.RESET_PIN)
                if self.spec.pins.nrst == "probe":
                    if halt:
                        self._t.reset_and_halt(rt.HARDWARE)
                    else:
                        self._t.reset(rt.HARDWARE)
                else:
                    self.set_pin(Pin.NRST, False)
                    self.delay(0.01)
                    self.set_pin(Pin.NRST, True)
                    if halt:
                        self._t.halt()
            else:
                raise CapabilityError(Capability.POWER_CYCLE.value, self.name)
        except exceptions.Error as exc:
            raise _silent_port(self.name, exc) or TargetError(
                f"{self.name}: {kind.value} reset failed: {_chain(exc)}"
            ) from None

    def _line_pins(self) -> SerialLinePins:
        # A test may have closed the UART (its bootloader client's port): the lines only
        # move on an open port, so reopen it rather than drive a closed one silently.
        if self._pins is None or self._port is None or not self._port.is_open:
            self._pins = SerialLinePins(self._serial(), self.spec.pins)
        return self._pins

    def set_pin(self, pin: Pin, level: bool) -> None:
        how = getattr(self.spec.pins, pin.value.lower())
        if pin is Pin.NRST and how == "probe":
            self.session.probe.assert_reset(not level)
        elif how in LINES:
            self._line_pins().set(pin.value, level)
            self._line_levels[pin.value] = level
        else:
            cap = Capability.BOOT0 if pin is Pin.BOOT0 else Capability.RESET_PIN
            raise CapabilityError(cap.value, self.name)

    def get_pin(self, pin: Pin) -> bool:
        how = getattr(self.spec.pins, pin.value.lower())
        if pin is Pin.NRST and how == "probe":
            return not self.session.probe.is_reset_asserted()
        if how in LINES:
            return self._line_pins().get(pin.value)
        cap = Capability.BOOT0 if pin is Pin.BOOT0 else Capability.RESET_PIN
        raise CapabilityError(cap.value, self.name)

    # -- uart ----------------------------------------------------------------------------
    def _serial(self, **kwargs: Any) -> serial.SerialBase:
        """The board's USB-serial adapter: UART data plus DTR/RTS pins, opened once."""
        url = self.spec.uart.port
        if not url:
            raise CapabilityError(Capability.UART.value, self.name)
        if self._port is None or not self._port.is_open:
            try:
                port = serial.serial_for_url(
                    url,
                    baudrate=self.spec.uart.baud,
                    parity=serial.PARITY_EVEN,
                    timeout=1.0,
                    do_not_open=True,
                )
                # Set the lines before opening so BOOT0/NRST do not glitch on open.
                for how, inv, level in (
                    (
                        self.spec.pins.boot0,
                        self.spec.pins.boot0_inverted,
                        self._line_levels["BOOT0"],
                    ),
                    (self.spec.pins.nrst, self.spec.pins.nrst_inverted, self._line_levels["NRST"]),
                ):
                    if how in LINES:
                        setattr(port, how, SerialLinePins.line_state(level, inv))
                port.open()
            except (serial.SerialException, ValueError, OSError) as exc:
                raise TargetError(
                    f"{self.name}: cannot open UART {url}: {exc}",
                    hint="check uart.port in the inventory and that no other program holds it",
                ) from None
            self._port = port
        for key, value in kwargs.items():
            setattr(self._port, key, value)
        return self._port

    def open_uart(self, **kwargs: Any) -> serial.SerialBase:
        """The adapter's port (8E1 at the inventory baud rate); kwargs set pyserial attributes.

        The same port object carries DTR/RTS for BOOT0/NRST, so closing it releases the pins.
        """
        return self._serial(**kwargs)
