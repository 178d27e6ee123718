"""pyOCD through the simulated probe: connect time and a 64 KiB flash read per board.

    python bench/bench_probe.py [board:target_type ...] [--reference KIB_PER_S]

Default boards: nucleo-g071rb (cortex_m) and nucleo-h743zi (stm32h743xx), connect mode "halt".
Each board is built fresh in this process; every SWD transaction goes through pyOCD's DAP layer
into the register-level DP/AP model, so the figure is the cost of the whole stack per word.

The ratio is against a reference figure for pyOCD reading memory through an ST-LINK/V3 on real
silicon. REFERENCE_KIB_S is an assumed order of magnitude (USB high-speed probe, SWD at
24 MHz), not a measurement made here; pass --reference with your own bench figure.
Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time

from stm32_hil.errors import HarnessError
from stm32_hil.hw import open_pyocd_target
from stm32_hil.inventory import BoardSpec, Inventory
from stm32_hil.sim import live as registry

SIZE = 64 * 1024
DEFAULT_BOARDS = ("nucleo-g071rb:cortex_m", "nucleo-h743zi:stm32h743xx")
REFERENCE_KIB_S = 1000.0  # assumed: pyOCD + ST-LINK/V3 memory read on silicon (see docstring)


def bench(board: str, target_type: str, lock_dir: str) -> tuple[float, float, int]:
    """(connect seconds, read seconds, bytes read) for one board."""
    os.environ.setdefault("HIL_LOCK_DIR", lock_dir)
    sim = Inventory.load().get(board)
    registry.unregister(board)
    live = registry.board_for(sim)
    image = random.Random(38).randbytes(SIZE)
    live.flash.array.data[:SIZE] = image  # known contents, so the read can be checked
    spec = BoardSpec(
        name=f"bench-{board}", part=sim.part, backend="pyocd", probe=f"sim:{board}",
        target_type=target_type, connect_mode="halt",
    )  # fmt: skip
    t0 = time.perf_counter()
    target = open_pyocd_target(spec)
    t1 = time.perf_counter()
    with target:
        data = target.read_memory(target.part.flash.base, SIZE)
        t2 = time.perf_counter()
    registry.unregister(board)
    if data != image:
        raise HarnessError(f"{board}: the 64 KiB read back differs from the flash contents")
    return t1 - t0, t2 - t1, len(data)


def main(argv: list[str]) -> int:
    reference = REFERENCE_KIB_S
    args = list(argv[1:])
    if "--reference" in args:
        i = args.index("--reference")
        reference = float(args[i + 1])
        del args[i : i + 2]
    boards = args or list(DEFAULT_BOARDS)
    print(f"reference: {reference:.0f} KiB/s (ST-LINK/V3 + pyOCD on silicon, assumed figure)")
    with tempfile.TemporaryDirectory() as locks:
        for item in boards:
            board, _, target_type = item.partition(":")
            try:
                connect_s, read_s, n = bench(board, target_type or "cortex_m", locks)
            except HarnessError as exc:
                print(f"{board}: failed: {exc}")
                return 1
            rate = n / 1024 / read_s
            print(
                f"{board:15s} {target_type or 'cortex_m':12s} connect {connect_s:6.3f} s   "
                f"read {n // 1024} KiB in {read_s:6.3f} s = {rate:7.1f} KiB/s   "
                f"{rate / reference:.3f} x reference"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
