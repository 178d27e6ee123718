"""A simulated board is cheap, isolated, and identifies itself like the silicon does."""

import pytest

from stm32_hil.errors import BusFault
from stm32_hil.inventory import Inventory
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.target import SimTarget
from stm32_hil.target import Capability, ResetKind

BOARDS = ["nucleo-g071rb", "nucleo-g0b1re", "nucleo-h743zi", "stm32h750b-dk"]


@pytest.mark.parametrize("name", BOARDS)
def test_identity_is_readable_through_the_debug_port(name: str) -> None:
    spec = Inventory.load().get(name)
    tgt = SimTarget(spec)
    ident = tgt.identity()
    assert ident.pid == tgt.part.pid
    assert ident.flash_size_kib == tgt.part.flash.size // 1024
    assert len(ident.uid) == 12
    assert ident.uid == SimTarget(spec).identity().uid  # stable per board name
    assert (
        ident.uid
        != SimTarget(Inventory.load().get(BOARDS[(BOARDS.index(name) + 1) % 4])).identity().uid
    )


def test_boards_are_independent_objects() -> None:
    a = SimBoard.from_inventory("nucleo-g071rb")
    b = SimBoard.from_inventory("nucleo-g071rb")
    a.write(0x20000000, b"\x11\x22\x33\x44")
    assert b.read(0x20000000, 4) == b"\x00\x00\x00\x00"


def test_ram_survives_system_reset_but_not_power_cycle() -> None:
    tgt = SimTarget(Inventory.load().get("nucleo-h743zi"))
    tgt.write_memory(0x24000100, b"persist?")
    tgt.reset(ResetKind.SYSTEM, halt=True)
    assert tgt.read_memory(0x24000100, 8) == b"persist?"
    tgt.reset(ResetKind.POWER, halt=True)
    assert tgt.read_memory(0x24000100, 8) == bytes(8)


def test_unmapped_debug_access_names_the_address() -> None:
    tgt = SimTarget(Inventory.load().get("nucleo-g071rb"))
    with pytest.raises(BusFault, match="0x60000000"):
        tgt.read32(0x60000000)


def test_capabilities_are_queried_not_assumed() -> None:
    tgt = SimTarget(Inventory.load().get("nucleo-g071rb"))
    assert tgt.has(Capability.BOOT0) and tgt.has(Capability.FAULT_INJECTION)
    assert tgt.sim is tgt.board


def test_g0_boot_alias_follows_the_boot_selection() -> None:
    tgt = SimTarget(Inventory.load().get("nucleo-g071rb"))
    # Empty flash at power-on: the G0 boots system memory, which the alias then shows.
    sysmem = tgt.part.system_memory[0].base
    assert tgt.read32(0x00000000) == tgt.read32(sysmem)
    tgt.board.flash.array.program_unit(0, b"\x00\x10\x00\x20\x01\x01\x00\x08")
    tgt.reset(ResetKind.POWER, halt=True)
    assert tgt.read32(0x00000000) == 0x20001000
