"""Timer, watchdog and EXTI models on boards built from the data, through the bus.

Register accesses use `Access.CPU` where time matters: a debug access also lets 1 us of virtual
time pass (the debug port's cost), which would blur exact cycle counts. Expected values come
from the reference manuals, not from the models: offsets, reset values and the NVIC numbers of
the data's interrupt table.
"""

from __future__ import annotations

import pytest

from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.bus import Access

CPU = Access.CPU
HZ = 64_000_000  # the board's virtual core clock, which the timers and the WWDG run on

# Timer registers (every version): RM0433/RM0351/RM0383/RM0444/RM0456 "TIMx registers".
CR1, DIER, SR, EGR, CNT, PSC, ARR = 0x00, 0x0C, 0x10, 0x14, 0x24, 0x28, 0x2C
CEN, OPM, DIR, URS = 1 << 0, 1 << 3, 1 << 4, 1 << 2
UIF = UIE = UG = 1

NVIC_ISER, NVIC_ISPR, VTOR = 0xE000E100, 0xE000E200, 0xE000ED08

# (part, timer, counter bits, NVIC interrupt name of its update event)
TIMERS = [
    ("STM32H743ZI", "TIM2", 32, "TIM2"),
    ("STM32L496AG", "TIM6", 16, "TIM6_DAC"),
    ("STM32F411CE", "TIM3", 16, "TIM3"),
    ("STM32G071RB", "TIM6", 16, "TIM6_DAC_LPTIM1"),
    ("STM32U545RE", "TIM6", 16, "TIM6"),
    ("STM32U545RE", "TIM3", 32, "TIM3"),  # 32-bit on U5, 16-bit on F4/L4/H7
]
TIMER_IDS = [f"{p}-{t}" for p, t, _w, _i in TIMERS]


def rd(board: SimBoard, address: int) -> int:
    return board.bus.read(address, 4, CPU)


def wr(board: SimBoard, address: int, value: int) -> None:
    board.bus.write(address, 4, value, CPU)


def base_of(board: SimBoard, block: str) -> int:
    return board.part.chip.block(block).base  # type: ignore[union-attr]


def irq_of(board: SimBoard, name: str) -> int:
    return board.part.chip.interrupts[name]  # type: ignore[union-attr]


