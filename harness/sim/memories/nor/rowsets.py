"""Command tables built from a chip's catalogue entry: the rows every chip shares, the rows its
data names (erase, 4-byte, reset, power-down, suspend opcodes) and its vendor's conventions.

A vendor convention (`protocol` in chips.toml) is the register set and quad/QPI instructions a
vendor keeps across its line (Winbond SR1-3 and C0h, Micron flag status and VCR/NVCR/EVCR,
Macronix SR/CR and 4PP, Spansion SR1/CR1); everything a datasheet gives as a number (which
opcode erases which size, which opcodes exist at all) comes from the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.sim.memories.nor.commands import Command, Kind, table

if TYPE_CHECKING:
    from stm32_hil.sim.memories.nor.chips import ChipSpec

SIXTEEN_MIB = 16 << 20


def core_rows() -> list[Command]:
    """JEDEC basics every serial NOR answers: status, ID, reads, page program, WREN/WRDI."""
    return [
        Command(0x06, Kind.WREN, qpi_dummy=0),
        Command(0x04, Kind.WRDI, qpi_dummy=0),
        Command(0x05, Kind.READ_REG, regs=("SR1",), qpi_dummy=0),
        Command(0x9F, Kind.READ_ID),
        Command(0x5A, Kind.READ_SFDP, addr_bytes=3, dummy=8),  # 3 bytes even in 4-byte mode
        Command(0x03, Kind.READ, addr_bytes=3),
        Command(0x0B, Kind.READ, addr_bytes=3, dummy=8, qpi_dummy=2),
        Command(0x3B, Kind.READ, addr_bytes=3, data_lines=2, dummy=8),
        Command(0x6B, Kind.READ, addr_bytes=3, data_lines=4, dummy=8, needs_qe=True),
        Command(0xBB, Kind.READ, addr_bytes=3, addr_lines=2, data_lines=2, mode_byte=True),
        Command(
            0xEB,
            Kind.READ,
            addr_bytes=3,
            addr_lines=4,
            data_lines=4,
            mode_byte=True,
            dummy=4,
            qpi_dummy=4,
            needs_qe=True,
        ),
        Command(0x02, Kind.PROGRAM, addr_bytes=3, needs_wel=True, qpi_dummy=0),
    ]


def data_rows(spec: ChipSpec) -> list[Command]:
    """Rows whose opcodes the catalogue gives: erase sizes, 4-byte mode, reset, DPD, suspend."""
    rows = [
        Command(op, Kind.ERASE, addr_bytes=3, size=size, needs_wel=True, qpi_dummy=0)
        for size, op in spec.erase_types
    ]
    rows += [Command(op, Kind.CHIP_ERASE, needs_wel=True, qpi_dummy=0) for op in spec.chip_erase]
    if spec.die_erase:
        die = spec.size // spec.dies
        rows.append(
            Command(spec.die_erase, Kind.ERASE, addr_bytes=3, size=die, needs_wel=True, qpi_dummy=0)
        )
    enable, reset = spec.reset
    if enable:
        rows += [
            Command(enable, Kind.RESET_ENABLE, qpi_dummy=0),
            Command(reset, Kind.RESET, qpi_dummy=0),
        ]
    elif reset:
        rows.append(Command(reset, Kind.SOFT_RESET, qpi_dummy=0))
    if spec.deep_power_down:
        enter, release = spec.deep_power_down
        rows += [
            Command(enter, Kind.DEEP_POWER_DOWN, qpi_dummy=0),
            Command(release, Kind.RELEASE_DPD, qpi_dummy=0),
        ]
    if spec.suspend:
        rows += [
            Command(spec.suspend.suspend, Kind.SUSPEND, qpi_dummy=0),
            Command(spec.suspend.resume, Kind.RESUME, qpi_dummy=0),
        ]
    fb = spec.four_byte
    if fb is not None and spec.size > SIXTEEN_MIB:
        if fb.enter:
            rows.append(Command(fb.enter, Kind.ENTER_4B, needs_wel=fb.wel, qpi_dummy=0))
        if fb.exit:
            rows.append(Command(fb.exit, Kind.EXIT_4B, needs_wel=fb.wel, qpi_dummy=0))
        if fb.ear:
            write, read = fb.ear
            rows += [
                Command(
                    write,
                    Kind.WRITE_REG,
                    regs=("EAR",),
                    needs_wel=fb.ear_wel,
                    volatile=True,
                    qpi_dummy=0,
                ),
                Command(read, Kind.READ_REG, regs=("EAR",), qpi_dummy=0),
            ]
        if fb.opcodes:
            rows += four_byte_rows(spec)
    return rows


def four_byte_rows(spec: ChipSpec) -> list[Command]:
    """The dedicated 4-byte-address instruction set (JESD216 4BAIT)."""
    rows = [
        Command(0x13, Kind.READ, addr_bytes=4),
        Command(0x0C, Kind.READ, addr_bytes=4, dummy=8, qpi_dummy=10),
        Command(0x3C, Kind.READ, addr_bytes=4, data_lines=2, dummy=8),
        Command(0x6C, Kind.READ, addr_bytes=4, data_lines=4, dummy=8, needs_qe=spec.qe is not None),
        Command(
            0xEC,
            Kind.READ,
            addr_bytes=4,
            addr_lines=4,
            data_lines=4,
            mode_byte=True,
            dummy=4,
            qpi_dummy=4,
            needs_qe=spec.qe is not None,
        ),
        Command(0x12, Kind.PROGRAM, addr_bytes=4, needs_wel=True, qpi_dummy=0),
        Command(
            0x34,
            Kind.PROGRAM,
            addr_bytes=4,
            data_lines=4,
            needs_wel=True,
            needs_qe=spec.qe is not None,
        ),
    ]
    rows += [
        Command(op, Kind.ERASE, addr_bytes=4, size=size, needs_wel=True, qpi_dummy=0)
        for size, op in spec.erase_types_4b
    ]
    return rows


# -- vendor conventions --------------------------------------------------------------------
def winbond_rows(spec: ChipSpec) -> list[Command]:
    return [
        Command(0x35, Kind.READ_REG, regs=("SR2",), qpi_dummy=0),
        Command(0x15, Kind.READ_REG, regs=("SR3",), qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1", "SR2"), needs_wel=True, qpi_dummy=0),
        Command(0x31, Kind.WRITE_REG, regs=("SR2",), needs_wel=True, qpi_dummy=0),
        Command(0x11, Kind.WRITE_REG, regs=("SR3",), needs_wel=True, qpi_dummy=0),
        Command(0x32, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True, needs_qe=True),
        Command(0x90, Kind.READ_MFR_DEV, addr_bytes=3),
        Command(0x4B, Kind.READ_UID, dummy=32),
        Command(0x38, Kind.ENTER_QPI, needs_qe=True),
        Command(0xFF, Kind.EXIT_QPI, qpi_dummy=0),
        Command(0x9F, Kind.READ_ID, qpi_dummy=0),
        # Set Read Parameters: one data byte in QPI mode, P[5:4] = dummy clocks of QPI reads,
        # P[1:0] = wrap length; volatile, no WREN needed, back to 00 on reset. Shortcut: the
        # chip also accepts it in SPI mode, where the datasheet lists no C0h.
        Command(0xC0, Kind.WRITE_REG, regs=("RP",), volatile=True, qpi_dummy=0),
    ]


def micron_rows(spec: ChipSpec) -> list[Command]:
    return [
        Command(0x70, Kind.READ_REG, regs=("FSR",), qpi_dummy=0),
        Command(0x50, Kind.CLEAR_FLAGS, qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1",), needs_wel=True, qpi_dummy=0),
        Command(0xB5, Kind.READ_REG, regs=("NVCR_L", "NVCR_H"), qpi_dummy=0),
        Command(0xB1, Kind.WRITE_REG, regs=("NVCR_L", "NVCR_H"), needs_wel=True, qpi_dummy=0),
        Command(0x85, Kind.READ_REG, regs=("VCR",), qpi_dummy=0),
        Command(0x81, Kind.WRITE_REG, regs=("VCR",), needs_wel=True, volatile=True, qpi_dummy=0),
        Command(0x65, Kind.READ_REG, regs=("EVCR",), qpi_dummy=0),
        Command(0x61, Kind.WRITE_REG, regs=("EVCR",), needs_wel=True, volatile=True, qpi_dummy=0),
        # Extended SPI quad modes: 1-1-4 and 1-4-4 program, 1-4-4 read with 10 dummy cycles.
        Command(0x32, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True),
        Command(0x38, Kind.PROGRAM, addr_bytes=3, addr_lines=4, data_lines=4, needs_wel=True),
        Command(0x6B, Kind.READ, addr_bytes=3, data_lines=4, dummy=8),
        Command(0xEB, Kind.READ, addr_bytes=3, addr_lines=4, data_lines=4, dummy=10, qpi_dummy=10),
        Command(0x0B, Kind.READ, addr_bytes=3, dummy=8, qpi_dummy=10),
        Command(0x35, Kind.ENTER_QPI),
        Command(0xF5, Kind.EXIT_QPI, qpi_dummy=0),
        Command(0xAF, Kind.READ_ID, qpi_dummy=0),  # multiple I/O read ID (QIO mode)
        *dtr_read_rows(spec),
    ]


def micron_octal_rows(spec: ChipSpec) -> list[Command]:
    """MT35X: 85h/81h carry an address that picks the volatile register; octal reads."""
    return [
        Command(0x70, Kind.READ_REG, regs=("FSR",)),
        Command(0x50, Kind.CLEAR_FLAGS),
        Command(0x01, Kind.WRITE_REG, regs=("SR1",), needs_wel=True),
        Command(0x85, Kind.READ_REG_AT, addr_bytes=3, dummy=8),
        Command(0x81, Kind.WRITE_REG_AT, addr_bytes=3, needs_wel=True, volatile=True),
        Command(0x8B, Kind.READ, addr_bytes=3, data_lines=8, dummy=8),  # 1-1-8
        Command(0xCB, Kind.READ, addr_bytes=3, addr_lines=8, data_lines=8, dummy=16),  # 1-8-8
        Command(0xFD, Kind.READ, addr_bytes=4),  # octal DTR read (8D-8D-8D)
        Command(0x82, Kind.PROGRAM, addr_bytes=3, data_lines=8, needs_wel=True),  # 1-1-8
        Command(0xC2, Kind.PROGRAM, addr_bytes=3, addr_lines=8, data_lines=8, needs_wel=True),
    ]


def macronix_rows(spec: ChipSpec) -> list[Command]:
    quad = spec.qe is not None
    rows = [
        Command(0x15, Kind.READ_REG, regs=("CR",), qpi_dummy=0),
        Command(0x2B, Kind.READ_REG, regs=("SCUR",), qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1", "CR"), needs_wel=True, qpi_dummy=0),
        Command(
            0x38,
            Kind.PROGRAM,
            addr_bytes=3,
            addr_lines=4,
            data_lines=4,
            needs_wel=True,
            needs_qe=quad,
        ),  # 4PP
        Command(0x35, Kind.ENTER_QPI, needs_qe=quad),  # EQIO
        Command(0xF5, Kind.EXIT_QPI, qpi_dummy=0),  # RSTQIO
        Command(0xAF, Kind.READ_ID, qpi_dummy=0),  # QPIID
    ]
    if spec.dummy_config == "macronix_cr":
        rows += dtr_read_rows(spec)
    if spec.size > SIXTEEN_MIB:
        rows.append(
            Command(
                0x3E,
                Kind.PROGRAM,
                addr_bytes=4,
                addr_lines=4,
                data_lines=4,
                needs_wel=True,
                needs_qe=quad,
            )  # 4PP4B
        )
    return rows


def issi_rows(spec: ChipSpec) -> list[Command]:
    """ISSI IS25LP: the Macronix-compatible register set; PPQ 32h and 38h both take the address
    on one line and the data on four (1-1-4), unlike Macronix 4PP 38h (1-4-4)."""
    rows = [row for row in macronix_rows(spec) if row.opcode not in (0x38, 0x3E)]
    return [
        *rows,
        Command(0x32, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True, needs_qe=True),
        Command(0x38, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True, needs_qe=True),
    ]


def dtr_read_rows(spec: ChipSpec) -> list[Command]:
    """DTR fast reads (Micron, Macronix): address, mode cycles and data on both clock edges."""
    quad = spec.qe is not None
    return [
        Command(0x0D, Kind.READ, addr_bytes=3, dummy=6, dtr=True),  # FASTDTRD / DTR fast read
        Command(0xBD, Kind.READ, addr_bytes=3, addr_lines=2, data_lines=2, dummy=6, dtr=True),
        Command(
            0xED,
            Kind.READ,
            addr_bytes=3,
            addr_lines=4,
            data_lines=4,
            dummy=8,
            dtr=True,
            needs_qe=quad,
        ),
    ]


def macronix_octal_rows(spec: ChipSpec) -> list[Command]:
    """OctaBus: CR2 through 71h/72h with a 4-byte address; 8READ ECh and 8DTRD EEh in OPI."""
    return [
        *macronix_rows(spec),
        Command(0x71, Kind.READ_REG_AT, addr_bytes=4, qpi_dummy=0),
        Command(0x72, Kind.WRITE_REG_AT, addr_bytes=4, needs_wel=True, volatile=True, qpi_dummy=0),
        Command(0xEE, Kind.READ, addr_bytes=4),  # 8DTRD, octal DTR only
    ]


def spansion_rows(spec: ChipSpec) -> list[Command]:
    return [
        Command(0x35, Kind.READ_REG, regs=("CR",), qpi_dummy=0),
        Command(0x07, Kind.READ_REG, regs=("SR2",), qpi_dummy=0),
        Command(0x01, Kind.WRITE_REG, regs=("SR1", "CR"), needs_wel=True, qpi_dummy=0),
        Command(0x32, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True, needs_qe=True),
        Command(0x38, Kind.PROGRAM, addr_bytes=3, data_lines=4, needs_wel=True, needs_qe=True),
        Command(0x90, Kind.READ_MFR_DEV, addr_bytes=3),
    ]


PROTOCOLS = {
    "winbond": winbond_rows,
    "micron": micron_rows,
    "micron_octal": micron_octal_rows,
    "macronix": macronix_rows,
    "macronix_octal": macronix_octal_rows,
    "spansion": spansion_rows,
    "issi": issi_rows,
}


def command_table(spec: ChipSpec) -> dict[int, Command]:
    """Core rows, then the data's rows, then the vendor's: a later row for an opcode wins."""
    return table(*core_rows(), *data_rows(spec), *PROTOCOLS[spec.protocol](spec))
