"""pyOCD through the simulated probe: connect time and a 64 KiB read, in KiB/s.

    python bench/bench_probe.py [board] [target_type]
"""

from __future__ import annotations

import sys
import time

from harness.errors import HarnessError
from harness.hw import open_pyocd_target
from harness.inventory import BoardSpec, Inventory

SIZE = 64 * 1024


def main(argv: list[str]) -> int:
    board = argv[1] if len(argv) > 1 else "nucleo-h743zi"
    target_type = argv[2] if len(argv) > 2 else "cortex_m"
    sim = Inventory.load().get(board)
    spec = BoardSpec(
        name=f"bench-{board}", part=sim.part, backend="pyocd", probe=f"sim:{board}",
        target_type=target_type, connect_mode="attach",
    )
    t0 = time.perf_counter()
    try:
        target = open_pyocd_target(spec)
    except HarnessError as exc:
        print(f"connect failed: {exc}")
        return 1
    t1 = time.perf_counter()
    with target:
        base = 0x24000000 if target.part.family == "h7" else target.part.ram[0].base
        length = min(SIZE, max(r.size for r in target.part.ram if r.base == base))
        data = target.read_memory(base, length)
        t2 = time.perf_counter()
    kib = len(data) / 1024
    print(f"board {board} ({target_type}): connect {t1 - t0:.3f} s")
    print(f"read {kib:.0f} KiB in {t2 - t1:.3f} s = {kib / (t2 - t1):.1f} KiB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