def nvic_pending(board: SimBoard, irq: int) -> bool:
    return bool(rd(board, NVIC_ISPR + 4 * (irq // 32)) & (1 << (irq % 32)))


def start_timer(board: SimBoard, tim: int, psc: int, arr: int, cr1: int = CEN) -> int:
    """HAL_TIM_Base_Init + HAL_TIM_Base_Start: PSC, ARR, UG, clear UIF, CEN. Returns now."""
    wr(board, tim + PSC, psc)
    wr(board, tim + ARR, arr)
    wr(board, tim + EGR, UG)
    wr(board, tim + SR, 0)
    wr(board, tim + CR1, cr1)
    return board.clock.now


# -- timers ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("part", "name", "bits", "irq"), TIMERS, ids=TIMER_IDS)
def test_timer_counts_at_clock_over_psc_and_wraps_at_arr(
    part: str, name: str, bits: int, irq: str
) -> None:
    board = SimBoard.for_part(part)
    tim = base_of(board, name)
    assert rd(board, tim + ARR) == (1 << bits) - 1  # reset value: all ones
    start_timer(board, tim, psc=63, arr=999)  # 1 MHz counter, 1 ms period
    board.clock.advance(64 * 10)
    assert rd(board, tim + CNT) == 10
    board.clock.advance(64 * 989 + 63)  # last cycle before the wrap
    assert rd(board, tim + CNT) == 999
    assert rd(board, tim + SR) & UIF == 0
    board.clock.advance(1)
    assert rd(board, tim + CNT) == 0
    assert rd(board, tim + SR) & UIF
    board.clock.advance(64 * 1000 * 3 + 64 * 7)  # three more periods and 7 ticks
    assert rd(board, tim + CNT) == 7


@pytest.mark.parametrize(("part", "name", "bits", "irq"), TIMERS, ids=TIMER_IDS)
def test_timer_uif_is_rc_w0_and_ug_sets_it_unless_urs(
    part: str, name: str, bits: int, irq: str
) -> None:
    board = SimBoard.for_part(part)
    tim = base_of(board, name)
    wr(board, tim + EGR, UG)
    assert rd(board, tim + SR) & UIF  # UG is an update event (URS=0)
    wr(board, tim + SR, 0xFFFF)  # writing 1 leaves the flag as it is
    assert rd(board, tim + SR) & UIF
    wr(board, tim + SR, ~UIF & 0xFFFF)  # writing 0 clears it
    assert rd(board, tim + SR) & UIF == 0
    wr(board, tim + CR1, URS)
    wr(board, tim + EGR, UG)
    assert rd(board, tim + SR) & UIF == 0  # URS: only overflows set UIF


@pytest.mark.parametrize(("part", "name", "bits", "irq"), TIMERS, ids=TIMER_IDS)
def test_counter_width_follows_the_timer(part: str, name: str, bits: int, irq: str) -> None:
    board = SimBoard.for_part(part)
    tim = base_of(board, name)
    wr(board, tim + CR1, CEN)  # PSC 0, ARR at its reset value
    board.clock.advance(0x10000 + 5)
    if bits == 16:
        assert rd(board, tim + CNT) == 5
        assert rd(board, tim + SR) & UIF
        wr(board, tim + ARR, 0x12345)
        assert rd(board, tim + ARR) == 0x2345
    else:
        assert rd(board, tim + CNT) == 0x10005
        assert rd(board, tim + SR) & UIF == 0
        wr(board, tim + ARR, 0x12345)
        assert rd(board, tim + ARR) == 0x12345


@pytest.mark.parametrize("part", ["STM32F411CE", "STM32G071RB"])
def test_psc_is_preloaded_until_the_next_update(part: str) -> None:
    board = SimBoard.for_part(part)
    tim = base_of(board, "TIM3")
    start_timer(board, tim, psc=0, arr=99)
    wr(board, tim + PSC, 3)  # no UG: the running count keeps the old prescaler
    assert rd(board, tim + PSC) == 3
    board.clock.advance(50)
    assert rd(board, tim + CNT) == 50
    board.clock.advance(50)  # the update at 100 loads PSC
    assert rd(board, tim + CNT) == 0
    board.clock.advance(40)
    assert rd(board, tim + CNT) == 10  # now 4 cycles per count
    wr(board, tim + PSC, 0)
    wr(board, tim + EGR, UG)  # UG loads it at once and restarts the count
    board.clock.advance(20)
    assert rd(board, tim + CNT) == 20


def test_one_pulse_stops_at_the_update() -> None:
    board = SimBoard.for_part("STM32L496AG")
    tim = base_of(board, "TIM6")
    start_timer(board, tim, psc=0, arr=49, cr1=CEN | OPM)
    board.clock.advance(49)
    assert rd(board, tim + CR1) & CEN
    board.clock.advance(1 + 200)
    assert rd(board, tim + CR1) & CEN == 0
    assert rd(board, tim + CNT) == 0
    assert rd(board, tim + SR) & UIF


def test_down_counting_reloads_arr_at_underflow() -> None:
    board = SimBoard.for_part("STM32F411CE")
    tim = base_of(board, "TIM3")
    wr(board, tim + CR1, DIR)
    start_timer(board, tim, psc=0, arr=99, cr1=CEN | DIR)
    assert rd(board, tim + CNT) == 99  # UG in down mode loads ARR
    board.clock.advance(99)
    assert rd(board, tim + CNT) == 0
    assert rd(board, tim + SR) & UIF == 0
    board.clock.advance(1)
    assert rd(board, tim + CNT) == 99
    assert rd(board, tim + SR) & UIF


@pytest.mark.parametrize(("part", "name", "bits", "irq"), TIMERS, ids=TIMER_IDS)
def test_update_interrupt_pends_the_nvic_line_at_the_update(
    part: str, name: str, bits: int, irq: str
) -> None:
    board = SimBoard.for_part(part)
    tim = base_of(board, name)
    number = irq_of(board, irq)
    start = start_timer(board, tim, psc=0, arr=999)
    assert board.clock.next_event() is None  # UIE=0: nothing scheduled, UIF is lazy
    wr(board, tim + DIER, UIE)
    assert board.clock.next_event() == start + 1000  # exactly the update instant
    board.clock.advance(999 - (board.clock.now - start))
    assert not nvic_pending(board, number)
    board.clock.advance(1)
    assert nvic_pending(board, number)
    assert board.core.scs.lines.get(number)  # the level is held while UIF is set
    wr(board, tim + SR, 0)
    assert not board.core.scs.lines.get(number)  # clearing UIF deasserts the line
    wr(board, tim + CR1, 0)
    assert board.clock.next_event() is None  # stopped: event cancelled


# Interrupt handler and idle loop, Thumb-1 (runs on M0+ and M7 alike). r4 = TIMx_SR,
# r5 = address of a counter word; exception entry leaves r4/r5 as the idle loop set them.
HANDLER = [
    0x2000,  # movs r0, #0
    0x6020,  # str  r0, [r4]      TIMx_SR = 0: clear UIF (rc_w0)
    0x6828,  # ldr  r0, [r5]
    0x3001,  # adds r0, #1
    0x6028,  # str  r0, [r5]
    0x4770,  # bx   lr
]
IDLE = [0xE7FE]  # b .


def _halfwords(words: list[int]) -> bytes:
    return b"".join(w.to_bytes(2, "little") for w in words)


@pytest.mark.parametrize(
    ("part", "name", "irq"),
    [("STM32H743ZI", "TIM2", "TIM2"), ("STM32G071RB", "TIM6", "TIM6_DAC_LPTIM1"),
     ("STM32L496AG", "TIM6", "TIM6_DAC"), ("STM32U545RE", "TIM6", "TIM6")],
)  # fmt: skip
def test_firmware_takes_the_update_interrupt_every_period(part: str, name: str, irq: str) -> None:
    board = SimBoard.for_part(part)
    core = board.core
    ram = next(r for r in board.part.ram if r.base == 0x20000000)
    table, code, counter = ram.base, ram.base + 0x400, ram.base + 0x800
    handler, idle = code, code + 2 * len(HANDLER)
    number = irq_of(board, irq)
    board.write(code, _halfwords(HANDLER + IDLE))
    board.write(table + 4 * (16 + number), (handler | 1).to_bytes(4, "little"))
    board.write(counter, bytes(4))
    wr(board, VTOR, table)
    wr(board, NVIC_ISER + 4 * (number // 32), 1 << (number % 32))
    tim = base_of(board, name)
    start_timer(board, tim, psc=0, arr=9999)  # an update every 10000 cycles
    wr(board, tim + DIER, UIE)  # after UG's UIF was cleared, as HAL_TIM_Base_Start_IT does
    core.write_reg("sp", ram.base + 0x2000)
    core.write_reg("r4", tim + SR)
    core.write_reg("r5", counter)
    core.write_reg("pc", idle)
    core.resume()
    board.run(105_000)
    assert core.last_fault is None
    assert int.from_bytes(board.read(counter, 4), "little") == 10
    assert rd(board, tim + SR) & UIF == 0  # the handler cleared the last one


# -- IWDG ----------------------------------------------------------------------------------------
KR, IWDG_PR, RLR, IWDG_SR, WINR = 0x00, 0x04, 0x08, 0x0C, 0x10
IWDGS = [
    ("STM32H743ZI", "IWDG1"),
    ("STM32L496AG", "IWDG"),
    ("STM32G071RB", "IWDG"),
    ("STM32F411CE", "IWDG"),
    ("STM32U545RE", "IWDG"),
]


def bites(board: SimBoard, prefix: str) -> list[tuple[int, str, str]]:
    return [entry for entry in board.reset_log if entry[2].startswith(prefix)]


def iwdg_timeout_cycles(pr: int, rlr: int) -> int:
    """RM: t = (RLR + 1) * 4 * 2**PR / f_LSI, LSI 32 kHz."""
    return (rlr + 1) * 4 * 2**pr * HZ // 32_000


@pytest.mark.parametrize(("part", "name"), IWDGS)
def test_iwdg_never_bites_unless_started(part: str, name: str) -> None:
    board = SimBoard.for_part(part)
    iwdg = base_of(board, name)
    wr(board, iwdg + KR, 0x5555)
    wr(board, iwdg + IWDG_PR, 0)
    wr(board, iwdg + RLR, 1)  # shortest timeout, were it started
    wr(board, iwdg + KR, 0xAAAA)
    board.clock.advance(10 * HZ)
    assert bites(board, "IWDG") == []


@pytest.mark.parametrize(("part", "name"), IWDGS)
def test_iwdg_bites_when_not_refreshed(part: str, name: str) -> None:
    board = SimBoard.for_part(part)
    iwdg = base_of(board, name)
    assert rd(board, iwdg + RLR) == 0xFFF
    assert rd(board, iwdg + IWDG_PR) == 0
    # HAL_IWDG_Init order: start, unlock, PR, RLR, wait SR, reload.
    wr(board, iwdg + KR, 0xCCCC)
    wr(board, iwdg + KR, 0x5555)
    wr(board, iwdg + IWDG_PR, 2)  # /16
    wr(board, iwdg + RLR, 999)
    assert rd(board, iwdg + IWDG_SR) == 0  # updates done at once
    wr(board, iwdg + KR, 0xAAAA)
    t0 = board.clock.now
    expected = iwdg_timeout_cycles(2, 999)  # 0.5 s
    board.clock.advance(expected * 99 // 100)
    assert bites(board, "IWDG") == []
    board.clock.advance(expected * 2 // 100)
    (at, kind, cause), *_ = bites(board, "IWDG")
    assert (kind, cause) == ("system", "IWDG timeout")
    assert abs((at - t0) - expected) <= expected // 100
    board.clock.advance(10 * HZ)
    assert len(bites(board, "IWDG")) == 1  # the reset stopped it (software-started)


def test_iwdg_started_with_reset_values_bites_after_512_ms() -> None:
    board = SimBoard.for_part("STM32F411CE")
    iwdg = base_of(board, "IWDG")
    wr(board, iwdg + KR, 0xCCCC)
    t0 = board.clock.now
    board.clock.advance(HZ)
    (at, _kind, _cause), *_ = bites(board, "IWDG")
    expected = iwdg_timeout_cycles(0, 0xFFF)
    assert abs((at - t0) - expected) <= expected // 100


@pytest.mark.parametrize(("part", "name"), IWDGS)
def test_iwdg_refreshed_in_time_never_bites(part: str, name: str) -> None:
    board = SimBoard.for_part(part)
    iwdg = base_of(board, name)
    wr(board, iwdg + KR, 0x5555)
    wr(board, iwdg + IWDG_PR, 2)
    wr(board, iwdg + RLR, 999)  # 0.5 s
    wr(board, iwdg + KR, 0xCCCC)
    wr(board, iwdg + KR, 0xAAAA)
    for _ in range(10):
        board.clock.advance(HZ * 4 // 10)  # refresh every 0.4 s for 4 s
        wr(board, iwdg + KR, 0xAAAA)
    assert bites(board, "IWDG") == []
    board.clock.advance(HZ * 6 // 10)
    assert len(bites(board, "IWDG")) == 1


def test_iwdg_registers_are_write_protected_without_the_key() -> None:
    board = SimBoard.for_part("STM32G071RB")
    iwdg = base_of(board, "IWDG")
    wr(board, iwdg + IWDG_PR, 3)
    wr(board, iwdg + RLR, 5)
    assert (rd(board, iwdg + IWDG_PR), rd(board, iwdg + RLR)) == (0, 0xFFF)
    wr(board, iwdg + KR, 0x5555)
    wr(board, iwdg + IWDG_PR, 3)
    wr(board, iwdg + KR, 0xAAAA)  # any other key protects again
    wr(board, iwdg + RLR, 5)
    assert (rd(board, iwdg + IWDG_PR), rd(board, iwdg + RLR)) == (3, 0xFFF)


# -- WWDG ----------------------------------------------------------------------------------------
WCR, CFR, WSR = 0x00, 0x04, 0x08
WDGA = 1 << 7
# (part, block, WDGTB bit position: RM0383/RM0351 bits 8:7, RM0444/RM0433/RM0456 bits 13:11)
WWDGS = [
    ("STM32F411CE", "WWDG", 7),
    ("STM32L496AG", "WWDG", 7),
    ("STM32G071RB", "WWDG", 11),
    ("STM32H743ZI", "WWDG1", 11),
    ("STM32U545RE", "WWDG", 11),
]


@pytest.mark.parametrize(("part", "name", "tb"), WWDGS)
def test_wwdg_bites_only_when_enabled(part: str, name: str, tb: int) -> None:
    board = SimBoard.for_part(part)
    wwdg = base_of(board, name)
    assert (rd(board, wwdg + WCR), rd(board, wwdg + CFR)) == (0x7F, 0x7F)
    board.clock.advance(HZ)
    assert bites(board, "WWDG") == []
    assert rd(board, wwdg + WCR) == 0x7F  # not counting while disabled
    wr(board, wwdg + CFR, (1 << tb) | 0x7F)  # WDGTB = 1: 8192 cycles per step
    wr(board, wwdg + WCR, WDGA | 0x7F)
    t0 = board.clock.now
    board.clock.advance(8192 * 10)
    assert rd(board, wwdg + WCR) == WDGA | (0x7F - 10)
    board.clock.advance(8192 * 54 - 1)  # one cycle before the counter leaves 0x40
    assert bites(board, "WWDG") == []
    assert rd(board, wwdg + WSR) & 1  # EWIF: the counter reached 0x40
    board.clock.advance(1)
    (at, kind, cause), *_ = bites(board, "WWDG")
    assert (at - t0, kind, cause) == (8192 * 64, "system", "WWDG timeout")
    board.clock.advance(HZ)
    assert len(bites(board, "WWDG")) == 1  # reset disables it


@pytest.mark.parametrize(("part", "name", "tb"), WWDGS)
def test_wwdg_refresh_outside_the_window_bites_inside_keeps_alive(
    part: str, name: str, tb: int
) -> None:
    board = SimBoard.for_part(part)
    wwdg = base_of(board, name)
    wr(board, wwdg + CFR, 0x50)  # window 0x50, WDGTB 0: 4096 cycles per step
    wr(board, wwdg + WCR, WDGA | 0x7F)
    for _ in range(5):
        board.clock.advance(4096 * 0x30)  # counter 0x4F: inside the window
        wr(board, wwdg + WCR, 0x7F)  # refresh (WDGA stays set)
    assert bites(board, "WWDG") == []
    assert rd(board, wwdg + WCR) & WDGA
    board.clock.advance(4096 * 5)  # counter 0x7A, above the window
    wr(board, wwdg + WCR, 0x7F)
    assert [cause for _at, _kind, cause in bites(board, "WWDG")] == ["WWDG window"]


# -- EXTI ----------------------------------------------------------------------------------------
# (part, SWIER offset, pending offset it sets, another pending offset it must leave alone).
# RM0383: SWIER 0x10, PR 0x14; RM0351: SWIER2 0x30, PR2 0x34 (PR1 0x14); RM0444/RM0456: SWIER1
# 0x08, RPR1 0x0C, FPR1 0x10; RM0433: SWIER1 0x08, CPUPR1 0x88.
EXTIS = [
    ("STM32F411CE", 0x10, 0x14, None),
    ("STM32L496AG", 0x30, 0x34, 0x14),
    ("STM32G071RB", 0x08, 0x0C, 0x10),
    ("STM32H743ZI", 0x08, 0x88, None),
    ("STM32U545RE", 0x08, 0x0C, 0x10),
]
# (part, IMR1 offset, SWIER1 offset, pending offset of line 0, NVIC interrupt of line 0)
EXTI_LINE0 = [
    ("STM32F411CE", 0x00, 0x10, 0x14, "EXTI0"),
    ("STM32L496AG", 0x00, 0x10, 0x14, "EXTI0"),
    ("STM32G071RB", 0x80, 0x08, 0x0C, "EXTI0_1"),
    ("STM32H743ZI", 0x80, 0x08, 0x88, "EXTI0"),
    ("STM32U545RE", 0x80, 0x08, 0x0C, "EXTI0"),
]


@pytest.mark.parametrize(("part", "swier", "pr", "other"), EXTIS)
def test_exti_swier_pends_and_pending_clears_on_write_one(
    part: str, swier: int, pr: int, other: int | None
) -> None:
    board = SimBoard.for_part(part)
    exti = base_of(board, "EXTI")
    wr(board, exti + swier, 0b101)
    assert rd(board, exti + pr) == 0b101
    if other is not None:
        assert rd(board, exti + other) == 0  # falling-edge / other-index pending untouched
    wr(board, exti + pr, 0)  # writing 0 changes nothing
    assert rd(board, exti + pr) == 0b101
    wr(board, exti + pr, 0b001)  # rc_w1
    assert rd(board, exti + pr) == 0b100


@pytest.mark.parametrize(("part", "imr", "swier", "pr", "line0"), EXTI_LINE0)
def test_exti_line_drives_its_nvic_interrupt(
    part: str, imr: int, swier: int, pr: int, line0: str
) -> None:
    board = SimBoard.for_part(part)
    exti = base_of(board, "EXTI")
    number = irq_of(board, line0)
    wr(board, exti + imr, 0x0000_1235)  # an ordinary register: reads back
    assert rd(board, exti + imr) == 0x0000_1235
    assert not nvic_pending(board, number)
    wr(board, exti + swier, 1)
    assert nvic_pending(board, number)
    assert board.core.scs.lines.get(number)
    wr(board, exti + pr, 1)
    assert not board.core.scs.lines.get(number)
    wr(board, exti + imr, 0)  # masked: a software trigger pends EXTI, not the NVIC line
    wr(board, exti + swier, 1)
    assert rd(board, exti + pr) & 1
    assert not board.core.scs.lines.get(number)


def test_exti_configuration_registers_are_not_pending_registers() -> None:
    board = SimBoard.for_part("STM32U545RE")
    exti = base_of(board, "EXTI")
    privcfgr1 = 0x18  # RM0456: EXTI_PRIVCFGR1, whose name contains "PR"
    wr(board, exti + privcfgr1, 0x3)
    assert rd(board, exti + privcfgr1) == 0x3
    wr(board, exti + privcfgr1, 0x1)
    assert rd(board, exti + privcfgr1) == 0x1
