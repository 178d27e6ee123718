"""Bus decoding, virtual clock and the report helpers."""

import random

import pytest

from stm32_hil.errors import BusFault
from stm32_hil.parts import get_part
from stm32_hil.report import assert_memory_equal, first_difference, hexdiff, option_table
from stm32_hil.sim.bus import Access, Bus, Memory
from stm32_hil.sim.clock import Clock


def test_bus_routes_and_faults_on_unmapped() -> None:
    bus = Bus()
    ram = bus.attach(Memory("RAM", 0x20000000, 0x400))
    bus.write(0x20000010, 4, 0xDEADBEEF, Access.CPU)
    assert ram.data[0x10:0x14] == b"\xef\xbe\xad\xde"
    assert bus.read(0x20000012, 2) == 0xDEAD
    with pytest.raises(BusFault) as err:
        bus.read(0x30000000, 4)
    assert err.value.address == 0x30000000 and "0x30000000" in str(err.value)
    with pytest.raises(BusFault):
        bus.read_block(0x200003F0, 0x20)  # runs off the end into nothing


def test_overlapping_devices_are_refused() -> None:
    bus = Bus()
    bus.attach(Memory("A", 0x1000, 0x400))
    with pytest.raises(ValueError, match="overlaps A"):
        bus.attach(Memory("B", 0x1200, 0x400))


def test_debug_accesses_cost_virtual_time() -> None:
    clock = Clock(1_000_000)
    bus = Bus(on_debug_access=lambda: clock.advance(3))
    bus.attach(Memory("RAM", 0, 0x400))
    bus.read(0, 4, Access.DEBUG)
    bus.read(0, 4, Access.CPU)
    assert clock.now == 3


def test_clock_fires_events_in_order() -> None:
    clock = Clock(1000)
    fired: list[int] = []
    clock.schedule(50, lambda: fired.append(clock.now))
    clock.schedule(20, lambda: fired.append(clock.now))
    clock.advance(30)
    assert fired == [20]
    clock.advance(100)
    assert fired == [20, 50] and clock.now == 130


def test_hexdiff_points_at_first_difference() -> None:
    a = random.Random(53).randbytes(2048)
    b = bytearray(a)
    b[0x345] ^= 0xFF
    assert first_difference(a, bytes(b)) == 0x345
    assert first_difference(a, a) is None
    assert first_difference(a, a[:100]) == 100
    text = hexdiff(a, bytes(b), base=0x08000000)
    assert "first difference at 0x08000345" in text
    want = f"0x08000345: expected {a[0x345]:02X}, read {b[0x345]:02X}"
    with pytest.raises(AssertionError, match=want):
        assert_memory_equal(bytes(b), a, 0x08000000, "flash")


def test_option_table_marks_changes() -> None:
    part = get_part("STM32G071RB")
    before = part.factory_options
    after = dict(before, OPTR=(before["OPTR"] & ~0xFF) | 0xBB)
    table = option_table(part, after, before)
    line = next(ln for ln in table.splitlines() if ln.startswith("OPTR"))
    assert "*" in line and "RDP=0xbb" in line
