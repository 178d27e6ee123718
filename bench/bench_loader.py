"""Write and read MiB/s through external loaders on the simulator, and `validate --full` time.

Loaders: our own (NUCLEO-H743ZI, W25Q128, word writes to the QUADSPI data register) and two
real third-party loaders whose HAL code writes the data register byte by byte:
`../shared/loaders/st_f469_mt25ql.stldr` (STM32469I-EVAL, MT25QL512A) and
`weact_h7_w25q128.stldr` (WeAct MiniSTM32H750, W25Q128). Each moves seeded random data
(erase, Write, Read back, compare) in wall-clock MiB/s, next to the ST-LINK/V3 figure for
STM32CubeProgrammer external-loader transfers (0.13 MiB/s) and next to the same write on the
simulator's Python MMIO path (`STM32_HIL_NATIVE=0`, a shorter transfer), the path before the
native dispatcher. Then `validate --full` of the 64 MiB MT25QL512A through the F469 loader,
in wall seconds, against the time an ST-LINK/V3 needs to move the same bytes.

    python3 bench/bench_loader.py            # 1 MiB per loader and validate --full (minutes)
    python3 bench/bench_loader.py --short    # 128 KiB per loader, no --full run

A second table shows where a page write goes: wall microseconds per 256-byte page in the
Python device models (accesses the native dispatcher handed over) and in the engine (Unicorn's
translated code, its memory paths, the native dispatcher, slice bookkeeping), slices cut
inside a block, and the write speed the engine alone allows: the most any faster model code
(C included) could give on this engine.

Prints figures; it does not pass or fail. Goals: >= 5 MiB/s write, --full <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stm32_hil.errors import HarnessError
from stm32_hil.inventory import Inventory
from stm32_hil.sim.target import SimTarget
from stm32_hil.stldr import load
from stm32_hil.stldr.runner import LoaderRunner
from stm32_hil.stldr.validate import validate

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "loaders"
STLINK_MIB_S = 0.13
GOAL_WRITE_MIB_S = 5.0
GOAL_FULL_S = 60.0
MIB = 1 << 20
READ_CHUNK = 0x8000  # bytes per Read operation


@dataclass(frozen=True)
class Split:
    """Wall microseconds per 256-byte page written: in Python models, in the engine."""

    python_us: float
    engine_us: float
    cuts: float  # slices cut inside a block, per page

    @property
    def ceiling(self) -> float:
        """MiB/s if model code cost nothing: what the engine alone allows."""
        return 256 / self.engine_us / MIB * 1e6


@dataclass(frozen=True)
class Case:
    name: str
    loader: Path
    board: str  # in fixtures/boards.toml


CASES = (
    Case("ours h743_w25q128", ROOT / "loaders" / "good" / "h743_w25q128.stldr", "nucleo-h743zi"),
    Case("st_f469_mt25ql", SHARED / "st_f469_mt25ql.stldr", "stm32469i-eval"),
    Case("weact_h7_w25q128", SHARED / "weact_h7_w25q128.stldr", "weact-mini-h750"),
)
FULL = CASES[1]  # MT25QL512A, 64 MiB


def _target(board: str) -> SimTarget:
    return SimTarget(Inventory.load(ROOT / "fixtures" / "boards.toml").get(board))


def _timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def _cpu_timed(step: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds: on a shared machine the CPU figure is the one that repeats."""
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def _transfer(
    case: Case, size: int, native: bool
) -> tuple[float, float, float, Split | None, float | None, str]:
    """(write MiB/s wall, CPU, Python calls per 256-byte page written, where the write time
    went; read MiB/s, why it failed) for `size` seeded random bytes."""
    os.environ["STM32_HIL_NATIVE"] = "1" if native else "0"
    try:
        target = _target(case.board)
        runner = LoaderRunner(target, load(case.loader))
        core = target.board.core
        info = runner.stldr.storage_info
        data = random.Random(0xB1E55ED + size).randbytes(size)
        runner.sector_erase(info.start, info.start + size - 1)
        before = sum(core.python_accesses)
        python_s, cuts = core.python_seconds, core.cut_blocks
        write_s, write_cpu = _cpu_timed(lambda: runner.write(info.start, data))
        write, cpu = size / write_s / MIB, size / write_cpu / MIB
        pages = size / 256
        calls = (sum(core.python_accesses) - before) / pages
        python_s = core.python_seconds - python_s
        split = Split(
            python_us=python_s / pages * 1e6,
            engine_us=(write_s - python_s) / pages * 1e6,
            cuts=(core.cut_blocks - cuts) / pages,
        )
        if not native:
            return write, cpu, calls, None, None, ""
        back = b""

        def read() -> None:
            # Programmer-sized Read operations (each with its Init): weact's Read takes a
            # 16-bit length, so a single 1 MiB call reads nothing and never returns
            nonlocal back
            back = b"".join(
                runner.read(info.start + at, min(READ_CHUNK, size - at))
                for at in range(0, size, READ_CHUNK)
            )

        try:
            read_s = _timed(read)
        except HarnessError as exc:
            return write, cpu, calls, split, None, exc.message.splitlines()[0]
        if back != data:
            return write, cpu, calls, split, None, "read-back differs from what was written"
        return write, cpu, calls, split, size / read_s / MIB, ""
    finally:
        os.environ.pop("STM32_HIL_NATIVE", None)


