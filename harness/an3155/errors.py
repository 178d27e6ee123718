"""Protocol errors, each naming the command (and address) that failed and what to try next."""

from __future__ import annotations

from stm32_hil.errors import ProtocolError


def _where(command: str, address: int | None) -> str:
    return command if address is None else f"{command} at 0x{address:08X}"


class NackError(ProtocolError):
    """The bootloader refused a step of a command with NACK (0x1F)."""

    def __init__(
        self, command: str, step: str, address: int | None = None, hint: str | None = None
    ) -> None:
        self.command = command
        self.step = step
        self.address = address
        super().__init__(
            f"{_where(command, address)}: bootloader answered NACK to the {step}",
            hint=hint
            or "the command may be unsupported by this part, the address protected or invalid, "
            "or the part under readout protection (only Get/Get Version/Get ID/Readout "
            "Unprotect are accepted at RDP level 1)",
        )


class NoResponseError(ProtocolError):
    """Nothing (or too little) came back within the exchange's budget."""

    def __init__(
        self, command: str, step: str, timeout: float, address: int | None = None, got: bytes = b""
    ) -> None:
        self.command = command
        self.step = step
        self.address = address
        self.got = got
        super().__init__(
            f"{_where(command, address)}: no answer to the {step} within {timeout:g} s"
            + (f" (got {got.hex(' ')})" if got else ""),
            hint="check the port, the baud rate and 8E1 framing, and that the part is in its "
            "system bootloader (BOOT0 high + reset, or the option bits)",
        )


class UnexpectedReplyError(ProtocolError):
    """A byte that is neither ACK nor NACK, or a reply whose shape the protocol forbids."""

    def __init__(self, command: str, step: str, got: bytes, address: int | None = None) -> None:
        self.command = command
        self.step = step
        self.address = address
        self.got = got
        super().__init__(
            f"{_where(command, address)}: unexpected reply {got.hex(' ') or '(empty)'} "
            f"to the {step}",
            hint="line noise or a framing mismatch (the bootloader speaks 8E1); the client "
            "resynchronises on the next command",
        )


class SyncError(ProtocolError):
    """The bootloader never answered the 0x7F autobaud byte."""

    def __init__(self, attempts: int, detail: str = "") -> None:
        super().__init__(
            f"no ACK/NACK to the 0x7F sync byte after {attempts} attempt(s)" + detail,
            hint="is the part in its system bootloader? Set BOOT0 (or the boot option bits) "
            "and reset; check wiring, baud rate and that no other program holds the port",
        )


class VerifyError(ProtocolError):
    """Data read back differs from what was written."""

    def __init__(self, address: int, expected: int, actual: int, mismatches: int) -> None:
        self.address = address
        self.expected = expected
        self.actual = actual
        self.mismatches = mismatches
        super().__init__(
            f"verify failed at 0x{address:08X}: expected 0x{expected:02X}, read 0x{actual:02X} "
            f"({mismatches} byte(s) differ)",
            hint="erase the pages before writing (flash bits only go 1 -> 0) and check write "
            "protection",
        )


class UnsupportedCommandError(ProtocolError):
    """The part's Get answer does not list the command."""

    def __init__(self, command: str, available: tuple[int, ...]) -> None:
        super().__init__(
            f"{command} is not in this bootloader's command set "
            f"({' '.join(f'{c:02X}' for c in available)})",
            hint="pick the command the part implements (e.g. Erase 0x43 vs Extended Erase 0x44)",
        )


class UnstableReadError(ProtocolError):
    """Confirmed reads of one frame never agreed: the line corrupts more than it delivers."""

    def __init__(self, address: int, length: int, attempts: int) -> None:
        self.address = address
        self.length = length
        self.attempts = attempts
        super().__init__(
            f"Read Memory at 0x{address:08X}: {attempts} reads of {length} byte(s) never "
            "returned the same data twice",
            hint="Read Memory replies carry no checksum, so only agreeing reads are trusted; "
            "check the cable, lower the baud rate or shorten the line",
        )
