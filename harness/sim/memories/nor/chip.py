"""A serial NOR flash chip driven phase by phase, as a QUADSPI/OCTOSPI/SPI controller drives it.

A controller opens a transaction (chip select low), sends the instruction, address, mode and
dummy cycles on 1, 2, 4 or 8 lines, moves data, and closes it (chip select high). The chip
checks each phase against what its command table and its current mode (SPI, QPI, OPI, 3- or
4-byte addressing, Quad Enable) expect:
- a wrong line count, address length or a quad command without QE leaves the chip deaf for
  the rest of the transaction (reads see the pulled-up bus: 0xFF), as silicon does;
- a wrong number of dummy cycles shifts the data bit stream by the difference, so a loader
  with a wrong DCYC reads shifted garbage, not correct data;
- program, erase and register writes start at chip-select high, need WEL, clear it when they
  finish and keep WIP set for the datasheet time in virtual time; anything but a status read
  is ignored while busy. Cells only go from 1 to 0.

Octal chips (`octal` in their table) enter STR or DTR OPI through their vendor's register
(Macronix CR2, Micron IOMODE); every phase must then come on 8 lines at that rate, with the
instruction extended as the chip's data says (op + ~op, or op repeated). A DTR phase moves two
bits per line per clock, so a wrong dummy count shifts DTR data by twice as many bits.

Program/erase suspend parks the remaining busy time and sets the chip's suspend flag; deep
power-down leaves the chip deaf to everything but its release opcode. In 3-byte mode a chip
over 16 MiB takes the top address bits from its extended address register (EAR / bank
register). Cells are allocated on the first program or erase (or when a memory-mapped window
aliases them): reading an untouched chip reads 0xFF without allocating.

Shortcuts: block-protect bits (BP/TB/SEC) are stored but do not protect; continuous-read
(XIP mode-bit) sessions are not modelled; a reset while busy finishes the operation at once;
DQS is not checked (a DTR read without DQS reads correct data, as at low clock rates).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from stm32_hil.errors import ConfigError
from stm32_hil.sim.memories.nor.chips import ChipSpec, chip_spec
from stm32_hil.sim.memories.nor.commands import Command, Kind

STATUS_WIP = 0x01
STATUS_WEL = 0x02
FSR_READY = 0x80
FSR_ADDR4 = 0x01
EVCR_QUAD_DISABLE = 0x80  # Micron: 0 = quad I/O protocol
CR2_OPI_MASK = 0x03  # Macronix CR2 address 0: 01 STR OPI, 10 DTR OPI


class NorFlash:
    """One chip: cells, registers and the protocol state machine. `clock()` returns seconds."""

    def __init__(self, spec: ChipSpec | str, clock: Callable[[], float]) -> None:
        self.spec = chip_spec(spec) if isinstance(spec, str) else spec
        self.clock = clock
        self._data: bytearray | None = None  # allocated on first write: boards stay cheap
        self.nv_regs = dict(self.spec.registers)  # non-volatile copies (reset values)
        self.log: list[str] = []  # why transactions were ignored: what a logic analyser shows
        self.busy_until = 0.0
        self.selected = False
        self.power_on()

    @property
    def data(self) -> bytearray:
        """The cells (erased = 0xFF), allocated here on first use: a 256 MiB chip costs nothing
        until something is written to it or a window aliases it."""
        if self._data is None:
            self._data = bytearray(b"\xff") * self.spec.size
        return self._data

    @property
    def allocated(self) -> bool:
        return self._data is not None

    def read_cells(self, start: int, n: int) -> bytes:
        """`n` bytes from `start`, wrapping at the end of the array; no allocation."""
        size = self.spec.size
        start %= size
        if self._data is None:
            return b"\xff" * n
        buf = bytearray(self._data[start : start + n])
        while len(buf) < n:
            buf += self._data[: n - len(buf)]
        return bytes(buf)

    # -- state ----------------------------------------------------------------------------
    def power_on(self) -> None:
        self.regs = dict(self.nv_regs)
        self.wel = False
        self.qpi = False
        self.reset_armed = False
        self.busy_until = 0.0
        self.suspended: float | None = None  # remaining busy time of a suspended operation
        self.xip: Command | None = None  # the read a continuous-read session repeats
        self.powered_down = False
        self._addr4 = False
        fb = self.spec.four_byte
        if fb is not None and self.spec.four_byte_capable:
            if fb.power_up is not None:
                reg, bit = fb.power_up
                self._addr4 = bool(self.regs.get(reg, 0) >> bit & 1)
            elif fb.power_up_low is not None:
                reg, bit = fb.power_up_low
                self._addr4 = not self.regs.get(reg, 0xFF) >> bit & 1

    @property
    def addr4(self) -> bool:
        fb = self.spec.four_byte
        if fb is not None and fb.ear_extadd is not None:
            return bool(self.regs.get("EAR", 0) >> fb.ear_extadd & 1)
        return self._addr4

    @addr4.setter
    def addr4(self, value: bool) -> None:
        fb = self.spec.four_byte
        if fb is not None and fb.ear_extadd is not None:
            bit = 1 << fb.ear_extadd
            self.regs["EAR"] = (self.regs.get("EAR", 0) & ~bit) | (bit if value else 0)
        self._addr4 = value

    def high_address(self) -> int:
        """Address bits above A23 in 3-byte mode: the extended address register's bank."""
        fb = self.spec.four_byte
        if fb is None or fb.ear is None or not self.spec.four_byte_capable:
            return 0
        bank = self.regs.get("EAR", 0)
        if fb.ear_extadd is not None:
            bank &= (1 << fb.ear_extadd) - 1
        return (bank << 24) % self.spec.size

    @property
    def busy(self) -> bool:
        return self.clock() < self.busy_until

    @property
    def octal_state(self) -> str | None:
        """None (SPI/QPI), "str" or "dtr": the octal protocol the chip's register selects."""
        oc = self.spec.octal_mode
        if oc is None:
            return None
        if oc.entry == "macronix_cr2":
            mode = self.regs.get("CR2", 0) & CR2_OPI_MASK
            return {1: "str", 2: "dtr"}.get(mode)
        value = self.regs.get("IOMODE", 0xFF)
        if value in oc.dtr_values:
            return "dtr"
        return "str" if value in oc.str_values else None

    @property
    def opi(self) -> bool:
        return self.octal_state is not None

    @property
    def dtr(self) -> bool:
        return self.octal_state == "dtr"

    @property
    def quad_enabled(self) -> bool:
        if self.spec.qe is None:
            return True
        reg, bit = self.spec.qe
        return bool(self.regs[reg] >> bit & 1)

    @property
    def quad_protocol(self) -> bool:
        """Every phase on four lines: Winbond QPI, Macronix QPI, Micron quad I/O protocol."""
        if self.spec.dummy_config == "micron_vcr":
            return not self.regs["EVCR"] & EVCR_QUAD_DISABLE
        return self.qpi

    def register(self, name: str) -> int:
        """A register as the chip would report it now (live WIP/WEL/ready bits)."""
        value = self.regs.get(name, 0)
        busy = self.busy
        if name == self.spec.status_reg:
            value &= ~(STATUS_WIP | STATUS_WEL)
            value |= (STATUS_WIP | STATUS_WEL) if busy else (STATUS_WEL if self.wel else 0)
        if name == "FSR":
            value = (value & ~(FSR_READY | FSR_ADDR4)) | (0 if busy else FSR_READY)
            value |= FSR_ADDR4 if self.addr4 else 0
        fb = self.spec.four_byte
        if fb is not None and fb.flag is not None and fb.flag[0] == name:
            bit = 1 << fb.flag[1]
            value = (value & ~bit) | (bit if self.addr4 else 0)
        sus = self.spec.suspend
        if sus is not None and sus.flag[0] == name:
            bit = 1 << sus.flag[1]
            value = (value & ~bit) | (bit if self.suspended is not None else 0)
        return value & 0xFF

    def _start_busy(self, seconds: float) -> None:
        self.wel = False
        self.busy_until = self.clock() + seconds

    # -- transactions -----------------------------------------------------------------------
    def begin(self) -> Transaction:
        if self.selected:
            raise ConfigError(f"{self.spec.name}: chip select asserted twice")
        self.selected = True
        return Transaction(self)


