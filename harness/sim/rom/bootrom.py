"""The STM32 system-memory bootloader (AN3155 over USART), as a Python ROM.

It listens on the board's bootloader USART once `board.enter_system_memory()` runs (boot
selection at reset, or a jump from firmware), autobauds on 0x7F and then answers commands as
the part's ROM does: version and command set from the catalogue (`part.bootloader`), Get ID from
`part.pid`, NACK rules of AN3155, the RDP level 1 restrictions, a system reset after the
protect/unprotect commands, a mass erase behind Readout Unprotect. Flash is programmed through
the register-level controller (see bootrom_flash.py), so the reply to a Write Memory appears
only after the virtual time the controller's BSY takes.

The ROM is written as a generator that yields either None ("give me the next received byte")
or a cycle count ("wait this long"); `_pump` drives it from received bytes and clock events. A
real ROM polls RXNE and never times out mid-frame; neither does this one -- the host recovers
by completing the frame with garbage (which is then NACKed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stm32_hil.an3155.crc import stm32_crc32
from stm32_hil.an3155.framing import (
    ACK,
    ERASE_BANK1,
    ERASE_BANK2,
    ERASE_MASS,
    NACK,
    SYNC,
    Command,
    xor,
)
from stm32_hil.errors import HarnessError
from stm32_hil.sim.bus import Access
from stm32_hil.sim.rom.boot import BootSource
from stm32_hil.sim.rom.flash_routines import FlashRoutines, routines_for
from stm32_hil.target.base import ResetKind

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard
    from stm32_hil.sim.clock import _Event
    from stm32_hil.sim.periph.usart import Usart

Rom = Generator[int | None, int | None, None]
RDP1_ALLOWED = (Command.GET, Command.GET_VERSION, Command.GET_ID, Command.READOUT_UNPROTECT)
G0_OPTION_AREA = 0x1FFF7800  # user option bytes as the ROM shows them (value, complement)
G0_OPTION_AREA_SIZE = 0x80
# option register -> offset in the G0 option area (64-bit: value then complement) (check)
G0_OPTION_LAYOUT = {
    "OPTR": 0x00, "PCROP1ASR": 0x08, "PCROP1AER": 0x10, "WRP1AR": 0x18, "WRP1BR": 0x20,
    "PCROP1BSR": 0x28, "PCROP1BER": 0x30, "SECR": 0x70,
}  # fmt: skip
BYTE_CYCLES_US = 2.0  # ROM time to move one byte between memory and the USART
RDP_LEVEL1 = 0xBB
RDP_LEVEL0 = 0xAA


@dataclass(frozen=True)
class Jump:
    """A Go command, recorded (and executed when the board has a core)."""

    address: int
    msp: int
    pc: int
    at_cycle: int


class Bootrom:
    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.part = board.part
        self.info = board.part.rom
        self.flash: FlashRoutines = routines_for(board)
        self.active = False
        self.synced = False
        self.entries: list[str] = []  # why the ROM was entered, in order
        self.jumps: list[Jump] = []
        self.usart: Usart | None = None
        self._inbuf: deque[int] = deque()
        self._gen: Rom | None = None
        self._pending: int | None = None
        self._event: _Event | None = None
        self._stepping = False
        self._restart: str | None = None
        board.on_reset(self._on_reset)

    # -- activation ----------------------------------------------------------------------
    def activate(self, how: str) -> None:
        """The core now executes system memory: take the USART and wait for 0x7F."""
        if self.active and self._gen is not None and not how.startswith("reset"):
            return  # already running: the core re-reporting that it sits in system memory
        self.entries.append(how)
        if self._stepping:  # a reset from inside a ROM routine: restart once it yields
            self._restart = how
            return
        self._start(how)

    def _start(self, how: str) -> None:
        self._stop_gen()
        usart = self.board.usart()
        if usart.name not in self.info.usarts:
            # The ROM does not listen on this USART; the board's UART wiring is wrong.
            self.active = False
            return
        self.usart = usart
        usart.host_sink = self._feed
        self.active = True
        self.synced = False
        self._inbuf.clear()
        self._gen = self._rom()
        self._pending = self._send_gen(None, first=True)
        self._pump()

    def deactivate(self) -> None:
        self._stop_gen()
        if self.usart is not None and self.usart.host_sink == self._feed:
            self.usart.host_sink = None
        self.active = False
        self.synced = False
        self.board.in_bootrom = False

    def _stop_gen(self) -> None:
        if self._event is not None:
            self._event.cancelled = True
            self._event = None
        if self._gen is not None and not self._stepping:
            self._gen.close()
        self._gen = None
        self._pending = None

    def _on_reset(self, kind: ResetKind, cause: str) -> None:
        system = self.board.boot_decision.source is BootSource.SYSTEM
        if self._stepping:
            self._restart = f"reset ({cause})" if system else ""
            return
        self.deactivate()
        if system:
            self.board.enter_system_memory(f"reset ({cause})")

    # -- driver --------------------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        self._inbuf.extend(data)
        self._pump()

    def _send_gen(self, value: int | None, *, first: bool = False) -> int | None:
        assert self._gen is not None
        self._stepping = True
        try:
            return next(self._gen) if first else self._gen.send(value)
        except StopIteration:
            self._gen = None
            return None
        finally:
            self._stepping = False
            if self._restart is not None:
                how, self._restart = self._restart, None
                self._gen = None
                if how:
                    self._start(how)
                else:
                    self.deactivate()

    def _pump(self) -> None:
        while self._gen is not None and self._event is None and not self._stepping:
            if self._pending is None:
                if not self._inbuf:
                    return
                self._pending = self._send_gen(self._inbuf.popleft())
            else:
                clock = self.board.clock
                self._event = clock.schedule(clock.now + max(1, self._pending), self._wake)
                return

    def _wake(self) -> None:
        self._event = None
        if self._gen is None:
            return
        self._pending = self._send_gen(None)
        self._pump()

    # -- helpers used inside the ROM -------------------------------------------------------
    def _tx(self, *data: int | bytes) -> None:
        out = bytearray()
        for d in data:
            out += bytes((d,)) if isinstance(d, int) else d
        assert self.usart is not None
        self.usart.device_send(bytes(out))

    def _rx(self, n: int) -> Generator[int | None, int | None, bytes]:
        out = bytearray()
        while len(out) < n:
            b = yield None
            assert b is not None
            out.append(b)
        return bytes(out)

    def _rx_address(self) -> Generator[int | None, int | None, int | None]:
        raw = yield from self._rx(5)
        if xor(raw[:4]) != raw[4]:
            return None
        return int.from_bytes(raw[:4], "big")

    def _busy(self, us: float) -> Generator[int | None, int | None, None]:
        yield self.board.clock.cycles(us)

    def rdp_level(self) -> int:
        return int(self.board.flash.rdp_level())

    # -- memory map as the ROM checks it ---------------------------------------------------
    def _in_flash(self, address: int, length: int) -> bool:
        geo = self.part.flash
        return geo.base <= address and address + length <= geo.base + geo.size

    def _in_ram(self, address: int, length: int) -> bool:
        return any(r.contains(address, length) for r in self.part.ram if r.base != 0)

    def _in_option_area(self, address: int, length: int) -> bool:
        return self.part.family == "g0" and (
            address >= G0_OPTION_AREA and address + length <= G0_OPTION_AREA + G0_OPTION_AREA_SIZE
        )

    def _readable(self, address: int, length: int) -> bool:
        if self._in_flash(address, length) or self._in_ram(address, length):
            return True
        if self._in_option_area(address, length):
            return True
        areas = [*self.part.system_memory, self.part.otp, self.part.engi]
        return any(a is not None and a.contains(address, length) for a in areas)

    def _option_area_bytes(self) -> bytes:
        area = bytearray(b"\xff" * G0_OPTION_AREA_SIZE)
        for name, off in G0_OPTION_LAYOUT.items():
            value = self.board.flash.options.get(name)
            if value is None:
                continue
            area[off : off + 8] = value.to_bytes(4, "little") + (value ^ 0xFFFFFFFF).to_bytes(
                4, "little"
            )
        return bytes(area)

    def _read(self, address: int, length: int) -> bytes | None:
        try:
            if self._in_option_area(address, length):
                off = address - G0_OPTION_AREA
                return self._option_area_bytes()[off : off + length]
            return self.board.bus.read_block(address, length, Access.BOOTROM)
        except HarnessError:  # protected (PCROP/RDP), ECC double error, unmapped
            return None

    # -- the ROM -------------------------------------------------------------------------------
    def _rom(self) -> Rom:
        while (yield None) != SYNC:  # autobaud: everything before the first 0x7F is noise
            pass
        self.synced = True
        self._tx(ACK)
        handlers = {
            Command.GET: self._get,
            Command.GET_VERSION: self._get_version,
            Command.GET_ID: self._get_id,
            Command.READ_MEMORY: self._read_memory,
            Command.GO: self._go,
            Command.WRITE_MEMORY: self._write_memory,
            Command.ERASE: self._erase,
            Command.EXTENDED_ERASE: self._extended_erase,
            Command.WRITE_PROTECT: self._write_protect,
            Command.WRITE_UNPROTECT: self._write_unprotect,
            Command.READOUT_PROTECT: self._readout_protect,
            Command.READOUT_UNPROTECT: self._readout_unprotect,
            Command.GET_CHECKSUM: self._get_checksum,
        }
        while True:
            code, check = yield from self._rx(2)
            if code ^ check != 0xFF or code not in self.info.commands or code not in handlers:
                self._tx(NACK)
                continue
            if self.rdp_level() >= 1 and code not in RDP1_ALLOWED:
                self._tx(NACK)
                continue
            self._tx(ACK)
            done = yield from handlers[Command(code)]()
            if done:  # Go, or a command that reset the part
                return

    def _get(self) -> Generator[int | None, int | None, bool]:
        cmds = bytes(self.info.commands)
        self._tx(len(cmds), self.info.version, cmds, ACK)
        return False
        yield

    def _get_version(self) -> Generator[int | None, int | None, bool]:
        self._tx(self.info.version, 0x00, 0x00, ACK)
        return False
        yield

    def _get_id(self) -> Generator[int | None, int | None, bool]:
        self._tx(0x01, (self.part.pid >> 8) & 0xFF, self.part.pid & 0xFF, ACK)
        return False
        yield

    def _read_memory(self) -> Generator[int | None, int | None, bool]:
        address = yield from self._rx_address()
        if address is None or not self._readable(address, 1):
            self._tx(NACK)
            return False
        self._tx(ACK)
        n, check = yield from self._rx(2)
        length = n + 1
        if n ^ check != 0xFF or not self._readable(address, length):
            self._tx(NACK)
            return False
        data = self._read(address, length)
        if data is None:
            self._tx(NACK)
            return False
        yield from self._busy(BYTE_CYCLES_US * length / 64)
        self._tx(ACK, data)
        return False

    def _go(self) -> Generator[int | None, int | None, bool]:
        address = yield from self._rx_address()
        if address is None or not (
            self._in_flash(address, 8)
            or self._in_ram(address, 8)
            or any(s.contains(address, 8) for s in self.part.system_memory)
        ):
            self._tx(NACK)
            return False
        vectors = self._read(address, 8)
        if vectors is None:
            self._tx(NACK)
            return False
        self._tx(ACK)
        msp = int.from_bytes(vectors[:4], "little")
        pc = int.from_bytes(vectors[4:], "little")
        self.jumps.append(Jump(address, msp, pc, self.board.clock.now))
        self.deactivate()
        core = self.board.core
        if core is not None:
            core.write_reg("msp", msp)
            core.write_reg("pc", pc | 1)
            core.resume()
        return True

    def _rx_data(self) -> Generator[int | None, int | None, bytes | None]:
        n = (yield from self._rx(1))[0]
        body = yield from self._rx(n + 2)
        data, check = body[:-1], body[-1]
        if xor(bytes((n,)) + data) != check:
            return None
        return data

    def _write_memory(self) -> Generator[int | None, int | None, bool]:
        address = yield from self._rx_address()
        writable = address is not None and (
            self._in_flash(address, 1)
            or self._in_ram(address, 1)
            or self._in_option_area(address, 1)
        )
        if address is None or not writable:
            self._tx(NACK)
            return False
        self._tx(ACK)
        data = yield from self._rx_data()
        if data is None or len(data) % 4 or address % 4:
            self._tx(NACK)
            return False
        if self._in_option_area(address, len(data)):
            return (yield from self._write_options(address, data))
        if self._in_flash(address, len(data)):
            ok = yield from self.flash.program(address, data)
        elif self._in_ram(address, len(data)):
            ok = True
            self.board.bus.write_block(address, data, Access.BOOTROM)
            yield from self._busy(BYTE_CYCLES_US * len(data) / 64)
        else:
            ok = False
        self._tx(ACK if ok else NACK)
        return False

    def _write_options(self, address: int, data: bytes) -> Generator[int | None, int | None, bool]:
        area = bytearray(self._option_area_bytes())
        off = address - G0_OPTION_AREA
        area[off : off + len(data)] = data
        values = {
            name: int.from_bytes(area[o : o + 4], "little")
            for name, o in G0_OPTION_LAYOUT.items()
            if name in self.board.flash.options and o < off + len(data) and o + 4 > off
        }
        ok = yield from self.flash.set_options(values)
        self._tx(ACK if ok else NACK)
        if ok:
            self.flash.launch_options()  # resets the part
        return ok

    def _erase(self) -> Generator[int | None, int | None, bool]:
        n = (yield from self._rx(1))[0]
        if n == 0xFF:
            check = (yield from self._rx(1))[0]
            if check != 0x00:
                self._tx(NACK)
                return False
            ok = yield from self.flash.mass_erase()
            self._tx(ACK if ok else NACK)
            return False
        body = yield from self._rx(n + 2)
        pages, check = list(body[:-1]), body[-1]
        if xor(bytes((n,)) + bytes(pages)) != check or max(pages) >= self.part.flash.page_count:
            self._tx(NACK)
            return False
        ok = yield from self.flash.erase_pages(pages)
        self._tx(ACK if ok else NACK)
        return False

    def _extended_erase(self) -> Generator[int | None, int | None, bool]:
        head = yield from self._rx(2)
        count = int.from_bytes(head, "big")
        if count >= 0xFFF0:
            check = (yield from self._rx(1))[0]
            if check != xor(head):
                self._tx(NACK)
                return False
            banks = self.part.flash.banks
            if count == ERASE_MASS:
                ok = yield from self.flash.mass_erase()
            elif count == ERASE_BANK1 or (count == ERASE_BANK2 and banks > 1):
                ok = yield from self.flash.erase_bank(1 if count == ERASE_BANK1 else 2)
            else:
                ok = False
            self._tx(ACK if ok else NACK)
            return False
        raw = yield from self._rx(2 * (count + 1) + 1)
        pages = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * (count + 1), 2)]
        if xor(head + raw[:-1]) != raw[-1] or max(pages) >= self.part.flash.page_count:
            self._tx(NACK)
            return False
        ok = yield from self.flash.erase_pages(pages)
        self._tx(ACK if ok else NACK)
        return False

    # -- protection ------------------------------------------------------------------------
    def _options_then_reset(
        self, values: dict[str, int], *, ack: bool = True
    ) -> Generator[int | None, int | None, bool]:
        ok = yield from self.flash.set_options(values)
        if ack:
            self._tx(ACK if ok else NACK)
        if ok:
            self.flash.launch_options()  # system reset: the ROM is gone until the next entry
        return ok

    def _write_protect(self) -> Generator[int | None, int | None, bool]:
        sectors = yield from self._rx_data()
        if sectors is None or not all(s < self.part.flash.page_count for s in sectors):
            self._tx(NACK)
            return False
        values = self._wrp_values(sorted(set(sectors)))
        if values is None:
            self._tx(NACK)
            return False
        self._tx(ACK)  # Write Protect acknowledges the list, then programs and resets
        return (yield from self._options_then_reset(values, ack=False))

    def _wrp_values(self, sectors: list[int]) -> dict[str, int] | None:
        opts = self.board.flash.options
        if self.part.family == "h7":
            per_bank = self.part.flash.pages_per_bank
            out = {}
            for bank in range(self.part.flash.banks):
                name = f"WPSN{bank + 1}"
                value = opts[name]
                for s in sectors:
                    if s // per_bank == bank:
                        value &= ~(1 << (s % per_bank))  # nWRPi = 0: protected
                out[name] = value
            return out
        # G0: up to two contiguous page ranges (WRP1A, WRP1B) -- a ROM cannot express more
        ranges: list[list[int]] = []
        for s in sectors:
            if ranges and ranges[-1][1] == s - 1:
                ranges[-1][1] = s
            else:
                ranges.append([s, s])
        if len(ranges) > 2:
            return None
        out = {}
        for name, (lo, hi) in zip(("WRP1AR", "WRP1BR"), ranges):
            out[name] = (hi << 16) | lo
        return out

    def _write_unprotect(self) -> Generator[int | None, int | None, bool]:
        if self.part.family == "h7":
            values = {f"WPSN{b + 1}": 0xFF for b in range(self.part.flash.banks)}
        else:
            values = {"WRP1AR": 0x0000007F, "WRP1BR": 0x0000007F}  # start > end: no area
        return (yield from self._options_then_reset(values))

    def _rdp_values(self, level_byte: int) -> dict[str, int]:
        name = "OPTSR" if self.part.family == "h7" else "OPTR"
        reg = self.part.option_register(name)
        return {name: reg.field("RDP").put(self.board.flash.options[name], level_byte)}

    def _readout_protect(self) -> Generator[int | None, int | None, bool]:
        return (yield from self._options_then_reset(self._rdp_values(RDP_LEVEL1)))

    def _readout_unprotect(self) -> Generator[int | None, int | None, bool]:
        # The regression 1 -> 0 makes the controller mass-erase the flash before the reset.
        return (yield from self._options_then_reset(self._rdp_values(RDP_LEVEL0)))

    def _get_checksum(self) -> Generator[int | None, int | None, bool]:
        address = yield from self._rx_address()
        if address is None or address % 4 or not self._readable(address, 4):
            self._tx(NACK)
            return False
        self._tx(ACK)
        raw = yield from self._rx(5)
        length = int.from_bytes(raw[:4], "big")
        if (
            xor(raw[:4]) != raw[4]
            or length == 0
            or length % 4
            or not self._readable(address, length)
        ):
            self._tx(NACK)
            return False
        data = self._read(address, length)
        if data is None:
            self._tx(NACK)
            return False
        # AN3155 (and stm32flash, which reads ACK, ACK, then 5 bytes): the length is
        # acknowledged, then the ROM feeds the CRC unit word by word and answers ACK, the CRC
        # and its XOR.
        self._tx(ACK)
        yield from self._busy(length / 4 * 0.05)
        crc = stm32_crc32(data).to_bytes(4, "big")
        self._tx(ACK, crc, xor(crc))
        return False
