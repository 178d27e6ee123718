"""AN3155 host client over any pyserial port (tty, rfc2217://, socket://, sim://).

One `Bootloader` object per open port. Every exchange has a budget comparable to stm32flash's
(500 ms per exchange, 35 s for a mass erase, 5 s per erased page), so nothing waits forever.
After any failure the next command first resynchronises (stm32flash's "FF 00 until ACK/NACK"
trick), so line noise costs one command, not the session.

Read Memory is issued with no idle time on the host side: once the command is ACKed the address
and the length go out in one write, which is only safe for a 256-byte frame (if the ROM NACKs
the address, the length pair FF 00 is read as an unknown command and NACKed, never as a command
that changes the part). Shorter frames use the plain three-step exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stm32_hil.an3155.crc import stm32_crc32
from stm32_hil.an3155.errors import (
    NackError,
    NoResponseError,
    SyncError,
    UnexpectedReplyError,
    UnsupportedCommandError,
)
from stm32_hil.an3155.framing import (
    ACK,
    BUSY,
    ERASE_BANK1,
    ERASE_BANK2,
    ERASE_MASS,
    MAX_FRAME,
    NACK,
    SYNC,
    Command,
    address_frame,
    command_frame,
    data_frame,
    erase_frame,
    extended_erase_frame,
    length_frame,
    xor,
)
from stm32_hil.an3155.results import (
    ChecksumResult,
    DeviceInfo,
    GetResult,
    IdResult,
    VersionResult,
)


@dataclass(frozen=True)
class Timeouts:
    """Budgets in seconds (virtual seconds on sim:// ports). Defaults follow stm32flash."""

    exchange: float = 0.5
    mass_erase: float = 35.0
    page_erase: float = 5.0  # per page
    write: float = 0.5  # Write Memory's final ACK comes after programming
    protect: float = 5.0  # option-byte programming behind the (Readout) (Un)protect commands
    readout_unprotect: float = 35.0  # includes the mass erase
    sync: float = 0.5
    drain: float = 0.02


# Longest frame the ROM may be collecting: an Extended Erase list of 0xFFF0 pages and its XOR.
LONGEST_ROM_FRAME = 2 * 0xFFF0 + 1
RESYNC_BURST = 4096


def _fill_byte(frame: bytes) -> int:
    """The byte that resynchronisation repeats: one that completes no frame the ROM accepts.

    Repeating a byte v, every frame the ROM may be collecting fails: an address or a length
    of v bytes XORs to 0, not v; a data or erase list of count v holds v + 1 bytes v, which
    XOR with the count to 0 when v is even; a command pair (v, v) is not a complement. 0xFF
    fails the data rule (N = FF, 256 x FF, XOR FF is a valid write of 0xFF bytes), so v is
    even and non-zero (0000/0000/00 would be an erase of page 0). A pending command byte is
    completed only by its complement, so v is not the complement of a command that changes
    or starts anything. Finally v does not occur in the last frame sent: the frame minus one
    dropped byte, completed with v, passes its XOR exactly when v equals the dropped byte.
    """
    present = set(frame)
    allowed = [v for v in range(0xFE, 0, -2) if (v ^ 0xFF) not in _ACTING_COMMANDS]
    return next((v for v in allowed if v not in present), allowed[0])


_ACTING_COMMANDS = frozenset(
    int(c) for c in Command if c not in (Command.GET, Command.GET_VERSION, Command.GET_ID)
)


class Bootloader:
    """Talks AN3155 to a part that sits in its system bootloader."""

    def __init__(
        self,
        port: Any,
        *,
        timeouts: Timeouts | None = None,
        sync_attempts: int = 3,
        trace: Callable[[str, bytes], None] | None = None,
    ):
        self.port = port
        self.timeouts = timeouts or Timeouts()
        self.sync_attempts = sync_attempts
        self.trace = trace
        self._timeout: float | None = None
        self._needs_resync = False
        self._last_frame = b""
        self.info: DeviceInfo | None = None

    # -- low level ---------------------------------------------------------------------
    def _set_timeout(self, seconds: float) -> None:
        if self._timeout != seconds:  # on a tty each change costs a tcsetattr
            self.port.timeout = seconds
            self._timeout = seconds

    def _write(self, data: bytes) -> None:
        if self.trace:
            self.trace(">", data)
        if len(data) > 2:
            self._last_frame = bytes(data)
        self.port.write(data)

    def _read(
        self, n: int, timeout: float, command: str, step: str, address: int | None = None
    ) -> bytes:
        self._set_timeout(timeout)
        data = bytes(self.port.read(n))  # blocks until n bytes or the budget ends
        if self.trace and data:
            self.trace("<", data)
        if len(data) < n:
            self._needs_resync = True
            raise NoResponseError(command, step, timeout, address, data)
        return data

    def _ack(
        self, command: str, step: str, timeout: float | None = None, address: int | None = None
    ) -> None:
        budget = self.timeouts.exchange if timeout is None else timeout
        while True:
            b = self._read(1, budget, command, step, address)[0]
            if b == ACK:
                return
            if b == BUSY:  # I2C-style "still working": keep waiting within the same budget
                continue
            if b == NACK:
                raise NackError(command, step, address)
            self._needs_resync = True
            raise UnexpectedReplyError(command, step, bytes((b,)), address)

    def _command(self, code: int) -> str:
        name = Command.describe(code)
        if self._needs_resync:
            self.resync()
        if self.info is not None and code not in self.info.get.commands:
            raise UnsupportedCommandError(name, self.info.get.commands)
        self._write(command_frame(code))
        self._ack(name, "command")
        return name

    # -- session -----------------------------------------------------------------------
    def sync(self, attempts: int | None = None) -> None:
        """Autobaud: send 0x7F until the ROM answers ACK (or NACK if already synchronised)."""
        tries = attempts or self.sync_attempts
        for _ in range(tries):
            self.port.reset_input_buffer()
            self._write(bytes((SYNC,)))
            self._set_timeout(self.timeouts.sync)
            got = bytes(self.port.read(1))
            if self.trace and got:
                self.trace("<", got)
            if got in (bytes((ACK,)), bytes((NACK,))):
                self._needs_resync = False
                return
        raise SyncError(tries)

    def resync(self) -> None:
        """Bring a ROM that may be mid-command back to "waiting for a command", aligned.

        Sends a fill byte (see `_fill_byte`), one at a time, until an ACK/NACK comes back.
        Whatever frame the ROM was collecting is completed with it and fails, and in the
        command state a pair of it is an invalid command. As a reply can only follow the byte
        that completed a unit, the ROM is then exactly at the start of a command -- pairs
        (stm32flash's FF 00) can leave it one byte off.

        A noisy Extended Erase count can leave the ROM collecting a page list of up to 0xFFF0
        entries (131 041 bytes), far beyond what single bytes reach in reasonable time: then
        the fill byte goes out in bursts until the list completes (and fails), the burst's
        leftover pairs are NACKed and drained, and single bytes align.
        """
        self._needs_resync = False
        fill = _fill_byte(self._last_frame)
        self.port.reset_input_buffer()
        if self._single_fill(MAX_FRAME + 8, fill):
            return
        sent = 0
        while sent < LONGEST_ROM_FRAME:
            self._write(bytes((fill,)) * RESYNC_BURST)
            sent += RESYNC_BURST
            baud = getattr(self.port, "baudrate", None) or 115200
            self._set_timeout(self.timeouts.drain + RESYNC_BURST * 11 / baud)  # its wire time
            if self.port.read(1):
                self._drain()
                if self._single_fill(4, fill):
                    return
                break
        # Not even a NACK: the ROM may be back in autobaud (a reset happened). Sync again.
        self.sync()

    def _single_fill(self, count: int, fill: int) -> bool:
        """Up to `count` single fill bytes until an ACK/NACK answers one (then drained)."""
        for _ in range(count):
            self._write(bytes((fill,)))
            self._set_timeout(self.timeouts.drain)
            got = bytes(self.port.read(1))
            if got and got[0] in (ACK, NACK):
                self._drain()
                self._last_frame = b""
                return True
        return False

    def out_of_step(self) -> None:
        """Resynchronise before the next command (a caller saw an exchange go wrong)."""
        self._needs_resync = True

    def _drain(self) -> None:
        self._set_timeout(self.timeouts.drain)
        while self.port.read(64):
            pass

    def identify(self) -> DeviceInfo:
        """Get Version, Get, Get ID -- the order stm32flash uses at startup."""
        version = self.get_version()
        get = self.get()
        ident = self.get_id()
        self.info = DeviceInfo(get, version, ident)
        return self.info

    # -- informational commands --------------------------------------------------------
    def get(self) -> GetResult:
        name = self._command(Command.GET)
        n = self._read(1, self.timeouts.exchange, name, "count")[0]
        body = self._read(n + 1, self.timeouts.exchange, name, "command list")
        self._ack(name, "end of answer")
        return GetResult(body[0], tuple(body[1:]))

    def get_version(self) -> VersionResult:
        name = self._command(Command.GET_VERSION)
        body = self._read(3, self.timeouts.exchange, name, "version")
        self._ack(name, "end of answer")
        return VersionResult(body[0], body[1], body[2])

    def get_id(self) -> IdResult:
        name = self._command(Command.GET_ID)
        n = self._read(1, self.timeouts.exchange, name, "count")[0]
        body = self._read(n + 1, self.timeouts.exchange, name, "product ID")
        self._ack(name, "end of answer")
        return IdResult(int.from_bytes(body, "big"), body)

    # -- memory ------------------------------------------------------------------------
    def read_memory(self, address: int, length: int) -> bytes:
        if not 1 <= length <= MAX_FRAME:
            raise ValueError(f"Read Memory reads 1..{MAX_FRAME} bytes per frame, not {length}")
        name = self._command(Command.READ_MEMORY)
        try:
            if length == MAX_FRAME:
                self._write(address_frame(address) + length_frame(length))
                self._ack(name, "address", address=address)
                self._ack(name, "length", address=address)
            else:
                self._write(address_frame(address))
                self._ack(name, "address", address=address)
                self._write(length_frame(length))
                self._ack(name, "length", address=address)
        except NackError:
            self._needs_resync = length == MAX_FRAME  # a NACK for the length pair may follow
            raise
        return self._read(length, self.timeouts.exchange, name, "data", address)

    def write_memory(self, address: int, data: bytes) -> None:
        """One Write Memory frame: 1..256 bytes (padded to a multiple of 4 with 0xFF)."""
        if not 1 <= len(data) <= MAX_FRAME:
            raise ValueError(f"Write Memory writes 1..{MAX_FRAME} bytes per frame")
        if len(data) % 4:
            data = bytes(data) + b"\xff" * (4 - len(data) % 4)  # what stm32flash does
        name = self._command(Command.WRITE_MEMORY)
        self._write(address_frame(address))
        self._ack(name, "address", address=address)
        self._write(data_frame(bytes(data)))
        self._ack(name, "data (after programming)", self.timeouts.write, address)

    def go(self, address: int) -> None:
        name = self._command(Command.GO)
        self._write(address_frame(address))
        self._ack(name, "address", address=address)

    # -- erase ---------------------------------------------------------------------------
    def _erase_code(self) -> int:
        info = self.info or self.identify()
        if info.get.extended_erase:
            return Command.EXTENDED_ERASE
        if info.get.supports(Command.ERASE):
            return Command.ERASE
        raise UnsupportedCommandError("Erase", info.get.commands)

    def mass_erase(self) -> None:
        """Whole user flash: Extended Erase FFFF, or legacy Erase FF 00."""
        code = self._erase_code()
        name = self._command(code)
        frame = (
            extended_erase_frame(special=ERASE_MASS)
            if code == Command.EXTENDED_ERASE
            else erase_frame(None)
        )
        self._write(frame)
        self._ack(name, "mass erase", self.timeouts.mass_erase)

    def erase_bank(self, bank: int) -> None:
        """Extended Erase FFFE (bank 1) / FFFD (bank 2)."""
        if bank not in (1, 2):
            raise ValueError("bank is 1 or 2")
        name = self._command(Command.EXTENDED_ERASE)
        self._write(extended_erase_frame(special=ERASE_BANK1 if bank == 1 else ERASE_BANK2))
        self._ack(name, f"bank {bank} erase", self.timeouts.mass_erase)

    def erase_pages(self, pages: Sequence[int]) -> None:
        """Erase the listed pages (G0) / sectors (H7), in frames the ROM accepts."""
        pages = list(pages)
        if not pages:
            return
        code = self._erase_code()
        limit = 256 if code == Command.ERASE else 512  # what one frame may carry, kept modest
        for i in range(0, len(pages), limit):
            chunk = pages[i : i + limit]
            name = self._command(code)
            if code == Command.EXTENDED_ERASE:
                self._write(extended_erase_frame(chunk))
            else:
                if max(chunk) > 0xFF:
                    raise ValueError("legacy Erase carries page numbers up to 255")
                self._write(erase_frame(chunk))
            self._ack(
                name,
                f"erase of page(s) {chunk[0]}..{chunk[-1]}",
                max(self.timeouts.exchange, self.timeouts.page_erase * len(chunk)),
            )

    # -- protection -----------------------------------------------------------------------
    def write_protect(self, sectors: Sequence[int]) -> None:
        """Write-protect sectors (WRP areas / WPSN bits); the part resets afterwards."""
        name = self._command(Command.WRITE_PROTECT)
        self._write(data_frame(bytes(sectors)))
        self._ack(name, "sector list", self.timeouts.protect)
        self._needs_resync = False

    def write_unprotect(self) -> None:
        name = self._command(Command.WRITE_UNPROTECT)
        self._ack(name, "end of operation", self.timeouts.protect)

    def readout_protect(self) -> None:
        name = self._command(Command.READOUT_PROTECT)
        self._ack(name, "end of operation", self.timeouts.protect)

    def readout_unprotect(self) -> None:
        """RDP back to level 0: the ROM mass-erases the flash first, then resets."""
        name = self._command(Command.READOUT_UNPROTECT)
        self._ack(name, "end of operation (mass erase)", self.timeouts.readout_unprotect)

    def get_checksum(self, address: int, length: int) -> ChecksumResult:
        """CRC of [address, address+length) computed by the ROM (length a multiple of 4)."""
        if length <= 0 or length % 4:
            raise ValueError("Get Checksum covers a positive multiple of 4 bytes")
        name = self._command(Command.GET_CHECKSUM)
        self._write(address_frame(address))
        self._ack(name, "address", address=address)
        raw = length.to_bytes(4, "big")
        self._write(raw + bytes((xor(raw),)))
        self._ack(name, "length", address=address)
        self._ack(name, "CRC computation", max(self.timeouts.exchange, length / 1e6), address)
        body = self._read(5, self.timeouts.exchange, name, "CRC", address)
        if xor(body[:4]) != body[4]:
            self._needs_resync = True
            raise UnexpectedReplyError(name, "CRC checksum byte", body, address)
        return ChecksumResult(address, length, int.from_bytes(body[:4], "big"))

    # -- reconnect after the commands that reset the part -------------------------------
    def reconnect(self, attempts: int = 10) -> DeviceInfo:
        """After a protect/unprotect reset: autobaud again and re-identify."""
        self.info = None
        self.sync(attempts)
        return self.identify()


def expected_checksum(data: bytes) -> int:
    return stm32_crc32(data)
