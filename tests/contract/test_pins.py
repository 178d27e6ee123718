"""BOOT0/NRST on DTR/RTS honour the inventory's inversion flags."""

from __future__ import annotations

import pytest
import serial

from stm32_hil.errors import ConfigError
from stm32_hil.hw.pins import SerialLinePins
from stm32_hil.inventory import PinSpec


def test_levels_map_to_lines_with_inversion() -> None:
    port = serial.serial_for_url("loop://")
    pins = SerialLinePins(port, PinSpec(boot0="dtr", nrst="rts", nrst_inverted=True))
    pins.set("BOOT0", True)
    pins.set("NRST", False)
    assert port.dtr is True and port.rts is True  # NRST low through an inverter = RTS asserted
    pins.set("NRST", True)
    assert port.rts is False and pins.get("NRST") is True
    assert pins.drives("BOOT0") and not pins.can_power_cycle


def test_one_line_cannot_drive_both_pins() -> None:
    with pytest.raises(ConfigError, match="same modem-control line"):
        SerialLinePins(serial.serial_for_url("loop://"), PinSpec(boot0="dtr", nrst="dtr"))
