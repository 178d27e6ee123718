"""Typed errors. Every error carries what happened and what the user can do about it.

Callers catch `HarnessError` at the boundary (CLI, pytest plugin) and print `str(err)`; a raw
traceback reaching a user is a bug in the harness.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  -> {hint}")


class ConfigError(HarnessError):
    """Bad user input: inventory, part catalogue, command-line options."""


class InventoryError(ConfigError):
    """The board inventory is malformed or names something that does not exist."""


class UnknownBoardError(InventoryError):
    """A board name that the inventory does not hold."""


class UnknownPartError(ConfigError):
    """A part name that the parts catalogue does not hold."""


class TargetError(HarnessError):
    """The target could not do what was asked."""


class CapabilityError(TargetError):
    """The target lacks a capability a test or flow needs (e.g. no BOOT0 control)."""

    def __init__(self, capability: str, target: str) -> None:
        self.capability = capability
        super().__init__(
            f"target {target!r} has no capability {capability!r}",
            hint="pick a board that provides it, or mark the test for boards that do",
        )


class BusFault(TargetError):
    """A memory access failed on the bus (unmapped address, ECC double error, ...)."""

    def __init__(self, address: int, reason: str, *, write: bool = False) -> None:
        self.address = address
        self.reason = reason
        self.write = write
        kind = "write to" if write else "read of"
        super().__init__(f"bus fault on {kind} 0x{address:08X}: {reason}")


class EccError(BusFault):
    """A flash word with a double-bit ECC error was read (debuggers show 'Read Memory Error')."""

    def __init__(self, address: int) -> None:
        super().__init__(
            address,
            "flash ECC double error (word left partially programmed, written twice or "
            "interrupted); only an erase of its sector clears it",
        )


class ProtectionError(TargetError):
    """Access refused by readout protection, PCROP, write protection or a locked register."""


class FlashError(TargetError):
    """A flash operation ended with an error flag set."""


class TargetTimeout(TargetError):
    """An operation did not finish within its budget."""


class ProtocolError(HarnessError):
    """The AN3155 peer answered something the protocol does not allow."""


class LoaderError(HarnessError):
    """An external loader (.stldr) is malformed, faulted, timed out or returned failure."""


class SafetyError(HarnessError):
    """A destructive or irreversible operation was refused for lack of an explicit opt-in."""
