"""Opt-ins for destructive flows on real boards, and option bytes put back after a test.

The opt-ins themselves (`Safety`) live with the Target, which enforces them on every write
that reaches flash (`stm32_hil.target.safety`). Flows check them up front as well, so a refused
recovery or option-byte change stops before its first step rather than half-way through, and
says what it was about to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from stm32_hil.errors import HarnessError, SafetyError, TargetError
from stm32_hil.report import attach_text, option_table, step
from stm32_hil.target.base import Target
from stm32_hil.target.safety import Safety

__all__ = [
    "OptionRestoreError",
    "Safety",
    "check_allowed",
    "option_bytes_guard",
    "restore_option_bytes",
]


def check_allowed(
    target: Target,
    safety: Safety | None,
    what: str,
    *,
    irreversible: bool = False,
    allow_irreversible: bool = False,
) -> None:
    """Raise SafetyError unless `what` may be done on `target`.

    Irreversible steps need `allow_irreversible` from the caller everywhere (a flow never sets
    RDP level 2 by accident, even on the simulator) and, on a real board, the operator's
    irreversible opt-in as well. A `safety` passed by the caller is an opt-in for this target:
    it is granted to the Target, whose own writes are checked against it.
    """
    if irreversible and not allow_irreversible:
        raise SafetyError(
            f"{target.name}: {what} refused: it is permanent (RDP level 2 disables debug and "
            "freezes the option bytes for good)",
            hint="pass allow_irreversible=True if this is really meant",
        )
    if target.sim is not None:
        return
    if safety is not None:
        target.allow(safety)
    target.require_destructive(what, irreversible=irreversible)


class OptionRestoreError(TargetError):
    """Option bytes could not be put back after a test: the board is not as it was found."""

    def __init__(self, target: Target, snapshot: dict[str, int], cause: BaseException) -> None:
        self.snapshot = snapshot
        self.table = option_table(target.part, snapshot)
        super().__init__(
            f"{target.name}: restoring the option bytes FAILED ({cause}); the board keeps "
            f"changed option bytes. Snapshot taken before the test:\n{self.table}",
            hint="restore them by hand (STM32CubeProgrammer -ob or `recover`) before the "
            "board is used again",
        )


def restore_option_bytes(target: Target, snapshot: Any, *, safety: Safety | None = None) -> None:
    """Bring the option bytes back to `snapshot` (an OptionBytes), undoing PCROP if needed."""
    from stm32_hil.flows.option_bytes import read_option_bytes, write_option_bytes
    from stm32_hil.flows.pcrop import pcrop_regression

    current = read_option_bytes(target)
    if not current.diff(snapshot):
        return
    added = set(current.pcrop_areas(target.part)) - set(snapshot.pcrop_areas(target.part))
    if added:
        # An area with DMEP/PCROP_RDP=0 only goes away through the DMEP recipe.
        pcrop_regression(target, safety=safety)
    write_option_bytes(target, snapshot, safety=safety)


@contextlib.contextmanager
def option_bytes_guard(target: Target, *, safety: Safety | None = None) -> Iterator[Any]:
    """Snapshot the option bytes, run the block, and restore them even when the block fails.

    A restore that fails raises `OptionRestoreError` carrying (and attaching) the snapshot:
    a board silently left at RDP level 1 would fail every later test in confusing ways.
    """
    from stm32_hil.flows.option_bytes import read_option_bytes

    snapshot = read_option_bytes(target)
    words = snapshot.encode(target.part)
    try:
        yield snapshot
    finally:
        with step("restore option bytes from the snapshot"):
            try:
                restore_option_bytes(target, snapshot, safety=safety)
            except HarnessError as exc:
                attach_text("option-byte snapshot (restore failed)", option_table(
                    target.part, words))  # fmt: skip
                raise OptionRestoreError(target, words, exc) from exc
