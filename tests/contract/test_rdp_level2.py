"""Setting RDP level 2 through a Target: the flow ends cleanly although the debug port goes away.

On silicon the option reload that makes level 2 effective also disconnects the debugger, so the
last transfers of the flow (H7: polling OPTSR_CUR; G0: the OBL_LAUNCH write) fail. The flows
must take that as the expected end, and every later access must say "RDP level 2" with a type.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stm32_hil.errors import ProtectionError, TargetError
from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import Target
from stm32_hil.target.safety import Safety

from .conftest import open_target

LEVEL2 = 0xCC


def set_level2(target: Target) -> None:
    flash = internal_flash(target)
    name = "OPTR" if target.part.family == "g0" else "OPTSR"
    reg = target.part.option_register(name)
    current = flash.read_options()[name]
    flash.write_options({name: reg.field("RDP").put(current, LEVEL2)})


@pytest.mark.parametrize("backend", ["sim", "pyocd"])
def test_level2_change_completes_and_closes_the_debug_port(
    board: SimBoard, lock_dir: Path, backend: str
) -> None:
    t = open_target(backend, board)
    t.allow(Safety(destructive=True, irreversible=True))  # RDP 2 on a real board: both opt-ins
    try:
        set_level2(t)
        assert board.flash.rdp_level() == 2
        with pytest.raises(ProtectionError, match="RDP level 2"):
            t.read32(board.part.idcode_addr)
    finally:
        t.close()


class UnackedOblLaunch(SimTarget):
    """A G0 whose OBL_LAUNCH write is never acknowledged, as a hardware probe may see it."""

    def write32(self, address: int, value: int) -> None:
        super().write32(address, value)
        if address == self.part.flash_regs + 0x14 and value & (1 << 27):  # FLASH_CR.OBL_LAUNCH
            raise TargetError(f"{self.name}: SWD communication failure (no ACK)")


def test_g0_unacknowledged_obl_launch_is_the_expected_end() -> None:
    board = SimBoard.from_inventory("nucleo-g071rb")
    set_level2(UnackedOblLaunch(board.spec, board=board))
    assert board.flash.rdp_level() == 2
