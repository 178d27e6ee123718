"""Judging a loader's call times against the board chip's datasheet and the programmer's budgets.

A program or erase call that returns sooner than the chip can finish the work did not wait for
it (the next command is ignored by a busy chip); one that takes far longer than the datasheet
allows waits for the wrong thing or does more than asked. On the simulator a call's time is
virtual: the instructions at the board's virtual clock plus the chip's busy time, which the
flash model takes from the datasheet's typical figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stm32_hil.stldr.runner import ERASE_MARGIN, Budgets, CallResult, erase_time, sectors_between
from stm32_hil.stldr.storage_info import StorageInfo
from stm32_hil.target.base import Target

# A call finishing in less than this share of the datasheet's typical time did not wait: real
# chips are rarely faster than typical by more than a few tens of percent.
TOO_FAST = 0.5
# Fixed slack above the datasheet maximum for the code around the flash operation (clock and
# controller set-up, debug-port transfers on hardware).
SLACK_S = 0.5


@dataclass(frozen=True)
class Datasheet:
    """The board's NOR chip as the timing check needs it."""

    name: str
    chips: int  # 2 in dual-flash mode: pages and sectors are split over both dies
    page_size: int
    times: dict[str, float]


def board_datasheet(target: Target) -> Datasheet | None:
    """The datasheet of the chip the board's inventory wires to its external bus, if known."""
    entries = list(target.spec.external_flash)
    if not entries:
        return None
    from stm32_hil.errors import ConfigError
    from stm32_hil.sim.memories.nor.chips import chip_spec

    entry = entries[0]
    try:
        spec = chip_spec(entry.chip)
    except ConfigError:
        return None
    return Datasheet(spec.name, max(1, entry.chips), spec.page_size, dict(spec.timing))


@dataclass(frozen=True)
class Judgement:
    call: CallResult
    expected_s: float | None  # datasheet typical time of the work the call was asked to do
    problem: str  # empty when the time is plausible


def expected(call: CallResult, info: StorageInfo, sheet: Datasheet) -> float | None:
    """Datasheet typical seconds of the flash work `call` asks for (None: no flash work)."""
    times = sheet.times
    if call.name == "SectorErase" and len(call.args) >= 2:
        count, size = sectors_between(info, call.args[0], call.args[1])
        per = erase_time(times, max(1, size // sheet.chips)) if size else None
        return count * per if per is not None else None
    if call.name == "MassErase":
        return times.get("chip_erase")
    if call.name == "Write" and len(call.args) >= 2 and "page_program" in times:
        address, size = call.args[0], call.args[1]
        if size == 0:
            return 0.0
        page = sheet.page_size * sheet.chips
        pages = (address + size - 1) // page - address // page + 1
        return pages * times["page_program"]
    return None


def judge(
    calls: Iterable[CallResult], info: StorageInfo, sheet: Datasheet | None, budgets: Budgets
) -> list[Judgement]:
    out = []
    for call in calls:
        if call.name in ("SectorErase", "MassErase", "Write") and call.r0 != 1:
            continue  # a failed operation is the other checks' finding, not a timing one
        want = expected(call, info, sheet) if sheet is not None else None
        problem = ""
        if want is not None and want > 0:
            if call.seconds < TOO_FAST * want:
                problem = (
                    f"{call.name}{_args(call)} returned after {call.seconds * 1000:.3f} ms; "
                    f"the {sheet.name if sheet else 'chip'} needs {want * 1000:.3f} ms "
                    "(datasheet typical) for that work: the loader does not wait for the flash "
                    "to finish (WIP), so the next command reaches a busy chip and is ignored"
                )
            elif call.seconds > ERASE_MARGIN * want + SLACK_S:
                problem = (
                    f"{call.name}{_args(call)} took {call.seconds:.3f} s, more than "
                    f"{ERASE_MARGIN:g} x the datasheet's typical {want:.3f} s: the loader "
                    "waits for the wrong thing or does more work than asked"
                )
        limit = budgets.for_function(call.name)
        if not problem and want is None and call.seconds > limit:
            problem = (
                f"{call.name}{_args(call)} took {call.seconds:.3f} s, over the programmer's "
                f"{limit:g} s budget for it"
            )
        out.append(Judgement(call, want, problem))
    return out


def _args(call: CallResult) -> str:
    return "(" + ", ".join(f"0x{a:X}" for a in call.args[:2]) + ")"


__all__ = ["Datasheet", "Judgement", "board_datasheet", "expected", "judge"]