class Transaction:
    """One chip-select-low period."""

    def __init__(self, chip: NorFlash) -> None:
        self.chip = chip
        self.cmd: Command | None = None
        self.deaf = False
        self.opcode: int | None = None
        self.address: int | None = None
        self.pre_data_cycles = 0  # mode + dummy cycles the controller clocked
        self.expected_cycles = 0
        self.data_lines = 1
        self.received = bytearray()
        self.sent_bytes = 0
        self._pos = 0  # output stream position (array address or register index)
        self._bits: int | None = None  # output bits clocked but not yet sampled
        self._nbits = 0
        self.xip_next = False  # the mode byte asked for continuous-read mode

    # -- helpers ----------------------------------------------------------------------------
    def _ignore(self, why: str) -> None:
        if not self.deaf:
            self.chip.log.append(why)
        self.deaf = True

    def _lines(self) -> int:
        chip = self.chip
        return 8 if chip.opi else 4 if chip.quad_protocol else 1

    def _rate_ok(self, dtr: bool, phase: str) -> bool:
        """Every phase of an octal DTR chip is DTR; in other modes a DTR command (0Dh, EDh)
        takes its address, mode and data at double rate, any other command none."""
        cmd = self.cmd
        want = self.chip.dtr or (phase != "instruction" and cmd is not None and cmd.dtr)
        if dtr != want:
            rate = ("STR", "DTR")
            self._ignore(f"{phase} in {rate[dtr]}, chip expects {rate[want]}")
            return False
        return True

    def _addr_bytes(self, cmd: Command) -> int:
        if cmd.addr_bytes == 0:
            oc = self.chip.spec.octal_mode
            # Macronix OPI: register and ID reads carry a 4-byte address (all zeros).
            regs = cmd.kind in (Kind.READ_REG, Kind.READ_ID, Kind.WRITE_REG)
            if self.chip.opi and oc is not None and oc.entry == "macronix_cr2" and regs:
                return 4
            return 0
        if cmd.addr_bytes == 4 or self.chip.opi:
            return 4
        if cmd.kind is Kind.READ_SFDP:
            return 3
        return 4 if self.chip.addr4 else 3

    def _expected(self, cmd: Command) -> tuple[int, int, int]:
        """(address lines, data lines, mode + dummy cycles) in the current protocol."""
        chip = self.chip
        lines = self._lines()
        if chip.opi:
            return 8, 8, self._octal_dummy(cmd)
        if lines > 1:
            dummy = (cmd.qpi_dummy or 0) + self._read_params_dummy(cmd)
            return lines, lines, dummy + self._vcr_dummy(cmd, dummy)
        mode = (8 // cmd.addr_lines) if cmd.mode_byte else 0
        return cmd.addr_lines, cmd.data_lines, mode + cmd.dummy + self._vcr_dummy(cmd, cmd.dummy)

    def _octal_dummy(self, cmd: Command) -> int:
        """Dummy cycles in OPI: the read setting (Macronix CR2 DC, Micron DUMMY) or the fixed
        register-read count of the chip's data."""
        chip = self.chip
        oc = chip.spec.octal_mode
        assert oc is not None
        if cmd.kind in (Kind.READ, Kind.READ_SFDP):
            if oc.entry == "macronix_cr2":
                return 20 - 2 * (chip.regs.get("CR2_DC", 0) & 7)
            value = chip.regs.get("DUMMY", 0x10)
            return 16 if value in (0, 0xFF) else value & 0x1F
        if cmd.kind in (Kind.READ_REG, Kind.READ_REG_AT, Kind.READ_ID):
            return oc.reg_dummy
        return 0

    def _read_params_dummy(self, cmd: Command) -> int:
        """Winbond QPI reads: Set Read Parameters (C0h) P[5:4] picks 2, 4, 6 or 8 dummy clocks.

        The table's QPI count is the power-up setting (P[5:4] = 00, 2 clocks); a loader that
        sets 8 clocks and clocks 8 reads aligned data, one that keeps 8 after a reset reads the
        stream shifted (W25Q128FV datasheet, "Set Read Parameters (C0h)").
        """
        if self.chip.spec.dummy_config != "winbond_c0" or cmd.kind is not Kind.READ:
            return 0
        if not cmd.qpi_dummy:
            return 0
        return 2 * ((self.chip.regs.get("RP", 0) >> 4) & 3)

    def _vcr_dummy(self, cmd: Command, default: int) -> int:
        """Micron VCR[7:4] replaces the default dummy count of fast reads (0 and 15 keep it).

        Macronix CR[7:6] (DC) selects the dummy cycles of fast reads, mode cycles included
        (MX25L51245G datasheet, "Dummy cycle and frequency table").
        """
        config = self.chip.spec.dummy_config
        if cmd.kind is not Kind.READ or not default:
            return 0
        if config == "macronix_cr":
            dc = (self.chip.regs.get("CR", 0) >> 6) & 3
            quad_io = cmd.addr_lines == 4
            total = ((6, 4, 8, 10) if quad_io else (8, 6, 8, 10))[dc]
            mode = (8 // cmd.addr_lines) if cmd.mode_byte else 0
            return total - (mode + default)
        if config != "micron_vcr":
            return 0
        vcr = self.chip.regs["VCR"] >> 4
        return 0 if vcr in (0, 15) else vcr - default

    # -- phases -----------------------------------------------------------------------------
    def instruction(self, opcode: int, lines: int = 1, nbytes: int = 1, dtr: bool = False) -> None:
        chip = self.chip
        want = self._lines()
        if chip.powered_down:
            release = chip.spec.deep_power_down
            if release is None or nbytes != 1 or opcode != release[1] or lines != 1:
                self._ignore(f"instruction {opcode:#x} in deep power-down")
                return
        if not self._rate_ok(dtr, "instruction"):
            return
        if chip.opi:
            oc = chip.spec.octal_mode
            assert oc is not None
            ext = oc.ext_dtr if chip.dtr else oc.ext_str
            if ext == "none":
                if nbytes != 1:
                    self._ignore(f"octal instruction {opcode:#x}: chip expects 1 byte")
                    return
            else:
                op, second = (opcode >> 8) & 0xFF, opcode & 0xFF
                expect = (~op & 0xFF) if ext == "invert" else op
                if nbytes != 2 or second != expect:
                    self._ignore(
                        f"OPI needs a 2-byte instruction ({op:#04x}, {expect:#04x}), "
                        f"got {opcode:#x} in {nbytes} byte(s)"
                    )
                    return
                opcode = op
        elif nbytes != 1:
            self._ignore(f"{nbytes}-byte instruction outside OPI mode")
            return
        if lines != want:
            self._ignore(f"instruction {opcode:#04x} on {lines} line(s), chip expects {want}")
            return
        cmd = chip.spec.commands.get(opcode)
        self.opcode = opcode
        if cmd is None:
            self._ignore(f"unknown instruction {opcode:#04x}")
            return
        if want == 4 and cmd.qpi_dummy is None:
            self._ignore(f"instruction {opcode:#04x} does not exist in QPI mode")
            return
        if cmd.needs_qe and not chip.quad_enabled and want != 8:
            self._ignore(f"instruction {opcode:#04x} needs QE=1")
            return
        status_regs = {chip.spec.status_reg, "FSR", "SR2", "SR3"}
        reads_status = cmd.kind is Kind.READ_REG and set(cmd.regs) & status_regs
        if chip.busy and not (reads_status or cmd.kind is Kind.SUSPEND):
            self._ignore(f"instruction {opcode:#04x} while busy")
            return
        if cmd.kind is not Kind.RESET:
            chip.reset_armed = False
        self.cmd = cmd
        _alines, dlines, self.expected_cycles = self._expected(cmd)
        self.data_lines = dlines

    def address_phase(self, value: int, nbytes: int, lines: int, dtr: bool = False) -> None:
        if self.cmd is None and self.opcode is None and not self.deaf:
            self._continue_read()
        cmd = self.cmd
        if self.deaf or cmd is None:
            return
        if not self._rate_ok(dtr, f"instruction {cmd.opcode:#04x}: address"):
            return
        want = self._addr_bytes(cmd)
        alines = self._expected(cmd)[0]
        if cmd.kind is Kind.READ_MFR_DEV:
            want = 3
        if want == 0 or nbytes != want or lines != alines:
            self._ignore(
                f"instruction {cmd.opcode:#04x}: address {nbytes} byte(s) on {lines} "
                f"line(s), chip expects {want} on {alines}"
            )
            return
        self.address = value & ((1 << (8 * nbytes)) - 1)
        if nbytes == 3 and cmd.kind not in (Kind.READ_SFDP, Kind.READ_MFR_DEV):
            self.address |= self.chip.high_address()
        self._pos = self.address

    def _continue_read(self) -> None:
        """No instruction phase (SIOO): only a chip in continuous-read mode takes the address."""
        chip = self.chip
        cmd = chip.xip
        if cmd is None or chip.busy:
            self._ignore("address without an instruction: the chip is not in continuous-read mode")
            return
        self.opcode = cmd.opcode
        self.cmd = cmd
        _alines, self.data_lines, self.expected_cycles = self._expected(cmd)

    def alternate(self, nbytes: int, lines: int, dtr: bool = False, value: int = 0) -> None:
        """Alternate bytes (the mode byte) count as clock cycles before the data; a fast read's
        mode byte may also ask the chip to stay in continuous-read (XIP) mode."""
        self.pre_data_cycles += nbytes * 8 // lines // (2 if dtr else 1)
        cmd, xip = self.cmd, self.chip.spec.continuous_read
        if cmd is not None and cmd.kind is Kind.READ and cmd.mode_byte and xip is not None:
            mode = (value >> (8 * (nbytes - 1))) & 0xFF
            self.xip_next = (mode & xip[0]) == xip[1]

    def dummy(self, cycles: int) -> None:
        self.pre_data_cycles += cycles

    def _check_address_given(self) -> bool:
        cmd = self.cmd
        if cmd is None or self.deaf:
            return False
        if self._addr_bytes(cmd) and self.address is None:
            self._ignore(f"instruction {cmd.opcode:#04x} without its address")
            return False
        return True

    def send(self, data: bytes, lines: int, dtr: bool = False) -> None:
        """Data from the controller (program data, register values)."""
        if not self._check_address_given():
            return
        if not self._rate_ok(dtr, f"instruction {self.opcode:#04x}: write data"):
            return
        if lines != self.data_lines or self.pre_data_cycles != self.expected_cycles:
            self._ignore(f"instruction {self.opcode:#04x}: write data phase mismatched")
            return
        self.received += data

    def receive(self, n: int, lines: int, dtr: bool = False) -> bytes:
        """Data to the controller; the bus reads 0xFF where the chip does not drive it."""
        if not self._check_address_given() or lines != self.data_lines:
            if not self.deaf and self.cmd is not None:
                self._ignore(f"instruction {self.opcode:#04x}: read on {lines} line(s)")
            return b"\xff" * n
        if not self._rate_ok(dtr, f"instruction {self.opcode:#04x}: read data"):
            return b"\xff" * n
        if self._bits is None:  # first data clock: align the chip's output with sampling
            skew = (self.pre_data_cycles - self.expected_cycles) * lines * (2 if dtr else 1)
            self._bits, self._nbits = 0, 0
            if skew < 0:  # controller samples early: it sees the idle, pulled-up bus first
                self._bits, self._nbits = (1 << -skew) - 1, -skew
            elif skew > 0:  # controller samples late: the chip's first bits are lost
                lost = self._stream((skew + 7) // 8)
                extra = len(lost) * 8 - skew
                self._bits = int.from_bytes(lost, "big") & ((1 << extra) - 1)
                self._nbits = extra
        need = 8 * n - self._nbits
        if need > 0:
            fresh = self._stream((need + 7) // 8)
            self._bits = (self._bits << (8 * len(fresh))) | int.from_bytes(fresh, "big")
            self._nbits += 8 * len(fresh)
        self._nbits -= 8 * n
        out = (self._bits >> self._nbits).to_bytes(n, "big")
        self._bits &= (1 << self._nbits) - 1
        return out

    def _pairs(self) -> bool:
        oc = self.chip.spec.octal_mode
        return self.chip.dtr and oc is not None and oc.dtr_pairs

    def _register_at(self) -> str | None:
        return self.chip.spec.addressed_registers.get(self.address or 0)

    def _stream(self, n: int) -> bytes:
        chip, cmd = self.chip, self.cmd
        assert cmd is not None
        if n <= 0:
            return b""
        if cmd.kind is Kind.READ:
            out = chip.read_cells(self._pos, n)
            self._pos = (self._pos + n) % chip.spec.size
            return out
        source: bytes
        if cmd.kind in (Kind.READ_REG, Kind.READ_REG_AT):
            regs = cmd.regs
            if cmd.kind is Kind.READ_REG_AT:
                name = self._register_at()
                regs = (name,) if name else ()
            values = [chip.register(r) for r in regs] or [0xFF]
            if self._pairs():  # each register byte comes twice (one clock, both edges)
                values = [v for v in values for _ in (0, 1)]
            base = self._pos - (self.address or 0) if self.address is not None else self._pos
            source = bytes(values[min(i, len(values) - 1)] for i in range(base, base + n))
            self._pos += n
            return source
        if cmd.kind is Kind.READ_ID:
            source = chip.spec.jedec_id + b"\x00" * 17
            if self._pairs():
                source = bytes(b for b in chip.spec.jedec_id for _ in (0, 1)) + b"\x00" * 14
        elif cmd.kind is Kind.READ_SFDP:
            image = chip.spec.sfdp
            start = self._pos
            self._pos += n
            return bytes(image[i] if i < len(image) else 0xFF for i in range(start, start + n))
        elif cmd.kind is Kind.READ_MFR_DEV:
            source = chip.spec.mfr_dev * 2
            base = (self.address or 0) & 1
            source = source[base:] + source[:base]
        elif cmd.kind is Kind.READ_UID:
            source = hashlib.sha256(chip.spec.name.encode()).digest()[:8]
        else:
            return b"\xff" * n
        reg_pos = self._pos if self.address is None else self._pos - self.address
        out = bytes(source[(reg_pos + i) % len(source)] for i in range(n))
        self._pos += n
        return out

    # -- chip select high: operations start here ---------------------------------------------
    def end(self) -> None:
        chip = self.chip
        chip.selected = False
        cmd = self.cmd
        if self.deaf or cmd is None:
            return
        if self._addr_bytes(cmd) and self.address is None and cmd.kind is not Kind.READ_MFR_DEV:
            return
        kind = cmd.kind
        if kind is Kind.READ:
            chip.xip = cmd if self.xip_next else None
        if kind is Kind.WREN:
            chip.wel = True
        elif kind is Kind.WRDI:
            chip.wel = False
        elif cmd.needs_wel and not chip.wel:
            chip.log.append(f"instruction {cmd.opcode:#04x} ignored: WEL is 0")
        elif kind is Kind.PROGRAM:
            self._program()
        elif kind is Kind.ERASE:
            size = chip.spec.size
            start = (self.address or 0) % size & ~(cmd.size - 1)
            if chip.allocated:
                chip.data[start : start + cmd.size] = b"\xff" * cmd.size
            die = cmd.size == size // chip.spec.dies and chip.spec.die_erase == cmd.opcode
            key = "die_erase" if die else f"erase_{cmd.size // 1024}k"
            chip._start_busy(chip.spec.timing[key])
        elif kind is Kind.CHIP_ERASE:
            if chip.allocated:
                chip.data[:] = b"\xff" * len(chip.data)
            chip._start_busy(chip.spec.timing["chip_erase"])
        elif kind is Kind.WRITE_REG:
            self._write_regs(cmd)
        elif kind is Kind.WRITE_REG_AT:
            self._write_reg_at(cmd)
        elif kind is Kind.RESET_ENABLE:
            chip.reset_armed = True
        elif kind is Kind.RESET:
            if chip.reset_armed:
                chip.power_on()
        elif kind is Kind.SOFT_RESET:
            chip.power_on()
        elif kind is Kind.ENTER_QPI:
            if chip.spec.dummy_config == "micron_vcr":
                chip.regs["EVCR"] &= ~EVCR_QUAD_DISABLE
            chip.qpi = True
        elif kind is Kind.EXIT_QPI:
            if chip.spec.dummy_config == "micron_vcr":
                chip.regs["EVCR"] |= EVCR_QUAD_DISABLE
            chip.qpi = False
        elif kind is Kind.ENTER_4B:
            chip.addr4 = True
            chip.wel = False if cmd.needs_wel else chip.wel
        elif kind is Kind.EXIT_4B:
            chip.addr4 = False
            chip.wel = False if cmd.needs_wel else chip.wel
        elif kind is Kind.CLEAR_FLAGS:
            chip.regs["FSR"] = chip.regs.get("FSR", 0) & ~0x7E
        elif kind is Kind.DEEP_POWER_DOWN:
            chip.powered_down = True
        elif kind is Kind.RELEASE_DPD:
            chip.powered_down = False
        elif kind is Kind.SUSPEND:
            if chip.busy and chip.suspended is None:
                chip.suspended = chip.busy_until - chip.clock()
                chip.busy_until = chip.clock()
        elif kind is Kind.RESUME:
            if chip.suspended is not None:
                chip.busy_until = chip.clock() + chip.suspended
                chip.suspended = None

    def _program(self) -> None:
        chip = self.chip
        if not self.received:
            chip.wel = False
            return
        page = chip.spec.page_size
        addr = (self.address or 0) % chip.spec.size
        base = addr & ~(page - 1)
        # The page latch: bytes past the page end wrap to its start; a later byte for the same
        # column replaces an earlier one (more than a page keeps the last `page` bytes).
        data = chip.data
        received = self.received
        n = len(received)
        if addr - base + n <= page:  # no wrap (the usual case): AND the run in one go
            cells = int.from_bytes(data[addr : addr + n], "little")
            data[addr : addr + n] = (cells & int.from_bytes(received, "little")).to_bytes(
                n, "little"
            )
        else:
            latch: dict[int, int] = {}
            for i, byte in enumerate(received):
                latch[(addr - base + i) % page] = byte
            for column, byte in latch.items():
                data[base + column] &= byte
        chip._start_busy(chip.spec.timing["page_program"])

    def _write_regs(self, cmd: Command) -> None:
        chip = self.chip
        writable_mask = {chip.spec.status_reg: 0xFC}
        for reg, value in zip(cmd.regs, self.received, strict=False):
            mask = writable_mask.get(reg, 0xFF)
            chip.regs[reg] = (chip.regs.get(reg, 0) & ~mask) | (value & mask)
            if not cmd.volatile:
                chip.nv_regs[reg] = chip.regs[reg]
        if cmd.volatile:
            if cmd.needs_wel:
                chip.wel = False
        else:
            chip._start_busy(chip.spec.timing["write_sr"])

    def _write_reg_at(self, cmd: Command) -> None:
        """72h/81h with an address: one volatile register, picked by the address."""
        chip = self.chip
        name = self._register_at()
        if name is None or not self.received:
            chip.log.append(
                f"instruction {cmd.opcode:#04x}: no register at address {self.address or 0:#x}"
            )
            chip.wel = False
            return
        chip.regs[name] = self.received[0]
        chip.wel = False
