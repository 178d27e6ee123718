"""The generated pyOCD target types: the part's memory map reaches pyOCD and GDB.

With no `-t`, the simulated probe names its board's part as the target type, so pyOCD knows
where flash is (breakpoints there go to the FPB, since a BKPT cannot be patched into flash) and
GDB's memory map covers the System Control Space (FPCCR for unwinding through exceptions).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyocd.core.helpers import ConnectHelper
from pyocd.core.memory_map import MemoryType
from pyocd.core.session import Session
from pyocd.core.target import Target as PTarget
from pyocd.coresight.coresight_target import CoreSightTarget
from pyocd.gdbserver.context_facade import GDBDebugContextFacade

from stm32_hil.inventory import Inventory
from stm32_hil.parts.sectors import sector_map
from stm32_hil.sim import live as registry
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.debug import pyocd_targets

BOARDS = ("nucleo-g071rb", "nucleo-h743zi", "stm32469i-eval")


@pytest.fixture(params=BOARDS)
def board(request: pytest.FixtureRequest) -> Iterator[SimBoard]:
    registry.unregister(request.param)
    b = registry.board_for(Inventory.load().get(request.param))
    yield b
    registry.unregister(request.param)


@pytest.fixture
def session(board: SimBoard) -> Iterator[Session]:
    s = ConnectHelper.session_with_chosen_probe(unique_id=f"sim:{board.name}", connect_mode="halt")
    assert s is not None
    with s:
        yield s


def test_the_probe_names_the_parts_target_type(board: SimBoard, session: Session) -> None:
    assert session.options.get("target_override") == pyocd_targets.target_type(board.part)
    assert isinstance(session.target, CoreSightTarget)


def test_memory_map_is_the_parts(board: SimBoard, session: Session) -> None:
    mm = session.target.memory_map
    flash = [r for r in mm if r.type is MemoryType.FLASH]
    sectors = sector_map(board.part).sectors
    assert flash[0].start == board.part.flash.base and flash[0].is_boot_memory
    assert sum(r.length for r in flash) == board.part.flash.size
    for s in sectors:  # every sector lies in a region whose erase size is the sector's
        region = mm.get_region_for_address(s.base)
        assert region is not None and region.is_flash and region.blocksize == s.size
    for ram in board.part.ram:
        region = mm.get_region_for_address(ram.base)
        assert region is not None and region.type is MemoryType.RAM
    assert mm.get_region_for_address(0xE000EF34) is not None  # FPCCR, for GDB
    xml = GDBDebugContextFacade(
        session.target.selected_core.get_target_context()
    ).get_memory_map_xml()
    assert b'type="flash"' in xml and b'start="0xe0000000"' in xml


def test_breakpoint_in_flash_uses_the_fpb(board: SimBoard, session: Session) -> None:
    target = session.target
    address = board.part.flash.base + 0x100
    assert target.set_breakpoint(address, PTarget.BreakpointType.AUTO)
    target.selected_core.bp_manager.flush()  # pyOCD applies breakpoints before running
    assert address in board.core.fpb.addresses()  # a comparator, not a patched BKPT
    assert target.get_breakpoint_type(address) is PTarget.BreakpointType.HW
    assert board.bus.read(address, 2) == 0xFFFF  # flash untouched
    target.remove_breakpoint(address)
    target.selected_core.bp_manager.flush()
    assert address not in board.core.fpb.addresses()


def test_builtin_pyocd_target_keeps_its_flash_algorithm() -> None:
    from stm32_hil.parts import get_part

    part = get_part("STM32H743ZI")
    cls = pyocd_targets.target_class(part)
    builtin = pyocd_targets.builtin_target(part)
    assert builtin is not None and issubclass(cls, builtin)
    flash = [r for r in cls.MEMORY_MAP if r.type is MemoryType.FLASH]
    assert flash and all(r.algo is not None for r in flash)
