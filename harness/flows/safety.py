"""Opt-ins for destructive work on real boards, and option bytes put back after a test.

A simulated board is created fresh for each test, so erasing it costs nothing. A real board is
somebody's bench hardware: erasing it, changing its option bytes or (worse) setting RDP level 2
must be asked for explicitly by the person running the tests (`--allow-destructive`,
`--allow-irreversible`). Flows check the opt-in themselves, so a script that calls a flow
directly is held to the same rule as a pytest suite.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from stm32_hil.errors import HarnessError, SafetyError, TargetError
from stm32_hil.report import attach_text, option_table, step
from stm32_hil.target.base import Target


@dataclass(frozen=True)
class Safety:
    """What the operator allowed on real boards. Simulated boards need no opt-in."""

    destructive: bool = False  # erase flash, change option bytes, RDP level 1 <-> 0
    irreversible: bool = False  # RDP level 2: the part is locked for good

    @classmethod
    def from_options(cls, config: Any) -> Safety:
        """From the pytest options --allow-destructive / --allow-irreversible."""
        irreversible = bool(config.getoption("--allow-irreversible"))
        destructive = bool(config.getoption("--allow-destructive")) or irreversible
        return cls(destructive=destructive, irreversible=irreversible)


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
    irreversible opt-in as well.
    """
    if irreversible and not allow_irreversible:
        raise SafetyError(
            f"{target.name}: {what} refused: it is permanent (RDP level 2 disables debug and "
            "freezes the option bytes for good)",
            hint="pass allow_irreversible=True if this is really meant",
        )
    if target.sim is not None:
        return
    if safety is None or not safety.destructive:
        raise SafetyError(
            f"{target.name}: {what} refused on a real board without an explicit opt-in",
            hint="run with --allow-destructive (pass the `safety` fixture to the flow)",
        )
    if irreversible and not safety.irreversible:
        raise SafetyError(
            f"{target.name}: {what} refused on a real board: irreversible",
            hint="run with --allow-irreversible as well, and only on a board you can lose",
        )


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
