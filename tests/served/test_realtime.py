"""A served board keeps time: firmware started over the UART goes on running by itself."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Served, require
from .test_gdb import FIRMWARE, _uart_until

pytestmark = pytest.mark.sim_only


def _symbol(elf: Path, name: str) -> int:
    from elftools.elf.elffile import ELFFile

    with elf.open("rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return int(table.get_symbol_by_name(name)[0]["st_value"])  # type: ignore[union-attr]


# RM0444: FLASH_ACR.EMPTY is latched when the option bytes load; software clears it once flash
# is programmed, so that the next reset boots the new image instead of the bootloader.
START_FROM_FLASH = """
from pyocd.core.helpers import ConnectHelper
with ConnectHelper.session_with_chosen_probe(
    unique_id="sim:nucleo-g071rb", options={"connect_mode": "attach"}
) as session:
    t = session.target
    t.write32(0x40022000, t.read32(0x40022000) & ~(1 << 16))
    t.reset()
"""


def test_firmware_keeps_printing_with_nobody_talking(serve: Callable[..., Served]) -> None:
    """stm32flash writes (the empty-flash check started the ROM), pyOCD resets into flash, and
    then nobody talks to the board: its tick lines keep coming, because virtual time follows
    the wall clock while the core runs."""
    stm32flash = require("stm32flash")
    served = serve("nucleo-g071rb", "--no-boot0")
    image = FIRMWARE / "g071" / "hello.bin"
    r = served.run(stm32flash, "-m", "8n1", "-w", str(image), served.uart)
    assert r.returncode == 0, r.stdout + r.stderr
    r = served.run(sys.executable, "-c", START_FROM_FLASH)
    assert r.returncode == 0, r.stdout + r.stderr
    seen = _uart_until(served.uart, b"tick 500\n", timeout_s=120)
    assert seen.startswith(b"hello from STM32G071RB\n"), seen
    ticks = [int(n) for n in re.findall(rb"tick (\d+)\n", seen)]
    assert ticks and ticks[-1] >= 500, seen
    assert ticks == list(range(100, ticks[-1] + 1, 100)), seen  # none lost on the way


def test_speed_zero_keeps_virtual_time(serve: Callable[..., Served], tmp_path: Path) -> None:
    """`--speed 0`: time passes only with clients, as in tests; the firmware stays put."""
    stm32flash = require("stm32flash")
    served = serve("nucleo-g071rb", "--no-boot0", "--speed", "0")
    image = FIRMWARE / "g071" / "hello.bin"
    r = served.run(stm32flash, "-m", "8n1", "-w", str(image), served.uart)
    assert r.returncode == 0, r.stdout + r.stderr
    r = served.run(sys.executable, "-c", START_FROM_FLASH)
    assert r.returncode == 0, r.stdout + r.stderr
    ticks = _symbol(FIRMWARE / "g071" / "hello.elf", "ticks")
    read = ["commander", "-u", "sim:nucleo-g071rb", "-O", "connect_mode=attach"]
    first = served.pyocd(*read, "-c", f"read32 0x{ticks:08x}")
    second = served.pyocd(*read, "-c", f"read32 0x{ticks:08x}")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    word = re.compile(rf"{ticks:08x}:\s+([0-9a-f]{{8}})")
    a, b = (int(word.search(x.stdout).group(1), 16) for x in (first, second))  # type: ignore[union-attr]
    # between the two sessions only their own transfers moved time: far fewer ticks than the
    # seconds of wall time between them would give at 10 kHz
    assert b - a < 2000, (a, b)