def _full() -> tuple[float, float, int, str]:
    """Wall and CPU seconds of validate --full, the device size, the failed checks if any."""
    target = _target(FULL.board)
    stldr = load(FULL.loader)
    results: list[object] = []
    seconds, cpu = _cpu_timed(lambda: results.extend(validate(target, stldr, full=True)))
    failed = [r.check for r in results if not r.passed]  # type: ignore[attr-defined]
    return seconds, cpu, stldr.storage_info.size, ", ".join(failed) or "all passed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="128 KiB transfers, no --full run")
    args = parser.parse_args()
    size = 128 * 1024 if args.short else MIB
    slow_size = 32 * 1024 if args.short else 128 * 1024

    print(
        f"{'loader':<20} {'write MiB/s':>11} {'vs ST-LINK':>10} {'CPU MiB/s':>9} "
        f"{'Py calls/page':>13} {'Python path':>11} {'speed-up':>8} {'read MiB/s':>10} "
        f"{'vs ST-LINK':>10}"
    )
    splits: list[tuple[str, Split]] = []
    for case in CASES:
        if not case.loader.exists():
            print(f"{case.name:<20} missing: {case.loader}")
            continue
        try:
            write, cpu, calls, split, read, why = _transfer(case, size, native=True)
            slow = _transfer(case, slow_size, native=False)[1]
        except HarnessError as exc:
            print(f"{case.name:<20} failed: {exc.message.splitlines()[0]}")
            continue
        if split is not None:
            splits.append((case.name, split))
        shown = f"{read:>10.2f} {read / STLINK_MIB_S:>9.1f}x" if read else f"  failed: {why}"
        print(
            f"{case.name:<20} {write:>11.3f} {write / STLINK_MIB_S:>9.2f}x {cpu:>9.3f} "
            f"{calls:>13.1f} {slow:>11.3f} {cpu / slow:>7.1f}x {shown}"
        )
    print(
        f"({size // 1024} KiB per loader, wall-clock unless marked CPU; Python path: the same "
        f"write of {slow_size // 1024} KiB with STM32_HIL_NATIVE=0, CPU MiB/s; speed-up in CPU "
        f"time; Py calls/page: peripheral accesses handed to Python per 256 bytes written; "
        f"ST-LINK/V3 {STLINK_MIB_S} MiB/s; goal >= {GOAL_WRITE_MIB_S} MiB/s write)"
    )
    print()
    budget = 256 / (GOAL_WRITE_MIB_S * MIB) * 1e6
    print(
        f"{'where a page goes':<20} {'Python us':>9} {'engine us':>9} {'cuts/page':>9} "
        f"{'engine-only MiB/s':>17} {'vs goal':>7}"
    )
    for name, split in splits:
        print(
            f"{name:<20} {split.python_us:>9.0f} {split.engine_us:>9.0f} {split.cuts:>9.2f} "
            f"{split.ceiling:>17.2f} {split.ceiling / GOAL_WRITE_MIB_S:>6.2f}x"
        )
    print(
        f"(wall us per 256-byte page; Python: device models on accesses handed to Python; "
        f"engine: everything else; engine-only: the write speed with model code costing "
        f"nothing; {GOAL_WRITE_MIB_S} MiB/s leaves {budget:.0f} us per page)"
    )
    if args.short:
        return
    if not FULL.loader.exists():
        print(f"validate --full: missing {FULL.loader}")
        return
    seconds, cpu, device, verdict = _full()
    stlink = 2 * device / MIB / STLINK_MIB_S  # the whole device written, then read back
    print(
        f"validate --full, {FULL.name} on {device // MIB} MiB: {seconds:.1f} s wall, "
        f"{cpu:.1f} s CPU ({verdict}); ST-LINK/V3 moving the same 2 x {device // MIB} MiB: "
        f"{stlink:.0f} s "
        f"-> x{stlink / seconds:.1f}; goal <= {GOAL_FULL_S:.0f} s: "
        f"{'met' if seconds <= GOAL_FULL_S else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
