"""Fresh simulated board provisioning (inventory boards, and bare boards of data-only parts
built by `SimBoard.for_part`: no hand-written catalogue entry, the whole chip map declared
lazily), and 1 MiB of flash programmed and read back through the
FLASH registers (the debug-port path a recovery flow uses). Prints figures and ratios to goals.

    python bench/bench_provisioning.py
"""

from __future__ import annotations

import os
import statistics
import time

from stm32_hil.flows.internal_flash import internal_flash
from stm32_hil.inventory import Inventory
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.target import SimTarget

PROVISION_GOAL_MS = 20.0
ROUNDS = 30
# Parts with no catalogue entry: everything the board has comes from stm32-data.
DATA_ONLY_PARTS = ("STM32L496AG", "STM32H7B3LI", "STM32U545RE", "STM32H563ZI", "STM32F411CE")


def provisioning(name: str) -> list[float]:
    spec = Inventory.load().get(name)
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        tgt = SimTarget(spec)
        times.append((time.perf_counter() - t0) * 1000)
        tgt.close()
    return times


def part_provisioning(part: str) -> tuple[float, list[float], int, int]:
    """Bare boards for `part`: the first board's ms, later boards' ms, blocks, built at once.

    The first board (cold) loads the part's data and the model modules; every later board is
    built from the cached part, as a test session sees it, and is what the goal applies to.
    """
    t0 = time.perf_counter()
    board = SimBoard.for_part(part)
    cold = (time.perf_counter() - t0) * 1000
    total = len(board.part.blocks)
    built = total - len(board.bus.declared())
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        SimBoard.for_part(part)
        times.append((time.perf_counter() - t0) * 1000)
    return cold, times, total, built


def program_and_read(name: str, size: int) -> tuple[float, float, float, float]:
    tgt = SimTarget(Inventory.load().get(name))
    flash = internal_flash(tgt)
    base = tgt.part.flash.base
    data = os.urandom(size)
    v0 = tgt.board.clock.seconds
    t0 = time.perf_counter()
    flash.erase(base, size)
    flash.program(base, data)
    t1 = time.perf_counter()
    v1 = tgt.board.clock.seconds
    back = flash.read(base, size)
    t2 = time.perf_counter()
    assert back == data, "read-back differs"
    return t1 - t0, t2 - t1, v1 - v0, tgt.board.clock.seconds - v1


def main() -> None:
    print(f"{'board':16} {'median ms':>10} {'p90 ms':>8} {'goal ms':>8} {'ratio':>6}")
    for name in Inventory.load().names("sim"):
        t = sorted(provisioning(name))
        med, p90 = statistics.median(t), t[int(len(t) * 0.9)]
        ratio = med / PROVISION_GOAL_MS
        print(f"{name:16} {med:10.2f} {p90:8.2f} {PROVISION_GOAL_MS:8.1f} {ratio:6.2f}")
    print()
    print(
        f"{'part (bare)':16} {'median ms':>10} {'p90 ms':>8} {'goal ms':>8} {'ratio':>6} "
        f"{'blocks':>7} {'built':>6} {'lazy':>5} {'cold ms':>8}"
    )
    for part in DATA_ONLY_PARTS:
        cold, t, total, built = part_provisioning(part)
        t.sort()
        med, p90 = statistics.median(t), t[int(len(t) * 0.9)]
        ratio = med / PROVISION_GOAL_MS
        print(
            f"{part:16} {med:10.2f} {p90:8.2f} {PROVISION_GOAL_MS:8.1f} {ratio:6.2f} "
            f"{total:7} {built:6} {total - built:5} {cold:8.2f}"
        )
    print()
    print(
        f"{'board':16} {'size':>8} {'erase+prog s':>13} {'read s':>8} {'MiB/s prog':>11} "
        f"{'MiB/s read':>11} {'virt. prog s':>13}"
    )
    for name, size in (("nucleo-h743zi", 1 << 20), ("nucleo-g0b1re", 512 << 10)):
        prog, read, vprog, _ = program_and_read(name, size)
        mib = size / (1 << 20)
        print(
            f"{name:16} {size >> 10:>6}Ki {prog:13.2f} {read:8.3f} {mib / prog:11.2f} "
            f"{mib / read:11.1f} {vprog:13.2f}"
        )


if __name__ == "__main__":
    main()
