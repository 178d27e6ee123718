"""A NOR chip on a plain 4-wire SPI bus (SCK, NCS, MOSI, MISO), driven by an SPI block or GPIOs.

On a 4-wire bus the master only exchanges bytes: MOSI and MISO shift at once, and the chip
alone knows which byte is the instruction, the address, a dummy byte or data. `SerialCommand`
is that knowledge: it feeds a `Transaction` of the phase-level chip model (nor/chip.py) byte by
byte, so the same chip model serves QUADSPI, OCTOSPI and SPI, and a loader that sends too few
dummy bytes reads the dummy byte as data, as on silicon.

`SpiNorPort` is the chip on the board's pins (`stm32_hil.sim.memories.wiring`):
- NCS: the chip listens only while its NCS pin is low: a GPIO output driven low (software
  NSS), or the NSS output of the SPI block whose alternate function the pin is in (hardware
  NSS). NCS rising ends the command; program, erase and register writes start then.
- An SPI block's frames (`exchange`) reach the chip only if the block's SCK and MOSI pins are
  the chip's; MISO reaches the block only through the chip's MISO pin in the block's AF.
- Bit-banged: with SCK, MOSI and NCS as GPIO outputs and MISO an input, the chip samples MOSI
  on SCK rising edges and shifts MISO out on falling edges (SPI mode 0 and 3, MSB first),
  driving the MISO pin's input level that IDR shows.
Without declared pins, a chip on an SPI block takes the pins the firmware muxed to that block;
its NCS is the NSS pin in the block's AF, else the GPIO output last driven low before the first
frame (the loader's chip select), which the wiring report then names.

Shortcut (time): a frame moves when software writes it, with no bit time; a status read that
finds the chip busy advances virtual time to the instant it becomes ready, as the QUADSPI
model's polling does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stm32_hil.sim.memories.nor.chip import NorFlash, Transaction
from stm32_hil.sim.memories.nor.commands import Kind
from stm32_hil.sim.memories.wiring import (
    GPIO_ONLY,
    SPI_SIGNALS,
    Wiring,
    parse_pin,
    pin_name,
)
from stm32_hil.sim.periph.gpio import MODE_AF, MODE_OUTPUT, Gpio

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

READS = (Kind.READ, Kind.READ_REG, Kind.READ_ID, Kind.READ_MFR_DEV, Kind.READ_UID)
WRITES = (Kind.PROGRAM, Kind.WRITE_REG)
IDLE = 0xFF  # MISO is pulled up where the chip does not drive it


class SerialCommand:
    """One chip-select-low period on a 1-bit SPI bus, seen byte by byte."""

    def __init__(self, chip: NorFlash) -> None:
        self.tx: Transaction = chip.begin()
        self.phase = "instruction"
        self.addr = bytearray()
        self.addr_len = 0
        self.dummy_left = 0
        self.saw_busy = False

    def next_out(self) -> int:
        """The byte the chip drives on MISO during the next exchange."""
        tx = self.tx
        if self.phase != "data" or tx.deaf or tx.cmd is None or tx.cmd.kind not in READS:
            return IDLE
        if tx.cmd.kind is Kind.READ_REG and tx.chip.busy:
            self.saw_busy = True
        return tx.receive(1, 1)[0]

    def clock_in(self, byte: int) -> None:
        """The byte the master shifted out on MOSI."""
        tx = self.tx
        if self.phase == "instruction":
            tx.instruction(byte, 1)
            cmd = tx.cmd
            if tx.deaf or cmd is None:
                self.phase = "ignored"
                return
            self.addr_len = 3 if cmd.kind is Kind.READ_MFR_DEV else tx._addr_bytes(cmd)
            self.phase = "address" if self.addr_len else "after_address"
            if self.phase == "after_address":
                self._after_address()
            return
        if self.phase == "address":
            self.addr.append(byte)
            if len(self.addr) == self.addr_len:
                tx.address_phase(int.from_bytes(self.addr, "big"), self.addr_len, 1)
                self._after_address()
            return
        if self.phase == "dummy":
            tx.dummy(8)
            self.dummy_left -= 1
            if self.dummy_left <= 0:
                self.phase = "data"
            return
        if self.phase == "data" and tx.cmd is not None and tx.cmd.kind in WRITES:
            tx.send(bytes([byte]), 1)

    def _after_address(self) -> None:
        cycles = self.tx.expected_cycles
        self.dummy_left = -(-cycles // 8)
        self.phase = "dummy" if self.dummy_left else "data"

    def end(self) -> None:
        self.tx.end()


class SpiNorPort:
    """The chip on its four pins (see module doc)."""

    def __init__(
        self,
        board: SimBoard,
        chip: NorFlash,
        wiring: Wiring,
        block: str | None,
        on_ready_poll: Callable[[float], None],
    ) -> None:
        self.board = board
        self.chip = chip
        self.wiring = wiring
        self.block = block  # the SPI block the inventory names (None: bit-banged, bus GPIO)
        self.on_ready_poll = on_ready_poll
        self.cmd: SerialCommand | None = None
        self.blocks: dict[str, Any] = {}  # SPI block models that exist, by name
        self.ncs_pin: str | None = wiring.declared.get("NCS")
        self._last_low: str | None = None  # output pin last driven low (undeclared NCS)
        self._low_outputs: dict[str, bool] = {}
        # bit-banging state
        self._sck = False
        self._bits = 0
        self._count = 0
        self._out = IDLE
        self._out_ready = False
        self.frames = 0  # frames or bit-banged bytes the chip took part in
        self._odr: dict[str, int] = {}
        self.toggled: dict[str, None] = {}  # output pins the firmware toggled, in order

    # -- set-up ----------------------------------------------------------------------------------
    def gpio_built(self, gpio: Gpio) -> None:
        gpio.listeners.append(self._gpio_changed)

    def spi_built(self, name: str, model: Any) -> None:
        self.blocks[name] = model

    # -- pin levels ------------------------------------------------------------------------------
    def _level(self, pin: str | None, default: bool = True) -> bool:
        """The level the chip sees on `pin`: a GPIO output's ODR, an SPI NSS output, or pulled."""
        if pin is None:
            return default
        port, n = parse_pin(pin)
        gpio = self.wiring.port(port)
        if gpio is None:
            return default
        mode = gpio.mode(n)
        if mode == MODE_OUTPUT:
            return gpio.output_level(n)
        if mode == MODE_AF:
            af = gpio.alternate(n)
            for fpin, faf, block in self.wiring.functions.get("NCS", []):
                if fpin == pin and faf == af and block in self.blocks:
                    return not self.blocks[block].nss_active()
        return default

    def ncs_low(self) -> bool:
        return not self._level(self.ncs_pin)

    def _gpio_changed(self, gpio: Gpio) -> None:
        if self.ncs_pin is None:
            self._track_outputs(gpio)
        odr = gpio.regs.get(0x14, 0)
        changed = odr ^ self._odr.get(gpio.name, odr)
        self._odr[gpio.name] = odr
        if changed:
            for n in range(16):
                if changed >> n & 1 and gpio.mode(n) == MODE_OUTPUT:
                    self.toggled.setdefault(pin_name(gpio.name, n), None)
        self.update_select()
        self._bitbang()

    def _track_outputs(self, gpio: Gpio) -> None:
        """Undeclared NCS: remember the output pin the firmware drove low last."""
        for n in range(16):
            name = pin_name(gpio.name, n)
            low = gpio.mode(n) == MODE_OUTPUT and not gpio.output_level(n)
            if low and not self._low_outputs.get(name, False):
                self._last_low = name
            self._low_outputs[name] = low

    def infer_ncs(self) -> None:
        """First frame with no NCS known: the NSS pin in the block's AF, else the last GPIO low."""
        if self.ncs_pin is not None:
            return
        route = self.wiring.routes()["NCS"]
        self.ncs_pin = route.pin or self._last_low
        if self.ncs_pin is not None:
            self.wiring.seen.setdefault("NCS", self.ncs_pin)

    def update_select(self) -> None:
        """Begin or end the chip's command as NCS falls or rises."""
        low = self.ncs_low() if self.ncs_pin is not None else False
        if low and self.cmd is None:
            self.cmd = SerialCommand(self.chip)
            self._count = 0
            self._out_ready = False
        elif not low and self.cmd is not None:
            cmd, self.cmd = self.cmd, None
            cmd.end()
            if cmd.saw_busy:
                self.on_ready_poll(self.chip.busy_until)

    # -- frames from an SPI block -----------------------------------------------------------------
    def exchange(self, block: str, out: int, bits: int, *, mosi: bool = True, mode: int = 0) -> int:
        """One frame (`bits` long, MSB first) from SPI block `block`; what comes back on MISO.

        NOR chips work in SPI modes 0 and 3 only; in modes 1 and 2 chip and master sample on
        the edges where the other changes its line, so the command is lost."""
        self.infer_ncs()
        self.update_select()
        routes = self.wiring.routes()
        if routes["SCK"].block != block or self.cmd is None:
            return (1 << bits) - 1
        if mode in (1, 2):
            self.cmd.tx._ignore(f"SPI mode {mode} (CPOL={mode >> 1}, CPHA={mode & 1}): the chip "
                                "samples MOSI on rising edges (modes 0 and 3 only)")  # fmt: skip
            self.cmd.phase = "ignored"
            return (1 << bits) - 1
        self.frames += 1
        reply = 0
        sends = mosi and routes["MOSI"].block == block
        nbytes = -(-bits // 8)  # frames of 4..7, 9..15 bits: clocked as whole bytes (shortcut)
        wide = out << (8 * nbytes - bits)
        for i in range(nbytes - 1, -1, -1):
            got = self.cmd.next_out()
            self.cmd.clock_in((wide >> (8 * i)) & 0xFF if sends else IDLE)
            reply = reply << 8 | got
        reply >>= 8 * nbytes - bits
        if routes["MISO"].block != block:
            return (1 << bits) - 1
        return reply & ((1 << bits) - 1)

    # -- bit-banged ----------------------------------------------------------------------------
    def _gpio_level(self, signal: str) -> bool | None:
        """Level of a bit-banged line: its pin's ODR while the pin is a GPIO output."""
        pin = self.wiring.declared.get(signal)
        if pin is None:
            return None
        port, n = parse_pin(pin)
        gpio = self.wiring.port(port)
        if gpio is None or gpio.mode(n) != MODE_OUTPUT:
            return None
        return gpio.output_level(n)

    def _drive_miso(self, level: bool) -> None:
        pin = self.wiring.declared.get("MISO")
        if pin is None:
            return
        port, n = parse_pin(pin)
        gpio = self.wiring.port(port)
        if gpio is not None:
            gpio.drive(n, level)

    def _bitbang(self) -> None:
        sck = self._gpio_level("SCK")
        if sck is None:
            return
        rising, falling = sck and not self._sck, self._sck and not sck
        self._sck = sck
        cmd = self.cmd
        if cmd is None:
            self._drive_miso(True)
            return
        if not self._out_ready:
            self._out = cmd.next_out()
            self._out_ready = True
            self._drive_miso(bool(self._out & 0x80))
        if rising:
            mosi = self._gpio_level("MOSI")
            self._bits = (self._bits << 1 | (1 if mosi is None or mosi else 0)) & 0xFF
            self._count += 1
            if self._count == 8:
                cmd.clock_in(self._bits)
                self.frames += 1
        elif falling:
            if self._count >= 8:
                self._count = 0
                self._out = cmd.next_out()
            self._drive_miso(bool(self._out >> (7 - self._count) & 1))

    def problems(self) -> list[str]:
        """Lines the firmware does not drive as the board wires them (GPIO side)."""
        routes = self.wiring.routes()
        out = []
        for signal in ("SCK", "MOSI", "NCS"):
            pin = self.wiring.declared.get(signal)
            if pin is None or signal in self.wiring.mismatches:
                continue
            mode, af = self.wiring.pin_mode(pin)
            if mode == MODE_OUTPUT or (routes[signal].pin is not None and mode == MODE_AF):
                continue
            if signal != "NCS" and self.block is not None:
                continue  # an SPI block's line: the AF check of the wiring speaks for it
            what = {0: "an input", 2: f"AF{af}", 3: "analog"}.get(mode, "absent")
            line = f"the board wires {signal} on {pin}, which the loader left as {what}"
            others = [p for p in self.toggled if p not in self.wiring.declared.values()]
            if others:
                line += f" (the loader toggles {', '.join(others[:4])} as outputs)"
            out.append(line)
        return out

    def held_note(self) -> str:
        """A chip select left low: the command never ends, so nothing it asked for starts."""
        if self.cmd is None or self.ncs_pin is None:
            return ""
        opcode = self.cmd.tx.opcode
        what = f" (command 0x{opcode:02X})" if opcode is not None else ""
        return (
            f"NCS ({self.ncs_pin}) is still low after the call{what}: the command never ends, "
            "and program, erase and register writes start only when NCS rises"
        )

    # -- what the wiring report shows ------------------------------------------------------------
    def pins_used(self) -> dict[str, str]:
        out = dict(self.wiring.report().used)
        if self.ncs_pin is not None:
            out["NCS"] = self.ncs_pin
        return {s: out[s] for s in SPI_SIGNALS if s in out}

    def is_gpio_bus(self) -> bool:
        return self.block is None and self.wiring.bus == GPIO_ONLY
