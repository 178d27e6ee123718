"""Whole-device read of the W25Q128 (16 MiB) through our loader on the simulator, in MiB/s.

Prints the figure next to the ST-LINK/V3 vendor figure for STM32CubeProgrammer external-loader
reads (0.13 MiB/s); the goal for the simulator is >= 8 MiB/s so whole-device checks stay cheap.
"""

from __future__ import annotations

import time
from pathlib import Path

from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.runner import LoaderRunner

LOADER = Path(__file__).resolve().parents[1] / "loaders" / "good" / "h743_w25q128.stldr"
VENDOR_MIB_S = 0.13
GOAL_MIB_S = 8.0


def main() -> None:
    target = SimTarget(Inventory.load().get("nucleo-h743zi"))
    runner = LoaderRunner(target, load(LOADER))
    size = runner.stldr.storage_info.size
    runner.init()
    start = time.perf_counter()
    data = runner.read(runner.stldr.storage_info.start, size)
    elapsed = time.perf_counter() - start
    assert len(data) == size
    rate = size / elapsed / (1 << 20)
    chunks = -(-size // runner.buffer_size)
    print(
        f"whole-device read, {size >> 20} MiB in {chunks} chunks of 0x{runner.buffer_size:X}: "
        f"{elapsed:.2f} s = {rate:.1f} MiB/s"
    )
    print(
        f"ST-LINK/V3 vendor figure: {VENDOR_MIB_S} MiB/s -> x{rate / VENDOR_MIB_S:.0f}; "
        f"goal >= {GOAL_MIB_S} MiB/s: {'met' if rate >= GOAL_MIB_S else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
