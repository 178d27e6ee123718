"""BOOT0 and NRST driven through the modem-control lines (DTR/RTS) of a USB-serial adapter.

Rule used throughout: asserting the line (`port.dtr = True`) drives the board pin high; an
inventory `*_inverted = true` flips that, for adapters wired through an inverting transistor or
with active-low outputs. Power cycling is not something DTR/RTS can do, so this driver reports
it as unsupported and the target leaves the capability out.
"""

from __future__ import annotations

from typing import Protocol

import serial

from stm32_hil.errors import ConfigError, TargetError
from stm32_hil.inventory import PinSpec

LINES = ("dtr", "rts")


class PinDriver(Protocol):
    """What a target needs from something that drives board pins."""

    def drives(self, pin: str) -> bool: ...

    def set(self, pin: str, level: bool) -> None: ...

    def get(self, pin: str) -> bool: ...

    @property
    def can_power_cycle(self) -> bool: ...


class SerialLinePins:
    """BOOT0/NRST on DTR/RTS of an open pyserial port (tty, rfc2217://, ...)."""

    can_power_cycle = False

    def __init__(self, port: serial.SerialBase, spec: PinSpec) -> None:
        self.port = port
        self._map: dict[str, tuple[str, bool]] = {}
        for pin, how, inverted in (
            ("BOOT0", spec.boot0, spec.boot0_inverted),
            ("NRST", spec.nrst, spec.nrst_inverted),
        ):
            if how in LINES:
                self._map[pin] = (how, inverted)
        lines = [line for line, _ in self._map.values()]
        if len(lines) != len(set(lines)):
            raise ConfigError(
                "BOOT0 and NRST are both assigned to the same modem-control line",
                hint="wire one to DTR and the other to RTS",
            )
        self._levels: dict[str, bool] = {}

    def drives(self, pin: str) -> bool:
        return pin in self._map

    @staticmethod
    def line_state(level: bool, inverted: bool) -> bool:
        """The DTR/RTS state that puts `level` on the pin."""
        return level != inverted

    def set(self, pin: str, level: bool) -> None:
        if pin not in self._map:
            raise ConfigError(f"pin {pin} is not wired to DTR or RTS")
        line, inverted = self._map[pin]
        try:
            setattr(self.port, line, self.line_state(level, inverted))
        except (serial.SerialException, OSError) as exc:
            raise TargetError(
                f"cannot drive {pin} through {line.upper()} of {self.port.port}: {exc}",
                hint="check that the USB-serial adapter is plugged in and not used elsewhere",
            ) from None
        self._levels[pin] = level

    def get(self, pin: str) -> bool:
        """The level last driven (modem-control outputs cannot be read back)."""
        if pin not in self._map:
            raise ConfigError(f"pin {pin} is not wired to DTR or RTS")
        line, inverted = self._map[pin]
        if pin in self._levels:
            return self._levels[pin]
        return bool(getattr(self.port, line)) != inverted
