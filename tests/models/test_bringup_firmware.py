"""The bring-up firmware (firmware/bringup) runs on boards built from stm32-data alone.

Each program does what a HAL-based loader or application does at start-up on real silicon:
flash wait states, voltage scaling, HSI/MSI -> PLL as SYSCLK, a TIM2 update interrupt counted
five times, one pin in alternate-function mode. It writes a result record at the start of the
part's first SRAM + 0x100 (layout in firmware/bringup/bringup.h) and stops on `bkpt #0`.
These parts have no hand-written description: the simulator must provision them and model
RCC, PWR, FLASH ACR, TIM and GPIO from stm32-data.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from stm32_hil.sim.board import SimBoard
from stm32_hil.target.base import HaltReason, ResetKind

BRINGUP = Path(__file__).resolve().parents[2] / "firmware" / "bringup"

RECORD_ADDR = 0x20000100  # first SRAM (0x20000000 on every part here) + 0x100
RECORD_FIELDS = ("magic", "steps", "irq_count", "moder", "afr", "status", "stage", "pin",
                 "fault_pc", "sysclk_hz", "timer", "first_fail")  # fmt: skip
MAGIC = 0x48494C31  # 'HIL1'
STATUS_RUNNING, STATUS_DONE, STATUS_FAULT = 0, 1, 0xFA000000
STEPS = (  # bit number -> what the firmware did (bringup.h, enum step)
    "FLASH: ACR LATENCY written and read back",
    "PWR: voltage scaling / supply ready flags",
    "OSC: HSI (MSI on U5) on and ready",
    "PLL: configured, on, PLLRDY",
    "SYSCLK: SW = PLL, SWS shows the PLL",
    "TIMER: 5 update interrupts counted by the ISR",
    "GPIO: MODER/AFR read back with the AF set-up",
)
STEPS_ALL = (1 << len(STEPS)) - 1
TIMER_TARGET = 5
EXCEPTIONS = {2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault", 6: "UsageFault",
              7: "SecureFault", 11: "SVCall", 12: "DebugMonitor", 14: "PendSV",
              15: "SysTick"}  # fmt: skip

CYCLE_BUDGET = 60_000_000  # the firmware's own loop bounds end well inside this
RUN_SLICE = 500_000


@dataclass(frozen=True)
class Expect:
    timer: int  # TIMx
    irq: int  # its IRQ number in the part's vector table
    port: str  # GPIO port letter
    pin: int
    af: int
    signal: str  # what the AF selects (for messages)


PARTS = {
    "STM32F411CE": Expect(2, 28, "A", 2, 7, "USART2_TX"),
    "STM32F769NI": Expect(2, 28, "B", 2, 9, "QUADSPI_CLK"),
    "STM32G0B1RE": Expect(2, 15, "A", 2, 1, "USART2_TX"),
    "STM32G474RE": Expect(2, 28, "A", 2, 12, "LPUART1_TX"),
    "STM32H563ZI": Expect(2, 45, "F", 10, 9, "OCTOSPI1_CLK"),
    "STM32H723ZG": Expect(2, 28, "F", 10, 9, "OCTOSPIM_P1_CLK"),
    "STM32H743ZI": Expect(2, 28, "B", 2, 9, "QUADSPI_CLK"),
    "STM32H7B3LI": Expect(2, 28, "B", 2, 9, "OCTOSPIM_P1_CLK"),
    "STM32L496AG": Expect(2, 28, "A", 3, 10, "QUADSPI_CLK"),
    "STM32L4R5ZI": Expect(2, 28, "B", 10, 10, "OCTOSPIM_P1_CLK"),
    "STM32L552ZE": Expect(2, 45, "A", 3, 10, "OCTOSPI1_CLK"),
    "STM32U545RE": Expect(2, 45, "A", 9, 7, "USART1_TX"),
}


@dataclass(frozen=True)
class Outcome:
    part: str
    record: dict[str, int]
    halted: bool
    halt_reason: str
    pc: int
    cycles: int

    def describe(self) -> str:
        rec = ", ".join(f"{k}=0x{v:08X}" for k, v in self.record.items())
        state = f"halted ({self.halt_reason})" if self.halted else "still running"
        return f"{self.part}: core {state} at pc=0x{self.pc:08X} after {self.cycles} cycles; {rec}"


def _image(part: str, ext: str) -> Path:
    return BRINGUP / f"{part.lower()}.{ext}"


def _record_symbol(part: str) -> int:
    with _image(part, "elf").open("rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        syms = symtab.get_symbol_by_name("hil_record")  # type: ignore[union-attr]
        assert syms, f"hil_record not in {part.lower()}.elf"
        return int(syms[0]["st_value"])


@functools.cache
def run_bringup(part: str) -> Outcome:
    """Flash the part's bring-up image on a bare board, reset, run to `bkpt` or the budget.

    A power-on reset, as tests/core does for a freshly flashed board: parts with an empty-flash
    check (G0: FLASH_ACR.EMPTY) evaluate the boot selection only at power-on, so a system reset
    after programming a blank part would still start the bootloader, as on silicon.
    """
    board = SimBoard.for_part(part)
    board.preload_flash(_image(part, "bin").read_bytes())
    board.reset(ResetKind.POWER, "bring-up firmware loaded")
    core = board.core
    if core.halted:
        core.resume()
    cycles = 0
    while cycles < CYCLE_BUDGET and not core.halted:
        board.run(RUN_SLICE)
        cycles += RUN_SLICE
    raw = board.read(RECORD_ADDR, 4 * len(RECORD_FIELDS))
    record = dict(zip(RECORD_FIELDS, struct.unpack(f"<{len(RECORD_FIELDS)}I", raw)))
    reason = getattr(core.halt_reason, "value", str(core.halt_reason))
    return Outcome(part, record, core.halted, reason, core.read_reg("pc"), cycles)


def _stage(value: int) -> str:
    return STEPS[value - 1].split(":")[0] if 1 <= value <= len(STEPS) else "none"


def _finished(outcome: Outcome) -> dict[str, int]:
    """The record of a run that reached its final `bkpt #0`; fail saying where it stopped."""
    rec = outcome.record
    assert rec["magic"] == MAGIC, (
        f"no result record at 0x{RECORD_ADDR:08X} (magic 0x{rec['magic']:08X}): the firmware "
        f"never reached main. {outcome.describe()}"
    )
    if rec["status"] & 0xFF000000 == STATUS_FAULT:
        exc = rec["status"] & 0x1FF
        name = EXCEPTIONS.get(exc, f"IRQ {exc - 16}" if exc >= 16 else f"exception {exc}")
        pytest.fail(
            f"{outcome.part}: unexpected {name} (IPSR {exc}) during step {_stage(rec['stage'])}, "
            f"stacked pc=0x{rec['fault_pc']:08X}. {outcome.describe()}"
        )
    assert outcome.halted and rec["status"] == STATUS_DONE, (
        f"{outcome.part}: did not reach the final bkpt within {CYCLE_BUDGET} cycles; stuck in "
        f"step {_stage(rec['stage'])}. {outcome.describe()}"
    )
    assert outcome.halt_reason == HaltReason.BREAKPOINT.value, outcome.describe()
    return rec


@pytest.fixture(params=sorted(PARTS))
def part(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_images_are_built_with_the_record_at_the_documented_address(part: str) -> None:
    assert _image(part, "bin").is_file(), f"missing {_image(part, 'bin')}: make -C firmware/bringup"
    assert _record_symbol(part) == RECORD_ADDR


def test_every_step_passes(part: str) -> None:
    outcome = run_bringup(part)
    rec = _finished(outcome)
    failed = [STEPS[bit] for bit in range(len(STEPS)) if not rec["steps"] & (1 << bit)]
    assert not failed, (
        f"{part}: {len(failed)} step(s) failed: " + "; ".join(failed) + f" (first to fail: "
        f"{_stage(rec['first_fail'])}). {outcome.describe()}"
    )
    assert rec["steps"] == STEPS_ALL


def test_timer_update_interrupts_reach_the_target(part: str) -> None:
    outcome = run_bringup(part)
    rec = _finished(outcome)
    want = PARTS[part]
    assert rec["timer"] == (want.timer << 16) | want.irq, (
        f"{part}: firmware built for TIM{rec['timer'] >> 16} IRQ {rec['timer'] & 0xFFFF}, "
        f"expected TIM{want.timer} IRQ {want.irq}"
    )
    assert rec["irq_count"] >= TIMER_TARGET, (
        f"{part}: TIM{want.timer} update interrupt (IRQ {want.irq}, vector table offset "
        f"0x{4 * (16 + want.irq):X}) counted {rec['irq_count']} times, want {TIMER_TARGET}. "
        f"{outcome.describe()}"
    )


def test_pin_reads_back_in_alternate_function_mode(part: str) -> None:
    outcome = run_bringup(part)
    rec = _finished(outcome)
    want = PARTS[part]
    port = ord(want.port) - ord("A")
    assert rec["pin"] == (port << 16) | (want.pin << 8) | want.af, (
        f"{part}: firmware built for pin word 0x{rec['pin']:08X}, expected "
        f"P{want.port}{want.pin} AF{want.af}"
    )
    label = f"P{want.port}{want.pin} ({want.signal})"
    mode = (rec["moder"] >> (2 * want.pin)) & 3
    afr_name = "AFRL" if want.pin < 8 else "AFRH"
    af = (rec["afr"] >> (4 * (want.pin & 7))) & 0xF
    assert mode == 0b10, (
        f"{part}: GPIO{want.port}_MODER = 0x{rec['moder']:08X}: {label} mode {mode:02b}, want 10 "
        f"(alternate function)"
    )
    assert af == want.af, (
        f"{part}: GPIO{want.port}_{afr_name} = 0x{rec['afr']:08X}: {label} AF{af}, want AF{want.af}"
    )
