"""Instructions per second of the simulated Cortex-M core, against the 50 M instr/s goal.

(a) a tight register loop, (b) a loop polling a peripheral register, (c) the `hello` firmware
with a 10 kHz SysTick interrupt (Python exception entry and return per tick), (d) a loop of two
stores to a RAM page no code runs from, next to the same loop with two loads (Unicorn 2.1.4
kept every store to executable RAM on its slow path; see `CortexM._translate_natively`).
Rates are virtual instructions (= cycles of virtual time) per wall-clock second. For (b) two
figures: with the core's polling fast-forward (a load repeating the same peripheral value ends
the slice and its budget is charged to the clock) and with it disabled, where every poll is one
Python MMIO callback. Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import time
from pathlib import Path

from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.cpu import core as core_module
from stm32_hil.target.base import ResetKind

GOAL = 50e6
RAM = 0x20001000
LOOPS = {
    # subs r0,#1 ; bne . - 2 ; b . (r0 preset huge: never exits within the run)
    "tight loop": bytes.fromhex("0138fdd1fee7"),
    # ldr r1,[r0] ; b . - 2 : r0 = USART ISR
    "MMIO poll loop": bytes.fromhex("0168fde7"),
    # str r1,[r2] ; str r1,[r2,#4] ; subs r0,#1 ; bne . - 6 ; b . (r2: a data page)
    "RAM store loop": bytes.fromhex("116051600138fbd1fee7"),
    # the same with ldr
    "RAM load loop": bytes.fromhex("116851680138fbd1fee7"),
}
DATA = RAM + 0x4000  # another 1 KiB page than the code


def _measure(board: SimBoard, cycles: int) -> float:
    start = time.perf_counter()
    board.run(cycles)
    return cycles / (time.perf_counter() - start)


def _loop(part: str, code: bytes, r0: int, cycles: int) -> float:
    board = SimBoard.for_part(part)
    board.write(RAM, code)
    core = board.core
    core.write_reg("r0", r0)
    core.write_reg("r2", DATA)
    core.write_reg("pc", RAM)
    core.resume()
    return _measure(board, cycles)


def _hello(part: str, cycles: int) -> float:
    firmware = Path(__file__).resolve().parents[1] / "firmware"
    folder = {"STM32G071RB": "g071", "STM32H743ZI": "h743"}[part]
    board = SimBoard.for_part(part)
    board.preload_flash((firmware / folder / "hello.bin").read_bytes())
    board.reset(ResetKind.POWER, "bench")
    board.core.resume()
    return _measure(board, cycles)


def main() -> None:
    rows = []
    for part in ("STM32G071RB", "STM32H743ZI"):
        usart_isr = SimBoard.for_part(part).usart().base + 0x1C
        rows.append((part, "tight loop", _loop(part, LOOPS["tight loop"], 0xFFFFFFFF, 50_000_000)))
        rows.append(
            (part, "MMIO poll loop", _loop(part, LOOPS["MMIO poll loop"], usart_isr, 50_000_000))
        )
        saved = core_module.POLL_REPEATS
        core_module.POLL_REPEATS = 1 << 62
        try:
            rate = _loop(part, LOOPS["MMIO poll loop"], usart_isr, 1_000_000)
        finally:
            core_module.POLL_REPEATS = saved
        rows.append((part, "MMIO poll, no fast-fwd", rate))
        rows.append((part, "SysTick 10 kHz (hello)", _hello(part, 20_000_000)))
        for name in ("RAM store loop", "RAM load loop"):
            rows.append((part, name, _loop(part, LOOPS[name], 0xFFFFFFFF, 50_000_000)))
    print(f"{'part':<13} {'workload':<24} {'M instr/s':>10} {'vs 50 M goal':>13}")
    for part, name, rate in rows:
        print(f"{part:<13} {name:<24} {rate / 1e6:>10.1f} {rate / GOAL:>12.2f}x")
    for part in ("STM32G071RB", "STM32H743ZI"):
        rates = {name: rate for p, name, rate in rows if p == part}
        ratio = rates["RAM store loop"] / rates["RAM load loop"]
        print(f"{part}: RAM stores run at {ratio:.2f}x the rate of the same loop with loads")


if __name__ == "__main__":
    main()
