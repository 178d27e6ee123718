"""SFDP (JESD216B): the parameter tables a chip returns to 5Ah, built from its catalogue entry.

Loaders (and pyOCD's SFDP-driven flash algorithms) read the Basic Flash Parameter Table to
learn the density, erase types, fast-read modes, 4-byte entry method and timings instead of
hard-coding them. The image is built from the same `ChipSpec` the chip model runs, so a loader
that follows SFDP sees the chip it talks to; `parse_bfpt` reads an image back (the tests
compare what a chip returns with its table).

Encoded: header + one parameter header + the 16-DWORD BFPT. Not encoded: the 4-byte address
instruction table, sector map and xSPI profile tables (a reader falls back to the BFPT).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stm32_hil.errors import ConfigError
from stm32_hil.sim.memories.nor.commands import Kind

if TYPE_CHECKING:
    from stm32_hil.sim.memories.nor.chips import ChipSpec

SIGNATURE = 0x50444653  # "SFDP"
BFPT_OFFSET = 0x30
BFPT_DWORDS = 16
ERASE_UNITS = (1e-3, 16e-3, 128e-3, 1.0)  # DWORD10 typical erase time units
CHIP_ERASE_UNITS = (16e-3, 256e-3, 4.0, 64.0)  # DWORD11 chip erase units
PROGRAM_UNITS = (8e-6, 64e-6)  # DWORD11 page program units
# DWORD15 Quad Enable requirements by (protocol convention, QE register, bit).
QER = {("SR1", 6): 0b010, ("SR2", 7): 0b011}
QER_SR2_BIT1 = {"winbond": 0b101, "spansion": 0b001}


def _time_code(seconds: float, units: tuple[float, ...], count_bits: int = 5) -> int:
    """(count - 1) | unit index << count_bits: the smallest unit that holds `seconds`."""
    top = 1 << count_bits
    for i, unit in enumerate(units):
        count = max(1, math.ceil(seconds / unit - 1e-9))
        if count <= top:
            return (count - 1) | i << count_bits
    return (top - 1) | (len(units) - 1) << count_bits


def _time_value(code: int, units: tuple[float, ...], count_bits: int = 5) -> float:
    return ((code & ((1 << count_bits) - 1)) + 1) * units[code >> count_bits]


def _read_row(spec: ChipSpec, opcode: int) -> tuple[int, int, int] | None:
    """(opcode, mode clocks, dummy clocks) of a fast read row at its power-up dummy setting."""
    cmd = spec.commands.get(opcode)
    if cmd is None or cmd.kind is not Kind.READ:
        return None
    mode = (8 // cmd.addr_lines) if cmd.mode_byte else 0
    return opcode, mode, cmd.dummy


def _fast_read_field(row: tuple[int, int, int] | None) -> int:
    if row is None:
        return 0
    op, mode, dummy = row
    return (dummy & 0x1F) | (mode & 7) << 5 | op << 8


def build_sfdp(spec: ChipSpec) -> bytes:
    dw = [0xFFFFFFFF] * BFPT_DWORDS
    erase4k = next((op for size, op in spec.erase_types if size == 4096), None)
    rows = {
        "1-1-2": _read_row(spec, 0x3B),
        "1-2-2": _read_row(spec, 0xBB),
        "1-1-4": _read_row(spec, 0x6B),
        "1-4-4": _read_row(spec, 0xEB),
    }
    four = spec.four_byte if spec.size > 16 << 20 else None
    addr_mode = 0b01 if four is not None else 0b00
    dw1 = 0xFF800000 | 0b111 << 5 | 1 << 2
    dw1 |= (0b01 if erase4k is not None else 0b11) | (erase4k if erase4k is not None else 0xFF) << 8
    dw1 |= addr_mode << 17
    for bit, key in ((16, "1-1-2"), (20, "1-2-2"), (21, "1-4-4"), (22, "1-1-4")):
        if rows[key] is not None:
            dw1 |= 1 << bit
    dw[0] = dw1
    bits = spec.size * 8
    dw[1] = bits - 1 if bits <= 1 << 31 else 1 << 31 | (bits.bit_length() - 1)
    dw[2] = _fast_read_field(rows["1-4-4"]) | _fast_read_field(rows["1-1-4"]) << 16
    dw[3] = _fast_read_field(rows["1-1-2"]) | _fast_read_field(rows["1-2-2"]) << 16
    qpi = any(c.kind is Kind.ENTER_QPI for c in spec.commands.values())
    eb = spec.commands.get(0xEB)
    dw[4] = 0xFFFFFFEE | (1 << 4 if qpi else 0)
    dw[5] = 0xFFFF0000 | 0xFFFF
    dw[6] = 0x0000FFFF
    if qpi and eb is not None and eb.qpi_dummy is not None:
        dw[6] |= ((eb.qpi_dummy & 0x1F) | 0xEB << 8) << 16
    erases = sorted(spec.erase_types)[:4]
    pairs = [(size.bit_length() - 1, op) for size, op in erases] + [(0, 0)] * (4 - len(erases))
    dw[7] = pairs[0][0] | pairs[0][1] << 8 | pairs[1][0] << 16 | pairs[1][1] << 24
    dw[8] = pairs[2][0] | pairs[2][1] << 8 | pairs[3][0] << 16 | pairs[3][1] << 24
    dw10 = 1  # max time = 2 x (1 + 1) x typical
    for i, (size, _op) in enumerate(erases):
        dw10 |= _time_code(spec.timing[f"erase_{size // 1024}k"], ERASE_UNITS) << (4 + 7 * i)
    dw[9] = dw10
    chip_erase = spec.timing.get("chip_erase", spec.timing.get("die_erase", 0.0) * spec.dies)
    dw[10] = (
        1
        | (spec.page_size.bit_length() - 1) << 4
        | _time_code(spec.timing["page_program"], PROGRAM_UNITS) << 8
        | _time_code(chip_erase, CHIP_ERASE_UNITS) << 24
    )
    if spec.suspend is not None:
        s = spec.suspend
        dw[11] = 0x7FFFFFFF & 0x0FFFFFFF
        dw[12] = s.resume | s.suspend << 8 | s.resume << 16 | s.suspend << 24
    dw14 = 0b11 | (1 << 3 if spec.flag_status else 0) | 1 << 2
    if spec.deep_power_down is not None:
        enter, release = spec.deep_power_down
        dw14 |= release << 15 | enter << 23 | 0b0000011 << 8
    else:
        dw14 |= 1 << 31
    dw[13] = dw14
    dw[14] = _quad_enable(spec) << 20 | _qpi_sequences(spec)
    dw[15] = 0x01 | _soft_reset(spec) << 8 | _four_byte_methods(spec, four)
    header = struct.pack("<IBBBB", SIGNATURE, 6, 1, 0, 0xFF)
    param = struct.pack("<BBBBI", 0x00, 6, 1, BFPT_DWORDS, BFPT_OFFSET | 0xFF << 24)
    image = header + param
    image += b"\xff" * (BFPT_OFFSET - len(image))
    return image + struct.pack(f"<{BFPT_DWORDS}I", *dw)


def _quad_enable(spec: ChipSpec) -> int:
    if spec.qe is None:
        return 0
    if spec.qe[1] == 1 and spec.qe[0] in ("SR2", "CR"):
        return QER_SR2_BIT1.get(spec.protocol, 0b001)
    return QER.get(spec.qe, 0)


def _qpi_sequences(spec: ChipSpec) -> int:
    """DWORD15 4-4-4 enable [8:4] and disable [3:0] sequences from the QPI rows."""
    enable = disable = 0
    for op, cmd in spec.commands.items():
        if cmd.kind is Kind.ENTER_QPI:
            enable |= 0b00001 if op == 0x38 and cmd.needs_qe else 0b00010 if op == 0x38 else 0b00100
        elif cmd.kind is Kind.EXIT_QPI:
            disable |= 0b0001 if op == 0xFF else 0b0010 if op == 0xF5 else 0
    return enable << 4 | disable


def _soft_reset(spec: ChipSpec) -> int:
    enable, reset = spec.reset
    if enable == 0x66 and reset == 0x99:
        return 0b010000
    return 0b001000 if reset == 0xF0 else 0


def _four_byte_methods(spec: ChipSpec, four: object) -> int:
    fb = spec.four_byte
    if four is None or fb is None:
        return 0
    enter = exit_ = 0
    if fb.enter == 0xB7:
        enter |= 0b10 if fb.wel else 0b01
    if fb.exit == 0xE9:
        exit_ |= 0b10 if fb.wel else 0b01
    if fb.ear is not None:
        if fb.ear_extadd is not None:
            enter |= 1 << 3
            exit_ |= 1 << 3
        else:
            enter |= 1 << 2
            exit_ |= 1 << 2
    if fb.opcodes:
        enter |= 1 << 5
    exit_ |= 1 << 6  # a soft reset returns to 3-byte mode
    return exit_ << 14 | enter << 24


# -- reading an image back -----------------------------------------------------------------
@dataclass
class Bfpt:
    """What a reader learns from the Basic Flash Parameter Table."""

    size: int
    page_size: int
    erase_types: list[tuple[int, int]]  # (size, opcode)
    erase_times: list[float]  # typical, seconds, same order
    erase_4k_opcode: int | None
    address_bytes: str  # "3", "3or4", "4"
    fast_reads: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    quad_enable: int = 0
    soft_reset: int = 0
    enter_4b: int = 0
    exit_4b: int = 0
    deep_power_down: tuple[int, int] | None = None
    suspend: tuple[int, int] | None = None
    flag_status_polling: bool = False
    page_program_time: float = 0.0
    chip_erase_time: float = 0.0
    qpi_read: tuple[int, int] | None = None  # (opcode, dummy clocks)


def parse_bfpt(image: bytes) -> Bfpt:
    """Decode an SFDP image; a malformed one is a ConfigError naming what is wrong."""
    if len(image) < 16 or struct.unpack_from("<I", image)[0] != SIGNATURE:
        raise ConfigError("SFDP: no 'SFDP' signature at address 0", hint="is this an SFDP read?")
    id_lsb, _minor, _major, length, ptr = struct.unpack_from("<BBBBI", image, 8)
    ptr &= 0xFFFFFF
    if id_lsb != 0 or length < 9 or ptr + 4 * length > len(image):
        raise ConfigError("SFDP: first parameter header is not a readable BFPT")
    dw = list(struct.unpack_from(f"<{length}I", image, ptr))
    dw += [0xFFFFFFFF] * (BFPT_DWORDS - len(dw))
    d1, d2 = dw[0], dw[1]
    size = (1 << (d2 & 0x7FFFFFFF)) // 8 if d2 >> 31 else (d2 + 1) // 8
    erase_types, erase_times = [], []
    for i, (shift, word) in enumerate(((0, dw[7]), (16, dw[7]), (0, dw[8]), (16, dw[8]))):
        n, op = (word >> shift) & 0xFF, (word >> (shift + 8)) & 0xFF
        if n:
            erase_types.append((1 << n, op))
            erase_times.append(_time_value((dw[9] >> (4 + 7 * i)) & 0x7F, ERASE_UNITS))
    fast: dict[str, tuple[int, int, int]] = {}
    for bit, key, word, shift in (
        (16, "1-1-2", dw[3], 0),
        (20, "1-2-2", dw[3], 16),
        (21, "1-4-4", dw[2], 0),
        (22, "1-1-4", dw[2], 16),
    ):
        if d1 >> bit & 1:
            f = word >> shift
            fast[key] = ((f >> 8) & 0xFF, (f >> 5) & 7, f & 0x1F)
    d14 = dw[13]
    qpi = None
    if dw[4] >> 4 & 1:
        f = dw[6] >> 16
        qpi = ((f >> 8) & 0xFF, f & 0x1F)
    return Bfpt(
        size=size,
        page_size=1 << ((dw[10] >> 4) & 0xF),
        erase_types=erase_types,
        erase_times=erase_times,
        erase_4k_opcode=(d1 >> 8) & 0xFF if d1 & 3 == 1 else None,
        address_bytes={0: "3", 1: "3or4", 2: "4"}.get((d1 >> 17) & 3, "?"),
        fast_reads=fast,
        quad_enable=(dw[14] >> 20) & 7,
        soft_reset=(dw[15] >> 8) & 0x3F,
        enter_4b=(dw[15] >> 24) & 0xFF,
        exit_4b=(dw[15] >> 14) & 0x3FF,
        deep_power_down=None if d14 >> 31 else ((d14 >> 23) & 0xFF, (d14 >> 15) & 0xFF),
        suspend=None if dw[11] >> 31 else ((dw[12] >> 24) & 0xFF, (dw[12] >> 16) & 0xFF),
        flag_status_polling=bool(d14 >> 3 & 1),
        page_program_time=_time_value((dw[10] >> 8) & 0x3F, PROGRAM_UNITS),
        chip_erase_time=_time_value((dw[10] >> 24) & 0x7F, CHIP_ERASE_UNITS),
        qpi_read=qpi,
    )
