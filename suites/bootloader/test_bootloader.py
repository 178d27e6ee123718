"""Bootloader suite: entry, identity, whole-flash round trip, RDP level 1 rules, robustness.

Runs on simulated and real boards alike through the Target: BOOT0 + NRST for entry, the board's
bootloader UART as a pyserial port, the AN3155 client for everything else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from stm32_hil.an3155 import (
    Bootloader,
    NackError,
    SyncError,
    read_image,
    verify_image,
    write_image,
)
from stm32_hil.an3155.framing import ACK, NACK
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.target import Target
from stm32_hil.target.base import Capability, Pin, ResetKind

# The ROM bootloaders modelled and checked here are those of the G0 and H7 parts.
pytestmark = [pytest.mark.needs("boot0", "uart"), pytest.mark.family("g0", "h7")]
ROM_FAMILIES = ("g0", "h7")  # the simulated ROM programs flash through these controller models


@pytest.fixture(autouse=True)
def _rom_modelled(target: Target) -> None:
    if target.part.family not in ROM_FAMILIES:
        pytest.skip(f"{target.part.name}: this suite covers the {'/'.join(ROM_FAMILIES)} ROMs")


def enter_bootloader(target: Target) -> Bootloader:
    target.set_pin(Pin.BOOT0, True)
    target.reset(ResetKind.PIN)
    bl = Bootloader(target.open_uart())
    bl.sync()
    bl.identify()
    return bl


def boot0_selects_pin(target: Target) -> None:
    """G0 parts ship with nBOOT_SEL=1 (BOOT0 pin ignored): hand boot selection to the pin."""
    if target.part.family != "g0":
        return
    flash = internal_flash(target)
    optr = flash.read_options()["OPTR"]
    field = target.part.option_register("OPTR").field("nBOOT_SEL")
    if field.get(optr):
        flash.write_options({"OPTR": field.put(optr, 0)})


@pytest.fixture
def bl(target: Target) -> Iterator[Bootloader]:
    boot0_selects_pin(target)
    client = enter_bootloader(target)
    yield client
    client.port.close()


def test_command_set_and_ids_per_part(target: Target, bl: Bootloader) -> None:
    info = bl.info
    assert info is not None
    assert info.id.pid == target.part.pid
    assert info.get.version == target.part.bootloader.version
    assert info.get.commands == target.part.bootloader.commands
    # a part implements Erase or Extended Erase, never both
    assert (0x43 in info.get.commands) != (0x44 in info.get.commands)


@pytest.fixture
def g0_power_cycle(target: Target) -> None:
    """G0: `bl` hands boot selection to the pin in the option bytes, which load at power-on
    only; on a board without a power switch, skip before they are touched."""
    if target.part.family == "g0" and not target.has(Capability.POWER_CYCLE):
        pytest.skip(f"{target.part.name}: needs a power cycle (no power switch on this board)")


@pytest.mark.destructive
def test_boot0_low_runs_flash_not_the_bootloader(
    target: Target, g0_power_cycle: None, bl: Bootloader
) -> None:
    bl.write_memory(target.part.flash.base, b"\x00" * 32)  # flash no longer "empty"
    bl.port.close()
    target.set_pin(Pin.BOOT0, False)
    target.reset(ResetKind.POWER if target.part.family == "g0" else ResetKind.PIN)
    with pytest.raises(SyncError):
        Bootloader(target.open_uart()).sync(attempts=2)
    target.set_pin(Pin.BOOT0, True)
    target.reset(ResetKind.PIN)
    again = Bootloader(target.open_uart())
    again.sync()
    assert again.get_id().pid == target.part.pid


@pytest.mark.destructive
@pytest.mark.family("g0")
def test_entry_by_option_bits(target: Target) -> None:
    """nBOOT_SEL=1 + nBOOT0=0: system memory whatever the BOOT0 pin says."""
    flash = internal_flash(target)
    flash.erase(target.part.flash.base, target.part.flash.page_size)
    flash.program(target.part.flash.base, b"\x00" * 8)  # not empty: no empty-flash entry
    reg = target.part.option_register("OPTR")
    optr = flash.read_options()["OPTR"]
    optr = reg.field("nBOOT0").put(reg.field("nBOOT_SEL").put(optr, 1), 0)
    flash.write_options({"OPTR": optr})
    target.set_pin(Pin.BOOT0, False)
    target.reset(ResetKind.PIN)
    bl = Bootloader(target.open_uart())
    bl.sync()
    assert bl.get_id().pid == target.part.pid


@pytest.mark.destructive
def test_whole_flash_round_trip(target: Target, bl: Bootloader) -> None:
    geo = target.part.flash
    size = min(geo.size, 0x40000)  # 256 KiB keeps the run short on the 2 MiB parts
    image = os.urandom(size)
    bl.mass_erase()
    assert read_image(bl, geo.base, size) == b"\xff" * size
    write_image(bl, geo.base, image)
    verify_image(bl, geo.base, image)
    bl.mass_erase()
    assert read_image(bl, geo.base, 4096) == b"\xff" * 4096


@pytest.mark.destructive
def test_rdp1_nacks_and_readout_unprotect_erases(target: Target, bl: Bootloader) -> None:
    geo = target.part.flash
    bl.write_memory(geo.base + 256, b"\x5a" * 64)
    bl.readout_protect()
    bl.port.close()
    target.set_pin(Pin.BOOT0, True)
    target.reset(ResetKind.PIN)
    bl = Bootloader(target.open_uart())
    bl.sync()
    assert bl.get_id().pid == target.part.pid
    assert bl.get_version().version == target.part.bootloader.version
    assert bl.get().commands == target.part.bootloader.commands
    for call in (
        lambda: bl.read_memory(geo.base, 16),
        lambda: bl.write_memory(geo.base, b"\x00" * 16),
        lambda: bl.erase_pages([0]),
        lambda: bl.go(geo.base),
        lambda: bl.readout_protect(),
        lambda: bl.write_unprotect(),
    ):
        with pytest.raises(NackError, match="NACK to the command"):
            call()
    bl.readout_unprotect()
    bl.port.close()
    target.reset(ResetKind.PIN)
    bl = Bootloader(target.open_uart())
    bl.sync()
    assert bl.read_memory(geo.base + 256, 64) == b"\xff" * 64


def test_bad_checksum_is_nacked(bl: Bootloader) -> None:
    bl.port.write(b"\x11\xee")
    assert bl.port.read(1) == bytes((ACK,))
    bl.port.write(b"\x08\x00\x00\x00\x00")  # XOR should be 0x08
    assert bl.port.read(1) == bytes((NACK,))
    bl.port.write(b"\x02\xfc")  # wrong complement
    assert bl.port.read(1) == bytes((NACK,))
    assert bl.get_version().version > 0


def test_garbage_then_resync(target: Target, bl: Bootloader) -> None:
    bl.port.write(bytes(range(0x40, 0x80)))
    bl.resync()
    assert bl.get_id().pid == target.part.pid


def test_timeout_mid_frame_then_recovery(target: Target, bl: Bootloader) -> None:
    bl.port.write(b"\x11\xee\x08\x00")  # host stalls in the middle of the address
    assert bl.port.read(1) == bytes((ACK,))
    assert bl.port.read(1) == b""  # the ROM waits; nothing comes back
    bl.resync()
    assert bl.read_memory(target.part.flash.base, 256) is not None
